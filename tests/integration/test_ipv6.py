"""IPv6 under moto: the reader fills the IPv6 facts, and the tool's writes carry them.

moto 5.2.5 gaps met here, each named where it is worked around:
- `CreateVpcEndpoint` ignores IpAddressType and DnsOptions and `DescribeVpcEndpoints` returns
  neither: the create's parameters are asserted on the request itself (a botocore
  `provide-client-params` hook), not on what moto echoes.
- `DescribeVpcEndpointServices` returns no SupportedIpAddressTypes: the offers are given to the
  planner as AWS would answer them (`with_offers`).
- A subnet's `Ipv6CidrBlockState.State` is the text of a dict ("{'State': 'associated'}"): the
  reader counts a block unless its state says it left (snapshot._NOT_ASSOCIATED).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from rules import Workload, required_endpoints
from rules.workload import ContainerSpec, LogConfig
from vpce_remediator.act import apply_plan
from vpce_remediator.facts import ServiceOffer
from vpce_remediator.plan import WorkloadNeeds, plan_remediation
from vpce_remediator.snapshot import describe_subnets, offers_from, read_vpc

REGION = "us-east-1"
P = f"com.amazonaws.{REGION}."


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def estate(ec2: Any, native: bool) -> tuple[dict[str, Any], list[str], str]:
    """A VPC with an Amazon IPv6 block, two subnets (dual-stack, or IPv6-only when `native`) on a
    table whose ::/0 goes to an egress-only internet gateway."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    vpc_id = vpc["VpcId"]
    for attribute in ("EnableDnsSupport", "EnableDnsHostnames"):
        ec2.modify_vpc_attribute(VpcId=vpc_id, **{attribute: {"Value": True}})
    described = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    block = described["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    halves = list(ipaddress.ip_network(block).subnets(new_prefix=64))
    subnets = []
    for i, az in enumerate("ab"):
        v4: dict[str, Any] = {"Ipv6Native": True} if native else {"CidrBlock": f"10.0.{i}.0/24"}
        subnets.append(ec2.create_subnet(VpcId=vpc_id, AvailabilityZone=REGION + az, Ipv6CidrBlock=str(halves[i]),
                                         **v4)["Subnet"]["SubnetId"])
    eigw = ec2.create_egress_only_internet_gateway(VpcId=vpc_id)["EgressOnlyInternetGateway"]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationIpv6CidrBlock="::/0",
                     EgressOnlyInternetGatewayId=eigw["EgressOnlyInternetGatewayId"])
    for s in subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=s)
    return described, subnets, block


def web(subnets: list[str]) -> Workload:
    return Workload(kind="service", arn=f"arn:aws:ecs:{REGION}:123456789012:service/prod/web", name="web",
                    region=REGION, account="123456789012", launch_type="FARGATE", subnet_ids=tuple(subnets),
                    containers=(ContainerSpec("web", "docker.io/library/nginx:1.27",
                                              LogConfig("awslogs", (("awslogs-group", "/ecs/web"),))),))


def test_the_reader_fills_subnet_and_vpc_ipv6_blocks_and_the_ipv6_route(ec2: Any) -> None:
    vpc, subnets, block = estate(ec2, native=True)

    snap = read_vpc(ec2, vpc, REGION, "123456789012", describe_subnets(ec2, subnets))

    assert snap.ipv6_cidrs == (block,)
    assert {snap.subnets[s].family for s in subnets} == {"ipv6"}
    assert all(snap.subnets[s].cidr == "" and len(snap.subnets[s].ipv6_cidrs) == 1 for s in subnets)
    table = snap.route_table_of(subnets[0])
    assert table is not None and table.egress6 == "eigw" and table.egress is None


def test_offers_read_supported_ip_address_types() -> None:
    details = [{"ServiceName": P + "logs", "ServiceType": [{"ServiceType": "Interface"}],
                "AvailabilityZones": [REGION + "a"], "SupportedIpAddressTypes": ["ipv4", "ipv6"]}]

    offer = offers_from([P + "logs", P + "ssm"], details)

    assert offer[P + "logs"] is not None and offer[P + "logs"].ip_types == frozenset({"ipv4", "ipv6"})
    assert offer[P + "ssm"] is None


def test_dual_stack_subnets_get_a_dualstack_endpoint_and_the_group_ipv6_ingress(ec2: Any) -> None:
    vpc, subnets, block = estate(ec2, native=False)
    snap = read_vpc(ec2, vpc, REGION, "123456789012", describe_subnets(ec2, subnets))
    # moto answers no SupportedIpAddressTypes: the offer as AWS gives it for a dual-stack service.
    snap = snap.with_offers({P + "logs": ServiceOffer(P + "logs", ("Interface",),
                                                      frozenset({REGION + "a", REGION + "b"}),
                                                      ip_types=frozenset({"ipv4", "ipv6"}))})
    w = web(subnets)
    # Its ::/0 to the egress-only gateway is a way out for logs (it takes IPv6): enforced anyway here.
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snap.with_zones(()), enforce_on_nat_routed=True)
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    ec2.meta.events.register("provide-client-params.ec2.CreateVpcEndpoint", record)
    results = apply_plan(ec2, plan, snap)

    assert {r.status for r in results} == {"created"}, results
    assert [(p["IpAddressType"], p["DnsOptions"]) for p in sent] == [("dualstack", {"DnsRecordIpType": "dualstack"})]
    group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                                  {"Name": "group-name", "Values": ["vpce-remediator-endpoints"]}])
    rules = group["SecurityGroups"][0]["IpPermissions"]
    assert [r["CidrIpv6"] for p in rules for r in p.get("Ipv6Ranges", [])] == [block]
    assert [r["CidrIp"] for p in rules for r in p.get("IpRanges", [])] == ["10.0.0.0/16"]
