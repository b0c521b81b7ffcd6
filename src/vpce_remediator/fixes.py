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
        "vpce-remediator-endpoints --description 'HTTPS from the VPC to its interface endpoints (vpce-remediator)' "
        + _SG_TAGS,
        "aws ec2 authorize-security-group-ingress --region {region} --group-id {security_group} "
        "--ip-permissions {ip_permissions}",
    ),
    "endpoint-missing": (
        "aws ec2 create-vpc-endpoint --region {region} --vpc-id {vpc_id} --vpc-endpoint-type Interface "
        "--service-name {service} --subnet-ids {subnet_ids} --security-group-ids {security_group} "
        "--private-dns-enabled " + _EP_TAGS,
    ),
    "gateway-endpoint-missing": (
        "aws ec2 create-vpc-endpoint --region {region} --vpc-id {vpc_id} --vpc-endpoint-type Gateway "
        "--service-name {service} --route-table-ids {route_table_ids} " + _EP_TAGS,
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
    "endpoint-security-group-squatted": (
        "aws ec2 describe-network-interfaces --region {region} --filters Name=group-id,Values={security_group} "
        "--query 'NetworkInterfaces[].[NetworkInterfaceId,InterfaceType,Description]' --output text",
        "aws ec2 delete-security-group --region {region} --group-id {security_group}",
    ),
    "endpoint-sg-closed": (
        "aws ec2 authorize-security-group-ingress --region {region} --group-id {security_group} "
        "--ip-permissions {ip_permissions}",
    ),
    "s3-policy-blocks-ecr-layers": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--policy-document '{policy}'",
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
    "shared-vpc-participant": (
        "aws ec2 describe-vpcs --region {region} --vpc-ids {vpc_id} --query 'Vpcs[0].OwnerId' --output text",
    ),
    "private-dns-conflict": (
        "aws route53 list-hosted-zones-by-vpc --region {region} --vpc-id {vpc_id} --vpc-region {region}",
        "aws ec2 describe-vpc-endpoints --region {region} --filters Name=vpc-id,Values={vpc_id} "
        "Name=service-name,Values={service} --query 'VpcEndpoints[].[VpcEndpointId,OwnerId,PrivateDnsEnabled]'",
        "aws ec2 create-vpc-endpoint --region {region} --vpc-id {vpc_id} --vpc-endpoint-type Interface "
        "--service-name {service} --subnet-ids {subnet_ids} --security-group-ids {security_group} "
        "--no-private-dns-enabled " + _EP_TAGS,
    ),
    "endpoint-quota-reached": (
        "aws service-quotas get-service-quota --region {region} --service-code vpc --quota-code {quota_code}",
        "aws service-quotas request-service-quota-increase --region {region} --service-code vpc "
        "--quota-code {quota_code} --desired-value {desired_value}",
    ),
    "security-group-quota-reached": (
        "aws service-quotas list-service-quotas --region {region} --service-code vpc "
        "--query \"Quotas[?contains(QuotaName, 'ecurity group')].[QuotaName,QuotaCode,Value]\" --output table",
    ),
    "endpoint-service-invalid": (
        "aws ec2 describe-vpc-endpoint-services --region {region} --filters Name=service-name,Values={service} "
        "--query 'ServiceDetails[].[ServiceName,AvailabilityZones]'",
    ),
    "resource-not-found": (
        "aws ec2 describe-vpc-endpoints --region {region} --filters Name=vpc-id,Values={vpc_id} "
        "--query 'VpcEndpoints[].[VpcEndpointId,ServiceName,State,SubnetIds]'",
        "aws ec2 describe-subnets --region {region} --filters Name=vpc-id,Values={vpc_id} "
        "--query 'Subnets[].[SubnetId,AvailabilityZone]'",
    ),
    "write-refused": (
        "aws cloudtrail lookup-events --region {region} --lookup-attributes "
        "AttributeKey=EventName,AttributeValue={api_call} --max-results 5",
    ),
    "endpoint-cap-reached": (
        "aws cloudformation describe-stacks --region {region} "
        "--query \"Stacks[?Parameters[?ParameterKey=='MaxEndpointsPerVpc']].StackName\" --output text",
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
    _row("endpoint-security-group-squatted", "Another group holds the remediator's security group name", "HIGH",
         _PRIVATELINK + "interface-endpoints.html"),
    _row("endpoint-sg-closed", "Endpoint security group blocks HTTPS from the workload", "HIGH",
         _PRIVATELINK + "create-interface-endpoint.html"),
    _row("s3-policy-blocks-ecr-layers", "S3 endpoint policy blocks ECR image layers", "HIGH", _ECR_VPCE),
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
    _row("shared-vpc-participant", "VPC shared from another account: only its owner creates endpoints", "MEDIUM",
         "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-sharing.html"),
    _row("private-dns-conflict", "Private DNS name already served in the VPC", "HIGH",
         _PRIVATELINK + "privatelink-access-aws-services.html#interface-endpoint-private-dns"),
    _row("endpoint-quota-reached", "VPC endpoint quota reached", "HIGH",
         "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-limits-endpoints.html"),
    _row("security-group-quota-reached", "Security group quota reached", "HIGH",
         "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html"),
    _row("endpoint-service-invalid", "Endpoint service name refused by EC2", "MEDIUM",
         _PRIVATELINK + "aws-services-privatelink-support.html"),
    _row("resource-not-found", "A resource to change no longer exists", "LOW",
         "https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html"),
    _row("write-refused", "EC2 refused a change", "MEDIUM",
         "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html"),
    _row("endpoint-cap-reached", "The remediator's endpoint cap for the VPC is reached", "MEDIUM",
         _PRIVATELINK + "create-interface-endpoint.html"),
])


def fix_commands(kind: str, params: Mapping[str, str]) -> tuple[str, ...]:
    """The commands that fix a problem of `kind` (every kind the engine raises has a row)."""
    return tuple(t.format(**params) for t in PROBLEMS[kind].fix)


def ingress_443(cidrs: tuple[str, ...] = (), group_ids: tuple[str, ...] = (), why: str = "") -> str:
    """`--ip-permissions` shorthand for TCP 443 from CIDRs and/or security groups."""
    parts = ["IpProtocol=tcp", "FromPort=443", "ToPort=443"]
    desc = f",Description={why}" if why and " " not in why else ""
    if cidrs:
        parts.append("IpRanges=[" + ",".join(f"{{CidrIp={c}{desc}}}" for c in cidrs) + "]")
    if group_ids:
        parts.append("UserIdGroupPairs=[" + ",".join(f"{{GroupId={g}}}" for g in group_ids) + "]")
    return "'" + ",".join(parts) + "'"
