"""The endpoint policy the remediator puts on each endpoint it creates. Pure.

AWS's data-perimeter guidance for VPC endpoint policies: allow principals of the organization to
reach resources of the organization (`aws:PrincipalOrgID` / `aws:ResourceOrgID`), or, for a
stand-alone account, of the account (`aws:PrincipalAccount` / `aws:ResourceAccount`); allow AWS
service principals (`aws:PrincipalIsAWSService`); and name the exceptions a workload needs:

- actions without a resource (ECR's `GetAuthorizationToken`, the ECS Exec channels of
  `ssmmessages`, X-Ray's trace and sampling calls, Logs' `DescribeLogGroups`, CloudWatch's
  `PutMetricData`) carry no resource
  account or organization, so a resource condition would refuse them: they get the principal
  condition only;
- ECR image layers are downloaded from an AWS-owned bucket with URLs ECR's own account presigns,
  so the S3 policy allows `s3:GetObject` on `prod-REGION-starport-layer-bucket` to any principal.

ECS's endpoints (`ecs`, `ecs-agent`, `ecs-telemetry`) take no endpoint policy (ECS developer guide:
controlling access by an endpoint policy is not supported), and `DescribeVpcEndpointServices` says
per service (`VpcEndpointPolicySupported`): where it says no, none is sent.
"""
from __future__ import annotations

import json
from typing import Any, Final, Literal

from rules.guardduty import AGENT_REGISTRY_ACCOUNTS, agent_repository_arn
from rules.records import record
from vpce_remediator.policies import RequestContext, layer_bucket_arn, partition

ORGANIZATION: Final = "organization"
ACCOUNT: Final = "account"
AWS_DEFAULT: Final = "aws-default"
AUTO: Final = "auto"
SETTINGS = (AUTO, ORGANIZATION, ACCOUNT, AWS_DEFAULT)

NO_POLICY_SERVICES = frozenset({"ecs", "ecs-agent", "ecs-telemetry"})
AGENT_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")

# Actions with no resource (IAM `Resource: "*"`) the workload's features call, per endpoint.
RESOURCELESS_ACTIONS: dict[str, tuple[str, ...]] = {
    "ecr.api": ("ecr:GetAuthorizationToken",),
    "ssmmessages": ("ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"),
    "xray": ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
             "xray:GetSamplingTargets"),
    "logs": ("logs:DescribeLogGroups",),
    "monitoring": ("cloudwatch:PutMetricData",),
}


@record
class PolicyScope:
    """Whose principals and resources the remediator's endpoints admit.

    `exact`: the scope is the one the setting asks for (an `auto` or `organization` setting
    resolved with the organization's id). When it is not (report mode reads no organization), the
    account's scope stands in for fix commands, and own endpoints are checked only for blocking
    the workload, not for differing from the policy."""

    mode: Literal["organization", "account", "aws-default"]
    account: str
    organization_id: str | None = None
    exact: bool = True

    def policy(self, short: str, region: str) -> str | None:
        """The compact policy JSON for an endpoint of service `short`; None: send none."""
        if self.mode == AWS_DEFAULT or short in NO_POLICY_SERVICES:
            return None
        return json.dumps(policy_document(short, region, self), separators=(",", ":"))

    def context(self, principal_account: str | None = None, principal_org: str | None = None,
                resource: bool = True, resource_account: str | None = None, resource_org: str | None = None,
                by_aws: bool = False) -> RequestContext:
        """The request context of a call: by default from a principal of this account to a resource
        of it; `resource=False` for an action without a resource. The organization of this
        account's principals and resources is unknown (given the benefit of the doubt) until
        resolved; a foreign account's is whatever `principal_org` / `resource_org` say."""
        if by_aws:  # a URL presigned by an AWS-owned account, for an AWS-owned resource
            return RequestContext.of({"aws:PrincipalAccount": AWS_OWNED, "aws:PrincipalIsAWSService": "false",
                                      "aws:ResourceAccount": AWS_OWNED})
        unknown = []
        principal = principal_account or self.account
        if principal == self.account and principal_org is None:
            principal_org = self.organization_id
            if principal_org is None:
                unknown.append("aws:PrincipalOrgID")
        values: dict[str, str | None] = {"aws:PrincipalAccount": principal, "aws:PrincipalOrgID": principal_org,
                                         "aws:PrincipalIsAWSService": "false"}
        if resource:
            owner = resource_account or self.account
            if owner == self.account and resource_org is None:
                resource_org = self.organization_id
                if resource_org is None:
                    unknown.append("aws:ResourceOrgID")
            values.update({"aws:ResourceAccount": owner, "aws:ResourceOrgID": resource_org})
        return RequestContext.of(values, unknown)


AWS_OWNED = "000000000000"  # stands for an AWS-owned account (ECR's, the layer bucket's)


def policy_document(short: str, region: str, scope: PolicyScope) -> dict[str, Any]:
    """The policy statements for one endpoint service (see the module docstring)."""
    if scope.mode == ORGANIZATION and scope.organization_id:
        who, whose, value, label = "aws:PrincipalOrgID", "aws:ResourceOrgID", scope.organization_id, "Organization"
    else:
        who, whose, value, label = "aws:PrincipalAccount", "aws:ResourceAccount", scope.account, "Account"
    statements: list[dict[str, Any]] = [
        _allow(f"{label}PrincipalsTo{label}Resources", "*", "*", {"StringEquals": {who: value, whose: value}})]
    if short in RESOURCELESS_ACTIONS:
        actions = list(RESOURCELESS_ACTIONS[short])
        statements.append(_allow(f"{label}PrincipalsToActionsWithoutResource", actions, "*",
                                 {"StringEquals": {who: value}}))
    statements.append(_allow("AwsServicePrincipals", "*", "*", {"Bool": {"aws:PrincipalIsAWSService": "true"}}))
    agent = agent_repository_arn(partition(region), region)
    if short == "ecr.dkr" and agent:
        # GuardDuty's agent image (Runtime Monitoring on Fargate) is in GuardDuty's account, outside
        # any customer's organization: named by its ARN, pulled by the workload's principals only.
        statements.append(_allow("GuardDutyAgentImage", list(AGENT_PULL_ACTIONS), agent, {"StringEquals": {who: value}}))
    if short == "s3":
        # Presigned by ECR's own account, so no principal condition can hold (ECR user guide).
        statements.append(_allow("EcrImageLayers", "s3:GetObject", layer_bucket_arn(region), None))
    return {"Version": "2012-10-17", "Statement": statements}


def same_policy(current: str | None, expected: str | None) -> bool:
    """Whether an endpoint's policy is the expected one (None: no policy, AWS's full-access default)."""
    if expected is None:
        return True
    try:
        return bool(current) and json.loads(current or "") == json.loads(expected)
    except ValueError:
        return False


def arn(template: str, region: str, account: str) -> str:
    return template.format(partition=partition(region), region=region, account=account,
                           guardduty_account=AGENT_REGISTRY_ACCOUNTS.get(region, "unknown"))


def _allow(sid: str, action: str | list[str], resource: str, condition: dict[str, Any] | None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": action,
                                 "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement
