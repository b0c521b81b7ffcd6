"""One judgement: fed the same VPC, the planner and doctor find the same hops wanting.

For every (workload, subnet, service) the planner's verdict (`Plan.verdicts`, the hops its
actions and findings are about) equals doctor's (the hops `reach.judge` does not pass, with a
problem kind), except the hops listed in `reach.ONE_DOOR_HOPS`. Over the five cases where the two
used to disagree (issue 12), hand-built VPCs in the style of test_hops, and drawn estates.

The planner runs with `enforce_on_nat_routed=True`: by default it leaves subnets behind a NAT
gateway alone (they reach AWS without endpoints), where doctor still judges them, as warnings.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import Workload, required_endpoints
from rules.workload import ContainerSpec, LogConfig
from vpce_remediator.facts import (
    EndpointInfo,
    PrefixList,
    PrivateZone,
    RouteTableInfo,
    SecurityGroupInfo,
    ServiceOffer,
    SgRule,
    SubnetInfo,
    VpcSnapshot,
)
from vpce_remediator.plan import WorkloadNeeds, plan_remediation
from vpce_remediator.reach import ONE_DOOR_HOPS, PROBLEM_HOP, judge

REGION = "us-east-1"
P = f"com.amazonaws.{REGION}."
VPC = "vpc-00000001"
A, B = "subnet-0000000a", "subnet-0000000b"
SUBNETS = {A: SubnetInfo(A, VPC, REGION + "a", "10.0.1.0/24"), B: SubnetInfo(B, VPC, REGION + "b", "10.0.2.0/24")}
ECR_IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/team/web:1"
HUB_IMAGE = "docker.io/library/nginx:1.27"
TASK_SG, ENDPOINT_SG, CLOSED_SG = "sg-000000a0", "sg-000000e0", "sg-000000c1"
INTERFACES = ("ecr.api", "ecr.dkr", "logs")
EP_ID = {"ecr.api": "vpce-000000a1", "ecr.dkr": "vpce-000000a2", "logs": "vpce-000000a3", "s3": "vpce-000000a4"}
DENY_PULL = json.dumps({"Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage", "Resource": "*"}]})
ONLY_OTHER_BUCKET = json.dumps({"Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::somewhere-else/*"}]})


def workload(image: str = ECR_IMAGE, public_ip: bool = False) -> Workload:
    return Workload(kind="service", arn="arn:aws:ecs:us-east-1:123456789012:service/prod/web", name="web",
                    region=REGION, account="123456789012", launch_type="FARGATE", subnet_ids=(A, B),
                    security_group_ids=(TASK_SG,), assign_public_ip=public_ip,
                    containers=(ContainerSpec("web", image, LogConfig("awslogs", (("awslogs-group", "/ecs/web"),))),))


def interface(short: str, **kw: Any) -> EndpointInfo:
    fields: dict[str, Any] = {"id": EP_ID[short], "service_name": P + short, "type": "Interface",
                              "state": "available", "subnet_ids": (A, B), "group_ids": (ENDPOINT_SG,),
                              "private_dns": True, "route_table_ids": (), "policy": None, "owned": False}
    fields.update(kw)
    return EndpointInfo(**fields)


def gateway(**kw: Any) -> EndpointInfo:
    fields: dict[str, Any] = {"id": EP_ID["s3"], "service_name": P + "s3", "type": "Gateway", "state": "available",
                              "subnet_ids": (), "group_ids": (), "private_dns": False,
                              "route_table_ids": ("rtb-00000001",), "policy": None, "owned": False}
    fields.update(kw)
    return EndpointInfo(**fields)


HEALTHY = tuple(interface(s) for s in INTERFACES) + (gateway(),)
OPEN_EGRESS = (SgRule("-1", 0, 65535, ("0.0.0.0/0",)),)


def vpc(endpoints: tuple[EndpointInfo, ...] = HEALTHY, egress: tuple[SgRule, ...] | None = OPEN_EGRESS,
        nat: bool = False, zones: tuple[PrivateZone, ...] = (), offered: frozenset[str] | None = None,
        endpoint_ingress: tuple[SgRule, ...] = (SgRule("tcp", 443, 443, (), (TASK_SG,)),), **kw: Any) -> VpcSnapshot:
    """A 2-AZ VPC as the engine and doctor both read it: offers and zones read, every group's egress."""
    azs = offered if offered is not None else frozenset(s.az for s in SUBNETS.values())
    snap = VpcSnapshot(
        vpc_id=VPC, region=REGION, account="123456789012", cidrs=("10.0.0.0/16",), tags={},
        dns_support=True, dns_hostnames=True, subnets=SUBNETS,
        route_tables={"rtb-00000001": RouteTableInfo("rtb-00000001", False, "nat" if nat else None,
                                                    "nat-0000000000000000a" if nat else None, (A, B)),
                      "rtb-00000002": RouteTableInfo("rtb-00000002", True, None, None, ())},
        endpoints=endpoints,
        security_groups={
            ENDPOINT_SG: SecurityGroupInfo(ENDPOINT_SG, "endpoints", endpoint_ingress, False, egress=()),
            CLOSED_SG: SecurityGroupInfo(CLOSED_SG, "closed", (), False, egress=()),
            TASK_SG: SecurityGroupInfo(TASK_SG, "web", (), False, egress=egress)},
        offers={P + s: ServiceOffer(P + s, ("Interface",), azs, dns_name=dns) for s, dns in (
            ("ecr.api", f"api.ecr.{REGION}.amazonaws.com"), ("ecr.dkr", f"*.dkr.ecr.{REGION}.amazonaws.com"),
            ("logs", f"logs.{REGION}.amazonaws.com"))},
        prefix_lists={P + "s3": PrefixList("pl-63a5400a", ())},
    )
    return replace(snap, **kw).with_zones(zones)


def doctor_says(snap: VpcSnapshot, w: Workload) -> set[tuple[str, str, str]]:
    """(subnet, service, hop) doctor does not pass, for a problem (not mere information)."""
    return {(c.subnet, c.service, c.hop) for c in judge(snap, w, required_endpoints(w))
            if c.problem and c.hop not in ONE_DOOR_HOPS}


def planner_says(snap: VpcSnapshot, w: Workload) -> set[tuple[str, str, str]]:
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snap, enforce_on_nat_routed=True)
    assert not plan.needs_offers and not plan.needs_zones, "the estate gives the planner everything it reads"
    return {(v.subnet, v.service, v.hop) for v in plan.verdicts if v.workload == w.arn and v.hop not in ONE_DOOR_HOPS}


def agree(snap: VpcSnapshot, w: Workload) -> set[tuple[str, str, str]]:
    doctor, planner = doctor_says(snap, w), planner_says(snap, w)
    assert planner == doctor, {"planner only": sorted(planner - doctor), "doctor only": sorted(doctor - planner)}
    return doctor


# ---------------------------------------------------------------- the five old disagreements


def test_services_served_by_central_zones_are_present_for_both() -> None:
    zones = (PrivateZone("Z1", f"ecr.{REGION}.amazonaws.com"), PrivateZone("Z2", f"logs.{REGION}.amazonaws.com"))

    assert agree(vpc(endpoints=(gateway(),), zones=zones), workload()) == set()


def test_services_served_through_a_profile_zone_with_their_records_are_present_for_both() -> None:
    zones = (PrivateZone("Z1", f"ecr.{REGION}.amazonaws.com", frozenset(
        {f"api.ecr.{REGION}.amazonaws.com", f"*.dkr.ecr.{REGION}.amazonaws.com"}), profile="rp-0123456789abcdef"),
             PrivateZone("Z2", f"logs.{REGION}.amazonaws.com", frozenset({f"logs.{REGION}.amazonaws.com"})))

    assert agree(vpc(endpoints=(gateway(),), zones=zones), workload()) == set()


def test_a_zone_without_the_wildcard_dkr_record_fails_ecr_dkr_dns_for_both() -> None:
    zones = (PrivateZone("Z1", f"ecr.{REGION}.amazonaws.com", frozenset({f"api.ecr.{REGION}.amazonaws.com"})),)
    eps = (interface("logs"), gateway())

    assert agree(vpc(endpoints=eps, zones=zones), workload()) == {(A, "ecr.dkr", "dns"), (B, "ecr.dkr", "dns")}


def test_an_s3_interface_endpoint_for_all_resolvers_is_the_s3_path_for_both() -> None:
    s3 = interface("s3", id="vpce-000000a5", policy=ONLY_OTHER_BUCKET)
    eps = tuple(e for e in HEALTHY if e.type == "Interface") + (s3,)

    assert agree(vpc(endpoints=eps), workload()) == {(A, "s3", "policy"), (B, "s3", "policy")}
    assert agree(vpc(endpoints=eps[:-1] + (replace(s3, policy=None),)), workload()) == set()
    # Private DNS only for inbound resolver endpoints: the VPC's own traffic takes the gateway, which is missing.
    only_inbound = eps[:-1] + (replace(s3, inbound_resolver_only=True),)
    assert agree(vpc(endpoints=only_inbound), workload()) == {(A, "s3", "endpoint"), (B, "s3", "endpoint")}


def test_closed_workload_egress_fails_every_service_for_both() -> None:
    found = agree(vpc(egress=()), workload())

    assert found == {(s, svc, "sg-egress") for s in (A, B) for svc in (*INTERFACES, "s3")}


def test_an_ecr_dkr_policy_denying_the_pull_fails_for_both() -> None:
    eps = tuple(replace(e, policy=DENY_PULL) if e.id == EP_ID["ecr.dkr"] else e for e in HEALTHY)

    assert agree(vpc(endpoints=eps), workload()) == {(A, "ecr.dkr", "policy"), (B, "ecr.dkr", "policy")}


def test_an_s3_policy_without_the_layer_bucket_matters_only_to_ecr_images() -> None:
    eps = tuple(replace(e, policy=ONLY_OTHER_BUCKET) if e.id == EP_ID["s3"] else e for e in HEALTHY)

    assert agree(vpc(endpoints=eps), workload(HUB_IMAGE)) == {(A, "*", "source"), (B, "*", "source")}
    assert agree(vpc(endpoints=eps), workload(ECR_IMAGE)) == {(A, "s3", "policy"), (B, "s3", "policy")}


def test_a_pending_endpoint_is_pending_for_both() -> None:
    eps = tuple(replace(e, state="pending") if e.id == EP_ID["logs"] else e for e in HEALTHY)

    assert agree(vpc(endpoints=eps), workload()) == {(A, "logs", "endpoint"), (B, "logs", "endpoint")}


# ---------------------------------------------------------------- more hand-built cases


@pytest.mark.parametrize("case", [
    "healthy", "no endpoints", "dns hostnames off", "dns support off", "private dns off", "one az",
    "closed endpoint group", "unreadable endpoint group", "s3 on another table", "rejected endpoint",
    "vpc-only egress", "unreadable egress", "nat route", "public registry", "one az offered",
])
def test_hand_built_cases_agree(case: str) -> None:
    eps = HEALTHY
    kw: dict[str, Any] = {}
    w = workload()
    if case == "no endpoints":
        eps = ()
    elif case == "dns hostnames off":
        kw["dns_hostnames"] = False
    elif case == "dns support off":
        kw["dns_support"] = False
    elif case == "private dns off":
        eps = tuple(replace(e, private_dns=False) if e.id == EP_ID["logs"] else e for e in eps)
    elif case == "one az":
        eps = tuple(replace(e, subnet_ids=(A,)) if e.id == EP_ID["ecr.api"] else e for e in eps)
    elif case == "closed endpoint group":
        kw["endpoint_ingress"] = ()
    elif case == "unreadable endpoint group":
        eps = tuple(replace(e, group_ids=("sg-0000000f",)) for e in eps)
    elif case == "s3 on another table":
        eps = tuple(replace(e, route_table_ids=("rtb-00000002",)) if e.id == EP_ID["s3"] else e for e in eps)
    elif case == "rejected endpoint":
        eps = tuple(replace(e, state="rejected") if e.id == EP_ID["ecr.dkr"] else e for e in eps)
    elif case == "vpc-only egress":
        kw["egress"] = (SgRule("tcp", 443, 443, ("10.0.0.0/16",)),)
    elif case == "unreadable egress":
        kw["egress"] = None
    elif case == "nat route":
        kw["nat"] = True
        eps = ()
    elif case == "public registry":
        w = workload("public.ecr.aws/nginx/nginx:1.27")
    elif case == "one az offered":
        eps = ()
        kw["offered"] = frozenset({REGION + "a"})

    found = agree(vpc(endpoints=eps, **kw), w)

    assert (found == set()) == (case in ("healthy", "unreadable endpoint group", "unreadable egress")), found


# ---------------------------------------------------------------- drawn estates


STATES = ("available", "pending", "rejected", None)  # None: no endpoint


@st.composite
def estates(draw: st.DrawFn) -> tuple[VpcSnapshot, Workload]:
    endpoints = []
    for short in INTERFACES:
        state = draw(st.sampled_from(STATES))
        if state is None:
            continue
        endpoints.append(interface(
            short, state=state, subnet_ids=draw(st.sampled_from([(A, B), (A,), (B,)])),
            private_dns=draw(st.booleans()),
            group_ids=(draw(st.sampled_from([ENDPOINT_SG, CLOSED_SG, "sg-0000000f"])),),
            policy=draw(st.sampled_from([None, DENY_PULL]))))
    if draw(st.booleans()):
        endpoints.append(gateway(route_table_ids=(draw(st.sampled_from(["rtb-00000001", "rtb-00000002"])),),
                                 policy=draw(st.sampled_from([None, ONLY_OTHER_BUCKET])),
                                 state=draw(st.sampled_from(["available", "pending"]))))
    egress = draw(st.sampled_from([OPEN_EGRESS, (), (SgRule("tcp", 443, 443, ("10.0.0.0/16",)),),
                                   (SgRule("tcp", 443, 443, (), (), ("pl-63a5400a",)),
                                    SgRule("tcp", 443, 443, ("10.0.0.0/16",))), None]))
    zones = draw(st.sampled_from([(), (PrivateZone("Z1", f"ecr.{REGION}.amazonaws.com"),),
                                  (PrivateZone("Z2", f"logs.{REGION}.amazonaws.com"),),
                                  # zones whose records were read: with, and without, the service's record
                                  (PrivateZone("Z3", f"logs.{REGION}.amazonaws.com",
                                               frozenset({f"logs.{REGION}.amazonaws.com"}), profile="rp-01"),),
                                  (PrivateZone("Z4", f"logs.{REGION}.amazonaws.com", frozenset()),),
                                  (PrivateZone("Z5", f"ecr.{REGION}.amazonaws.com",
                                               frozenset({f"api.ecr.{REGION}.amazonaws.com"})),),
                                  (PrivateZone("Z6", f"ecr.{REGION}.amazonaws.com",
                                               frozenset({f"api.ecr.{REGION}.amazonaws.com",
                                                          f"*.dkr.ecr.{REGION}.amazonaws.com"})),)]))
    if draw(st.booleans()):  # S3 through an interface endpoint with private DNS for all resolvers
        endpoints.append(interface("s3", id="vpce-000000a5", subnet_ids=draw(st.sampled_from([(A, B), (A,)])),
                                   group_ids=(draw(st.sampled_from([ENDPOINT_SG, CLOSED_SG])),),
                                   inbound_resolver_only=draw(st.booleans()),
                                   policy=draw(st.sampled_from([None, ONLY_OTHER_BUCKET]))))
    snap = vpc(endpoints=tuple(endpoints), egress=egress, nat=draw(st.booleans()), zones=zones,
               offered=draw(st.sampled_from([None, frozenset({REGION + "a"})])),
               dns_support=draw(st.booleans()), dns_hostnames=draw(st.booleans()))
    image = draw(st.sampled_from([ECR_IMAGE, HUB_IMAGE]))
    return snap, workload(image, public_ip=draw(st.booleans()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates())
def test_drawn_estates_agree(estate: tuple[VpcSnapshot, Workload]) -> None:
    agree(*estate)


def test_every_problem_kind_names_its_hop() -> None:
    """The comparison is by hop: a problem kind either door raises without a hop would escape it."""
    from vpce_remediator.fixes import PROBLEMS

    engine_only = {"permission-missing", "shared-vpc-participant", "private-dns-conflict", "endpoint-quota-reached",
                   "security-group-quota-reached", "endpoint-service-invalid", "resource-not-found",
                   "write-refused", "endpoint-cap-reached"}  # write failures and limits: no reachability hop
    assert sorted(set(PROBLEMS) - set(PROBLEM_HOP) - engine_only) == []


def test_the_comparison_fails_when_one_door_judges_differently(monkeypatch: pytest.MonkeyPatch) -> None:
    """A negative control: the planner with its egress rule switched off no longer agrees."""
    import vpce_remediator.plan as plan
    from vpce_remediator.reach import Egress

    monkeypatch.setattr(plan, "egress_to", lambda *a, **k: Egress(True, "not checked"))

    with pytest.raises(AssertionError, match="doctor only"):
        agree(vpc(egress=()), workload())
