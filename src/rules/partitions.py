"""AWS partitions, and the names AWS gives its services' VPC endpoints in each. Pure data.

Partitions (id, Regions, Region regex, DNS suffixes) mirror botocore's own data
(`botocore/data/partitions.json`, the partitions of the endpoint rules); rules/ may not import
botocore, so the table is copied here and tests/contract/test_partition_data.py compares the two on
every run: a botocore upgrade that adds a Region or a partition fails that test until this table
has it.

Endpoint service names are `PREFIX.REGION.SERVICE`. The prefix is `com.amazonaws` for every
gateway endpoint and for most interface endpoints in every partition; some interface endpoints
outside `aws` and `aws-us-gov` take the partition's own prefix, its DNS suffix reversed
(`cn.com.amazonaws` in China: `cn.com.amazonaws.cn-north-1.ecr.dkr`, but
`com.amazonaws.cn-north-1.logs` and the S3 gateway `com.amazonaws.cn-north-1.s3`). Which ones is
not derivable: `_OWN_PREFIX` lists them. Where `DescribeVpcEndpointServices` is read anyway, what
it answers wins (snapshot.offers_from keeps AWS's name); this table names what is asked and created.
"""
from __future__ import annotations

import re
from typing import Final, Literal

from rules.records import record

PartitionId = Literal["aws", "aws-cn", "aws-us-gov", "aws-eusc", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f"]

DEFAULT_PREFIX: Final = "com.amazonaws"


@record
class Partition:
    id: PartitionId
    dns_suffix: str  # `outputs.dnsSuffix`: service hosts are SERVICE.REGION.<this>
    dualstack_dns_suffix: str  # `outputs.dualStackDnsSuffix`
    region_regex: str  # `regionRegex`: a Region not listed yet belongs where this matches
    regions: frozenset[str]  # `regions`, without the `aws-global`-style pseudo Regions

    @property
    def endpoint_prefix(self) -> str:
        """The partition's own endpoint-service prefix: its DNS suffix reversed (`cn.com.amazonaws`)."""
        return ".".join(reversed(self.dns_suffix.split(".")))


# botocore 1.44.8, data/partitions.json (in that file's order; checked by the contract test).
PARTITIONS: Final[tuple[Partition, ...]] = (
    Partition("aws", "amazonaws.com", "api.aws", r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$", frozenset({
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
        "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "il-central-1", "me-central-1", "me-south-1", "me-west-1", "mx-central-1", "sa-east-1", "sa-west-1",
        "us-east-1", "us-east-2", "us-west-1", "us-west-2"})),
    Partition("aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn", r"^cn\-\w+\-\d+$",
              frozenset({"cn-north-1", "cn-northwest-1"})),
    Partition("aws-eusc", "amazonaws.eu", "api.amazonwebservices.eu", r"^eusc\-(de)\-\w+\-\d+$",
              frozenset({"eusc-de-east-1"})),
    Partition("aws-iso", "c2s.ic.gov", "api.aws.ic.gov", r"^us\-iso\-\w+\-\d+$",
              frozenset({"us-iso-east-1", "us-iso-west-1"})),
    Partition("aws-iso-b", "sc2s.sgov.gov", "api.aws.scloud", r"^us\-isob\-\w+\-\d+$",
              frozenset({"us-isob-east-1", "us-isob-west-1"})),
    Partition("aws-iso-e", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk", r"^eu\-isoe\-\w+\-\d+$",
              frozenset({"eu-isoe-west-1"})),
    Partition("aws-iso-f", "csp.hci.ic.gov", "api.aws.hci.ic.gov", r"^us\-isof\-\w+\-\d+$",
              frozenset({"us-isof-east-1", "us-isof-south-1"})),
    Partition("aws-us-gov", "amazonaws.com", "api.aws", r"^us\-gov\-\w+\-\d+$",
              frozenset({"us-gov-east-1", "us-gov-west-1"})),
)
_BY_ID: Final = {p.id: p for p in PARTITIONS}

# Interface endpoint services whose name takes the partition's own prefix instead of
# `com.amazonaws`, keyed by Region where a partition's Regions differ, else by partition; only the
# services this tool names (rules/needs.py, sts, monitoring and aps-workspaces among them, and
# elasticfilesystem that DESIGN.md §3 mentions). Source: AWS CDK, aws-cdk-lib/aws-ec2/lib/vpc-endpoint.ts,
# `InterfaceVpcEndpointAwsService.getDefaultEndpointPrefix` (its per-Region exception lists, taken
# from `aws ec2 describe-vpc-endpoint-services` in each Region), checked 2026-12; for China it
# agrees with a `describe-vpc-endpoint-services` listing of cn-north-1
# (gist.github.com/readybuilderone/d355f9f8f0f2b66379a10742b3c67cc7) and the CDK issue that
# found it (aws/aws-cdk#11140, "Some services have the extra 'cn.' prefix while others do not").
# Everything else, and every gateway endpoint (CDK's `GatewayVpcEndpointAwsService`), is
# `com.amazonaws`: in China `logs`, `secretsmanager`, `ssm`, `ssmmessages`, `ecs*`, `kms` and
# `kinesis-firehose` among them; `aps-workspaces` is in none of CDK's exception lists (checked
# 2026-12 for issue 14), so it keeps `com.amazonaws` in every partition.
_OWN_PREFIX: Final[dict[str, frozenset[str]]] = {
    "aws-cn": frozenset({"ecr.api", "ecr.dkr", "s3", "kinesis-streams", "xray", "monitoring", "sts",
                         "elasticfilesystem"}),
    "aws-eusc": frozenset({"ecr.api", "ecr.dkr"}),
    "us-iso-east-1": frozenset({"ecr.api", "ecr.dkr", "elasticfilesystem"}),
    "us-iso-west-1": frozenset({"ecr.api", "ecr.dkr", "elasticfilesystem", "monitoring"}),
    "us-isob-east-1": frozenset({"ecr.api", "ecr.dkr", "elasticfilesystem"}),
    "us-isob-west-1": frozenset({"ecr.api", "ecr.dkr"}),
    "aws-iso-e": frozenset({"ecr.api", "ecr.dkr"}),
    "aws-iso-f": frozenset({"ecr.api", "ecr.dkr"}),
}


def partition_of(region: str) -> Partition:
    """The partition a Region belongs to, as botocore resolves it: listed Regions first, then the
    partitions' Region regexes; `aws` for anything else."""
    for p in PARTITIONS:
        if region in p.regions:
            return p
    for p in PARTITIONS:
        if re.match(p.region_regex, region):
            return p
    return _BY_ID["aws"]


def partition_id(region: str) -> PartitionId:
    """`aws`, `aws-cn`, `aws-us-gov`, `aws-eusc`, `aws-iso`...: the partition part of ARNs in `region`."""
    return partition_of(region).id


def dns_suffix(region: str) -> str:
    """The DNS suffix of the Region's service hosts (`amazonaws.com`, `amazonaws.com.cn`, `c2s.ic.gov`...)."""
    return partition_of(region).dns_suffix


def dns_suffixes() -> frozenset[str]:
    """Every partition's DNS suffix."""
    return frozenset(p.dns_suffix for p in PARTITIONS)


def endpoint_prefix(short: str, region: str, endpoint_type: str) -> str:
    """The prefix of `short`'s endpoint service name in `region` for that endpoint type."""
    if endpoint_type != "Interface":
        return DEFAULT_PREFIX
    p = partition_of(region)
    own = _OWN_PREFIX.get(region, _OWN_PREFIX.get(p.id, frozenset()))
    return p.endpoint_prefix if short in own else DEFAULT_PREFIX


def service_name(short: str, region: str, endpoint_type: str) -> str:
    """The endpoint service name of `short` (`ecr.dkr`, `s3`...) in `region` for `endpoint_type`
    (`Interface` / `Gateway`): `com.amazonaws.us-east-1.ecr.dkr`, `cn.com.amazonaws.cn-north-1.ecr.dkr`,
    `com.amazonaws.cn-north-1.s3` (the gateway)."""
    return f"{endpoint_prefix(short, region, endpoint_type)}.{region}.{short}"


def short_name(service: str, region: str) -> str:
    """`ecr.dkr` of `com.amazonaws.REGION.ecr.dkr` or of `PARTITION-PREFIX.REGION.ecr.dkr` (either
    prefix, whatever the table says); a name of neither form comes back unchanged."""
    for prefix in (DEFAULT_PREFIX, partition_of(region).endpoint_prefix):
        head = f"{prefix}.{region}."
        if service.startswith(head):
            return service[len(head):]
    return service


def is_aws_service_name(service: str, region: str) -> bool:
    """Whether `service` is an AWS service's endpoint name in `region` (either prefix)."""
    return short_name(service, region) != service


def split_service_name(service: str) -> tuple[str, str] | None:
    """(Region, short name) of an AWS service's endpoint name in any partition, either prefix;
    None for other names (a partner's `com.amazonaws.vpce.REGION.vpce-svc-...`, say)."""
    for p in PARTITIONS:
        for prefix in (DEFAULT_PREFIX, p.endpoint_prefix):
            region, dot, short = service.removeprefix(prefix + ".").partition(".")
            if service.startswith(prefix + ".") and dot and short and partition_of(region) == p and \
                    (region in p.regions or re.match(p.region_regex, region)):
                return region, short
    return None


# Cross-Region PrivateLink for AWS services (launched 2025-11-19): an interface endpoint in one
# Region created with `ServiceRegion` set to another Region of the same partition serves that
# Region's service, under that Region's service name (`com.amazonaws.us-east-1.ecr.dkr` in a
# us-west-2 VPC). Source: AWS PrivateLink guide, "Cross-region enabled AWS services"
# (docs.aws.amazon.com/vpc/latest/privatelink/aws-services-cross-region-privatelink-support.html),
# as of 2026-12-03: S3, IAM, ECR (api, dkr), KMS, ECS, Lambda, Data Firehose, Managed Service for
# Apache Flink, Route 53. Only the Regional ones are listed: IAM and Route 53 are global names.
CROSS_REGION_SERVICES: Final[frozenset[str]] = frozenset({
    "s3", "ecr.api", "ecr.dkr", "kms", "kms-fips", "ecs", "lambda", "kinesis-firehose",
    "kinesisanalytics", "kinesisanalytics-fips",
})


def serves_across_regions(short: str, home: str, remote: str) -> bool:
    """Whether an interface endpoint in `home` can serve `short` of `remote` (cross-Region PrivateLink:
    a listed service, two Regions of one partition; AWS connects no partition to another)."""
    return (short in CROSS_REGION_SERVICES and home != remote
            and partition_of(home).id == partition_of(remote).id)


# Zones (by AZ ID, the same in every account) where cross-Region access is not supported: no
# cross-Region endpoint may have a subnet there. Source: the same guide page ("Considerations"),
# as of 2026-12-03; EC2 answers a create that names one with InvalidParameter.
CROSS_REGION_UNSUPPORTED_AZ_IDS: Final[frozenset[str]] = frozenset({
    "use1-az3", "usw1-az2", "apne1-az3", "apne2-az2", "apne2-az4",
})
