"""Report: findings where security teams look. AWS Config evaluations and Security Hub (ASFF).

Pure builders (`annotation`, `evaluation`, `asff_finding`) turn the engine's findings into the
payloads; the small I/O classes (`ConfigReporter`, `SecurityHubReporter`, `request_config_refresh`)
send them in the batch sizes the APIs allow and treat the expected errors as what they are.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from botocore.exceptions import ClientError

from rules.partitions import split_service_name
from rules.records import record
from vpce_remediator.aws import error_code
from vpce_remediator.fixes import PROBLEMS
from vpce_remediator.plan import Finding
from vpce_remediator.policies import partition

if TYPE_CHECKING:
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_config.type_defs import EvaluationTypeDef
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_securityhub.literals import PartitionType
    from mypy_boto3_securityhub.type_defs import (
        AwsSecurityFindingFiltersTypeDef,
        AwsSecurityFindingOutputTypeDef,
        AwsSecurityFindingTypeDef,
        ResourceTypeDef,
    )

log = logging.getLogger("vpce-remediator")

# IAM actions per door (contract-tested against template.yaml): the event path upserts findings
# and asks for a refresh; the Config rule writes evaluations and archives fixed findings.
EVENT_REPORT_ACTIONS: tuple[str, ...] = ("config:StartConfigRulesEvaluation", "securityhub:BatchImportFindings")
# GetComplianceDetailsByConfigRule: the periodic run reads what the rule judged before, to mark
# NOT_APPLICABLE what it no longer finds.
CONFIG_REPORT_ACTIONS: tuple[str, ...] = ("config:PutEvaluations", "config:GetResourceConfigHistory",
                                          "config:GetComplianceDetailsByConfigRule",
                                          "securityhub:BatchImportFindings", "securityhub:GetFindings")

Compliance = Literal["COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE"]  # what a Config rule reports
COMPLIANT: Final = "COMPLIANT"
NON_COMPLIANT: Final = "NON_COMPLIANT"
NOT_APPLICABLE: Final = "NOT_APPLICABLE"
ANNOTATION_MAX = 256
RECOMMENDATION_MAX = 512
DESCRIPTION_MAX = 1024
BATCH = 100  # PutEvaluations and BatchImportFindings both take at most 100 a call
GENERATOR = "vpce-remediator"

# ASFF resource types of what findings are about.
ASFF_TYPES = {
    "AWS::EC2::VPC": ("AwsEc2Vpc", "vpc"),
    "AWS::EC2::SecurityGroup": ("AwsEc2SecurityGroup", "security-group"),
    "AWS::EC2::VPCEndpoint": ("Other", "vpc-endpoint"),
    "AWS::EC2::RouteTable": ("AwsEc2RouteTable", "route-table"),
    "AWS::ECS::Service": ("AwsEcsService", ""),
    "AWS::ECS::TaskDefinition": ("AwsEcsTaskDefinition", ""),
    "AWS::ECS::Cluster": ("AwsEcsCluster", ""),
}


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary and marked with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(",;:") + "…"


def _short_service(service: str) -> str:
    split = split_service_name(service)
    return split[1] if split else service


def asff_partition(region: str) -> PartitionType:
    """ASFF's name of the Region's partition (`Resources[].Partition`): the ISO partitions are
    `aws-us-iso` / `aws-us-iso-b` there (botocore's securityhub model, shape `Partition`, whose
    list has no aws-eusc, aws-iso-e or aws-iso-f yet: those are sent by their own names)."""
    p = partition(region)
    return cast("PartitionType", {"aws-iso": "aws-us-iso", "aws-iso-b": "aws-us-iso-b"}.get(p, p))


def annotation(findings: Sequence[Finding]) -> str:
    """One line a person understands: 'missing ecr.dkr, logs; private DNS off: …; sg-… lacks 443 …'."""
    missing = [_short_service(f.service) for f in findings
               if f.problem in ("endpoint-missing", "gateway-endpoint-missing") and f.service]
    parts = [f"missing {', '.join(sorted(set(missing)))}"] if missing else []
    for f in findings:
        if f.problem in ("endpoint-missing", "gateway-endpoint-missing"):
            continue
        if f.problem in ("vpc-dns-support-off", "vpc-dns-hostnames-off"):
            attr = "enableDnsSupport" if "support" in f.problem else "enableDnsHostnames"
            parts.append(f"private DNS off: VPC {attr}=false")
        elif f.problem == "endpoint-sg-closed":
            parts.append(f"{f.resource_id} lacks 443 from the workload")
        else:
            svc = f" {_short_service(f.service)}" if f.service else ""
            parts.append(f"{PROBLEMS[f.problem].title.lower()}{svc} ({f.resource_id})")
    return shorten("; ".join(dict.fromkeys(parts)) or COMPLIANT_ANNOTATION, ANNOTATION_MAX)


# What a compliant verdict has checked, and the one hop it has not (reach.ONE_DOOR_HOPS).
COMPLIANT_ANNOTATION = ("required VPC endpoints present; checked: DNS, AZs, route tables, endpoint and workload "
                        "security groups, endpoint policies; not network ACLs (vpce-remediator doctor checks them)")


@record
class Evaluation:
    resource_type: str
    resource_id: str
    compliance: Compliance
    annotation: str

    def to_api(self, ordering_timestamp: datetime) -> EvaluationTypeDef:
        return {"ComplianceResourceType": self.resource_type, "ComplianceResourceId": self.resource_id,
                "ComplianceType": self.compliance, "Annotation": shorten(self.annotation, ANNOTATION_MAX),
                "OrderingTimestamp": ordering_timestamp}


def evaluation(resource_type: str, resource_id: str, findings: Sequence[Finding]) -> Evaluation:
    return Evaluation(resource_type, resource_id, NON_COMPLIANT if findings else COMPLIANT, annotation(findings))


class ConfigReporter:
    """`PutEvaluations` 100 at a time; a `ResultToken` of TESTMODE runs in test mode."""

    def __init__(self, config: ConfigServiceClient, result_token: str) -> None:
        self.config = config
        self.token = result_token

    def put(self, evaluations: Sequence[Evaluation], ordering_timestamp: datetime) -> int:
        calls = 0
        for i in range(0, len(evaluations), BATCH):
            chunk = [e.to_api(ordering_timestamp) for e in evaluations[i:i + BATCH]]
            kwargs: dict[str, Any] = {"Evaluations": chunk, "ResultToken": self.token}
            if self.token == "TESTMODE":
                kwargs["TestMode"] = True
            self.config.put_evaluations(**kwargs)
            calls += 1
        return calls


class PreviousUnreadable(Exception):
    """The rule's earlier evaluations could not be read; the message says what answered."""


# Answers that leave the earlier evaluations unread but the run worth finishing: a member role from
# before this read was granted, a TESTMODE invocation naming a rule that does not exist, a name the
# read refuses (its reference says 1-64 characters, rule names may have 128), or an endpoint that
# does not implement the call (moto_server: a bare 500; in process: NotImplementedError).
_PREVIOUS_UNREADABLE = ("AccessDenied", "AccessDeniedException", "NoSuchConfigRuleException", "ValidationException",
                        "InvalidParameterValueException", "404", "500", "NotImplemented", "UnknownOperationException")


def evaluated_before(config: ConfigServiceClient, rule_name: str) -> list[tuple[str, str]]:
    """The (resource type, resource id) this rule last judged COMPLIANT or NON_COMPLIANT, from
    `GetComplianceDetailsByConfigRule` (100 a page, every page). NOT_APPLICABLE ones need nothing
    more. Raises `PreviousUnreadable` when refused or not answered (see above)."""
    found: dict[tuple[str, str], None] = {}
    try:
        pages = config.get_paginator("get_compliance_details_by_config_rule").paginate(
            ConfigRuleName=rule_name, ComplianceTypes=[COMPLIANT, NON_COMPLIANT], PaginationConfig={"PageSize": BATCH})
        for page in pages:
            for result in page.get("EvaluationResults", []):
                q = result.get("EvaluationResultIdentifier", {}).get("EvaluationResultQualifier", {})
                if q.get("ResourceType") and q.get("ResourceId"):
                    found[(q["ResourceType"], q["ResourceId"])] = None
    except ClientError as e:
        if error_code(e) not in _PREVIOUS_UNREADABLE:
            raise
        raise PreviousUnreadable(f"GetComplianceDetailsByConfigRule answered {error_code(e)}") from e
    except NotImplementedError as e:  # moto in process (the tests, an embedded demo) lacks the read
        raise PreviousUnreadable("GetComplianceDetailsByConfigRule is not implemented by this endpoint") from e
    return list(found)


def request_config_refresh(config: ConfigServiceClient, rule_name: str | None) -> str:
    """Ask Config to re-evaluate the rule now; a run already going or a throttle is fine."""
    if not rule_name:
        return "no rule configured"
    try:
        config.start_config_rules_evaluation(ConfigRuleNames=[rule_name])
        return "requested"
    except ClientError as e:
        code = error_code(e)
        if code in ("ResourceInProgressException", "LimitExceededException", "ThrottlingException"):
            return f"not needed now ({code}): the running or periodic evaluation will catch up"
        if code == "NoSuchConfigRuleException":
            log.warning("config rule %s does not exist; skipping the refresh", rule_name)
            return code
        raise


# ---------------------------------------------------------------- Security Hub


def finding_id(region: str, account: str, finding: Finding) -> str:
    """Deterministic per resource, problem and service, so a re-import updates, never duplicates."""
    key = f"{finding.resource_id}|{finding.problem}|{finding.service}"
    return f"{GENERATOR}/{region}/{account}/{finding.problem}/{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def resource_arn(region: str, account: str, resource_type: str, resource_id: str) -> str:
    if resource_id.startswith("arn:"):
        return resource_id
    kind = ASFF_TYPES.get(resource_type, ("Other", ""))[1] or "resource"
    return f"arn:{partition(region)}:ec2:{region}:{account}:{kind}/{resource_id}"


def asff_finding(finding: Finding, region: str, account: str, vpc_id: str, now: str,
                 compliance: Literal["FAILED", "PASSED"] = "FAILED") -> AwsSecurityFindingTypeDef:
    """An ASFF finding: the summary as description, the first fix as the recommendation, every
    command in ProductFields (the recommendation text is capped at 512 characters)."""
    row = PROBLEMS[finding.problem]
    fields = {"vpce-remediator/Problem": finding.problem, "vpce-remediator/VpcId": vpc_id}
    if finding.service:
        fields["vpce-remediator/Service"] = finding.service
    for i, command in enumerate(finding.fix, start=1):
        fields[f"vpce-remediator/Fix{i}"] = command
    # The recommendation carries the first command only when it fits whole: `shorten` would fold
    # the whitespace inside a quoted argument or cut a command mid-quote. ProductFields keep them all.
    more = f" (and {len(finding.fix) - 1} more command(s) in ProductFields)" if len(finding.fix) > 1 else ""
    if not finding.fix:
        text = "Run: see the description"
    elif len(f"Run: {finding.fix[0]}{more}") <= RECOMMENDATION_MAX and " ".join(finding.fix[0].split()) == finding.fix[0]:
        text = f"Run: {finding.fix[0]}{more}"
    else:
        text = f"Run the {len(finding.fix)} command(s) in ProductFields vpce-remediator/Fix1 and on, in order"
    resource: ResourceTypeDef = {
        "Type": ASFF_TYPES.get(finding.resource_type, ("Other", ""))[0],
        "Id": resource_arn(region, account, finding.resource_type, finding.resource_id),
        "Partition": asff_partition(region), "Region": region}
    return {
        "SchemaVersion": "2018-10-08",
        "Id": finding_id(region, account, finding),
        "ProductArn": f"arn:{partition(region)}:securityhub:{region}:{account}:product/{account}/default",
        "GeneratorId": f"{GENERATOR}/{finding.problem}",
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/AWS Security Best Practices/Network Reachability"],
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": row.severity if compliance == "FAILED" else "INFORMATIONAL"},
        "Title": shorten(f"{row.title}: {finding.resource_id}", 256),
        "Description": shorten(finding.summary, DESCRIPTION_MAX),
        "Remediation": {"Recommendation": {
            "Text": text,
            "Url": row.url}},
        "ProductFields": fields,
        "Resources": [resource],
        "Compliance": {"Status": compliance},
        "RecordState": "ACTIVE" if compliance == "FAILED" else "ARCHIVED",
        "Workflow": {"Status": "NEW" if compliance == "FAILED" else "RESOLVED"},
    }


class SecurityHubReporter:
    """Upserts FAILED findings and archives, as PASSED, those of a VPC whose problem is gone.

    When Security Hub is not enabled in the account, it warns once and stays quiet after that.
    """

    _disabled_accounts: set[str] = set()  # per process: a warm Lambda does not ask again

    def __init__(self, securityhub: SecurityHubClient, region: str, account: str) -> None:
        self.hub = securityhub
        self.region = region
        self.account = account

    @property
    def enabled(self) -> bool:
        return self.account not in self._disabled_accounts

    def sync(self, complete: dict[str, list[Finding]], partial: dict[str, list[Finding]] | None = None,
             now: datetime | None = None, whole_region: bool = False) -> dict[str, int]:
        """Upsert the current findings; archive as PASSED the active ones of the VPCs in `complete`.

        `complete` maps a VPC to every finding of every workload in it, so whatever else is active
        there is fixed. `partial` views (one event, one service) are only upserted: archiving from
        them would close other workloads' findings. `whole_region` (the periodic run, which sees
        every workload of the region) also archives the findings of VPCs that no longer host any.
        """
        partial = partial or {}
        if not self.enabled or not (complete or partial or whole_region):
            return {"imported": 0, "archived": 0}
        stamp = (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
        current = [asff_finding(f, self.region, self.account, vpc, stamp)
                   for source in (partial, complete) for vpc, findings in source.items() for f in findings]
        current = list({f["Id"]: f for f in current}.values())
        try:
            ids = {f["Id"] for f in current}
            gone = [self._passed(old, stamp) for old in self._active(None if whole_region else complete)
                    if old["Id"] not in ids] if complete or whole_region else []
            self._import(current + gone)
        except ClientError as e:
            # Security Hub answers InvalidAccessException when the account has not enabled it.
            if error_code(e) == "InvalidAccessException":
                log.warning("Security Hub is not enabled in %s/%s: findings go to AWS Config only",
                            self.account, self.region)
                self._disabled_accounts.add(self.account)
                return {"imported": 0, "archived": 0}
            raise
        return {"imported": len(current), "archived": len(gone)}

    def _active(self, vpc_findings: dict[str, list[Finding]] | None) -> Iterable[AwsSecurityFindingOutputTypeDef]:
        """Our active findings in this account: of the VPCs given, or of the whole region (None)."""
        filters: AwsSecurityFindingFiltersTypeDef = {
            "GeneratorId": [{"Value": f"{GENERATOR}/", "Comparison": "PREFIX"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
            "AwsAccountId": [{"Value": self.account, "Comparison": "EQUALS"}],
        }
        product = f"arn:{partition(self.region)}:securityhub:{self.region}:{self.account}:product/{self.account}/default"
        if vpc_findings is None:  # this region's: findings are imported under the region's product ARN
            filters["ProductArn"] = [{"Value": product, "Comparison": "EQUALS"}]
        else:
            filters["ProductFields"] = [{"Key": "vpce-remediator/VpcId", "Value": vpc, "Comparison": "EQUALS"}
                                        for vpc in sorted(vpc_findings)]
        paginator = self.hub.get_paginator("get_findings")
        for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": 100}):
            for f in page.get("Findings", []):
                # Checked again here: the filter is the contract, but moto ignores it.
                vpc = f.get("ProductFields", {}).get("vpce-remediator/VpcId")
                if (f.get("GeneratorId", "").startswith(f"{GENERATOR}/") and f.get("RecordState") == "ACTIVE"
                        and f.get("AwsAccountId") == self.account
                        and (f.get("ProductArn") == product if vpc_findings is None else vpc in vpc_findings)):
                    yield f

    @staticmethod
    def _passed(old: Mapping[str, Any], stamp: str) -> AwsSecurityFindingTypeDef:
        keep = ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt",
                "Title", "Description", "Resources", "ProductFields", "Remediation")
        # The fields Security Hub returned, as it returned them: the output and input shapes agree.
        return cast("AwsSecurityFindingTypeDef", {
            **{k: old[k] for k in keep if k in old}, "UpdatedAt": stamp,
            "Severity": {"Label": "INFORMATIONAL"}, "Compliance": {"Status": "PASSED"},
            "RecordState": "ARCHIVED", "Workflow": {"Status": "RESOLVED"}})

    def _import(self, findings: Sequence[AwsSecurityFindingTypeDef]) -> None:
        for i in range(0, len(findings), BATCH):
            response = self.hub.batch_import_findings(Findings=findings[i:i + BATCH])
            if response.get("FailedCount"):
                failed = response.get("FailedFindings", [])[:3]
                log.warning("Security Hub refused %s finding(s): %s", response["FailedCount"], failed)
