"""The README's "what a workload needs" table and the rules table (src/rules/needs.py) say the same:
every rule is documented by a row, and every endpoint service a rule can ask for is named there.
(That every rule is tested is tests/unit/test_rules.py's CASES contract.)"""
from __future__ import annotations

import re
from pathlib import Path

from rules.needs import NEED_RULES, NOTE_RULES, PROBLEM_RULES

README = Path(__file__).resolve().parents[2] / "README.md"

# Rule id -> words of the README row that documents it. A new rule needs a row there and here.
DOCUMENTED_BY: dict[str, str] = {
    "ecr-image": "image in private ECR, same region",
    "ecr-image-fargate-legacy": "Fargate ≤ 1.3.0",
    "ecs-container-instances": "EC2 launch type, ECS Managed Instances",
    "service-connect": "| Service Connect |",
    "awslogs": "`awslogs`",
    "firelens-cloudwatch": "FireLens to CloudWatch",
    "firelens-firehose": "FireLens to CloudWatch, Firehose",
    "firelens-kinesis": "Firehose, Kinesis",
    "firelens-s3-output": "Kinesis, S3",
    "firelens-role-arn": "FireLens output with `role_arn`",
    "s3-files": "environment files and the FireLens configuration file in S3",
    "secretsmanager-secret": "secrets from Secrets Manager / SSM",
    "ssm-parameter": "secrets from Secrets Manager / SSM",
    "log-secret-secretsmanager": "`logConfiguration.secretOptions`",
    "log-secret-ssm": "`logConfiguration.secretOptions`",
    "gmsa-credspec-ssm": "`credentialSpecs` (gMSA): CredSpec in SSM",
    "gmsa-credspec-s3": "CredSpec in SSM / in S3",
    "gmsa-domainless-secret": "`credentialspecdomainless`",
    "ecs-exec": "ECS Exec",
    "ecs-exec-kms": "`kms` with a KMS key",
    "ecs-exec-s3-logging": "`s3`/`logs` for session logs",
    "ecs-exec-cloudwatch-logging": "`s3`/`logs` for session logs",
    "xray": "X-Ray daemon / ADOT collector sidecar",
    "adot-emf": "ADOT collector metrics",
    "adot-amp": "the `ecs-amp*` ones",
    "cloudwatch-agent": "CloudWatch agent sidecar",
    "guardduty-runtime-agent": "GuardDuty Runtime Monitoring's agent sidecar on Fargate",
    "guardduty-data-endpoint": "`guardduty-data` endpoint is never created or judged",
    "pull-through-first-pull": "ECR pull-through cache rules",
    "unreachable-image": "public registry image",
    "cross-region-secret": "secret or log group in another region",
    "cross-region-logs": "secret or log group in another region",
    "cross-region-kms-key": "KMS key (ECS Exec)",
    "cross-region-firehose": "FireLens Firehose stream",
    "cross-region-kinesis-stream": "FireLens Kinesis data stream in another Region",
    "cross-region-s3-output": "FireLens S3 bucket in another Region",
    "other-registry": "image in another registry",
    "fargate-new-region": "Fargate in a Region opened after 23 Dec 2023",
    "efs": "| EFS volume |",
    "windows-foreign-layers": "Windows images",
}


def _table() -> list[str]:
    """The rows of the README table that follows "What a workload needs"."""
    text = README.read_text(encoding="utf-8")
    start = text.index("What a workload needs")
    rows: list[str] = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    assert len(rows) > 2, "the README's what-a-workload-needs table was not found"
    return rows[2:]  # past the header and its rule


def test_every_rule_is_documented_by_a_row_of_the_readme_table() -> None:
    ids = {r.id for r in (*NEED_RULES, *PROBLEM_RULES, *NOTE_RULES)}
    rows = _table()

    assert sorted(ids - set(DOCUMENTED_BY)) == [], "document the new rule in the README table, then here"
    assert sorted(set(DOCUMENTED_BY) - ids) == [], "a rule left the table: drop its README row and entry"
    undocumented = [rule for rule, words in DOCUMENTED_BY.items() if not any(words in row for row in rows)]
    assert undocumented == []


def test_every_endpoint_service_of_the_rules_table_is_named_in_the_readme_table() -> None:
    named = {m for row in _table() for m in re.findall(r"`([a-z0-9.-]+)`", row.split("|")[2])}

    assert sorted({s for rule in NEED_RULES for s, _ in rule.services} - named) == []


def test_every_need_row_says_where_aws_documents_it() -> None:
    assert [r.id for r in NEED_RULES if len(r.source) < 10] == []
