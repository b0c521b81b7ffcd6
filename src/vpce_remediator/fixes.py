"""Problem kind -> what it is called, how bad it is, where AWS documents it, and the AWS CLI
commands that fix it with the real ids filled in.

One table (`PROBLEMS`), one row per finding kind the engine can raise. Each command template is a
`str.format` string over the finding's parameters; list parameters arrive already joined with
spaces. Every command names its region so it can be pasted into any shell.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

TAGS = ("--tag-specifications 'ResourceType={rtype},Tags=[{{Key=managed-by,Value=vpce-remediator}}]'")
_EP_TAGS = TAGS.replace("{rtype}", "vpc-endpoint")
_SG_TAGS = TAGS.replace("{rtype}", "security-group")

# The own security group may not exist yet when a report is written: look it up by name so each
# command still works on its own once the group has been created.
OWN_SG_LOOKUP = (
    "\"$(aws ec2 describe-security-groups --region {region} --filters Name=vpc-id,Values={vpc_id} "
    "Name=group-name,Values=vpce-remediator-endpoints --query 'SecurityGroups[0].GroupId' --output text)\""
)

_FIX_TEMPLATES: dict[str, tuple[str, ...]] = {
    "vpc-dns-support-off": (
        "aws ec2 modify-vpc-attribute --region {region} --vpc-id {vpc_id} --enable-dns-support Value=true",
    ),
    "vpc-dns-hostnames-off": (
        "aws ec2 modify-vpc-attribute --region {region} --vpc-id {vpc_id} --enable-dns-hostnames Value=true",
    ),
    "endpoint-security-group-missing": (
        "aws ec2 create-security-group --region {region} --vpc-id {vpc_id} --group-name "
        "vpce-remediator-endpoints --description 'HTTPS from the VPC to its interface endpoints' "
        + _SG_TAGS,
        "aws ec2 authorize-security-group-ingress --region {region} --group-id {security_group} "
        "--ip-permissions {ip_permissions}",
    ),
    "endpoint-missing": (
        "aws ec2 create-vpc-endpoint --region {region} --vpc-id {vpc_id} --vpc-endpoint-type Interface "
        "--service-name {service} --subnet-ids {subnet_ids} --security-group-ids {security_group} "
        "--private-dns-enabled{policy_arg} " + _EP_TAGS,
    ),
    "gateway-endpoint-missing": (
        "aws ec2 create-vpc-endpoint --region {region} --vpc-id {vpc_id} --vpc-endpoint-type Gateway "
        "--service-name {service} --route-table-ids {route_table_ids}{policy_arg} " + _EP_TAGS,
    ),
    "endpoint-missing-az": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--add-subnet-ids {subnet_ids}",
    ),
    "s3-gateway-missing-route-table": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--add-route-table-ids {route_table_ids}",
    ),
    "private-dns-off": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} --private-dns-enabled",
    ),
    "endpoint-security-group-detached": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--add-security-group-ids {security_group}",
    ),
    "endpoint-sg-closed": (
        "aws ec2 authorize-security-group-ingress --region {region} --group-id {security_group} "
        "--ip-permissions {ip_permissions}",
    ),
    "s3-policy-blocks-ecr-layers": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--policy-document '{policy}'",
    ),
    "endpoint-policy-changed": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--policy-document '{policy}'",
    ),
    "endpoint-policy-blocks-workload": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--policy-document '{policy}'",
    ),
    "endpoint-policy-reset": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} --reset-policy",
    ),
    "service-not-offered": (
        "aws ec2 describe-vpc-endpoint-services --region {region} --service-names {service} "
        "--query 'ServiceDetails[].AvailabilityZones'",
    ),
    "public-registry-image": (
        "aws ecr create-pull-through-cache-rule --region {region} --ecr-repository-prefix {prefix} "
        "--upstream-registry-url {upstream}{credential_arg}",
    ),
    "unmirrorable-registry-image": (
        "aws ecr create-repository --region {region} --repository-name {repository}",
    ),
    "cross-region-ecr-image": (
        "aws ecr describe-registry --region {image_region} --query replicationConfiguration",
        "aws ecr put-replication-configuration --region {image_region} --replication-configuration "
        "'{{\"rules\":[{{\"destinations\":[{{\"region\":\"{region}\",\"registryId\":\"{image_account}\"}}]}}]}}'",
    ),
    "cross-region-secret": (
        "aws secretsmanager replicate-secret-to-regions --region {secret_region} --secret-id {arn} "
        "--add-replica-regions Region={region}",
    ),
    "cross-region-parameter": (
        "aws ssm put-parameter --region {region} --name {parameter} --type SecureString --value "
        "\"$(aws ssm get-parameter --region {secret_region} --name {parameter} --with-decryption "
        "--query Parameter.Value --output text)\"",
    ),
    "cross-region-logs": (
        "aws logs create-log-group --region {region} --log-group-name {log_group}",
    ),
    "permission-missing": (
        "aws iam simulate-principal-policy --policy-source-arn {role_arn} --action-names {iam_action}",
    ),
}


_PRIVATELINK = "https://docs.aws.amazon.com/vpc/latest/privatelink/"
_ECS_VPCE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html"
_ECR_VPCE = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html"


@dataclass(frozen=True)
class ProblemKind:
    title: str
    severity: str  # Security Hub label: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL
    url: str  # the AWS guide a finding links to
    fix: tuple[str, ...]  # command templates


def _row(kind: str, title: str, severity: str, url: str) -> tuple[str, ProblemKind]:
    return kind, ProblemKind(title, severity, url, _FIX_TEMPLATES[kind])


PROBLEMS: dict[str, ProblemKind] = dict([
    _row("vpc-dns-support-off", "VPC DNS resolution is off", "HIGH",
         _PRIVATELINK + "privatelink-access-aws-services.html#interface-endpoint-dns-hostnames"),
    _row("vpc-dns-hostnames-off", "VPC DNS hostnames are off", "HIGH",
         _PRIVATELINK + "privatelink-access-aws-services.html#interface-endpoint-dns-hostnames"),
    _row("endpoint-security-group-missing", "No security group for the endpoints", "HIGH",
         _PRIVATELINK + "create-interface-endpoint.html"),
    _row("endpoint-missing", "Interface endpoint missing", "HIGH", _ECS_VPCE),
    _row("gateway-endpoint-missing", "S3 gateway endpoint missing", "HIGH", _ECR_VPCE),
    _row("endpoint-missing-az", "Endpoint missing a workload AZ", "MEDIUM",
         _PRIVATELINK + "interface-endpoints.html"),
    _row("s3-gateway-missing-route-table", "S3 gateway endpoint not on the workload's route table", "HIGH",
         "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html"),
    _row("private-dns-off", "Endpoint private DNS is off", "HIGH",
         _PRIVATELINK + "privatelink-access-aws-services.html#interface-endpoint-private-dns"),
    _row("endpoint-security-group-detached", "Endpoint lacks the remediator's security group", "HIGH",
         _PRIVATELINK + "interface-endpoints.html"),
    _row("endpoint-sg-closed", "Endpoint security group blocks HTTPS from the workload", "HIGH",
         _PRIVATELINK + "create-interface-endpoint.html"),
    _row("s3-policy-blocks-ecr-layers", "S3 endpoint policy blocks ECR image layers", "HIGH", _ECR_VPCE),
    _row("endpoint-policy-changed", "The remediator's endpoint policy was changed", "HIGH",
         _PRIVATELINK + "vpc-endpoints-access.html"),
    _row("endpoint-policy-blocks-workload", "Endpoint policy blocks the workload's calls", "HIGH",
         _PRIVATELINK + "vpc-endpoints-access.html"),
    _row("endpoint-policy-reset", "Endpoint policy blocks the workload's calls", "HIGH",
         _PRIVATELINK + "vpc-endpoints-access.html"),
    _row("service-not-offered", "Endpoint service not offered where the workload runs", "MEDIUM",
         _PRIVATELINK + "aws-services-privatelink-support.html"),
    _row("public-registry-image", "Image from a public registry", "MEDIUM",
         "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html"),
    _row("unmirrorable-registry-image", "Image from a registry no pull-through cache serves", "MEDIUM",
         "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html"),
    _row("cross-region-ecr-image", "Image in ECR of another Region", "MEDIUM",
         "https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html"),
    _row("cross-region-secret", "Secret in another Region", "MEDIUM",
         "https://docs.aws.amazon.com/secretsmanager/latest/userguide/create-manage-multi-region-secrets.html"),
    _row("cross-region-parameter", "SSM parameter in another Region", "MEDIUM",
         "https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-parameter-store.html"),
    _row("cross-region-logs", "Logs sent to another Region", "MEDIUM",
         "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html"),
    _row("permission-missing", "The remediator lacks a permission", "MEDIUM",
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html"),
])


def fix_commands(kind: str, params: Mapping[str, str]) -> tuple[str, ...]:
    """The commands that fix a problem of `kind` (every kind the engine raises has a row)."""
    # `policy_arg` (the create commands' --policy-document) is empty for doors that send no policy.
    return tuple(t.format(**{"policy_arg": "", **params}) for t in PROBLEMS[kind].fix)


def ingress_443(cidrs: tuple[str, ...] = (), group_ids: tuple[str, ...] = (), why: str = "") -> str:
    """`--ip-permissions` shorthand for TCP 443 from CIDRs and/or security groups."""
    parts = ["IpProtocol=tcp", "FromPort=443", "ToPort=443"]
    desc = f",Description={why}" if why and " " not in why else ""
    if cidrs:
        parts.append("IpRanges=[" + ",".join(f"{{CidrIp={c}{desc}}}" for c in cidrs) + "]")
    if group_ids:
        parts.append("UserIdGroupPairs=[" + ",".join(f"{{GroupId={g}}}" for g in group_ids) + "]")
    return "'" + ",".join(parts) + "'"
