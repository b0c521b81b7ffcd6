"""The problem table: every finding kind the engine raises has a row, and each row's commands come
out complete, with the real ids in them."""
from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from vpce_remediator.fixes import PROBLEMS, fix_commands, ingress_443

SRC = Path(__file__).resolve().parents[2] / "src"

# Realistic values for every placeholder any template uses.
PARAMS = {
    "region": "eu-west-1", "vpc_id": "vpc-0abc1234def567890", "endpoint_id": "vpce-0123456789abcdef0",
    "service": "com.amazonaws.eu-west-1.ecr.dkr", "subnet_ids": "subnet-0aaa1111 subnet-0bbb2222",
    "route_table_ids": "rtb-0ccc3333", "security_group": "sg-0ddd4444",
    "ip_permissions": ingress_443(cidrs=("10.0.0.0/16",)), "policy": '{"Statement":[]}',
    "prefix": "docker-hub", "upstream": "registry-1.docker.io", "credential_arg": " --credential-arn arn:x",
    "repository": "dotnet/runtime", "image_region": "us-west-2", "image_account": "111122223333",
    "secret_region": "us-west-2", "arn": "arn:aws:secretsmanager:us-west-2:111122223333:secret:db-AbCdEf",
    "parameter": "/prod/db/password", "log_group": "/ecs/web", "role_arn": "arn:aws:iam::1:role/vpce",
    "iam_action": "ec2:CreateVpcEndpoint", "policy_arg": " --policy-document '{\"Statement\":[]}'",
}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("kind", sorted(PROBLEMS))
def test_every_kind_renders_complete_commands_with_the_real_ids(kind: str) -> None:
    row = PROBLEMS[kind]
    commands = fix_commands(kind, PARAMS)

    assert commands, f"{kind} has no fix command"
    assert row.severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
    assert row.url.startswith("https://docs.aws.amazon.com/") and row.title
    for template, command in zip(row.fix, commands, strict=True):
        assert command.startswith("aws ") or command.startswith("SG=")
        for name in _placeholders(template):
            assert PARAMS[name] in command, f"{kind}: {name} not filled in"


def _raised_kinds() -> set[str]:
    """Every string literal passed as a problem kind in the engine and rules."""
    kinds: set[str] = set()
    for path in [*SRC.glob("vpce_remediator/*.py"), *SRC.glob("rules/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            args = list(node.args)
            if name == "Finding" and len(args) >= 3:
                candidates = [args[2]]
            elif name == "WorkloadProblem" and args:
                candidates = [args[0]]
            elif name == "Action" and len(args) >= 4:
                candidates = [args[3]]
            elif name in ("change_endpoint",) and len(args) >= 3:
                candidates = [args[2]]
            else:
                continue
            while candidates:
                c = candidates.pop()
                if isinstance(c, ast.IfExp):  # "a" if cond else "b": both branches, not the test
                    candidates += [c.body, c.orelse]
                elif isinstance(c, ast.Constant) and isinstance(c.value, str):
                    kinds.add(c.value)
    return kinds


def test_every_kind_the_engine_raises_has_a_row() -> None:
    raised = _raised_kinds()

    assert raised, "the scan found no kinds: the test would prove nothing"
    assert raised <= set(PROBLEMS), sorted(raised - set(PROBLEMS))
    assert {"endpoint-missing", "private-dns-off", "public-registry-image"} <= raised


def test_ingress_shorthand_is_valid_for_cidrs_and_groups() -> None:
    assert ingress_443(cidrs=("10.0.0.0/16",)) == "'IpProtocol=tcp,FromPort=443,ToPort=443,IpRanges=[{CidrIp=10.0.0.0/16}]'"
    assert ingress_443(group_ids=("sg-1", "sg-2")) == (
        "'IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{GroupId=sg-1},{GroupId=sg-2}]'")
