"""The fix of a whole result as one list to paste: prerequisites first, each command once; the
printed creates carry a deterministic client token; an explicit layer-bucket Deny is replaced;
the own group is reported when endpoint creates wait for VPC DNS. No AWS."""
from __future__ import annotations

import json

from test_plan import REGION, VPC, snapshot, web

from vpce_remediator.fixes import Json, fix_commands, ingress_443, own_sg_lookup
from vpce_remediator.fixplan import ordered_fix, stage
from vpce_remediator.plan import plan_remediation
from vpce_remediator.policies import (
    ecr_layer_denials,
    layer_bucket_arn,
    policy_allows,
    policy_allows_ecr_layers,
    policy_with_ecr_layers,
)

BASE = {"region": REGION, "vpc_id": VPC}
LAYERS = layer_bucket_arn(REGION)


def test_prerequisites_come_first_and_each_command_once() -> None:
    group = own_sg_lookup(BASE)
    create = fix_commands("endpoint-missing", {**BASE, "service": f"com.amazonaws.{REGION}.logs",
                                               "subnet_ids": ("subnet-0000000a",), "security_group": group})
    sg = fix_commands("endpoint-security-group-missing", {**BASE, "security_group": group,
                                                          "ip_permissions": _ingress()})
    hostnames = fix_commands("vpc-dns-hostnames-off", BASE)
    support = fix_commands("vpc-dns-support-off", BASE)
    modify = fix_commands("private-dns-off", {**BASE, "endpoint_id": "vpce-00000001"})

    fix = ordered_fix([modify, create, sg, hostnames, create, sg, support, hostnames])

    assert fix == (*support, *hostnames, *sg, *create, *modify)


def test_within_a_stage_the_printed_order_is_kept_and_unknown_commands_go_last() -> None:
    a = "aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-2 --add-subnet-ids subnet-1"
    b = "aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-1 --add-route-table-ids rtb-1"
    read = "aws ec2 describe-vpc-endpoint-services --service-names x"

    assert ordered_fix([[read, a], [b]]) == (a, b, read)
    assert stage("not an aws command") == stage(read)


def test_a_printed_create_carries_a_client_token_that_follows_its_request() -> None:
    params = {**BASE, "service": f"com.amazonaws.{REGION}.logs", "subnet_ids": ("subnet-0000000a",),
              "security_group": "sg-00000001"}
    (first,) = fix_commands("endpoint-missing", params)
    (again,) = fix_commands("endpoint-missing", params)
    (other,) = fix_commands("endpoint-missing", {**params, "subnet_ids": ("subnet-0000000b",)})
    (gateway,) = fix_commands("gateway-endpoint-missing", {**BASE, "service": f"com.amazonaws.{REGION}.s3",
                                                          "route_table_ids": ("rtb-00000001",)})

    token = first.split("--client-token ")[1].split()[0]
    assert first == again and len(token) <= 64
    assert other.split("--client-token ")[1].split()[0] != token
    assert "--client-token vpcer-" in gateway
    assert "--client-token" not in fix_commands("endpoint-security-group-missing", {
        **BASE, "security_group": own_sg_lookup(BASE), "ip_permissions": _ingress()})[0]  # takes none


def test_an_explicit_deny_on_the_layer_bucket_is_replaced_not_outvoted() -> None:
    policy = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
        {"Sid": "NoStarport", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": [LAYERS, "arn:aws:s3:::exports/*"]}]})

    fixed = policy_with_ecr_layers(policy, REGION)

    assert ecr_layer_denials(policy, REGION) == ["NoStarport"] and ecr_layer_denials(fixed, REGION) == []
    assert policy_allows_ecr_layers(fixed, REGION)
    assert not policy_allows(fixed, "s3:GetObject", "arn:aws:s3:::exports/report.csv")  # the rest still denied
    assert "AllowEcrImageLayers" not in fixed  # the Allow was already there: nothing appended


def test_a_deny_of_everything_keeps_denying_everything_but_the_layer_bucket() -> None:
    policy = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]})

    fixed = policy_with_ecr_layers(policy, REGION)

    assert policy_allows_ecr_layers(fixed, REGION)
    assert not policy_allows(fixed, "s3:GetObject", "arn:aws:s3:::exports/report.csv")


def test_a_deny_that_names_only_the_layer_bucket_goes_and_an_allow_is_added_when_needed() -> None:
    policy = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::ours/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": LAYERS}]})

    fixed = json.loads(policy_with_ecr_layers(policy, REGION))

    assert [s["Effect"] for s in fixed["Statement"]] == ["Allow", "Allow"]
    assert fixed["Statement"][-1]["Resource"] == LAYERS


def test_the_finding_says_the_deny_wins_and_is_replaced() -> None:
    from test_plan import COMPLIANT, endpoint

    deny = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                                     {"Sid": "NoStarport", "Effect": "Deny", "Principal": "*",
                                      "Action": "s3:GetObject", "Resource": LAYERS}]})
    s3 = endpoint("s3", subnets=(), type="Gateway", route_table_ids=("rtb-00000001",), group_ids=(),
                  owned=False, policy=deny)
    plan = plan_remediation([web()], snapshot(**{**COMPLIANT, "endpoints": (*COMPLIANT["endpoints"][:3], s3)}))

    (finding,) = plan.findings
    assert finding.problem == "s3-policy-blocks-ecr-layers"
    assert "explicit Deny (NoStarport) wins over any Allow" in finding.summary
    assert "NoStarport" not in finding.fix[0]


def test_endpoint_creates_waiting_for_vpc_dns_come_with_the_group_they_look_up() -> None:
    plan = plan_remediation([web()], snapshot(dns_hostnames=False))

    problems = [f.problem for f in plan.findings]
    assert problems.count("endpoint-security-group-missing") == 1 and problems.count("endpoint-missing") == 3
    assert all(a.kind != "create-security-group" for a in plan.actions)  # reported, not made: nothing uses it yet
    fix = ordered_fix(f.fix for f in plan.findings)
    assert [stage(c) for c in fix] == sorted(stage(c) for c in fix)
    assert "create-security-group" in fix[1] and "modify-vpc-attribute" in fix[0]


def _ingress() -> Json:
    return ingress_443(cidrs=("10.0.0.0/16",), why="vpce-remediator")
