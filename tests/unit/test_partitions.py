"""Service names, ARNs, image recognition and fix commands in every partition (issue 13.3).

The `aws` partition's names stay what they were; China names only some interface endpoints
`cn.com.amazonaws.` (ECR, the S3 interface endpoint...) and keeps `com.amazonaws.` for the rest
and for every gateway; aws-eusc and the ISO partitions have prefixes of their own for ECR.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from rules import Workload, required_endpoints
from rules.needs import REGIONS_NEEDING_ECS_ENDPOINTS
from rules.partitions import (
    partition_id,
    service_name,
    short_name,
    split_service_name,
)
from rules.records import replace
from rules.refs import parse_image
from rules.workload import ContainerSpec, LogConfig
from vpce_remediator.endpoint_policies import ACCOUNT, PolicyScope
from vpce_remediator.facts import EndpointInfo, RouteTableInfo, ServiceOffer, SubnetInfo, VpcSnapshot
from vpce_remediator.plan import CREATE_GATEWAY, CREATE_INTERFACE, WorkloadNeeds, plan_remediation
from vpce_remediator.policies import layer_bucket_arn, partition
from vpce_remediator.reach import default_dns_name, ecr_repositories
from vpce_remediator.report import asff_partition, resource_arn
from vpce_remediator.snapshot import offers_from

ACCOUNT_ID = "123456789012"

# (Region, partition, DNS suffix, prefix of the ECR interface endpoints)
PARTITION_CASES = [
    ("us-east-1", "aws", "amazonaws.com", "com.amazonaws"),
    ("cn-north-1", "aws-cn", "amazonaws.com.cn", "cn.com.amazonaws"),
    ("cn-northwest-1", "aws-cn", "amazonaws.com.cn", "cn.com.amazonaws"),
    ("us-gov-west-1", "aws-us-gov", "amazonaws.com", "com.amazonaws"),
    ("eusc-de-east-1", "aws-eusc", "amazonaws.eu", "eu.amazonaws"),
    ("us-iso-east-1", "aws-iso", "c2s.ic.gov", "gov.ic.c2s"),
    ("us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov", "gov.sgov.sc2s"),
    ("eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk", "uk.adc-e.cloud"),
    ("us-isof-south-1", "aws-iso-f", "csp.hci.ic.gov", "gov.ic.hci.csp"),
]


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(("region", "_p", "_s", "ecr_prefix"), PARTITION_CASES)
def test_ecr_interface_endpoints_take_the_partitions_prefix(region: str, _p: str, _s: str, ecr_prefix: str) -> None:
    assert service_name("ecr.dkr", region, "Interface") == f"{ecr_prefix}.{region}.ecr.dkr"
    assert service_name("ecr.api", region, "Interface") == f"{ecr_prefix}.{region}.ecr.api"


@pytest.mark.parametrize(("region", "_p", "_s", "_e"), PARTITION_CASES)
@pytest.mark.parametrize("short", ["logs", "secretsmanager", "ssm", "ssmmessages", "ecs", "ecs-agent",
                                   "ecs-telemetry", "kms", "kinesis-firehose"])
def test_these_services_keep_com_amazonaws_everywhere(region: str, _p: str, _s: str, _e: str, short: str) -> None:
    assert service_name(short, region, "Interface") == f"com.amazonaws.{region}.{short}"


@pytest.mark.parametrize(("region", "_p", "_s", "_e"), PARTITION_CASES)
def test_the_s3_gateway_is_com_amazonaws_in_every_partition(region: str, _p: str, _s: str, _e: str) -> None:
    assert service_name("s3", region, "Gateway") == f"com.amazonaws.{region}.s3"


def test_the_s3_interface_endpoint_in_china_takes_cn() -> None:
    assert service_name("s3", "cn-north-1", "Interface") == "cn.com.amazonaws.cn-north-1.s3"
    assert service_name("kinesis-streams", "cn-northwest-1", "Interface") == \
        "cn.com.amazonaws.cn-northwest-1.kinesis-streams"
    assert service_name("s3", "us-east-1", "Interface") == "com.amazonaws.us-east-1.s3"


def test_iso_regions_of_one_partition_may_differ() -> None:
    assert service_name("monitoring", "us-iso-west-1", "Interface") == "gov.ic.c2s.us-iso-west-1.monitoring"
    assert service_name("monitoring", "us-iso-east-1", "Interface") == "com.amazonaws.us-iso-east-1.monitoring"


@pytest.mark.parametrize(("region", "_p", "_s", "ecr_prefix"), PARTITION_CASES)
def test_the_short_name_comes_back_from_either_prefix(region: str, _p: str, _s: str, ecr_prefix: str) -> None:
    assert short_name(f"{ecr_prefix}.{region}.ecr.dkr", region) == "ecr.dkr"
    assert short_name(f"com.amazonaws.{region}.logs", region) == "logs"
    # A name the table would not give (an interface-only name for the gateway, say) still reads.
    assert short_name(f"{ecr_prefix}.{region}.s3", region) == "s3"
    assert short_name("com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0", region).startswith("com.")
    assert split_service_name(f"{ecr_prefix}.{region}.ecr.dkr") == (region, "ecr.dkr")
    assert split_service_name(f"com.amazonaws.{region}.logs") == (region, "logs")


def test_a_partners_service_name_is_not_an_aws_service() -> None:
    assert split_service_name("com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0") is None


# ---------------------------------------------------------------- ARNs, DNS, images


@pytest.mark.parametrize(("region", "part", "_s", "_e"), PARTITION_CASES)
def test_arns_carry_the_partition(region: str, part: str, _s: str, _e: str) -> None:
    assert partition(region) == partition_id(region) == part
    assert layer_bucket_arn(region) == f"arn:{part}:s3:::prod-{region}-starport-layer-bucket/*"
    assert resource_arn(region, ACCOUNT_ID, "AWS::EC2::VPC", "vpc-00000001") == \
        f"arn:{part}:ec2:{region}:{ACCOUNT_ID}:vpc/vpc-00000001"


def test_security_hub_names_the_iso_partitions_its_own_way() -> None:
    assert asff_partition("us-iso-east-1") == "aws-us-iso"
    assert asff_partition("us-isob-east-1") == "aws-us-iso-b"
    assert asff_partition("cn-north-1") == "aws-cn"
    assert asff_partition("us-east-1") == "aws"


def test_a_region_botocore_does_not_list_yet_goes_by_the_partitions_regex() -> None:
    assert partition("cn-south-9") == "aws-cn"
    assert partition("us-gov-south-9") == "aws-us-gov"
    assert partition("eusc-de-west-9") == "aws-eusc"
    assert partition("ap-south-9") == "aws"


@pytest.mark.parametrize(("region", "_p", "suffix", "_e"), PARTITION_CASES)
def test_ecr_images_are_recognised_in_every_partition(region: str, _p: str, suffix: str, _e: str) -> None:
    ref = parse_image(f"{ACCOUNT_ID}.dkr.ecr.{region}.{suffix}/web:1")

    assert (ref.kind, ref.region, ref.account) == ("ecr", region, ACCOUNT_ID)
    assert ref.registry == f"{ACCOUNT_ID}.dkr.ecr.{region}.{suffix}"


def test_a_lookalike_host_is_not_ecr() -> None:
    assert parse_image(f"{ACCOUNT_ID}.dkr.ecr.cn-north-1.amazonaws.com.cn.evil.example/web:1").kind == "other"


@pytest.mark.parametrize(("region", "part", "suffix", "_e"), PARTITION_CASES)
def test_default_dns_names_and_repository_arns_follow_the_partition(region: str, part: str, suffix: str,
                                                                    _e: str) -> None:
    assert default_dns_name(service_name("ecr.dkr", region, "Interface"), region) == f"*.dkr.ecr.{region}.{suffix}"
    assert default_dns_name(service_name("logs", region, "Interface"), region) == f"logs.{region}.{suffix}"
    w = workload(region, suffix)
    assert ecr_repositories(w, region) == [f"arn:{part}:ecr:{region}:{ACCOUNT_ID}:repository/web"]


def test_eusc_de_east_1_me_west_1_and_sa_west_1_need_the_ecs_endpoints() -> None:
    assert {"eusc-de-east-1", "me-west-1", "sa-west-1", "ca-west-1"} <= REGIONS_NEEDING_ECS_ENDPOINTS
    req = required_endpoints(replace(workload("eusc-de-east-1", "amazonaws.eu"), launch_type="EC2"))
    assert {"ecs", "ecs-agent", "ecs-telemetry"} <= {n.service for n in req.needs}


# ---------------------------------------------------------------- the planner and its fixes


def workload(region: str, suffix: str) -> Workload:
    return Workload(kind="task", arn=f"arn:{partition(region)}:ecs:{region}:{ACCOUNT_ID}:task/c/1", name="web:1",
                    region=region, account=ACCOUNT_ID, launch_type="FARGATE",
                    subnet_ids=("subnet-0000000a", "subnet-0000000b"), security_group_ids=("sg-000000a0",),
                    containers=(ContainerSpec("web", f"{ACCOUNT_ID}.dkr.ecr.{region}.{suffix}/web:1",
                                              LogConfig("awslogs", (("awslogs-group", "/ecs/web"),))),),
                    assign_public_ip=False)


def snapshot(region: str, **kw: Any) -> VpcSnapshot:
    subnets = {f"subnet-0000000{az}": SubnetInfo(f"subnet-0000000{az}", "vpc-00000001", region + az, f"10.0.{i}.0/24")
               for i, az in enumerate("ab", start=1)}
    azs = frozenset(region + az for az in "abc")
    names = [service_name(s, region, "Interface") for s in ("ecr.api", "ecr.dkr", "logs")]
    base = VpcSnapshot(
        vpc_id="vpc-00000001", region=region, account=ACCOUNT_ID, cidrs=("10.0.0.0/16",), tags={},
        dns_support=True, dns_hostnames=True, subnets=subnets,
        route_tables={"rtb-00000001": RouteTableInfo("rtb-00000001", True, None, None, tuple(subnets))},
        endpoints=(), security_groups={}, offers={n: ServiceOffer(n, ("Interface",), azs) for n in names})
    return replace(base, **kw)


PLAN_CASES = [c for c in PARTITION_CASES if c[0] in ("us-east-1", "cn-north-1", "us-gov-west-1", "eusc-de-east-1")]


@pytest.mark.parametrize(("region", "part", "suffix", "ecr_prefix"), PLAN_CASES)
def test_a_fresh_vpc_gets_endpoints_under_the_right_names(region: str, part: str, suffix: str,
                                                          ecr_prefix: str) -> None:
    w = workload(region, suffix)
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snapshot(region),
                            policy=PolicyScope(ACCOUNT, ACCOUNT_ID))

    creates = {a.service: a for a in plan.actions if a.kind == CREATE_INTERFACE}
    assert set(creates) == {f"{ecr_prefix}.{region}.ecr.api", f"{ecr_prefix}.{region}.ecr.dkr",
                            f"com.amazonaws.{region}.logs"}
    (gateway,) = [a for a in plan.actions if a.kind == CREATE_GATEWAY]
    assert gateway.service == f"com.amazonaws.{region}.s3"
    assert plan.findings == ()
    # The fix commands carry the names and the partition's layer bucket.
    for name, action in (*creates.items(), (gateway.service, gateway)):
        assert any(f"--service-name {name}" in c for c in action.fix), action.fix
    assert gateway.policy is not None
    assert layer_bucket_arn(region) in json.dumps(json.loads(gateway.policy))
    assert all(f"--region {region}" in c for a in plan.actions for c in a.fix)


@pytest.mark.parametrize(("region", "_p", "suffix", "ecr_prefix"), PLAN_CASES)
def test_existing_endpoints_under_the_right_names_are_recognised(region: str, _p: str, suffix: str,
                                                                 ecr_prefix: str) -> None:
    def ep(name: str, typ: str = "Interface") -> EndpointInfo:
        gateway = typ == "Gateway"
        return EndpointInfo(f"vpce-{abs(hash(name)) % 16**8:08x}", name, typ, "available",
                            () if gateway else ("subnet-0000000a", "subnet-0000000b"),
                            () if gateway else ("sg-000000c0",), not gateway,
                            ("rtb-00000001",) if gateway else (), None, owned=False)

    from vpce_remediator.facts import SecurityGroupInfo, SgRule
    group = SecurityGroupInfo("sg-000000c0", "theirs", (SgRule("tcp", 443, 443, ("10.0.0.0/16",)),), False)
    endpoints = (ep(f"{ecr_prefix}.{region}.ecr.api"), ep(f"{ecr_prefix}.{region}.ecr.dkr"),
                 ep(f"com.amazonaws.{region}.logs"), ep(f"com.amazonaws.{region}.s3", "Gateway"))
    w = workload(region, suffix)
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))],
                            snapshot(region, endpoints=endpoints, security_groups={"sg-000000c0": group}))

    assert plan.actions == () and plan.findings == ()
    assert {s.status for s in plan.services} == {"present"}


def test_offers_keep_what_aws_said() -> None:
    name = "cn.com.amazonaws.cn-north-1.ecr.dkr"
    offers = offers_from([name], [{
        "ServiceName": name, "ServiceType": [{"ServiceType": "Interface"}], "ServiceRegion": "cn-north-1",
        "AvailabilityZones": ["cn-north-1a"], "PrivateDnsName": "*.dkr.ecr.cn-north-1.amazonaws.com.cn",
        "SupportedIpAddressTypes": ["ipv4", "ipv6"]}])

    offer = offers[name]
    assert offer is not None
    assert (offer.name, offer.service_region, offer.ip_types, offer.dns_name) == \
        (name, "cn-north-1", frozenset({"ipv4", "ipv6"}), "*.dkr.ecr.cn-north-1.amazonaws.com.cn")


def test_every_region_of_every_partition_is_a_region_to_fix_commands() -> None:
    from rules.formats import is_region
    from rules.partitions import PARTITIONS

    assert all(is_region(r) for p in PARTITIONS for r in p.regions)
