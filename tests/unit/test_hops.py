"""Doctor's hop checks on plain data: no AWS, no moto. A 2-AZ VPC built by hand, then bent."""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import pytest

from rules import Workload, required_endpoints
from rules.records import replace
from rules.workload import ContainerSpec, LogConfig
from vpce_remediator.facts import (
    AclEntry,
    EndpointInfo,
    NetworkAcl,
    PrefixList,
    PrivateZone,
    RouteTableInfo,
    SecurityGroupInfo,
    SgRule,
    SubnetInfo,
    VpcSnapshot,
)
from vpce_remediator.policies import policy_allows
from vpce_remediator.reach import FAIL, PASS, WARN, Check, acl_allows, judge

REGION = "us-east-1"
P = f"com.amazonaws.{REGION}."
VPC = "vpc-00000001"
A, B = "subnet-0000000a", "subnet-0000000b"
SUBNETS = {A: SubnetInfo(A, VPC, REGION + "a", "10.0.1.0/24"), B: SubnetInfo(B, VPC, REGION + "b", "10.0.2.0/24")}


def vpce_id(service: str) -> str:
    """A well-formed endpoint id per service: fix commands carry only ids in AWS's format."""
    return f"vpce-{zlib.crc32(service.encode()):08x}"


EP_ID = {s: vpce_id(s) for s in ("ecr.api", "ecr.dkr", "logs", "s3")}
IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/team/web:1"
REPO = f"arn:aws:ecr:{REGION}:123456789012:repository/team/web"
PL = PrefixList("pl-s3", ("52.216.0.0/15", "3.5.0.0/19"))
ALLOW_ALL = (AclEntry(100, True, "-1", True, "0.0.0.0/0"), AclEntry(32767, True, "-1", False, "0.0.0.0/0"),
             AclEntry(100, False, "-1", True, "0.0.0.0/0"), AclEntry(32767, False, "-1", False, "0.0.0.0/0"))


def endpoint(short: str, **kw: Any) -> EndpointInfo:
    fields: dict[str, Any] = {"id": vpce_id(short), "service_name": P + short, "type": "Interface",
                              "state": "available", "subnet_ids": (A, B), "group_ids": ("sg-000000e0",),
                              "private_dns": True, "route_table_ids": (), "policy": None, "owned": False}
    fields.update(kw)
    return EndpointInfo(**fields)


HEALTHY_ENDPOINTS = (endpoint("ecr.api"), endpoint("ecr.dkr"), endpoint("logs"),
                     endpoint("s3", type="Gateway", subnet_ids=(), group_ids=(), private_dns=False,
                              route_table_ids=("rtb-00000001",)))


@dataclass(frozen=True)
class Case:
    """A workload and the VPC it runs in, as doctor reads them."""

    snap: VpcSnapshot
    workload: Workload


def check_hops(case: Case) -> list[Check]:
    return judge(case.snap, case.workload, required_endpoints(case.workload))


def facts(image: str = IMAGE, egress_route: str | None = None, os_family: str | None = None,
          egress: dict[str, tuple[SgRule, ...]] | None = None, s3_prefix_list: PrefixList | None = PL,
          **kw: Any) -> Case:
    w = Workload(kind="service", arn="arn:aws:ecs:us-east-1:123456789012:service/prod/web", name="web",
                 region=REGION, account="123456789012", launch_type="FARGATE", subnet_ids=(A, B),
                 security_group_ids=("sg-000000a0",), assign_public_ip=False, os_family=os_family,
                 containers=(ContainerSpec("web", image, LogConfig("awslogs", (("awslogs-group", "/ecs/web"),))),))
    egress = {"sg-000000a0": (SgRule("-1", 0, 65535, ("0.0.0.0/0",)),)} if egress is None else egress
    groups = {"sg-000000e0": SecurityGroupInfo("sg-000000e0", "endpoints", (SgRule("tcp", 443, 443, (), ("sg-000000a0",)),),
                                               False)}
    groups.update({g: SecurityGroupInfo(g, "workload", (), False, egress=rules) for g, rules in egress.items()})
    groups.update(kw.pop("security_groups", {}))
    zones = kw.pop("zones", ())
    snap = VpcSnapshot(
        vpc_id=VPC, region=REGION, account="123456789012", cidrs=("10.0.0.0/16",), tags={},
        dns_support=True, dns_hostnames=True, subnets=SUBNETS,
        route_tables={"rtb-00000001": RouteTableInfo("rtb-00000001", False, egress_route and "nat", egress_route,
                                                    (A, B)),
                      "rtb-00000002": RouteTableInfo("rtb-00000002", True, None, None, ())},
        endpoints=HEALTHY_ENDPOINTS, security_groups=groups,
        acls=(NetworkAcl("acl-00000001", (A, B), ALLOW_ALL),),
        prefix_lists={P + "s3": s3_prefix_list})
    snap = replace(snap, **kw).with_zones(zones)
    return Case(snap, w)


def by_hop(checks: list[Check]) -> dict[tuple[str, str, str], Check]:
    return {(c.service, c.hop, c.subnet): c for c in checks}


def not_passing(checks: list[Check]) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for c in checks:
        if c.level != PASS:
            out.setdefault((c.service, c.hop), set()).add(c.level)
    return out


def test_the_hand_built_vpc_is_healthy() -> None:
    checks = check_hops(facts())

    assert not_passing(checks) == {}
    assert by_hop(checks)[("ecr.dkr", "policy", A)].detail.endswith("ecr:BatchGetImage, ecr:GetDownloadUrlForLayer")


def test_a_pending_endpoint_is_a_warning_not_a_failure() -> None:
    eps = tuple(replace(e, state="pending") if e.id == EP_ID["logs"] else e for e in HEALTHY_ENDPOINTS)

    assert not_passing(check_hops(facts(endpoints=eps))) == {("logs", "endpoint"): {WARN}}


def test_a_rejected_endpoint_fails_with_a_create_command() -> None:
    eps = tuple(replace(e, state="rejected") if e.id == EP_ID["logs"] else e for e in HEALTHY_ENDPOINTS)

    check = by_hop(check_hops(facts(endpoints=eps)))[("logs", "endpoint", A)]

    assert check.level == FAIL and "rejected" in check.detail
    assert any(cmd.startswith("aws ec2 create-vpc-endpoint") and f"--service-name {P}logs" in cmd for cmd in check.fix)


def test_missing_endpoints_behind_a_nat_route_are_warnings() -> None:
    checks = check_hops(facts(endpoints=(), egress_route="nat-1"))

    assert not_passing(checks) == {("*", "route"): {WARN}, **{(s, "endpoint"): {WARN}
                                                             for s in ("ecr.api", "ecr.dkr", "logs", "s3")}}


def test_dns_resolution_off_fails_even_with_a_nat_route() -> None:
    """Without the VPC resolver nothing resolves, not even the public names the NAT path needs."""
    checks = check_hops(facts(dns_support=False, egress_route="nat-1"))

    assert {k: v for k, v in not_passing(checks).items() if k[1] == "dns"} == {
        (s, "dns"): {FAIL} for s in ("ecr.api", "ecr.dkr", "logs")}


def test_dns_hostnames_off_behind_a_nat_route_is_a_warning_and_the_endpoint_hops_too() -> None:
    """Names resolve publicly, so traffic takes the NAT path and the closed endpoint group is moot."""
    groups = {"sg-000000e0": SecurityGroupInfo("sg-000000e0", "endpoints", (), False)}

    checks = check_hops(facts(dns_hostnames=False, egress_route="nat-1", security_groups=groups))

    assert all(c.level != FAIL for c in checks)
    assert not_passing(checks)[("logs", "sg-ingress")] == {WARN}


def test_a_public_image_fails_the_source_hop_with_a_pull_through_cache_fix() -> None:
    checks = check_hops(facts(image="public.ecr.aws/nginx/nginx:1.27"))

    source = by_hop(checks)[("*", "source", A)]
    assert source.level == FAIL and "public.ecr.aws" in source.detail
    assert source.fix == (f"aws ecr create-pull-through-cache-rule --region {REGION} --ecr-repository-prefix "
                          "ecr-public --upstream-registry-url public.ecr.aws",)
    assert ("ecr.dkr", "endpoint", A) not in by_hop(checks)  # no ECR need for a public image


def test_unreadable_acls_and_zones_are_said_not_accused() -> None:
    checks = check_hops(facts(acls=None, zones=None, endpoints=HEALTHY_ENDPOINTS[1:]))

    hops = not_passing(checks)
    assert hops[("logs", "nacl")] == {WARN}
    missing = by_hop(checks)[("ecr.api", "endpoint", A)]
    assert missing.level == FAIL and "private hosted zones not readable" in missing.detail


def test_a_zone_for_the_parent_domain_serves_a_centralised_endpoint() -> None:
    checks = check_hops(facts(endpoints=HEALTHY_ENDPOINTS[2:], zones=(PrivateZone("Z1", f"ecr.{REGION}.amazonaws.com"),)))

    assert not_passing(checks) == {}
    assert "Z1" in by_hop(checks)[("ecr.dkr", "endpoint", B)].detail


def test_windows_tasks_need_their_own_ephemeral_range_back() -> None:
    acl = NetworkAcl("acl-00000001", (A, B), (
        AclEntry(100, True, "-1", True, "0.0.0.0/0"),
        AclEntry(100, False, "6", True, "0.0.0.0/0", 443, 443),
        AclEntry(110, False, "6", True, "0.0.0.0/0", 32768, 60999)))

    linux = check_hops(facts(acls=(acl,)))
    windows = check_hops(facts(acls=(acl,), os_family="WINDOWS_SERVER_2022_CORE"))

    assert ("logs", "nacl") not in not_passing(linux)
    assert not_passing(windows)[("logs", "nacl")] == {FAIL}
    assert "49152-65535" in by_hop(windows)[("logs", "nacl", A)].detail


def test_an_s3_egress_rule_to_the_prefix_list_is_enough_and_a_vpc_only_rule_is_not() -> None:
    to_pl = {"sg-000000a0": (SgRule("tcp", 443, 443, ("10.0.0.0/16",)),
                         SgRule("tcp", 443, 443, (), (), ("pl-s3",)))}
    vpc_only = {"sg-000000a0": (SgRule("tcp", 443, 443, ("10.0.0.0/16",)),)}

    assert not_passing(check_hops(facts(egress=to_pl))) == {}
    failed = check_hops(facts(egress=vpc_only))
    assert not_passing(failed) == {("s3", "sg-egress"): {FAIL}}
    assert '"PrefixListIds":[{"PrefixListId":"pl-s3"}]' in by_hop(failed)[("s3", "sg-egress", A)].fix[0]


# ---------------------------------------------------------------- network ACL evaluation


def acl(*entries: AclEntry) -> NetworkAcl:
    return NetworkAcl("acl-0000000f", ("subnet-0000000a",), entries)


def test_the_first_matching_rule_decides() -> None:
    deny_first = acl(AclEntry(90, True, "6", False, "10.0.2.0/24", 443, 443), AclEntry(100, True, "-1", True, "0.0.0.0/0"))
    allow_first = acl(AclEntry(80, True, "-1", True, "0.0.0.0/0"), AclEntry(90, True, "6", False, "10.0.2.0/24", 443, 443))

    allowed, blocker = acl_allows(deny_first, True, "10.0.2.0/24", 443, 443)
    assert not allowed and blocker is not None and blocker.number == 90
    assert acl_allows(allow_first, True, "10.0.2.0/24", 443, 443) == (True, None)


def test_an_allow_for_part_of_the_peer_or_part_of_the_ports_is_not_enough() -> None:
    half = acl(AclEntry(100, False, "6", True, "10.0.2.0/25", 1024, 65535))
    some_ports = acl(AclEntry(100, False, "6", True, "0.0.0.0/0", 32768, 40000))
    udp = acl(AclEntry(100, False, "17", True, "0.0.0.0/0", 0, 65535))

    assert acl_allows(half, False, "10.0.2.0/24", 32768, 60999) == (False, None)
    assert acl_allows(some_ports, False, "10.0.2.0/24", 32768, 60999) == (False, None)
    assert acl_allows(udp, False, "10.0.2.0/24", 32768, 60999) == (False, None)


def test_a_deny_for_part_of_the_peer_blocks() -> None:
    entries = acl(AclEntry(50, True, "-1", False, "10.0.2.128/25"), AclEntry(100, True, "-1", True, "0.0.0.0/0"))

    allowed, blocker = acl_allows(entries, True, "10.0.2.0/24", 443, 443)

    assert not allowed and blocker is not None and blocker.number == 50


def test_the_acl_fix_lands_before_the_blocking_rule() -> None:
    deny = AclEntry(100, False, "6", False, "0.0.0.0/0", 1024, 65535)
    closed = NetworkAcl("acl-00000001", (A, B), (AclEntry(100, True, "-1", True, "0.0.0.0/0"), deny,
                                          AclEntry(99, False, "6", True, "0.0.0.0/0", 443, 443)))

    checks = check_hops(facts(acls=(closed,)))

    fix = by_hop(checks)[("s3", "nacl", A)].fix
    numbers = [int(cmd.split("--rule-number ", 1)[1].split()[0]) for cmd in fix]
    assert fix and all(" --ingress " in cmd for cmd in fix)
    assert all(n < 100 for n in numbers), numbers  # before the blocking rule 100
    # One entry per peer CIDR, each under its own number, the same one wherever another hop needs it.
    everywhere = {cmd for c in checks if c.hop == "nacl" for cmd in c.fix}
    by_number = {int(cmd.split("--rule-number ", 1)[1].split()[0]): cmd for cmd in everywhere}
    assert len(by_number) == len(everywhere)


def test_no_two_acl_fixes_of_one_run_share_a_rule_number() -> None:
    """Entries for several peers on one ACL: each its own number, the same entry one number."""
    deny = AclEntry(100, False, "6", False, "0.0.0.0/0", 1024, 65535)
    closed = NetworkAcl("acl-00000001", (A, B), (AclEntry(100, True, "-1", True, "0.0.0.0/0"), deny,
                                          AclEntry(99, False, "6", True, "0.0.0.0/0", 443, 443)))

    checks = check_hops(facts(acls=(closed,)))

    commands = {cmd for c in checks for cmd in c.fix if "create-network-acl-entry" in cmd}
    entries = {cmd.split("--rule-number ")[1].split()[0] + cmd.split("--rule-number ")[1].split()[1]: cmd
               for cmd in commands}
    assert len(commands) > 1 and len(entries) == len(commands)  # one number (and direction) per command


# ---------------------------------------------------------------- endpoint policies


@pytest.mark.parametrize("statements, action, resource, allowed", [
    (None, "ecr:BatchGetImage", REPO, True),
    ([{"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Resource": REPO}], "ecr:BatchGetImage", REPO, True),
    ([{"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Resource": REPO + "-other"}],
     "ecr:BatchGetImage", REPO, False),
    ([{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
      {"Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage", "Resource": "*"}],
     "ecr:BatchGetImage", REPO, False),
    ([{"Effect": "Allow", "Principal": "*", "NotAction": "ecr:Delete*", "Resource": "*"}],
     "ecr:BatchGetImage", REPO, True),
    ([{"Effect": "Allow", "Principal": "*", "Action": "ecr:GetAuthorizationToken",
       "Resource": f"arn:aws:ecr:{REGION}:123456789012:repository/*"}], "ecr:GetAuthorizationToken", "*", False),
])
def test_policy_allows(statements: list[dict[str, Any]] | None, action: str, resource: str, allowed: bool) -> None:
    policy = json.dumps({"Statement": statements}) if statements is not None else None

    assert policy_allows(policy, action, resource) is allowed


def test_an_ecr_policy_fix_adds_exactly_what_is_missing() -> None:
    scoped = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:*",
                                        "Resource": REPO + "-other"}]})
    eps = tuple(replace(e, policy=scoped) if e.id == EP_ID["ecr.dkr"] else e for e in HEALTHY_ENDPOINTS)

    check = by_hop(check_hops(facts(endpoints=eps)))[("ecr.dkr", "policy", A)]

    assert check.level == FAIL
    (command,) = check.fix
    policy = json.loads(command.split("--policy-document '", 1)[1].rstrip("'"))
    added = policy["Statement"][-1]
    assert added["Action"] == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] and added["Resource"] == [REPO]
    assert policy_allows(json.dumps(policy), "ecr:BatchGetImage", REPO)
