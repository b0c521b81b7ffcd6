"""The planner on plain data: no AWS, no moto. Snapshots are built by hand like a small VPC."""
from __future__ import annotations

import json
import zlib
from typing import Any

import pytest

from rules import Workload, required_endpoints
from rules.records import replace
from rules.workload import ContainerSpec, LogConfig
from vpce_remediator.facts import (
    EndpointInfo,
    EndpointQuota,
    RouteTableInfo,
    SecurityGroupInfo,
    ServiceOffer,
    SgRule,
    SubnetInfo,
    VpcSnapshot,
)
from vpce_remediator.plan import (
    ADD_SUBNETS,
    AUTHORIZE_INGRESS,
    CREATE_GATEWAY,
    CREATE_INTERFACE,
    CREATE_SECURITY_GROUP,
    ENABLE_PRIVATE_DNS,
    WorkloadNeeds,
    plan_remediation,
)
from vpce_remediator.policies import policy_allows_ecr_layers, policy_with_ecr_layers

REGION = "us-east-1"
P = f"com.amazonaws.{REGION}."
VPC = "vpc-00000001"
SUBNETS = {f"subnet-0000000{az}": SubnetInfo(f"subnet-0000000{az}", VPC, REGION + az, f"10.0.{i}.0/24")
           for i, az in enumerate("abc", start=1)}
ALL_AZS = frozenset(REGION + az for az in "abcdef")
IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/web:1"


def vpce_id(service: str) -> str:
    """A well-formed endpoint id per service: fix commands carry only ids in AWS's format."""
    return f"vpce-{zlib.crc32(service.encode()):08x}"


EP_ID = {s: vpce_id(s) for s in ("ecr.api", "ecr.dkr", "logs", "s3")}


def snapshot(**kw: Any) -> VpcSnapshot:
    base = VpcSnapshot(
        vpc_id=VPC, region=REGION, account="123456789012", cidrs=("10.0.0.0/16",), tags={},
        dns_support=True, dns_hostnames=True, subnets=SUBNETS,
        route_tables={"rtb-00000001": RouteTableInfo("rtb-00000001", False, None, None, tuple(SUBNETS)),
                      "rtb-00000002": RouteTableInfo("rtb-00000002", True, None, None, ())},
        endpoints=(), security_groups={},
        offers={P + s: ServiceOffer(P + s, ("Interface",), ALL_AZS) for s in ("ecr.api", "ecr.dkr", "logs")},
    )
    return replace(base, **kw)


def web(subnets: tuple[str, ...] = ("subnet-0000000a", "subnet-0000000b"), **kw: Any) -> WorkloadNeeds:
    w = Workload(kind="task", arn="arn:aws:ecs:task/1", name="web:1", region=REGION, account="123456789012",
                 launch_type="FARGATE", subnet_ids=subnets, security_group_ids=("sg-000000a0",),
                 containers=(ContainerSpec("web", IMAGE, LogConfig("awslogs", (("awslogs-group", "/ecs/web"),))),),
                 assign_public_ip=False, **kw)
    return WorkloadNeeds(w, required_endpoints(w))


def endpoint(service: str, subnets: tuple[str, ...] = ("subnet-0000000a", "subnet-0000000b"), owned: bool = True,
             **kw: Any) -> EndpointInfo:
    fields: dict[str, Any] = {"id": vpce_id(service), "service_name": P + service, "type": "Interface",
                              "state": "available", "subnet_ids": subnets, "group_ids": ("sg-000000c0",),
                              "private_dns": True, "route_table_ids": (), "policy": None, "owned": owned}
    fields.update(kw)
    return EndpointInfo(**fields)


OWN_SG = SecurityGroupInfo("sg-000000c0", "vpce-remediator-endpoints",
                           (SgRule("tcp", 443, 443, ("10.0.0.0/16",), ()),), True)
COMPLIANT = dict(
    endpoints=(endpoint("ecr.api"), endpoint("ecr.dkr"), endpoint("logs"),
               endpoint("s3", subnets=(), type="Gateway", route_table_ids=("rtb-00000001",), group_ids=())),
    security_groups={"sg-000000c0": OWN_SG}, offers={})


def kinds(plan: Any) -> list[str]:
    return [a.kind for a in plan.actions]


def test_a_fresh_vpc_gets_one_security_group_three_interfaces_and_a_gateway() -> None:
    plan = plan_remediation([web()], snapshot())

    assert kinds(plan) == [CREATE_SECURITY_GROUP] + [CREATE_INTERFACE] * 3 + [CREATE_GATEWAY]
    creates = {a.service: a for a in plan.actions if a.kind == CREATE_INTERFACE}
    assert set(creates) == {P + "ecr.api", P + "ecr.dkr", P + "logs"}
    assert all(a.subnet_ids == ("subnet-0000000a", "subnet-0000000b") for a in creates.values())
    (gateway,) = [a for a in plan.actions if a.kind == CREATE_GATEWAY]
    assert gateway.route_table_ids == ("rtb-00000001",)
    assert plan.findings == () and plan.needs_offers == frozenset()


def test_a_compliant_vpc_plans_nothing_and_needs_no_service_catalog() -> None:
    plan = plan_remediation([web()], snapshot(**COMPLIANT))

    assert plan.actions == () and plan.findings == ()
    assert plan.needs_offers == frozenset()  # no DescribeVpcEndpointServices for a compliant VPC
    assert {s.status for s in plan.services} == {"present"}


def test_planning_is_deterministic() -> None:
    assert plan_remediation([web()], snapshot()) == plan_remediation([web()], snapshot())


def test_unknown_offers_are_asked_for_before_creating() -> None:
    plan = plan_remediation([web()], snapshot(offers={}))

    assert plan.needs_offers == {P + "ecr.api", P + "ecr.dkr", P + "logs"}
    assert CREATE_INTERFACE not in kinds(plan)


def test_one_subnet_per_az_and_unoffered_azs_are_noted() -> None:
    two_in_a = {**SUBNETS, "subnet-000000a2": SubnetInfo("subnet-000000a2", VPC, REGION + "a", "10.0.9.0/24")}
    offers = {P + s: ServiceOffer(P + s, ("Interface",), frozenset({REGION + "a"}))
              for s in ("ecr.api", "ecr.dkr", "logs")}

    plan = plan_remediation([web(("subnet-000000a2", "subnet-0000000a", "subnet-0000000b"))],
                            snapshot(subnets=two_in_a, offers=offers))

    assert {a.subnet_ids for a in plan.actions if a.kind == CREATE_INTERFACE} == {("subnet-0000000a",)}
    assert any("not offered in us-east-1b" in n for n in plan.notes)


def test_a_service_the_region_does_not_offer_is_a_finding() -> None:
    offers = {P + "ecr.api": None, P + "ecr.dkr": ServiceOffer(P + "ecr.dkr", ("Interface",), ALL_AZS),
              P + "logs": ServiceOffer(P + "logs", ("Interface",), ALL_AZS)}

    plan = plan_remediation([web()], snapshot(offers=offers))

    (finding,) = [f for f in plan.findings if f.problem == "service-not-offered"]
    assert finding.service == P + "ecr.api"
    assert finding.summary.startswith(f"{P}ecr.api is not offered in this region ({REGION})")
    assert P + "ecr.api" not in {a.service for a in plan.actions}
    assert {s.service: s.status for s in plan.services}[P + "ecr.api"] == "unavailable"


def test_a_service_offered_in_other_azs_only_names_the_azs() -> None:
    offers = {P + s: ServiceOffer(P + s, ("Interface",), frozenset({REGION + "c"}))
              for s in ("ecr.api", "ecr.dkr", "logs")}

    plan = plan_remediation([web()], snapshot(offers=offers))

    summaries = [f.summary for f in plan.findings if f.problem == "service-not-offered"]
    assert len(summaries) == 3 and all(f"not offered in {REGION}a, {REGION}b:" in s for s in summaries)


def test_vpc_dns_off_is_reported_per_attribute_and_holds_interface_creates() -> None:
    plan = plan_remediation([web()], snapshot(dns_support=False, dns_hostnames=False))

    fixes = {f.problem: f.fix for f in plan.findings}
    assert fixes["vpc-dns-support-off"] == (
        f"aws ec2 modify-vpc-attribute --region {REGION} --vpc-id {VPC} --enable-dns-support Value=true",)
    assert fixes["vpc-dns-hostnames-off"] == (
        f"aws ec2 modify-vpc-attribute --region {REGION} --vpc-id {VPC} --enable-dns-hostnames Value=true",)
    assert kinds(plan) == [CREATE_GATEWAY]
    assert [f.problem for f in plan.findings].count("endpoint-missing") == 3


def test_owned_endpoint_missing_an_az_gets_the_subnet_foreign_one_gets_a_finding() -> None:
    owned = snapshot(**{**COMPLIANT, "endpoints": (endpoint("ecr.api", ("subnet-0000000a",)),) + COMPLIANT["endpoints"][1:],
                        "offers": {P + "ecr.api": ServiceOffer(P + "ecr.api", ("Interface",), ALL_AZS)}})
    plan = plan_remediation([web()], owned)
    assert [(a.kind, a.resource_id, a.subnet_ids) for a in plan.actions] == [
        (ADD_SUBNETS, EP_ID["ecr.api"], ("subnet-0000000b",))]

    foreign = replace(owned, endpoints=(endpoint("ecr.api", ("subnet-0000000a",), owned=False),) + owned.endpoints[1:])
    plan = plan_remediation([web()], foreign)
    assert plan.actions == ()
    (finding,) = plan.findings
    assert finding.problem == "endpoint-missing-az" and finding.resource_id == EP_ID["ecr.api"]
    assert finding.fix == (f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id {EP_ID['ecr.api']} "
                           "--add-subnet-ids subnet-0000000b",)


def test_private_dns_off_is_fixed_when_owned() -> None:
    eps = (endpoint("ecr.dkr", private_dns=False),) + tuple(e for e in COMPLIANT["endpoints"]
                                                             if e.service_name != P + "ecr.dkr")
    plan = plan_remediation([web()], snapshot(**{**COMPLIANT, "endpoints": eps}))

    assert [(a.kind, a.resource_id) for a in plan.actions] == [(ENABLE_PRIVATE_DNS, EP_ID["ecr.dkr"])]


def test_own_security_group_gains_a_new_vpc_cidr() -> None:
    plan = plan_remediation([web()], snapshot(**COMPLIANT, cidrs=("10.0.0.0/16", "10.1.0.0/16")))

    assert [(a.kind, a.cidrs) for a in plan.actions] == [(AUTHORIZE_INGRESS, ("10.1.0.0/16",))]


def test_foreign_security_group_counts_a_wider_cidr_or_the_task_group() -> None:
    def with_rule(rule: SgRule) -> VpcSnapshot:
        group = SecurityGroupInfo("sg-000000f0", "theirs", (rule,), False)
        eps = tuple(replace(e, owned=False, group_ids=("sg-000000f0",)) if e.type == "Interface" else e
                    for e in COMPLIANT["endpoints"])
        return snapshot(**{**COMPLIANT, "endpoints": eps, "security_groups": {"sg-000000f0": group}})

    assert plan_remediation([web()], with_rule(SgRule("tcp", 0, 65535, ("10.0.0.0/8",), ()))).findings == ()
    assert plan_remediation([web()], with_rule(SgRule("-1", 0, 0, (), ("sg-000000a0",)))).findings == ()
    closed = plan_remediation([web()], with_rule(SgRule("tcp", 22, 22, ("10.0.0.0/16",), ())))
    assert {f.problem for f in closed.findings} == {"endpoint-sg-closed"}
    assert all(f.resource_id == "sg-000000f0" for f in closed.findings)


@pytest.mark.parametrize("public_ip, enforced", [(False, True), (True, False)])
def test_an_internet_gateway_only_helps_tasks_with_a_public_ip(public_ip: bool, enforced: bool) -> None:
    igw = {"rtb-00000001": RouteTableInfo("rtb-00000001", False, "igw", "igw-1", tuple(SUBNETS)),
           "rtb-00000002": RouteTableInfo("rtb-00000002", True, None, None, ())}
    needs = web()
    needs = WorkloadNeeds(replace(needs.workload, assign_public_ip=public_ip), needs.requirements)

    plan = plan_remediation([needs], snapshot(route_tables=igw))

    assert bool(plan.actions) is enforced
    assert any(n.startswith("not enforced") for n in plan.notes) is not enforced


def test_a_subnet_without_an_explicit_table_uses_the_main_one() -> None:
    tables = {"rtb-00000002": RouteTableInfo("rtb-00000002", True, None, None, ())}

    plan = plan_remediation([web()], snapshot(route_tables=tables))

    (gateway,) = [a for a in plan.actions if a.kind == CREATE_GATEWAY]
    assert gateway.route_table_ids == ("rtb-00000002",)


def test_s3_policy_that_blocks_the_layer_bucket_is_reported_with_a_policy_that_works() -> None:
    narrow = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                        "Resource": "arn:aws:s3:::my-bucket/*"}]})
    eps = tuple(replace(e, policy=narrow, owned=False) if e.type == "Gateway" else e for e in COMPLIANT["endpoints"])

    plan = plan_remediation([web()], snapshot(**{**COMPLIANT, "endpoints": eps}))

    (finding,) = plan.findings
    assert finding.problem == "s3-policy-blocks-ecr-layers"
    fixed = finding.fix[0].split("--policy-document '", 1)[1].rstrip("'")
    assert policy_allows_ecr_layers(fixed, REGION)


@pytest.mark.parametrize("statement, allowed", [
    ({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}, True),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:Get*",
      "Resource": f"arn:aws:s3:::prod-{REGION}-starport-layer-bucket/*"}, True),
    ({"Effect": "Allow", "Principal": "*", "Action": ["s3:PutObject"], "Resource": "*"}, False),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
      "Resource": "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"}, False),
    # NotAction / NotResource are read as doctor reads them (they used to be skipped, so the
    # planner reported a policy that allows the layers as one that blocks them).
    ({"Effect": "Allow", "Principal": "*", "NotAction": "s3:PutObject", "Resource": "*"}, True),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}, True),
    ({"Effect": "Allow", "Principal": "*", "NotAction": "s3:Get*", "Resource": "*"}, False),
])
def test_policy_allows_ecr_layers(statement: dict[str, Any], allowed: bool) -> None:
    assert policy_allows_ecr_layers(json.dumps({"Statement": [statement]}), REGION) is allowed


def test_an_explicit_deny_wins() -> None:
    doc = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                         {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
    assert not policy_allows_ecr_layers(json.dumps(doc), REGION)
    assert policy_allows_ecr_layers(None, REGION)  # no policy: full access
    assert policy_allows_ecr_layers(policy_with_ecr_layers(json.dumps({"Statement": []}), REGION), REGION)


# ---------------------------------------------------------------- the per-VPC endpoint cap

SIX = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "sts")


def _six() -> WorkloadNeeds:
    w = Workload(kind="subnet", arn="subnet-0000000a", name="subnet-0000000a", region=REGION, account="123456789012",
                 launch_type="FARGATE", subnet_ids=("subnet-0000000a", "subnet-0000000b"),
                 inherited=tuple((s, "Interface", f"needs {s}") for s in SIX))
    return WorkloadNeeds(w, required_endpoints(w))


OWN = {"sg-000000c0": SecurityGroupInfo("sg-000000c0", "vpce-remediator-endpoints",
                                   (SgRule("tcp", 443, 443, ("10.0.0.0/16",), ()),), True)}


def _offered(*services: str) -> dict[str, ServiceOffer]:
    return {P + s: ServiceOffer(P + s, ("Interface",), ALL_AZS) for s in services}


def test_creates_past_the_cap_become_one_finding_with_their_cost() -> None:
    plan = plan_remediation([_six()], snapshot(offers=_offered(*SIX)), max_endpoints_per_vpc=4)

    creates = [a.service.removeprefix(P) for a in plan.actions if a.kind == CREATE_INTERFACE]
    assert creates == ["ecr.api", "ecr.dkr", "logs", "secretsmanager"]
    [cap] = [f for f in plan.findings if f.problem == "endpoint-cap-reached"]
    assert "2 interface endpoint(s) not created" in cap.summary and "ssm, sts" in cap.summary
    assert "$29.20/month" in cap.summary  # 2 endpoints x 2 AZs x $0.01 x 730 h
    assert "MaxEndpointsPerVpc to 6" in cap.summary
    assert sum("create-vpc-endpoint" in c for c in cap.fix) == 2


def test_the_cap_counts_the_endpoints_the_tool_already_keeps_and_only_those() -> None:
    mine = tuple(endpoint(s) for s in SIX[:4])
    foreign = endpoint("kms", owned=False)
    plan = plan_remediation([_six()], snapshot(offers=_offered(*SIX), endpoints=(*mine, foreign),
                                               security_groups=OWN), max_endpoints_per_vpc=4)

    assert [a.kind for a in plan.actions] == []
    assert [f.problem for f in plan.findings] == ["endpoint-cap-reached"]
    one_more = plan_remediation([_six()], snapshot(offers=_offered(*SIX), endpoints=(*mine, foreign),
                                                   security_groups=OWN),
                                max_endpoints_per_vpc=5)
    assert [a.service.removeprefix(P) for a in one_more.actions] == ["ssm"]


# ---------------------------------------------------------------- the interface endpoint quota

FOUR = ("secretsmanager", "ssm", "sts", "kms")


def _four() -> WorkloadNeeds:
    w = Workload(kind="subnet", arn="subnet-0000000a", name="subnet-0000000a", region=REGION, account="123456789012",
                 launch_type="FARGATE", subnet_ids=("subnet-0000000a", "subnet-0000000b"),
                 inherited=tuple((s, "Interface", f"needs {s}") for s in FOUR))
    return WorkloadNeeds(w, required_endpoints(w))


def _holding(n: int, quota: int = 50, unread: str = "") -> VpcSnapshot:
    """A VPC holding `n` live interface endpoints someone else made, for services nobody here needs."""
    others = tuple(endpoint(f"other{i}", owned=False) for i in range(n))
    return snapshot(offers=_offered(*FOUR), endpoints=others, security_groups=OWN,
                    interface_quota=EndpointQuota("L-29B6F2EB", quota, unread))


def test_creates_that_would_pass_the_quota_are_none_of_them_made_and_one_finding_says_why() -> None:
    plan = plan_remediation([_four()], _holding(48))

    assert CREATE_INTERFACE not in kinds(plan)  # no partial create: 2 would fit, none is made
    [quota] = [f for f in plan.findings if f.problem == "endpoint-quota-reached"]
    assert "4 interface endpoint(s) not created" in quota.summary
    assert "(kms, secretsmanager, ssm, sts)" in quota.summary
    assert "holds 48 interface endpoint(s) and the quota is 50 per VPC" in quota.summary
    assert "would make 52" in quota.summary and "AWS's default" not in quota.summary
    assert (f"aws service-quotas request-service-quota-increase --region {REGION} --service-code vpc "
            "--quota-code L-29B6F2EB --desired-value 52") in quota.fix
    assert sum("create-vpc-endpoint" in c for c in quota.fix) == 4  # to run once the increase is granted
    assert {s.status for s in plan.services} == {"missing"}
    assert not plan.needs_quotas


def test_creates_within_the_quota_are_all_made() -> None:
    plan = plan_remediation([_four()], _holding(46))

    assert kinds(plan).count(CREATE_INTERFACE) == 4
    assert not [f for f in plan.findings if f.problem == "endpoint-quota-reached"]


def test_the_quota_counts_every_live_interface_and_gateway_load_balancer_endpoint_only() -> None:
    snap = _holding(45)
    extra = (endpoint("gone", state="deleted"), endpoint("s3", type="Gateway", subnets=(), group_ids=()),
             endpoint("gwlb", type="GatewayLoadBalancer", owned=False))
    plan = plan_remediation([_four()], replace(snap, endpoints=snap.endpoints + extra))
    assert kinds(plan).count(CREATE_INTERFACE) == 4  # 45 + the GWLB one + 4 = 50

    more = replace(snap, endpoints=snap.endpoints + extra + (endpoint("gwlb2", type="GatewayLoadBalancer"),))
    assert CREATE_INTERFACE not in kinds(plan_remediation([_four()], more))


def test_the_quota_is_asked_for_only_when_a_create_is_planned() -> None:
    assert plan_remediation([_four()], replace(_holding(10), interface_quota=None)).needs_quotas
    assert not plan_remediation([web()], snapshot(**COMPLIANT)).needs_quotas


def test_a_quota_service_quotas_did_not_give_is_aws_default_and_the_finding_says_so() -> None:
    plan = plan_remediation([_four()], _holding(48, unread="GetServiceQuota answered AccessDeniedException"))

    [quota] = [f for f in plan.findings if f.problem == "endpoint-quota-reached"]
    assert "AWS's default for L-29B6F2EB" in quota.summary and "AccessDeniedException" in quota.summary


def test_no_cap_unless_asked() -> None:
    plan = plan_remediation([_six()], snapshot(offers=_offered(*SIX)))

    assert [a.kind for a in plan.actions].count(CREATE_INTERFACE) == 6


def test_the_cap_comes_from_the_stack_parameter_and_the_cli_flag() -> None:
    from vpce_remediator.cli import _parser
    from vpce_remediator.engine import Settings

    assert Settings.from_env({}).max_endpoints_per_vpc == 20
    assert Settings.from_env({"MAX_ENDPOINTS_PER_VPC": "7"}).max_endpoints_per_vpc == 7
    for command in (["invoke", "e.json"], ["scan"]):
        assert _parser().parse_args([*command, "--max-endpoints-per-vpc", "3"]).max_endpoints_per_vpc == 3
        assert _parser().parse_args(command).max_endpoints_per_vpc == 20
    with pytest.raises(ValueError):
        Settings(max_endpoints_per_vpc=-1)


def test_a_participant_of_a_shared_vpc_plans_no_change_and_one_finding_for_the_owner() -> None:
    """The VPC's owner is another account: none of its endpoints is visible, none may be created."""
    plan = plan_remediation([web()], snapshot(owner="210987654321"))

    assert plan.actions == ()
    (finding,) = plan.findings
    assert finding.problem == "shared-vpc-participant" and "account 210987654321" in finding.summary
    assert all(c.startswith(("aws ec2 describe-vpcs ", "aws ec2 describe-vpc-endpoints ")) for c in finding.fix)
    assert {s.status for s in plan.services} == {"not-visible"}


# ---------------------------------------------------------------- ECS endpoints on container instances


def test_ecs_endpoints_are_created_in_the_order_the_ecs_guide_lists_them_then_the_agent_restarts() -> None:
    w = Workload(kind="service", arn="arn:aws:ecs:us-east-1:123456789012:service/prod-cluster/web", name="web",
                 region=REGION, account="123456789012", launch_type="EC2",
                 subnet_ids=("subnet-0000000a", "subnet-0000000b"), security_group_ids=("sg-000000a0",),
                 containers=(ContainerSpec("web", IMAGE),))
    ecs = ("ecs", "ecs-agent", "ecs-telemetry")
    snap = snapshot(offers={P + s: ServiceOffer(P + s, ("Interface",), ALL_AZS)
                            for s in ("ecr.api", "ecr.dkr", *ecs)}, interface_quota=EndpointQuota("L-29B6F2EB", 50))

    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snap)

    creates = [a.service.removeprefix(P) for a in plan.actions if a.kind == CREATE_INTERFACE]
    assert [c for c in creates if c in ecs] == ["ecs-agent", "ecs-telemetry", "ecs"]
    [note] = [n for n in plan.notes if "restart the ECS agent" in n]
    assert "cluster prod-cluster's running container instances" in note
    assert "aws ecs list-container-instances --region us-east-1 --cluster prod-cluster" in note


def test_fargate_workloads_get_no_agent_restart_note() -> None:
    plan = plan_remediation([web()], snapshot(interface_quota=EndpointQuota("L-29B6F2EB", 50)))

    assert not [n for n in plan.notes if "restart the ECS agent" in n]


def test_the_central_stack_names_the_organization_so_no_account_looks_it_up() -> None:
    from vpce_remediator.engine import Settings

    assert Settings.from_env({}).organization_id is None  # resolved per account, by a lookup
    scope = Settings.from_env({"ORGANIZATION_ID": "o-a1b2c3d4e5"}).policy_scope("111111111111")
    assert (scope.mode, scope.organization_id, scope.exact) == ("organization", "o-a1b2c3d4e5", True)
