"""Default routes that look like a way out but are not known to be one (issue 13 point 5).

A private NAT gateway reaches only other VPCs and on-premises networks; a transit gateway, a
Gateway Load Balancer or Network Firewall endpoint, or a peering connection hands egress to a
central VPC the spoke cannot see. The planner enforces such subnets by default and says why in
its notes; doctor's route hop says the same. The snapshot tells the kinds apart from the routes.
"""
from __future__ import annotations

from typing import Any

import pytest
from test_agreement import A, B, gateway, interface, vpc, workload

from rules import required_endpoints
from vpce_remediator.plan import WorkloadNeeds, plan_remediation
from vpce_remediator.reach import ROUTE, alternative_path, judge
from vpce_remediator.snapshot import _egress, _private_nats

PRIVATE_NAT = ("private-nat", "nat-0000000000000000b")
CENTRAL = {"tgw": ("tgw", "tgw-0000000000000000c"), "gwlbe": ("gwlbe", "vpce-0000000000000000d"),
           "peering": ("peering", "pcx-0000000e")}


def plan_for(route: tuple[str, str] | None) -> Any:
    w = workload()
    return plan_remediation([WorkloadNeeds(w, required_endpoints(w))], vpc(endpoints=(gateway(),), route=route))


def route_hops(route: tuple[str, str] | None) -> list[str]:
    w = workload()
    return [c.detail for c in judge(vpc(endpoints=(gateway(),), route=route), w, required_endpoints(w))
            if c.hop == ROUTE]


def test_a_public_nat_route_is_not_enforced_by_default() -> None:
    plan = plan_for(("nat", "nat-0000000000000000a"))

    assert not plan.actions and any(n.startswith("not enforced:") for n in plan.notes)


def test_a_private_nat_route_is_enforced() -> None:
    snap = vpc(endpoints=(gateway(),), route=PRIVATE_NAT)
    plan = plan_for(PRIVATE_NAT)

    assert alternative_path(snap, A, False) is None
    assert {a.service for a in plan.actions} >= {"com.amazonaws.us-east-1.ecr.api", "com.amazonaws.us-east-1.logs"}
    assert not any(n.startswith("not enforced:") for n in plan.notes)
    assert sum("private NAT gateway nat-0000000000000000b" in n for n in plan.notes) == 2  # one per subnet
    assert all("private NAT gateway nat-0000000000000000b" in d and "not the internet" in d
               for d in route_hops(PRIVATE_NAT))


@pytest.mark.parametrize("kind", sorted(CENTRAL))
def test_central_egress_routes_are_enforced_and_said_in_every_result(kind: str) -> None:
    route = CENTRAL[kind]
    plan = plan_for(route)

    assert {a.service for a in plan.actions} >= {"com.amazonaws.us-east-1.ecr.api", "com.amazonaws.us-east-1.logs"}
    central = [n for n in plan.notes if "egress through a central VPC" in n]
    assert {s for s in (A, B) if any(s in n for n in central)} == {A, B}
    assert all(route[1] in n and "not visible from here" in n for n in central)
    hops = route_hops(route)
    assert len(hops) == 2 and all("egress through a central VPC" in d and route[1] in d for d in hops)


def test_the_gwlb_endpoint_hop_names_both_kinds_it_may_be() -> None:
    assert all("Gateway Load Balancer or Network Firewall endpoint" in d for d in route_hops(CENTRAL["gwlbe"]))


def test_a_compliant_central_egress_vpc_still_says_where_egress_goes() -> None:
    eps = (interface("ecr.api"), interface("ecr.dkr"), interface("logs"), gateway())
    w = workload()
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], vpc(endpoints=eps, route=CENTRAL["tgw"]))

    assert not plan.actions and not plan.findings
    assert any("egress through a central VPC" in n for n in plan.notes)


@pytest.mark.parametrize(("route", "kind"), [
    ({"DestinationCidrBlock": "0.0.0.0/0", "VpcEndpointId": "vpce-0a1"}, "gwlbe"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "vpce-0a2"}, "gwlbe"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "TransitGatewayId": "tgw-0a3"}, "tgw"),
    ({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0a4"}, "nat"),
])
def test_the_snapshot_classifies_default_routes(route: dict[str, str], kind: str) -> None:
    assert _egress([route])[0] == kind


def test_a_gateway_endpoints_prefix_list_route_is_not_a_default_route() -> None:
    routes = [{"DestinationPrefixListId": "pl-63a5400a", "GatewayId": "vpce-0s3"},
              {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local"}]

    assert _egress(routes) == (None, None)


class _Ec2:
    """Just enough EC2 for `_private_nats`: what moto and AWS answer, with the calls counted."""

    def __init__(self, gateways: list[dict[str, str]]) -> None:
        self.gateways = gateways
        self.calls: list[dict[str, Any]] = []

    def can_paginate(self, operation: str) -> bool:
        return False

    def describe_nat_gateways(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(kw)
        wanted = set(kw["Filters"][0]["Values"])
        return {"NatGateways": [g for g in self.gateways if g["NatGatewayId"] in wanted]}


def test_private_nats_reads_once_by_filter_and_keeps_only_private_ones() -> None:
    ec2 = _Ec2([{"NatGatewayId": "nat-1", "ConnectivityType": "private"},
                {"NatGatewayId": "nat-2", "ConnectivityType": "public"}, {"NatGatewayId": "nat-3"}])

    assert _private_nats(ec2, ["nat-2", "nat-1", "nat-3", "nat-gone", "nat-1"]) == {"nat-1"}
    assert len(ec2.calls) == 1
