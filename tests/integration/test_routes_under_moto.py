"""Default routes under moto (issue 13 point 5): a private NAT gateway is read as no way out.

moto 5.2.5 keeps `ConnectivityType` on `CreateNatGateway` and returns it from
`DescribeNatGateways`, so the private NAT case runs end to end through the reader. A route
created with `VpcEndpointId` to a `GatewayLoadBalancer` endpoint comes back from moto's
`DescribeRouteTables` as `GatewayId` vpce-... (moto keeps no `VpcEndpointId` on the route); the
reader takes either. moto has no Network Firewall endpoints in EC2: that kind is the same route.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from rules import Workload, required_endpoints
from rules.workload import ContainerSpec, LogConfig
from vpce_remediator.facts import ServiceOffer
from vpce_remediator.plan import WorkloadNeeds, plan_remediation
from vpce_remediator.reach import ROUTE, judge
from vpce_remediator.snapshot import describe_subnets, read_vpc

REGION = "us-east-1"


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


def estate(ec2: Any, connectivity: str) -> tuple[dict[str, Any], list[str], str]:
    """Two private subnets whose 0.0.0.0/0 goes to a NAT gateway of the given ConnectivityType."""
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    for attribute in ("EnableDnsSupport", "EnableDnsHostnames"):
        ec2.modify_vpc_attribute(VpcId=vpc_id, **{attribute: {"Value": True}})
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=REGION + az)
               ["Subnet"]["SubnetId"] for i, az in enumerate("ab")]
    home = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.9.0/24", AvailabilityZone=REGION + "a")["Subnet"]["SubnetId"]
    extra: dict[str, Any] = {"ConnectivityType": "private"} if connectivity == "private" else {
        "AllocationId": ec2.allocate_address(Domain="vpc")["AllocationId"]}
    nat = ec2.create_nat_gateway(SubnetId=home, **extra)["NatGateway"]["NatGatewayId"]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    for s in subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=s)
    return ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0], subnets, nat


def web(subnets: list[str]) -> Workload:
    return Workload(kind="service", arn=f"arn:aws:ecs:{REGION}:123456789012:service/prod/web", name="web",
                    region=REGION, account="123456789012", launch_type="FARGATE", subnet_ids=tuple(subnets),
                    containers=(ContainerSpec("web", "docker.io/library/nginx:1.27",
                                              LogConfig("awslogs", (("awslogs-group", "/ecs/web"),))),))


def counted(ec2: Any) -> list[str]:
    calls: list[str] = []
    ec2.meta.events.register("before-call.ec2.*", lambda model, **_: calls.append(model.name))
    return calls


def test_a_private_nat_route_is_enforced(ec2: Any) -> None:
    vpc, subnets, nat = estate(ec2, "private")
    calls = counted(ec2)

    snap = read_vpc(ec2, vpc, REGION, "123456789012", describe_subnets(ec2, subnets))

    assert calls.count("DescribeNatGateways") == 1
    table = snap.route_table_of(subnets[0])
    assert table is not None and (table.egress, table.egress_target) == ("private-nat", nat)
    w = web(subnets)
    # The offers as AWS answers them (moto's DescribeVpcEndpointServices is not what is under test).
    snap = snap.with_offers({f"com.amazonaws.{REGION}.logs": ServiceOffer(
        f"com.amazonaws.{REGION}.logs", ("Interface",), frozenset({REGION + "a", REGION + "b"}))})
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snap.with_zones(()))
    assert f"com.amazonaws.{REGION}.logs" in {a.service for a in plan.actions}
    assert not any(n.startswith("not enforced:") for n in plan.notes)
    assert any(f"private NAT gateway {nat}" in n for n in plan.notes)
    hops = [c.detail for c in judge(snap.with_zones(()), w, required_endpoints(w)) if c.hop == ROUTE]
    assert hops and all(f"private NAT gateway {nat}" in d for d in hops)


def test_a_public_nat_route_stays_a_way_out(ec2: Any) -> None:
    vpc, subnets, nat = estate(ec2, "public")

    snap = read_vpc(ec2, vpc, REGION, "123456789012", describe_subnets(ec2, subnets))

    table = snap.route_table_of(subnets[0])
    assert table is not None and (table.egress, table.egress_target) == ("nat", nat)
    w = web(subnets)
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snap.with_zones(()))
    assert not plan.actions and any(n.startswith("not enforced:") for n in plan.notes)


def test_no_nat_route_no_nat_read(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"]
    calls = counted(ec2)

    read_vpc(ec2, ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0], REGION, "123456789012",
             describe_subnets(ec2, [subnet]))

    assert "DescribeNatGateways" not in calls


def test_a_gwlb_endpoint_default_route_is_central_egress(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.2.0.0/24")["Subnet"]["SubnetId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc_id, VpcEndpointType="GatewayLoadBalancer", SubnetIds=[subnet],
        ServiceName=f"com.amazonaws.vpce.{REGION}.vpce-svc-0123456789abcdef0")["VpcEndpoint"]["VpcEndpointId"]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", VpcEndpointId=endpoint)
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)

    snap = read_vpc(ec2, ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0], REGION, "123456789012",
                    describe_subnets(ec2, [subnet]))

    info = snap.route_table_of(subnet)
    assert info is not None and (info.egress, info.egress_target) == ("gwlbe", endpoint)
    w = web([subnet])
    hops = [c.detail for c in judge(snap.with_zones(()), w, required_endpoints(w)) if c.hop == ROUTE]
    assert hops and all("egress through a central VPC" in d and endpoint in d for d in hops)
