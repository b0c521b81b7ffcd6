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
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import Workload, placed_requirements, required_endpoints
from rules.records import replace
from rules.workload import ContainerSpec, LogConfig
from vpce_remediator.facts import (
    DhcpOptions,
    EndpointInfo,
    FileSystem,
    MountTarget,
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
        nat: bool = False, route: tuple[str, str] | None = None, zones: tuple[PrivateZone, ...] = (), offered: frozenset[str] | None = None,
        endpoint_ingress: tuple[SgRule, ...] = (SgRule("tcp", 443, 443, (), (TASK_SG,)),), **kw: Any) -> VpcSnapshot:
    """A 2-AZ VPC as the engine and doctor both read it: offers and zones read, every group's egress."""
    azs = offered if offered is not None else frozenset(s.az for s in SUBNETS.values())
    kind, target = route or (("nat", "nat-0000000000000000a") if nat else (None, None))
    snap = VpcSnapshot(
        vpc_id=VPC, region=REGION, account="123456789012", cidrs=("10.0.0.0/16",), tags={},
        dns_support=True, dns_hostnames=True, subnets=SUBNETS,
        route_tables={"rtb-00000001": RouteTableInfo("rtb-00000001", False, kind, target, (A, B)),
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


# 0.0.0.0/0 as the snapshot classifies it: none, a NAT gateway (public, or private: no way out),
# and the central-egress kinds (transit gateway, GWLB or Network Firewall endpoint, peering).
DEFAULT_ROUTES: tuple[tuple[str, str] | None, ...] = (
    None, ("nat", "nat-0000000000000000a"), ("private-nat", "nat-0000000000000000b"),
    ("tgw", "tgw-0000000000000000c"), ("gwlbe", "vpce-0000000000000000d"), ("peering", "pcx-0000000e"))


def doctor_says(snap: VpcSnapshot, w: Workload) -> set[tuple[str, str, str]]:
    """(subnet, service, hop) doctor does not pass, for a problem (not mere information)."""
    return {(c.subnet, c.service, c.hop) for view, needs in placed_requirements(w) for c in judge(snap, view, needs)
            if c.problem and c.hop not in ONE_DOOR_HOPS}


def planner_says(snap: VpcSnapshot, w: Workload) -> set[tuple[str, str, str]]:
    plan = plan_remediation([WorkloadNeeds(view, needs) for view, needs in placed_requirements(w)], snap,
                            enforce_on_nat_routed=True)
    assert not plan.needs_offers and not plan.needs_zones, "the estate gives the planner everything it reads"
    return {(v.subnet, v.service, v.hop) for v in plan.verdicts if v.workload == w.arn and v.hop not in ONE_DOOR_HOPS}


def agree(snap: VpcSnapshot, w: Workload) -> set[tuple[str, str, str]]:
    doctor, planner = doctor_says(snap, w), planner_says(snap, w)
    assert planner == doctor, {"planner only": sorted(planner - doctor), "doctor only": sorted(doctor - planner)}
    return doctor


# The image's Region's cross-Region interface endpoints (cross-Region PrivateLink).
CROSS_REGION = "eu-west-1"
CROSS_IMAGE = f"123456789012.dkr.ecr.{CROSS_REGION}.amazonaws.com/team/web:1"
CROSS_SHORTS = ("ecr.api", "ecr.dkr", "s3")


def cross(short: str, **kw: Any) -> EndpointInfo:
    return interface(short, **{"id": "vpce-000000c" + str(CROSS_SHORTS.index(short)),
                               "service_name": f"com.amazonaws.{CROSS_REGION}.{short}", **kw})


def test_cross_region_endpoints_of_the_image_region_serve_it_for_both() -> None:
    snap = vpc(endpoints=HEALTHY + tuple(cross(s) for s in CROSS_SHORTS))

    assert agree(snap, workload(CROSS_IMAGE)) == set()


def test_a_cross_region_endpoint_the_task_cannot_reach_fails_the_source_hop_for_both() -> None:
    snap = vpc(endpoints=HEALTHY + tuple(cross(s, group_ids=(CLOSED_SG,) if s == "s3" else (ENDPOINT_SG,))
                                         for s in CROSS_SHORTS))

    assert agree(snap, workload(CROSS_IMAGE)) == {(A, "*", "source"), (B, "*", "source")}


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


def test_an_ec2_awsvpc_tasks_closed_host_group_fails_the_agents_services_on_the_hosts_subnet_for_both() -> None:
    # The task in A with an open group; its container instances in B behind a closed one.
    w = replace(workload(), launch_type="EC2", subnet_ids=(A,), instance_subnet_ids=(B,),
                instance_security_group_ids=(CLOSED_SG,), instance_public_ip=False)
    snap = vpc()
    ecs = {P + s: ServiceOffer(P + s, ("Interface",), frozenset(i.az for i in SUBNETS.values()),
                               dns_name=f"{s}.{REGION}.amazonaws.com") for s in ("ecs", "ecs-agent", "ecs-telemetry")}
    found = agree(replace(snap, offers={**snap.offers, **ecs}), w)

    egress = {f for f in found if f[2] == "sg-egress"}
    assert egress == {(B, svc, "sg-egress") for svc in (*INTERFACES, "s3", "ecs", "ecs-agent", "ecs-telemetry")}
    assert not {f for f in found if f[0] == A}  # the task pulls nothing itself


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
    "shared vpc participant", "shared vpc, closed egress",
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
    elif case == "shared vpc participant":
        eps, kw["owner"] = (), "210987654321"  # a participant sees none of the owner's endpoints
    elif case == "shared vpc, closed egress":
        eps, kw["owner"], kw["egress"] = (), "210987654321", ()
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
    snap = vpc(endpoints=tuple(endpoints), egress=egress, route=draw(st.sampled_from(DEFAULT_ROUTES)), zones=zones,
               offered=draw(st.sampled_from([None, frozenset({REGION + "a"})])),
               dns_support=draw(st.booleans()), dns_hostnames=draw(st.booleans()))
    image = draw(st.sampled_from([ECR_IMAGE, HUB_IMAGE, CROSS_IMAGE]))
    if image == CROSS_IMAGE:  # the image's Region's cross-Region endpoints, some of them, each drawn
        snap = replace(snap, endpoints=snap.endpoints + tuple(
            cross(short, private_dns=draw(st.booleans()), group_ids=(draw(st.sampled_from([ENDPOINT_SG, CLOSED_SG])),),
                  state=draw(st.sampled_from(["available", "pending"])))
            for short in CROSS_SHORTS if draw(st.booleans())))
    return snap, workload(image, public_ip=draw(st.booleans()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates())
def test_drawn_estates_agree(estate: tuple[VpcSnapshot, Workload]) -> None:
    doctor, planner = doctor_says(*estate), planner_says(*estate)

    assert planner == doctor, {"planner only": sorted(planner - doctor), "doctor only": sorted(doctor - planner)}


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


# ---------------------------------------------------------------- IPv6 (issue 13, point 7)


V6_VPC = "2600:1f18:abcd:1200::/56"
V6_A, V6_B = "2600:1f18:abcd:1201::/64", "2600:1f18:abcd:1202::/64"
V4_OF = {A: "10.0.1.0/24", B: "10.0.2.0/24"}
V6_OF = {A: V6_A, B: V6_B}
BOTH = frozenset({"ipv4", "ipv6"})


def layout(a: str, b: str) -> dict[str, SubnetInfo]:
    """Subnets A and B as IPv4-only ("ipv4"), dual-stack or IPv6-only ("ipv6")."""
    return {s: SubnetInfo(s, VPC, SUBNETS[s].az, "" if kind == "ipv6" else V4_OF[s],
                          () if kind == "ipv4" else (V6_OF[s],)) for s, kind in ((A, a), (B, b))}


def v6_vpc(a: str, b: str, ip_types: frozenset[str] = BOTH, eigw: bool = False, **kw: Any) -> VpcSnapshot:
    snap = vpc(**kw)
    tables = {k: replace(t, egress6="eigw" if eigw and not t.main else None,
                         egress6_target="eigw-0000000000000000a" if eigw and not t.main else None)
              for k, t in snap.route_tables.items()}
    return replace(snap, subnets=layout(a, b), ipv6_cidrs=(V6_VPC,), route_tables=tables,
                   offers={k: replace(o, ip_types=ip_types) for k, o in snap.offers.items() if o is not None})


def commands_of(snap: VpcSnapshot, w: Workload) -> list[str]:
    plan = plan_remediation([WorkloadNeeds(view, needs) for view, needs in placed_requirements(w)], snap,
                            enforce_on_nat_routed=True)
    return ([c for a in plan.actions for c in a.fix] + [c for f in plan.findings for c in f.fix]
            + [c for check in judge(snap, w, required_endpoints(w)) for c in check.fix])


def test_an_ipv6_only_subnet_whose_foreign_group_allows_its_block_has_no_finding() -> None:
    """The acceptance case: the endpoints' group allows 443 from the subnets' IPv6 blocks only."""
    ingress = (SgRule("tcp", 443, 443, (V6_A, V6_B)),)
    eps = tuple(replace(e, ip_address_type="ipv6", dns_record_ip_type="ipv6") if e.type == "Interface" else e
                for e in HEALTHY)
    snap = v6_vpc("ipv6", "ipv6", endpoint_ingress=ingress, endpoints=eps,
                  egress=(SgRule("-1", 0, 65535, ("0.0.0.0/0", "::/0")),))

    assert agree(snap, workload()) == set()
    plan = plan_remediation([WorkloadNeeds(workload(), required_endpoints(workload()))], snap)
    assert not plan.findings and not plan.actions


def test_an_ipv6_only_subnet_whose_foreign_group_allows_only_ipv4_is_told_its_ipv6_block() -> None:
    snap = v6_vpc("ipv6", "ipv6", endpoint_ingress=(SgRule("tcp", 443, 443, ("10.0.0.0/16",)),),
                  egress=(SgRule("-1", 0, 65535, ("0.0.0.0/0", "::/0")),))

    found = agree(snap, workload())
    assert found == {(s, svc, "sg-ingress") for s in (A, B) for svc in INTERFACES}
    # Without a workload group to name, the fix names the subnets' blocks: their IPv6 ones.
    groupless = replace(workload(), security_group_ids=())
    plan = plan_remediation([WorkloadNeeds(groupless, required_endpoints(groupless))], snap)
    fix = " ".join(c for f in plan.findings if f.problem == "endpoint-sg-closed" for c in f.fix)
    assert f'"Ipv6Ranges":[{{"CidrIpv6":"{V6_A}"}},{{"CidrIpv6":"{V6_B}"}}]' in fix and "CidrIp\"" not in fix


def test_a_dual_stack_subnet_gets_dualstack_endpoints_from_the_planner_and_doctor() -> None:
    """The acceptance case: dual-stack subnets and services that take IPv6 -> dualstack creates."""
    snap = v6_vpc("dualstack", "dualstack", endpoints=(gateway(),))
    w = workload()
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snap)

    creates = [a for a in plan.actions if a.kind == "create-interface-endpoint"]
    assert creates and {(a.ip_address_type, a.dns_record_ip_type) for a in creates} == {("dualstack", "dualstack")}
    assert all("--ip-address-type dualstack --dns-options DnsRecordIpType=dualstack" in a.fix[0] for a in creates)
    doctor_fix = [c for check in judge(snap, w, required_endpoints(w)) for c in check.fix if "create-vpc-endpoint" in c
                  and "Interface" in c]
    assert doctor_fix and all("--ip-address-type dualstack" in c for c in doctor_fix)
    own = next(a for a in plan.actions if a.kind == "create-security-group")
    assert own.cidrs == ("10.0.0.0/16", V6_VPC)


def test_a_service_without_ipv6_or_an_offer_not_saying_stays_ipv4() -> None:
    w = workload()
    for ip_types in (frozenset(), frozenset({"ipv4"})):
        plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))],
                                v6_vpc("dualstack", "dualstack", ip_types=ip_types, endpoints=(gateway(),)))
        creates = [a for a in plan.actions if a.kind == "create-interface-endpoint"]
        assert creates and all(a.ip_address_type == "" and "--ip-address-type" not in a.fix[0] for a in creates)


def test_an_ipv6_only_subnet_gets_ipv6_endpoints() -> None:
    w = workload()
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], v6_vpc("ipv6", "ipv6", endpoints=(gateway(),)))

    assert {(a.ip_address_type, a.dns_record_ip_type) for a in plan.actions
            if a.kind == "create-interface-endpoint"} == {("ipv6", "ipv6")}


def test_a_dual_stack_task_with_aaaa_records_needs_ipv6_egress_too() -> None:
    eps = tuple(replace(e, ip_address_type="dualstack", dns_record_ip_type="dualstack") if e.type == "Interface"
                else e for e in HEALTHY)
    ingress = (SgRule("tcp", 443, 443, ("10.0.0.0/16", V6_VPC)),)
    snap = v6_vpc("dualstack", "dualstack", endpoints=eps, endpoint_ingress=ingress)  # egress: 0.0.0.0/0 only

    assert agree(snap, workload()) == {(s, svc, "sg-egress") for s in (A, B) for svc in INTERFACES}
    ipv4_records = tuple(replace(e, dns_record_ip_type="service-defined") for e in eps)
    assert agree(replace(snap, endpoints=ipv4_records), workload()) == set()


def test_ipv6_route_out_is_a_way_out_only_for_services_that_take_ipv6() -> None:
    w = workload()
    needs = [WorkloadNeeds(w, required_endpoints(w))]
    open_route = plan_remediation(needs, v6_vpc("ipv6", "ipv6", eigw=True, endpoints=(gateway(),)))
    assert not [a for a in open_route.actions if a.kind == "create-interface-endpoint"]
    assert any("routes ::/0 to eigw" in n for n in open_route.notes)
    unknown = plan_remediation(needs, v6_vpc("ipv6", "ipv6", eigw=True, ip_types=frozenset(), endpoints=(gateway(),)))
    assert len([a for a in unknown.actions if a.kind == "create-interface-endpoint"]) == len(INTERFACES)
    # Doctor: the same services warn (reached through the egress-only gateway) instead of failing.
    checks = judge(v6_vpc("ipv6", "ipv6", eigw=True, endpoints=(gateway(),)), w, required_endpoints(w))
    assert {c.level for c in checks if c.hop == "endpoint" and c.service in INTERFACES} == {"warn"}


def test_an_ipv6_only_subnet_behind_a_nat_route_has_no_ipv4_way_out() -> None:
    w = workload()
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))],
                            v6_vpc("ipv6", "ipv6", nat=True, endpoints=(gateway(),)))

    assert len([a for a in plan.actions if a.kind == "create-interface-endpoint"]) == len(INTERFACES)


FAMILIES = ("ipv4", "dualstack", "ipv6")
RECORDS = ("", "ipv4", "dualstack", "ipv6", "service-defined")


@st.composite
def ipv6_estates(draw: st.DrawFn) -> tuple[VpcSnapshot, Workload]:
    """The drawn estates of above, with subnets IPv4-only, dual-stack or IPv6-only, IPv6 rules, ::/0 routes."""
    snap, w = draw(estates())
    records = draw(st.sampled_from(RECORDS))
    endpoints = tuple(replace(e, dns_record_ip_type=records, ip_address_type=records if records in FAMILIES else "")
                      if e.type == "Interface" else e for e in snap.endpoints)
    ingress = draw(st.sampled_from([(SgRule("tcp", 443, 443, (), (TASK_SG,)),), (SgRule("tcp", 443, 443, (V6_VPC,)),),
                                    (SgRule("tcp", 443, 443, ("10.0.0.0/16",)),),
                                    (SgRule("tcp", 443, 443, (V6_A, "10.0.1.0/24")),), ()]))
    groups = {**snap.security_groups, ENDPOINT_SG: replace(snap.security_groups[ENDPOINT_SG], ingress=ingress)}
    egress = draw(st.sampled_from([None, (SgRule("-1", 0, 65535, ("::/0",)),),
                                   (SgRule("tcp", 443, 443, ("10.0.0.0/16", V6_VPC)),)]))
    if egress is not None and snap.security_groups[TASK_SG].egress is not None:
        groups[TASK_SG] = replace(groups[TASK_SG], egress=(snap.security_groups[TASK_SG].egress or ()) + egress)
    eigw = draw(st.booleans())
    tables = {k: replace(t, egress6="eigw" if eigw else None, egress6_target="eigw-0000000000000000a" if eigw else None)
              for k, t in snap.route_tables.items()}
    ip_types = draw(st.sampled_from([frozenset(), frozenset({"ipv4"}), BOTH]))
    return replace(snap, subnets=layout(draw(st.sampled_from(FAMILIES)), draw(st.sampled_from(FAMILIES))),
                   ipv6_cidrs=(V6_VPC,), endpoints=endpoints, security_groups=groups, route_tables=tables,
                   offers={k: replace(o, ip_types=ip_types) for k, o in snap.offers.items() if o is not None}), w


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ipv6_estates())
def test_drawn_ipv6_estates_agree(estate: tuple[VpcSnapshot, Workload]) -> None:
    doctor, planner = doctor_says(*estate), planner_says(*estate)

    assert planner == doctor, {"planner only": sorted(planner - doctor), "doctor only": sorted(doctor - planner)}


# An empty value in a command: `CidrIp=` / `Key=,` / `[]` / `""` / `''` (what issue 13 saw printed).
_EMPTY = re.compile(r"=(?:[,\]}\s]|$)|\[\]|\"\"|''")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(estates(), ipv6_estates()))
def test_no_fix_command_carries_an_empty_value(estate: tuple[VpcSnapshot, Workload]) -> None:
    for command in commands_of(*estate):
        # A JMESPath --query projects with `[]`: that is the query's syntax, not an empty value.
        values = re.sub(r"--query '[^']*'", "--query Q", command)
        assert not _EMPTY.search(values), command


@pytest.mark.parametrize("route", DEFAULT_ROUTES[2:], ids=lambda r: r[0])
def test_private_nat_and_central_egress_routes_are_judged_alike(route: tuple[str, str]) -> None:
    """No way out known: both doors fail the missing endpoints, as with no default route at all."""
    eps = (interface("logs"), gateway())

    assert agree(vpc(endpoints=eps, route=route), workload()) == agree(vpc(endpoints=eps), workload())


# ---------------------------------------------------------------- EFS volumes and DHCP options (issue 14)


FS = "fs-0000000a"
EFS = "efs:" + FS
NFS_SG, NFS_CLOSED_SG = "sg-000000f1", "sg-000000f2"
DHCP_ID = "dopt-0000000a"


def efs_workload(image: str = ECR_IMAGE, public_ip: bool = False, **kw: Any) -> Workload:
    return replace(workload(image, public_ip), efs_volumes=True, efs_file_systems=(FS,), **kw)


def mount_target(subnet: str, group: str = NFS_SG, **kw: Any) -> MountTarget:
    fields: dict[str, Any] = {"id": "fsmt-0000000" + subnet[-1], "subnet_id": subnet, "az": SUBNETS[subnet].az,
                              "vpc_id": VPC, "state": "available", "group_ids": (group,),
                              "ip": SUBNETS[subnet].cidr.replace("0/24", "25")}
    fields.update(kw)
    return MountTarget(**fields)


def with_efs(snap: VpcSnapshot, *targets: MountTarget, unread: str = "") -> VpcSnapshot:
    """The snapshot with the file system read, and the mount targets' groups: one lets NFS in from
    the task's group, one lets nothing in."""
    groups = {**snap.security_groups,
              NFS_SG: SecurityGroupInfo(NFS_SG, "efs", (SgRule("tcp", 2049, 2049, (), (TASK_SG,)),), False, egress=()),
              NFS_CLOSED_SG: SecurityGroupInfo(NFS_CLOSED_SG, "efs-closed", (), False, egress=())}
    return replace(snap, security_groups=groups).with_file_systems([FileSystem(FS, tuple(targets), unread)])


def with_dns_servers(snap: VpcSnapshot, *servers: str) -> VpcSnapshot:
    return replace(snap, dhcp_options_id=DHCP_ID).with_dhcp(DhcpOptions(DHCP_ID, (
        ("domain-name-servers", servers), ("domain-name", ("corp.example.com",)))))


def test_a_mount_target_in_each_workload_az_and_nfs_open_is_no_finding_for_both() -> None:
    assert agree(with_efs(vpc(), mount_target(A), mount_target(B)), efs_workload()) == set()


def test_a_workload_az_without_a_mount_target_fails_the_mount_target_hop_for_both() -> None:
    snap = with_efs(vpc(), mount_target(A))

    assert agree(snap, efs_workload()) == {(B, EFS, "mount-target")}
    plan = plan_remediation([WorkloadNeeds(efs_workload(), required_endpoints(efs_workload()))], snap)
    finding = next(f for f in plan.findings if f.problem == "efs-mount-target-missing")
    assert finding.resource_id == f"arn:aws:elasticfilesystem:{REGION}:123456789012:file-system/{FS}"
    assert finding.fix[-1] == (f"aws efs create-mount-target --region {REGION} --file-system-id {FS} "
                               f"--subnet-id {B} --security-groups {NFS_SG}")
    assert not plan.actions  # report only, whatever the mode


def test_a_mount_target_group_without_nfs_from_the_task_fails_the_nfs_hop_for_both() -> None:
    snap = with_efs(vpc(), mount_target(A, NFS_CLOSED_SG), mount_target(B))

    assert agree(snap, efs_workload()) == {(A, EFS, "nfs")}
    plan = plan_remediation([WorkloadNeeds(efs_workload(), required_endpoints(efs_workload()))], snap)
    finding = next(f for f in plan.findings if f.problem == "efs-nfs-closed")
    assert finding.fix == (f"aws ec2 authorize-security-group-ingress --region {REGION} --group-id {NFS_CLOSED_SG} "
                           "--ip-permissions '[{\"IpProtocol\":\"tcp\",\"FromPort\":2049,\"ToPort\":2049,"
                           f"\"UserIdGroupPairs\":[{{\"GroupId\":\"{TASK_SG}\"}}]}}]'",)


def test_a_task_group_without_nfs_egress_fails_the_nfs_hop_for_both() -> None:
    snap = with_efs(vpc(egress=(SgRule("tcp", 443, 443, ("0.0.0.0/0",)),)), mount_target(A), mount_target(B))

    assert agree(snap, efs_workload()) == {(A, EFS, "nfs"), (B, EFS, "nfs")}
    plan = plan_remediation([WorkloadNeeds(efs_workload(), required_endpoints(efs_workload()))], snap)
    fix = next(f for f in plan.findings if f.problem == "efs-nfs-closed").fix
    assert fix and all(c.startswith(f"aws ec2 authorize-security-group-egress --region {REGION} --group-id {TASK_SG}")
                       and '"FromPort":2049' in c for c in fix)


def test_a_nat_route_changes_nothing_for_nfs() -> None:
    assert agree(with_efs(vpc(nat=True), mount_target(A)), efs_workload()) >= {(B, EFS, "mount-target")}


def test_a_file_system_the_account_cannot_read_is_not_accused() -> None:
    snap = with_efs(vpc(), unread="DescribeMountTargets answered AccessDeniedException")

    assert agree(snap, efs_workload()) == set()
    plan = plan_remediation([WorkloadNeeds(efs_workload(), required_endpoints(efs_workload()))], snap)
    assert any("AccessDeniedException" in n and FS in n for n in plan.notes) and not plan.findings


def test_the_planner_asks_for_the_file_systems_it_has_not_read() -> None:
    plan = plan_remediation([WorkloadNeeds(efs_workload(), required_endpoints(efs_workload()))], vpc())

    assert plan.needs_file_systems == {FS} and not plan.findings
    assert not plan_remediation([WorkloadNeeds(workload(), required_endpoints(workload()))], vpc()).needs_file_systems


@pytest.mark.parametrize("servers, warned", [
    (("10.0.0.53", "10.0.1.53"), True), (("AmazonProvidedDNS", "10.9.9.9"), True),
    (("AmazonProvidedDNS",), False), (("10.0.0.2",), False), (("169.254.169.253",), False),
])
def test_custom_dns_servers_warn_the_dns_hop_of_every_interface_service_for_both(
        servers: tuple[str, ...], warned: bool) -> None:
    snap = with_dns_servers(vpc(), *servers)

    expected = {(s, svc, "dns") for s in (A, B) for svc in INTERFACES} if warned else set()
    assert agree(snap, workload()) == expected
    plan = plan_remediation([WorkloadNeeds(workload(), required_endpoints(workload()))], snap)
    findings = [f for f in plan.findings if f.problem == "dhcp-custom-dns"]
    assert len(findings) == int(warned)
    if warned:
        assert findings[0].resource_id == VPC and "not verified" in findings[0].summary
        assert findings[0].fix[-1].startswith(f"aws ec2 associate-dhcp-options --region {REGION} --vpc-id {VPC} "
                                              "--dhcp-options-id \"$(aws ec2 create-dhcp-options")
        assert '{"Key":"domain-name-servers","Values":["AmazonProvidedDNS"]}' in findings[0].fix[-1]
        assert '{"Key":"domain-name","Values":["corp.example.com"]}' in findings[0].fix[-1]
        checks = [c for c in judge(snap, workload(), required_endpoints(workload())) if c.hop == "dns"]
        assert {c.level for c in checks} == {"warn"} and all("not verified" in c.detail for c in checks)
        # Endpoints that are there stay present: the caveat is the finding's, not theirs.
        assert {st.status for st in plan.services} == {"present"}


def test_custom_dns_servers_keep_a_dns_failure_a_failure() -> None:
    snap = with_dns_servers(vpc(dns_hostnames=False), "10.0.0.53")

    assert agree(snap, workload()) == {(s, svc, "dns") for s in (A, B) for svc in INTERFACES}
    assert {c.level for c in judge(snap, workload(), required_endpoints(workload())) if c.hop == "dns"} == {"fail"}


def test_the_planner_reads_the_dhcp_options_only_when_it_has_something_to_say() -> None:
    w = workload()
    needs = [WorkloadNeeds(w, required_endpoints(w))]
    unread = replace(vpc(), dhcp_options_id=DHCP_ID)

    assert not plan_remediation(needs, unread).needs_dhcp  # compliant: no read
    assert plan_remediation(needs, replace(unread, endpoints=HEALTHY[1:])).needs_dhcp  # an endpoint to create
    assert not plan_remediation(needs, replace(vpc(endpoints=HEALTHY[1:]), dhcp_options_id="default")).needs_dhcp
    # Nothing found by a private DNS name (a Docker Hub image, S3 by its gateway): the set does not matter.
    hub = replace(workload(HUB_IMAGE), containers=(ContainerSpec("web", HUB_IMAGE),))
    assert not plan_remediation([WorkloadNeeds(hub, required_endpoints(hub))], replace(unread, endpoints=())).needs_dhcp


@st.composite
def network_estates(draw: st.DrawFn) -> tuple[VpcSnapshot, Workload]:
    """The drawn estates of above, with EFS volumes (mount targets per AZ, open or closed groups,
    unreadable) and DHCP options (none read, AmazonProvidedDNS, the Resolver's address, custom)."""
    snap, w = draw(estates())
    if draw(st.booleans()):
        targets = [mount_target(s, draw(st.sampled_from([NFS_SG, NFS_CLOSED_SG])),
                                state=draw(st.sampled_from(["available", "creating", "deleting"])))
                   for s in (A, B) if draw(st.booleans())]
        snap = with_efs(snap, *targets, unread=draw(st.sampled_from(["", "DescribeMountTargets answered FileSystemNotFound"])))
        w = replace(w, efs_volumes=True, efs_file_systems=(FS,))
    servers = draw(st.sampled_from([None, ("AmazonProvidedDNS",), ("10.0.0.2",), ("10.0.0.53",),
                                    ("AmazonProvidedDNS", "192.168.1.1")]))
    if servers is not None:
        snap = with_dns_servers(snap, *servers)
    return snap, w


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network_estates())
def test_drawn_estates_with_efs_and_dhcp_options_agree(estate: tuple[VpcSnapshot, Workload]) -> None:
    doctor, planner = doctor_says(*estate), planner_says(*estate)

    assert planner == doctor, {"planner only": sorted(planner - doctor), "doctor only": sorted(doctor - planner)}


def test_no_cross_region_endpoint_is_planned_where_every_workload_az_is_unsupported() -> None:
    # use1-az3 is one of the AZ IDs AWS lists without cross-Region access: no create is wasted there.
    only = {A: replace(SUBNETS[A], az_id="use1-az3"), B: replace(SUBNETS[B], az_id="use1-az3")}
    snap = vpc(endpoints=HEALTHY, subnets=only)
    w = workload(CROSS_IMAGE)

    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snap, cross_region=True)

    assert not [a for a in plan.actions if a.service_region]
    assert any("support for cross-Region access" in n for n in plan.notes)
