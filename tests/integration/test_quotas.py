"""The interface endpoint quota (issue 13 point 6): read from Service Quotas only when a create is
planned, counted against every live interface endpoint of the VPC, and no partial create.

moto implements `GetServiceQuota` for the vpc service code with AWS's defaults (50 for L-29B6F2EB),
but EC2 under moto enforces no endpoint quota (DESIGN.md §7): the test shows the planner refuses
first. The real call's shape and its refusals are played with `botocore.stub.Stubber`.
"""
from __future__ import annotations

from typing import Any

import boto3
import pytest
from account import (
    ECR,
    REGION,
    by_service,
    container,
    endpoints,
    private_vpc,
    register_task_definition,
    run,
    run_task_event,
)
from botocore.stub import Stubber

from vpce_remediator.facts import EndpointQuota
from vpce_remediator.snapshot import read_interface_quota

ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-pass-AbCdEf"
INTERFACES = {"ecr.api", "ecr.dkr", "logs", "secretsmanager"}  # what the task below needs


def _vpc_holding(aws: Any, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A private VPC with `n` interface endpoints someone else made (PrivateLink services), and a
    launch needing four more."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.40.0.0/16", "ab")
    for i in range(n):
        ec2.create_vpc_endpoint(VpcId=net["vpc"], VpcEndpointType="Interface", SubnetIds=[net["subnets"][0]],
                                ServiceName=f"com.amazonaws.vpce.{REGION}.vpce-svc-{i:017x}")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1.4", (SECRET,))])
    return net, run_task_event(net, td)


def test_48_interface_endpoints_and_4_needed_creates_none_and_says_so(aws: Any) -> None:
    net, event = _vpc_holding(aws, 48)

    r = run(event, "remediate")

    held = by_service(endpoints(aws, net["vpc"]))
    assert not INTERFACES & set(held)  # none of the 4: no partial create though 2 would fit
    assert sum(e["VpcEndpointType"] == "Interface" for e in endpoints(aws, net["vpc"])) == 48
    assert r.clients.calls["service-quotas.GetServiceQuota"] == 1
    [quota] = [f for f in r.result["findings"] if f["problem"] == "endpoint-quota-reached"]
    assert "4 interface endpoint(s) not created" in quota["summary"]
    assert "holds 48 interface endpoint(s) and the quota is 50 per VPC" in quota["summary"]
    assert any("--quota-code L-29B6F2EB --desired-value 52" in c for c in quota["fix"])
    assert r.clients.calls["ec2.CreateVpcEndpoint"] <= 1  # the S3 gateway at most: its own quota


def test_46_interface_endpoints_and_4_needed_creates_all_4(aws: Any) -> None:
    net, event = _vpc_holding(aws, 46)

    r = run(event, "remediate")

    assert set(by_service(endpoints(aws, net["vpc"]))) >= INTERFACES
    assert not [f for f in r.result["findings"] if f["problem"] == "endpoint-quota-reached"]
    assert r.clients.calls["service-quotas.GetServiceQuota"] == 1


def test_a_compliant_vpc_reads_no_quota(aws: Any) -> None:
    net, event = _vpc_holding(aws, 0)
    run(event, "remediate")

    again = run(event, "remediate")

    assert again.writes == []
    assert "service-quotas.GetServiceQuota" not in again.clients.calls


# ---------------------------------------------------------------- the real call, stubbed


def _stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("service-quotas", region_name=REGION)
    return client, Stubber(client)


def test_get_service_quota_is_asked_for_the_interface_quota_and_its_applied_value_used() -> None:
    client, stub = _stubbed()
    stub.add_response("get_service_quota", {"Quota": {
        "ServiceCode": "vpc", "QuotaCode": "L-29B6F2EB", "QuotaName": "Interface VPC endpoints per VPC",
        "Value": 120.0, "Adjustable": True}}, {"ServiceCode": "vpc", "QuotaCode": "L-29B6F2EB"})
    with stub:
        quota = read_interface_quota(client, "vpc-0000000a")
    stub.assert_no_pending_responses()
    assert quota == EndpointQuota("L-29B6F2EB", 120)


@pytest.mark.parametrize("code", ["AccessDeniedException", "NoSuchResourceException", "TooManyRequestsException"])
def test_a_quota_service_quotas_does_not_give_is_aws_default_with_why(code: str) -> None:
    client, stub = _stubbed()
    stub.add_client_error("get_service_quota", service_error_code=code, http_status_code=400)
    with stub:
        quota = read_interface_quota(client, "vpc-0000000a")
    assert quota.value == 50 and code in quota.unread


def test_any_other_refusal_is_raised() -> None:
    client, stub = _stubbed()
    stub.add_client_error("get_service_quota", service_error_code="IllegalArgumentException", http_status_code=400)
    with stub, pytest.raises(Exception, match="IllegalArgumentException"):
        read_interface_quota(client, "vpc-0000000a")
