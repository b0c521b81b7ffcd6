"""Every refused EC2 write has a home: a retry, a permission finding, or a finding with its cause.

moto 5 raises none of these errors (DESIGN.md §7: no endpoint quota, no "conflicting DNS domain"
refusal, no shared VPCs, no service-name, subnet or group validation on CreateVpcEndpoint, no SG
quotas), so each code is played two ways:
- `botocore.stub.Stubber` on the EC2 client, under `act.apply_plan` and `engine.act_or_report`: the
  stubbed call answers with the code, every later call of the plan must still be made
  (`assert_no_pending_responses`), and the finding names the code;
- through the queue door (`BatchRun.process_records`) on moto, with the same code injected by a
  botocore `before-call` handler (`tools/write_error_faults.py`): the record is not retried
  (`batchItemFailures` empty) and the VPC's other endpoints are created.
"""
from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from write_error_faults import MESSAGES, nonretryable_in_dlq, reported_cases, trial

from rules import Workload, required_endpoints
from rules.records import replace
from vpce_remediator.act import apply_plan
from vpce_remediator.engine import act_or_report
from vpce_remediator.facts import (
    EndpointInfo,
    RouteTableInfo,
    SecurityGroupInfo,
    ServiceOffer,
    SgRule,
    SubnetInfo,
    VpcSnapshot,
)
from vpce_remediator.plan import (
    ADD_SECURITY_GROUP,
    CREATE_INTERFACE,
    CREATE_SECURITY_GROUP,
    WorkloadNeeds,
    plan_remediation,
)
from vpce_remediator.write_errors import MESSAGE_RULES, PERMISSION, RETRY, WRITE_ERRORS, classify

REGION = "us-east-1"
P = f"com.amazonaws.{REGION}."
VPC = "vpc-0000000a"
SUBNETS = {f"subnet-0000000{az}": SubnetInfo(f"subnet-0000000{az}", VPC, REGION + az, f"10.0.{i}.0/24")
           for i, az in enumerate("ab", start=1)}
OWN_SG = SecurityGroupInfo("sg-000000c0", "vpce-remediator-endpoints",
                           (SgRule("tcp", 443, 443, ("10.0.0.0/16",), ()),), True)
IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/web:1"


def snapshot(**kw: Any) -> VpcSnapshot:
    base = VpcSnapshot(
        vpc_id=VPC, region=REGION, account="123456789012", cidrs=("10.0.0.0/16",), tags={},
        dns_support=True, dns_hostnames=True, subnets=SUBNETS,
        route_tables={"rtb-00000001": RouteTableInfo("rtb-00000001", False, None, None, tuple(SUBNETS))},
        endpoints=(), security_groups={OWN_SG.id: OWN_SG},
        offers={P + s: ServiceOffer(P + s, ("Interface",), frozenset(REGION + az for az in "ab"))
                for s in ("ecr.api", "ecr.dkr", "logs")})
    return replace(base, **kw)


def needs_of(*interfaces: str) -> list[WorkloadNeeds]:
    """A workload needing exactly these interface endpoints (and nothing else)."""
    w = Workload(kind="subnet", arn="subnet-0000000a", name="subnet-0000000a", region=REGION, account="123456789012",
                 launch_type="FARGATE", subnet_ids=tuple(SUBNETS),
                 inherited=tuple((s, "Interface", f"needs {s}") for s in interfaces))
    return [WorkloadNeeds(w, required_endpoints(w))]


def ecr_web() -> list[WorkloadNeeds]:
    w = Workload(kind="subnet", arn="subnet-0000000a", name="subnet-0000000a", region=REGION, account="123456789012",
                 launch_type="FARGATE", subnet_ids=tuple(SUBNETS),
                 inherited=(("ecr.api", "Interface", "ECR"), ("ecr.dkr", "Interface", "ECR"),
                            ("logs", "Interface", "awslogs"), ("s3", "Gateway", "ECR layers")))
    return [WorkloadNeeds(w, required_endpoints(w))]


def ec2_client() -> Any:
    return boto3.client("ec2", region_name=REGION)


def _created(n: int) -> dict[str, Any]:
    return {"VpcEndpoint": {"VpcEndpointId": f"vpce-{n:017x}"}}


def expected_kind(code: str, message: str) -> str:
    handling = classify(code, message).handling
    return "permission-missing" if handling == PERMISSION else handling


# ---------------------------------------------------------------- the table


def test_the_table_knows_the_codes_the_brief_names_and_decides_each() -> None:
    named = ("InvalidParameter", "VpcEndpointLimitExceeded", "InvalidServiceName", "InvalidParameterValue",
             "InvalidVpcID.NotFound", "InvalidSubnetID.NotFound", "InvalidGroup.NotFound",
             "InvalidRouteTableId.NotFound", "InvalidVpcEndpointId.NotFound", "SecurityGroupLimitExceeded",
             "RulesPerSecurityGroupLimitExceeded", "IdempotentParameterMismatch", "DryRunOperation",
             "RequestLimitExceeded", "Throttling", "ThrottlingException", "InternalError", "Unavailable",
             "ServiceUnavailable", "UnauthorizedOperation")
    assert set(named) <= set(WRITE_ERRORS)
    assert classify("UnauthorizedOperation", MESSAGES["shared-vpc-participant"]).handling == "shared-vpc-participant"
    assert classify("UnauthorizedOperation", "You are not authorized").handling == PERMISSION
    assert classify("InvalidParameter", MESSAGES["private-dns-conflict"]).handling == "private-dns-conflict"
    assert classify("SomethingNew", "x", 503).handling == RETRY
    assert classify("SomethingNew", "x", 400).handling == "write-refused"
    assert classify("InvalidGroup.NotFound", just_created=True).handling == RETRY
    assert classify("InvalidGroup.NotFound", just_created=False).handling == "resource-not-found"


def test_an_error_message_is_kept_on_one_printable_line() -> None:
    verdict = classify("InvalidParameterValue", "bad\nvalue\x1b[31m " + "x" * 500)

    assert "\n" not in verdict.message and "\x1b" not in verdict.message and len(verdict.message) <= 300


# ---------------------------------------------------------------- Stubber: one test per code


@pytest.mark.parametrize(("code", "message"), reported_cases(), ids=lambda v: v[:40])
def test_a_refused_create_is_a_finding_naming_the_code_and_the_other_actions_still_run(
        code: str, message: str) -> None:
    snap = snapshot()
    plan = plan_remediation(ecr_web(), snap)
    assert [a.kind for a in plan.actions].count(CREATE_INTERFACE) == 3
    ec2 = ec2_client()
    with Stubber(ec2) as stub:
        stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": []})
        stub.add_client_error("create_vpc_endpoint", service_error_code=code, service_message=message,
                              http_status_code=400)
        for n in range(3):  # ecr.dkr, logs, the s3 gateway: still created
            stub.add_response("create_vpc_endpoint", _created(n))

        outcome = act_or_report(ec2, VPC, "remediate", plan, snap)

        stub.assert_no_pending_responses()
    assert [r.status for r in outcome.results] == ["failed", "created", "created", "created"]
    [finding] = [f for f in outcome.findings if code in f.summary]
    assert finding.problem == expected_kind(code, message)
    assert finding.resource_id == VPC and finding.service == P + "ecr.api"
    assert finding.fix and all(c.startswith("aws ") for c in finding.fix)


@pytest.mark.parametrize("code", sorted(c for c, h in WRITE_ERRORS.items() if h == RETRY))
def test_a_throttle_or_server_error_propagates_so_the_record_is_retried(code: str) -> None:
    snap = snapshot()
    plan = plan_remediation(ecr_web(), snap)
    ec2 = ec2_client()
    with Stubber(ec2) as stub:
        stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": []})
        stub.add_client_error("create_vpc_endpoint", service_error_code=code, http_status_code=503)

        with pytest.raises(ClientError) as raised:
            apply_plan(ec2, plan, snap)

    assert raised.value.response["Error"]["Code"] == code


def test_a_group_this_run_just_made_and_ec2_does_not_show_yet_is_retried() -> None:
    snap = snapshot(security_groups={})
    plan = plan_remediation(needs_of("logs"), snap)
    assert [a.kind for a in plan.actions] == [CREATE_SECURITY_GROUP, CREATE_INTERFACE]
    ec2 = ec2_client()
    with Stubber(ec2) as stub:
        stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": []})
        stub.add_response("create_security_group", {"GroupId": "sg-new"})
        stub.add_response("authorize_security_group_ingress", {"Return": True})
        stub.add_client_error("create_vpc_endpoint", service_error_code="InvalidGroup.NotFound",
                              service_message="The security group 'sg-new' does not exist")

        with pytest.raises(ClientError):
            apply_plan(ec2, plan, snap)


def test_a_group_read_from_the_vpc_that_is_gone_is_reported_not_retried() -> None:
    snap = snapshot()
    plan = plan_remediation(needs_of("logs"), snap)
    ec2 = ec2_client()
    with Stubber(ec2) as stub:
        stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": []})
        stub.add_client_error("create_vpc_endpoint", service_error_code="InvalidGroup.NotFound",
                              service_message="The security group 'sg-own' does not exist")

        outcome = act_or_report(ec2, VPC, "remediate", plan, snap)

    assert [f.problem for f in outcome.findings] == ["resource-not-found"]


# ---------------------------------------------------------------- 4b: never an empty security group


def test_no_interface_endpoint_is_sent_when_the_security_group_cannot_be_made() -> None:
    snap = snapshot(security_groups={})
    plan = plan_remediation(ecr_web(), snap)
    ec2 = ec2_client()
    with Stubber(ec2) as stub:  # any CreateVpcEndpoint for an interface would find no response: it fails
        stub.add_response("describe_vpc_endpoints", {"VpcEndpoints": []})
        stub.add_client_error("create_security_group", service_error_code="UnauthorizedOperation",
                              service_message="You are not authorized to perform this operation.")
        stub.add_response("create_vpc_endpoint", _created(9),
                          expected_params={"VpcId": VPC, "ServiceName": P + "s3", "VpcEndpointType": "Gateway",
                                           "RouteTableIds": ["rtb-00000001"], "ClientToken": stub_any(),
                                           "TagSpecifications": stub_any()})

        outcome = act_or_report(ec2, VPC, "remediate", plan, snap)

        stub.assert_no_pending_responses()
    statuses = {(r.action.kind, r.action.service.removeprefix(P)): r.status for r in outcome.results}
    assert statuses == {(CREATE_SECURITY_GROUP, ""): "failed", (CREATE_INTERFACE, "ecr.api"): "failed",
                        (CREATE_INTERFACE, "ecr.dkr"): "failed", (CREATE_INTERFACE, "logs"): "failed",
                        ("create-gateway-endpoint", "s3"): "created"}
    skipped = [f for f in outcome.findings if f.problem == "endpoint-missing"]
    assert len(skipped) == 3
    assert all("no usable security group (CreateSecurityGroup failed with UnauthorizedOperation)" in f.summary
               for f in skipped)
    assert [f.problem for f in outcome.findings].count("permission-missing") == 1


def test_an_owned_endpoint_is_not_given_an_empty_group_either() -> None:
    owned = EndpointInfo(id="vpce-logs", service_name=P + "logs", type="Interface", state="available",
                         subnet_ids=tuple(SUBNETS), group_ids=("sg-other",), private_dns=True,
                         route_table_ids=(), policy=None, owned=True)
    snap = snapshot(security_groups={}, endpoints=(owned,))
    plan = plan_remediation(needs_of("logs"), snap)
    assert [a.kind for a in plan.actions] == [CREATE_SECURITY_GROUP, ADD_SECURITY_GROUP]
    ec2 = ec2_client()
    with Stubber(ec2) as stub:  # no ModifyVpcEndpoint response: calling it would fail the test
        stub.add_client_error("create_security_group", service_error_code="SecurityGroupLimitExceeded",
                              service_message="The maximum number of security groups has been reached.")

        outcome = act_or_report(ec2, VPC, "remediate", plan, snap)

        stub.assert_no_pending_responses()
    assert [r.status for r in outcome.results] == ["failed", "failed"]
    problems = sorted(f.problem for f in outcome.findings)
    assert problems == ["endpoint-security-group-detached", "security-group-quota-reached"]


def stub_any() -> Any:
    from botocore.stub import ANY

    return ANY


# ---------------------------------------------------------------- through the queue, on moto


@pytest.mark.parametrize(("code", "message"), reported_cases(), ids=lambda v: v[:40])
def test_through_the_queue_a_refused_write_is_reported_and_the_record_is_not_retried(
        aws: Any, code: str, message: str) -> None:
    t = trial(code, message)

    assert t.failures == []
    [finding] = t.findings_naming(code)
    assert finding["problem"] == expected_kind(code, message)
    assert finding["resource_type"] == "AWS::EC2::VPC" and finding["service"] == P + "ecr.api"
    assert sorted(e["ServiceName"].removeprefix(P) for e in t.endpoints) == ["ecr.dkr", "logs", "s3"]


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("RequestLimitExceeded", 503),
                                              ("InternalError", 500), ("Unavailable", 503)])
def test_through_the_queue_a_throttle_or_5xx_fails_the_record_so_it_is_retried(
        aws: Any, code: str, status: int) -> None:
    t = trial(code, f"injected {code}", status=status)

    assert len(t.failures) == 1 and t.result == {}


def test_through_the_queue_a_denied_security_group_sends_no_interface_endpoint(aws: Any) -> None:
    t = trial("UnauthorizedOperation", "You are not authorized to perform this operation.",
              operation="CreateSecurityGroup", when=lambda n: True)

    assert t.failures == []
    assert t.result["api_calls"]["by_operation"]["ec2.CreateVpcEndpoint"] == 1  # the S3 gateway only
    assert [e["ServiceName"].removeprefix(P) for e in t.endpoints] == ["s3"]
    problems = sorted(f["problem"] for f in t.result["findings"])
    assert problems == ["endpoint-missing"] * 3 + ["permission-missing"]


def test_the_reliability_helper_counts_codes_and_unreported_records() -> None:
    tried, unreported = nonretryable_in_dlq(reported_cases()[:2] + [
        (code, MESSAGES[kind]) for code, _, kind in MESSAGE_RULES if kind in MESSAGES][:1])

    assert (tried, unreported) == (3, 0)


def test_the_reliability_helper_would_count_a_code_that_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(WRITE_ERRORS, "VpcEndpointLimitExceeded", RETRY)

    assert nonretryable_in_dlq([("VpcEndpointLimitExceeded", "limit")]) == (1, 1)



def test_a_conflicting_private_dns_on_a_modify_gets_only_commands_it_can_fill() -> None:
    owned = EndpointInfo(id="vpce-logs", service_name=P + "logs", type="Interface", state="available",
                         subnet_ids=tuple(SUBNETS), group_ids=("sg-000000c0",), private_dns=False,
                         route_table_ids=(), policy=None, owned=True)
    snap = snapshot(endpoints=(owned,))
    plan = plan_remediation(needs_of("logs"), snap)
    ec2 = ec2_client()
    with Stubber(ec2) as stub:
        stub.add_client_error("modify_vpc_endpoint", service_error_code="InvalidParameter",
                              service_message=MESSAGES["private-dns-conflict"])

        outcome = act_or_report(ec2, VPC, "remediate", plan, snap)

    [finding] = outcome.findings
    assert finding.problem == "private-dns-conflict" and finding.resource_id == "vpce-logs"
    assert "ModifyVpcEndpoint refused with InvalidParameter" in finding.summary
    assert not any("--subnet-ids  " in c or "create-vpc-endpoint" in c for c in finding.fix)
    assert any(c.startswith("aws route53 list-hosted-zones-by-vpc") for c in finding.fix)
