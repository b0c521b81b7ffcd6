"""Problem kind -> what it is called, how bad it is, where AWS documents it, and the AWS CLI
commands that fix it with the real ids filled in.

One table (`PROBLEMS`), one row per finding kind the engine can raise. Each command template is a
`str.format`-style string over the finding's parameters, but it is only ever filled by `render`,
which shell-quotes every value (findings are pasted into shells, and the values come from task
definitions, events and tags someone else wrote):

- a `str` becomes one quoted argument; a `tuple` of them becomes that many quoted arguments;
- an `int` is printed as is;
- a `Json` value becomes one quoted argument holding `json.dumps` of its structure;
- a `Shell` value (a command substitution such as the own security group's lookup) is placed
  unquoted: it can only be made by `shell`, from a template whose own values were quoted.

Before a value is placed it is checked against the AWS format of its placeholder (`FORMATS`,
from `rules.formats`); a command whose value fails is left out, and `Fix.malformed` says why.
A placeholder may only stand outside quotes in the template's own text, so a template cannot
put a value where quoting would not hold; `render` refuses it. Every command names its region so
it can be pasted into any shell.
"""
from __future__ import annotations

import hashlib
import json
import re
import shlex
import string
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal

from rules import formats
from rules.records import record

TAGS = ("--tag-specifications 'ResourceType={rtype},Tags=[{{Key=managed-by,Value=vpce-remediator}}]'")
_EP_TAGS = TAGS.replace("{rtype}", "vpc-endpoint")
_SG_TAGS = TAGS.replace("{rtype}", "security-group")

# The own security group may not exist yet when a report is written: look it up by name so each
# command still works on its own once the group has been created.
OWN_SG_LOOKUP = (
    "\"$(aws ec2 describe-security-groups --region {region} --filters Name=vpc-id,Values={vpc_id} "
    "Name=group-name,Values=vpce-remediator-endpoints --query 'SecurityGroups[0].GroupId' --output text)\""
)

# An AWS-managed prefix list's id (S3's public ranges), looked up by name when the command runs;
# then the shorthand `--ip-permissions` that allows TCP 443 to it (the literal parts quoted).
PREFIX_LIST_LOOKUP = (
    "\"$(aws ec2 describe-prefix-lists --region {region} --filters Name=prefix-list-name,Values={service} "
    "--query 'PrefixLists[0].PrefixListId' --output text)\""
)
PREFIX_LIST_443 = "'IpProtocol=tcp,FromPort=443,ToPort=443,PrefixListIds=[{{PrefixListId='{prefix_list}'}}]'"

# The account's pull-through cache rule for a registry, when it exists (a create would fail).
PULL_THROUGH_RULE_SHOW = ("aws ecr describe-pull-through-cache-rules --region {region} --ecr-repository-prefixes "
                          "{prefix} --query 'pullThroughCacheRules[].[ecrRepositoryPrefix,upstreamRegistryUrl]'")

# An interface endpoint's address type and the DNS records it gets (left out for IPv4, EC2's default).
IP_ADDRESS_TYPE_ARG = " --ip-address-type {ip_type} --dns-options DnsRecordIpType={dns_type}"

# The pull-through cache rule's credentials: the secret must be named ecr-pullthroughcache/PREFIX.
PULL_THROUGH_CREDENTIAL = (
    " --credential-arn \"$(aws secretsmanager describe-secret --region {region} "
    "--secret-id {secret_name} --query ARN --output text)\""
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
        "--private-dns-enabled{policy_arg}{ip_arg} --client-token {client_token} " + _EP_TAGS,
    ),
    "gateway-endpoint-missing": (
        "aws ec2 create-vpc-endpoint --region {region} --vpc-id {vpc_id} --vpc-endpoint-type Gateway "
        "--service-name {service} --route-table-ids {route_table_ids}{policy_arg} --client-token {client_token} "
        + _EP_TAGS,
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
    "sg-egress-closed": (
        "aws ec2 authorize-security-group-egress --region {region} --group-id {security_group} "
        "--ip-permissions {ip_permissions}",
    ),
    "nacl-closed": (
        "aws ec2 create-network-acl-entry --region {region} --network-acl-id {acl_id} --rule-number {rule} "
        "--{direction} --protocol tcp --port-range From={from_port},To={to_port} --cidr-block {cidr} "
        "--rule-action allow",
    ),
    "s3-policy-blocks-ecr-layers": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--policy-document {policy}",
    ),
    "endpoint-policy-changed": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--policy-document {policy}",
    ),
    "endpoint-policy-blocks-workload": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--policy-document {policy}",
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
    # After the cross-Region endpoints (reach.cross_region_create_fix, printed first): replication,
    # run as the registry's account. PutReplicationConfiguration takes the whole configuration, so
    # the new rule is merged into the one the registry has (`replication_merge_query`), never
    # written over it; the first command shows what is there before.
    "cross-region-ecr-image": (
        "aws ecr describe-registry --region {image_region} --query replicationConfiguration",
        "aws ecr put-replication-configuration --region {image_region} --replication-configuration "
        "\"$(aws ecr describe-registry --region {image_region} --query {replication_query} --output json)\"",
    ),
    "cross-region-kms-key": (
        # A multi-Region key only: a replica in this Region, used under its own ARN there.
        "aws kms replicate-key --region {key_region} --key-id {key_arn} --replica-region {region}",
    ),
    "cross-region-firehose": (
        "aws firehose list-delivery-streams --region {region}",
    ),
    # Kinesis Data Streams is not cross-Region enabled: the stream as it is there, then one of the
    # same name here for the output's `region` to point at.
    "cross-region-kinesis-stream": (
        "aws kinesis describe-stream-summary --region {stream_region} --stream-name {stream}",
        "aws kinesis create-stream --region {region} --stream-name {stream} --stream-mode-details "
        "StreamMode=ON_DEMAND",
    ),
    # After the cross-Region S3 interface endpoint (printed first): the bucket's Region, as S3 says.
    "cross-region-s3-output": (
        "aws s3api get-bucket-location --region {bucket_region} --bucket {bucket}",
    ),
    "cross-region-endpoint-missing": (
        "aws ec2 create-vpc-endpoint --region {region} --vpc-id {vpc_id} --vpc-endpoint-type Interface "
        "--service-name {service} --service-region {service_region} --subnet-ids {subnet_ids} "
        "--security-group-ids {security_group} --private-dns-enabled{dns_arg} --client-token {client_token} "
        + _EP_TAGS,
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
        # read-only, run as the owner: what the VPC holds (nothing here writes to someone else's VPC)
        "aws ec2 describe-vpc-endpoints --region {region} --filters Name=vpc-id,Values={vpc_id} "
        "--query 'VpcEndpoints[].[ServiceName,VpcEndpointType,State,PrivateDnsEnabled]' --output table",
    ),
    "private-dns-conflict": (
        "aws route53 list-hosted-zones-by-vpc --region {region} --vpc-id {vpc_id} --vpc-region {region}",
        "aws ec2 describe-vpc-endpoints --region {region} --filters Name=vpc-id,Values={vpc_id} "
        "Name=service-name,Values={service} --query 'VpcEndpoints[].[VpcEndpointId,OwnerId,PrivateDnsEnabled]'",
        "aws ec2 create-vpc-endpoint --region {region} --vpc-id {vpc_id} --vpc-endpoint-type Interface "
        "--service-name {service} --subnet-ids {subnet_ids} --security-group-ids {security_group} "
        "--no-private-dns-enabled --client-token {client_token} " + _EP_TAGS,
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
    # A hub's zone that takes over a service's name without a record for it: show its records, then
    # the hub endpoint's DNS name (run in the hub's account) to alias the missing name to.
    "central-zone-record-missing": (
        "aws route53 list-resource-record-sets --region {region} --hosted-zone-id {zone_id} "
        "--query 'ResourceRecordSets[].[Name,Type,AliasTarget.DNSName]' --output table",
        "aws ec2 describe-vpc-endpoints --region {region} --filters Name=service-name,Values={service} "
        "--query 'VpcEndpoints[].[VpcId,VpcEndpointId,DnsEntries[0].DnsName,DnsEntries[0].HostedZoneId]' "
        "--output table",
    ),
    "endpoint-cap-reached": (
        "aws cloudformation describe-stacks --region {region} "
        "--query \"Stacks[?Parameters[?ParameterKey=='MaxEndpointsPerVpc']].StackName\" --output text",
    ),
    # EFS: the file system's mount targets as they are, then one in the task subnet's AZ (with the
    # groups its other mount targets have; none given, EFS uses the VPC's default group). Report
    # only: the tool never writes to EFS.
    "efs-mount-target-missing": (
        "aws efs describe-mount-targets --region {region} --file-system-id {file_system_id} "
        "--query 'MountTargets[].[MountTargetId,AvailabilityZoneName,SubnetId,VpcId,LifeCycleState]' --output table",
        "aws efs create-mount-target --region {region} --file-system-id {file_system_id} "
        "--subnet-id {subnet_id}{groups_arg}",
    ),
    # TCP 2049 into the mount target's group (someone else's: report only); a closed egress of the
    # workload's group is opened with sg-egress-closed's command.
    "efs-nfs-closed": (
        "aws ec2 authorize-security-group-ingress --region {region} --group-id {security_group} "
        "--ip-permissions {ip_permissions}",
    ),
    # Custom DNS servers in the VPC's DHCP option set: show the set, then give the VPC a copy of it
    # whose domain-name-servers is AmazonProvidedDNS (every other option kept). Pasted twice, it
    # makes a second identical set, harmless. The other way (forwarding) is the servers' own
    # configuration, which no AWS command shows: the finding says it.
    "dhcp-custom-dns": (
        "aws ec2 describe-dhcp-options --region {region} --dhcp-options-ids {dhcp_options_id} "
        "--query 'DhcpOptions[0].DhcpConfigurations' --output json",
        "aws ec2 associate-dhcp-options --region {region} --vpc-id {vpc_id} --dhcp-options-id "
        "\"$(aws ec2 create-dhcp-options --region {region} --dhcp-configurations {dhcp_configurations} "
        "--query DhcpOptions.DhcpOptionsId --output text)\"",
    ),
}


_PRIVATELINK = "https://docs.aws.amazon.com/vpc/latest/privatelink/"
_ECS_VPCE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html"
_ECR_VPCE = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html"


Severity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]  # Security Hub's labels


@record
class ProblemKind:
    title: str
    severity: Severity
    url: str  # the AWS guide a finding links to
    fix: tuple[str, ...]  # command templates


def _row(kind: str, title: str, severity: Severity, url: str) -> tuple[str, ProblemKind]:
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
    _row("sg-egress-closed", "Workload security group blocks HTTPS to the endpoints", "HIGH",
         _PRIVATELINK + "create-interface-endpoint.html"),
    _row("nacl-closed", "Network ACL blocks HTTPS or its replies", "HIGH",
         "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html"),
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
    _row("cross-region-kms-key", "KMS key in another Region", "MEDIUM",
         _PRIVATELINK + "aws-services-cross-region-privatelink-support.html"),
    _row("cross-region-firehose", "Firehose stream in another Region", "MEDIUM",
         _PRIVATELINK + "aws-services-cross-region-privatelink-support.html"),
    _row("cross-region-kinesis-stream", "Kinesis data stream in another Region", "MEDIUM",
         "https://docs.aws.amazon.com/streams/latest/dev/vpc.html"),
    _row("cross-region-s3-output", "FireLens S3 output in another Region", "MEDIUM",
         _PRIVATELINK + "aws-services-cross-region-privatelink-support.html"),
    _row("cross-region-endpoint-missing", "Cross-Region interface endpoint missing", "HIGH",
         _PRIVATELINK + "aws-services-cross-region-privatelink-support.html"),
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
    _row("central-zone-record-missing", "A hub's private hosted zone lacks the service's record", "HIGH",
         "https://docs.aws.amazon.com/whitepapers/latest/building-scalable-secure-multi-vpc-network-infrastructure/"
         "centralized-access-to-vpc-private-endpoints.html"),
    _row("endpoint-cap-reached", "The remediator's endpoint cap for the VPC is reached", "MEDIUM",
         _PRIVATELINK + "create-interface-endpoint.html"),
    # Tasks in an AZ without a mount target fail to start: the file system's DNS name resolves only
    # to a mount target in the client's own AZ (EFS User Guide, "Managing mount targets").
    _row("efs-mount-target-missing", "EFS file system has no mount target in a workload AZ", "HIGH",
         "https://docs.aws.amazon.com/efs/latest/ug/accessing-fs.html"),
    _row("efs-nfs-closed", "Security groups block NFS (TCP 2049) to the EFS mount target", "HIGH",
         "https://docs.aws.amazon.com/efs/latest/ug/network-access.html"),
    # MEDIUM, not HIGH: custom DNS servers that forward to the Route 53 Resolver are a documented,
    # working design (VPC User Guide, "DHCP option sets"; Route 53 Resolver forwarding), and whether
    # these do cannot be seen from the API. If they do not, every endpoint's private DNS is lost.
    _row("dhcp-custom-dns", "VPC DHCP options send DNS to custom servers", "MEDIUM",
         "https://docs.aws.amazon.com/vpc/latest/userguide/VPC_DHCP_Options.html"),
])


# ---------------------------------------------------------------- quoting


@record
class Shell:
    """A shell fragment placed unquoted, such as `"$(aws ... --output text)"`. Build it with
    `shell`, never from a string someone else wrote: `render` trusts it as it is."""

    text: str


NO_ARG = Shell("")  # an optional argument left out


@record
class Json:
    """A JSON argument (a policy, --ip-permissions, a replication configuration): dumped, then
    quoted as one argument."""

    value: Any

    def dumps(self) -> str:
        return json.dumps(self.value, separators=(",", ":"))


Value = str | int | Shell | Json | tuple[str | Shell, ...]

_ANY_TEXT_MAX = 2048


def _any_text(value: str) -> bool:
    """The fallback for a placeholder no format is known for: printable, one line."""
    return 0 < len(value) <= _ANY_TEXT_MAX and value.isprintable()


def _json_text(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return len(value) <= 20480


# Placeholder name -> the AWS format its values must have. A new placeholder needs a row here
# (tests/unit/test_fixes.py fails otherwise); until then `_any_text` applies.
FORMATS: dict[str, Callable[[str], bool]] = {
    "region": formats.is_region,
    "image_region": formats.is_region,
    "secret_region": formats.is_region,
    "service_region": formats.is_region,
    "cluster": lambda v: re.fullmatch(r"[A-Za-z0-9_-]{1,255}", v) is not None,  # an ECS cluster name
    "key_region": formats.is_region,
    "stream_region": formats.is_region,
    "bucket_region": formats.is_region,
    "stream": formats.is_stream_name,
    "bucket": formats.is_bucket_name,
    "key_arn": lambda v: formats.is_arn(v) and ":kms:" in v,
    # Built by replication_merge_query from a validated Region, account and repository name.
    "replication_query": lambda v: re.fullmatch(r"replicationConfiguration\.\{rules: \[rules\[\?@ != `[ -~]+`\], "
                                                r"\[`[ -~]+`\]\]\[\]\}", v) is not None and "'" not in v,
    "vpc_id": formats.ec2_id("vpc"),
    "subnet_ids": formats.ec2_id("subnet"),
    "route_table_ids": formats.ec2_id("rtb"),
    "endpoint_id": formats.ec2_id("vpce"),
    "zone_id": lambda v: re.fullmatch(r"Z[A-Z0-9]{1,32}", v) is not None,  # a Route 53 hosted zone id
    "security_group": formats.ec2_id("sg"),
    "acl_id": formats.ec2_id("acl"),
    "cidr": formats.is_cidr,
    "direction": lambda v: v in ("egress", "ingress"),
    "service": formats.is_endpoint_service,
    "prefix": formats.is_ecr_prefix,
    "upstream": formats.is_upstream_registry,
    "repository": formats.is_ecr_repository,
    "image_account": formats.is_account,
    "arn": formats.is_secret_arn,
    "parameter": formats.is_parameter_name,
    "secret_name": formats.is_secret_name,
    "log_group": formats.is_log_group,
    "role_arn": formats.is_arn,
    "iam_action": formats.is_iam_action,
    "policy": _json_text,
    # Filled by the engine from its own tables (write_errors, the quota codes), never from outside text.
    "quota_code": lambda v: re.fullmatch(r"L-[0-9A-F]{8}", v) is not None,
    "desired_value": lambda v: v.isdigit() and len(v) <= 6,
    "api_call": lambda v: re.fullmatch(r"[A-Z][A-Za-z]{2,63}", v) is not None,
    "client_token": lambda v: re.fullmatch(r"[!-~]{1,64}", v) is not None,  # ClientToken: 64 ASCII at most
    # CreateVpcEndpoint's IpAddressType and DnsOptions.DnsRecordIpType (the EC2 API reference's values).
    "ip_type": lambda v: v in ("ipv4", "dualstack", "ipv6"),
    "dns_type": lambda v: v in ("ipv4", "dualstack", "ipv6", "service-defined"),
    "file_system_id": formats.is_efs_file_system_id,
    "subnet_id": formats.ec2_id("subnet"),
    "dhcp_options_id": formats.ec2_id("dopt"),
    "security_groups": formats.ec2_id("sg"),
}

# What a malformed value is called in the finding.
_WHAT: dict[str, str] = {
    "region": "Region name", "image_region": "Region name", "secret_region": "Region name",
    "service_region": "Region name", "key_region": "Region name", "stream_region": "Region name",
    "bucket_region": "Region name", "stream": "stream name", "bucket": "S3 bucket name",
    "key_arn": "KMS key ARN",
    "arn": "Secrets Manager secret ARN", "parameter": "SSM parameter name",
    "log_group": "CloudWatch Logs log group name", "repository": "ECR repository name",
    "prefix": "ECR pull-through cache prefix", "upstream": "upstream registry host",
    "image_account": "AWS account id", "role_arn": "ARN", "service": "endpoint service name",
    "file_system_id": "EFS file system id", "dhcp_options_id": "DHCP option set id",
}


class TemplateError(ValueError):
    """A command template that would place a value where quoting does not hold."""


@lru_cache(maxsize=512)
def _fields(template: str) -> tuple[tuple[str, str | None], ...]:
    """The template as (literal text, placeholder or None) pairs, checked: every placeholder is a
    plain name (no attribute, index, conversion or format spec) standing outside quotes, either
    at the top level or inside a `$(...)` command substitution."""
    out: list[tuple[str, str | None]] = []
    stack = ["top"]  # top | sq | dq | sub
    for literal, name, spec, conv in string.Formatter().parse(template):
        i = 0
        while i < len(literal):
            c, ctx = literal[i], stack[-1]
            if c == "`":
                raise TemplateError(f"backquote in template {template!r}: use $(...)")
            if ctx == "sq":
                if c == "'":
                    stack.pop()
            elif c == "\\":
                i += 1
            elif ctx == "dq" and c == '"':
                stack.pop()
            elif literal.startswith("$(", i):
                stack.append("sub")
                i += 1
            elif ctx in ("top", "sub") and c in "'\"":
                stack.append("sq" if c == "'" else "dq")
            elif ctx == "sub" and c == ")":
                stack.pop()
            i += 1
        if name is None:
            out.append((literal, None))
            continue
        if not name.isidentifier() or spec or conv:
            raise TemplateError(f"placeholder {{{name}}} in {template!r}: plain names only")
        if stack[-1] not in ("top", "sub"):
            raise TemplateError(f"placeholder {{{name}}} inside quotes in {template!r}")
        out.append((literal, name))
    if stack != ["top"]:
        raise TemplateError(f"unbalanced quotes in template {template!r}")
    return tuple(out)


def placeholders(template: str) -> tuple[str, ...]:
    """The placeholder names of a template, in order."""
    return tuple(name for _, name in _fields(template) if name)


def quote(value: Value) -> str:
    """A value as shell words: quoted, element by element for a tuple."""
    if isinstance(value, Shell):
        return value.text
    if isinstance(value, Json):
        return shlex.quote(value.dumps())
    if isinstance(value, bool):
        raise TypeError("a bool is not a command value")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return shlex.quote(value)
    if isinstance(value, tuple) and all(isinstance(v, (str, Shell)) for v in value):
        return " ".join(quote(v) for v in value)
    raise TypeError(f"{type(value).__name__} is not a command value (use str, int, a tuple of str, Json or Shell)")


def render(template: str, params: Mapping[str, Value]) -> str:
    """The template with every placeholder replaced by its quoted value (no format check)."""
    return "".join(literal + (quote(params[name]) if name else "") for literal, name in _fields(template))


def shell(template: str, params: Mapping[str, Value]) -> Shell:
    """A trusted shell fragment (a command substitution) from a template and quoted values."""
    return Shell(render(template, params))


def own_sg_lookup(params: Mapping[str, Value]) -> Shell:
    """The own security group's id, looked up by name when the command runs."""
    return shell(OWN_SG_LOOKUP, params)


def prefix_list_443(params: Mapping[str, Value], prefix_list: str | None) -> Json | Shell:
    """`--ip-permissions` for TCP 443 to a gateway service's prefix list: its id when known, else
    looked up by the service's name (`params["service"]`) when the command runs."""
    if prefix_list:
        return Json([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                      "PrefixListIds": [{"PrefixListId": prefix_list}]}])
    return shell(PREFIX_LIST_443, {"prefix_list": shell(PREFIX_LIST_LOOKUP, params)})


def _empty_in(value: Any) -> bool:
    """Whether a JSON structure holds an empty string or list anywhere (`CidrIp=""`, `IpRanges=[]`)."""
    if isinstance(value, dict):
        return any(_empty_in(v) for v in value.values())
    if isinstance(value, list):
        return not value or any(_empty_in(v) for v in value)
    return bool(value == "")


def malformed(name: str, value: Value) -> str | None:
    """Why `value` cannot stand for placeholder `name` (None: it can)."""
    if isinstance(value, Json) and _empty_in(value.value):
        return f"{name.replace('_', ' ')} {formats.safe_repr(value.dumps())} has an empty value"
    check = FORMATS.get(name, _any_text)
    items = value if isinstance(value, tuple) else (value,)
    for item in items:
        if isinstance(item, str) and not check(item):
            what = _WHAT.get(name, name.replace("_", " "))
            return f"{formats.safe_repr(item)} is not a valid {what}"
    return None


@record
class Fix:
    """The commands of a fix, and the values left out because they are malformed."""

    commands: tuple[str, ...]
    malformed: tuple[str, ...] = ()

    def note(self) -> str:
        """What to add to the finding's summary: '' when every value was well formed."""
        if not self.malformed:
            return ""
        return f" (malformed: {'; '.join(self.malformed)}; no fix command carries it)"


def client_token(vpc_id: str, *parts: object) -> str:
    """Same request, same token: EC2 then returns the endpoint it already made (≤ 64 chars)."""
    digest = hashlib.sha256("|".join([vpc_id, *map(str, parts)]).encode()).hexdigest()
    return "vpcer-" + digest[:40]


def _command_token(template: str, params: Mapping[str, Value]) -> str:
    """The `--client-token` of a printed create: from everything else the command asks for, so the
    same command pasted twice makes one endpoint, and a different one never meets
    IdempotentParameterMismatch."""
    values = [quote(params[name]) for name in placeholders(template) if name != "client_token"]
    return client_token(str(params.get("vpc_id", "")), "fix", *values)


def render_fix(templates: tuple[str, ...], params: Mapping[str, Value]) -> Fix:
    """Every template filled with its quoted values; one whose values fail their format is left out.
    A `{client_token}` not given is derived from the command's other values."""
    commands: list[str] = []
    bad: list[str] = []
    given = params
    for template in templates:
        params = given
        if "client_token" in placeholders(template) and "client_token" not in given:
            params = {**given, "client_token": _command_token(template, given)}
        for name in placeholders(template):
            if name.endswith("_ids") and not isinstance(params[name], tuple):
                raise TypeError(f"{name} is a list placeholder: pass a tuple of ids, not {type(params[name]).__name__}")
        problems = [m for name in dict.fromkeys(placeholders(template))
                    if (m := malformed(name, params[name])) is not None]
        if problems:
            bad.extend(m for m in problems if m not in bad)
        else:
            commands.append(render(template, params))
    return Fix(tuple(commands), tuple(bad))


def fix_for(kind: str, params: Mapping[str, Value]) -> Fix:
    """The fix of a problem of `kind` (every kind the engine raises has a row), with what was malformed."""
    # `policy_arg` (the create commands' --policy-document) is empty for doors that send no policy.
    return render_fix(PROBLEMS[kind].fix, {"policy_arg": NO_ARG, "ip_arg": NO_ARG, "groups_arg": NO_ARG, **params})


def fix_commands(kind: str, params: Mapping[str, Value]) -> tuple[str, ...]:
    """The commands that fix a problem of `kind`: quoted, and none with a malformed value."""
    return fix_for(kind, params).commands


def ip_address_type_arg(ip_type: str, dns_type: str) -> Shell:
    """`--ip-address-type` and `--dns-options` of an interface endpoint's create; none for IPv4."""
    if not ip_type or ip_type == "ipv4":
        return NO_ARG
    return shell(IP_ADDRESS_TYPE_ARG, {"ip_type": ip_type, "dns_type": dns_type})


SECURITY_GROUPS_ARG = " --security-groups {security_groups}"


def security_groups_arg(group_ids: tuple[str, ...]) -> Shell:
    """`--security-groups` of a create-mount-target, every id checked; none (or any malformed):
    left out, and EFS gives the mount target the VPC's default group."""
    ids = tuple(dict.fromkeys(group_ids))
    if not ids or malformed("security_groups", ids) is not None:
        return NO_ARG
    return shell(SECURITY_GROUPS_ARG, {"security_groups": ids})


# A cross-Region S3 interface endpoint's private DNS for every resolver: the VPC cannot hold a
# gateway endpoint for another Region's S3, and EC2 refuses the default (inbound resolvers only)
# without one.
S3_ALL_RESOLVERS = Shell(" --dns-options PrivateDnsOnlyForInboundResolverEndpoint=false")


def image_repository(image: str) -> str:
    """The repository of an ECR image reference (`team/app` of `ACCOUNT.dkr.ecr.R.amazonaws.com/team/app:1`)."""
    return image.split("/", 1)[-1].split("@")[0].split(":")[0]


def replication_merge_query(region: str, registry: str, repository: str) -> str:
    """A JMESPath query (the AWS CLI's --query) over DescribeRegistry that gives the registry's
    replication configuration with one more rule, replicating `repository` to `region`: every rule
    it has is kept (PutReplicationConfiguration replaces the whole configuration), and an identical
    rule is dropped before it is added, so running it twice leaves one. "" when a value is malformed
    (the command is then left out)."""
    if not (formats.is_region(region) and formats.is_account(registry) and formats.is_ecr_repository(repository)):
        return ""
    rule = json.dumps({"destinations": [{"region": region, "registryId": registry}],
                       "repositoryFilters": [{"filter": repository, "filterType": "PREFIX_MATCH"}]},
                      separators=(",", ":"))
    return f"replicationConfiguration.{{rules: [rules[?@ != `{rule}`], [`{rule}`]][]}}"


def ingress_443(cidrs: tuple[str, ...] = (), group_ids: tuple[str, ...] = (), why: str = "") -> Json:
    """`--ip-permissions` JSON for TCP 443 (HTTPS to an endpoint): `tcp_permissions`."""
    return tcp_permissions(443, cidrs, group_ids, why)


def tcp_permissions(port: int, cidrs: tuple[str, ...] = (), group_ids: tuple[str, ...] = (), why: str = "") -> Json:
    """`--ip-permissions` JSON for TCP `port` from (or to) CIDRs (IPv4 in `IpRanges`, IPv6 in
    `Ipv6Ranges`) and/or security groups. An empty CIDR (a subnet without an IPv4 block) is no
    range at all."""
    perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    note = {"Description": why} if why else {}
    v4 = [c for c in dict.fromkeys(cidrs) if c and ":" not in c]
    v6 = [c for c in dict.fromkeys(cidrs) if c and ":" in c]
    if v4:
        perm["IpRanges"] = [{"CidrIp": c, **note} for c in v4]
    if v6:
        perm["Ipv6Ranges"] = [{"CidrIpv6": c, **note} for c in v6]
    if group_ids:
        perm["UserIdGroupPairs"] = [{"GroupId": g} for g in group_ids]
    # No source at all is no rule: an empty list, which `malformed` keeps out of every command.
    return Json([perm] if len(perm) > 3 else [])


def check_templates() -> dict[str, int]:
    """Parse every template here, so that a bad one (`TemplateError`) fails a test rather than a
    finding. Not at import: the ~56 of them cost ~1 ms of every cold start, and each is parsed (and
    checked) when a finding first uses it. Returns each template's count of placeholders."""
    shared = (OWN_SG_LOOKUP, PULL_THROUGH_CREDENTIAL, PREFIX_LIST_LOOKUP, PREFIX_LIST_443, IP_ADDRESS_TYPE_ARG,
              SECURITY_GROUPS_ARG)
    templates = [t for group in _FIX_TEMPLATES.values() for t in group] + list(shared)
    return {t: sum(1 for _, name in _fields(t) if name is not None) for t in templates}
