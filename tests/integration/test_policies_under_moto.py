"""Endpoint policies under moto: what the tool creates carries the scoped policy, a second run
changes nothing, and an own endpoint whose policy was changed is restored; another's that blocks
the workload is a finding. moto has no Organizations by default (AWSOrganizationsNotInUse), so
`auto` resolves to the account unless a test creates one."""
from __future__ import annotations

import json
from typing import Any

from account import PREFIX, REGION, by_service, endpoints, run
from test_engine import FARGATE_SET, _fargate_web

from vpce_remediator.endpoint_policies import PolicyScope
from vpce_remediator.policies import layer_bucket_arn

ACCOUNT = "123456789012"


def _statement_conditions(policy: str) -> list[dict[str, Any]]:
    return [s.get("Condition", {}) for s in json.loads(policy)["Statement"]]


def test_created_endpoints_carry_the_account_policy_then_a_second_run_changes_nothing(aws: Any) -> None:
    net, event = _fargate_web(aws)

    first = run(event, "remediate")

    svc = by_service(endpoints(aws, net["vpc"]))
    assert set(svc) == FARGATE_SET
    for short in FARGATE_SET:
        assert json.loads(svc[short][0]["PolicyDocument"]) == json.loads(
            PolicyScope("account", ACCOUNT).policy(short, REGION) or ""), short
    assert {"StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": ACCOUNT}} in \
        _statement_conditions(svc["logs"][0]["PolicyDocument"])
    assert layer_bucket_arn(REGION) in svc["s3"][0]["PolicyDocument"]
    assert first.clients.calls["organizations.DescribeOrganization"] == 1

    second = run(event, "remediate")

    assert second.result["status"] == "compliant" and second.writes == []


def test_in_an_organization_auto_scopes_to_it(aws: Any) -> None:
    org = aws.client("organizations", region_name=REGION).create_organization(FeatureSet="ALL")
    org_id = org["Organization"]["Id"]
    net, event = _fargate_web(aws)

    run(event, "remediate")

    svc = by_service(endpoints(aws, net["vpc"]))
    policy = svc["ecr.api"][0]["PolicyDocument"]
    assert {"StringEquals": {"aws:PrincipalOrgID": org_id, "aws:ResourceOrgID": org_id}} in _statement_conditions(policy)
    assert {"StringEquals": {"aws:PrincipalOrgID": org_id}} in _statement_conditions(policy)  # GetAuthorizationToken
    assert run(event, "remediate").writes == []


def test_aws_default_sends_no_policy(aws: Any) -> None:
    net, event = _fargate_web(aws)

    first = run(event, "remediate", endpoint_policy="aws-default")

    assert "organizations.DescribeOrganization" not in first.clients.calls
    for eps in by_service(endpoints(aws, net["vpc"])).values():
        assert "vpce-remediator" not in json.dumps(eps[0].get("PolicyDocument", ""))
        assert "aws:PrincipalAccount" not in eps[0].get("PolicyDocument", "")


def test_an_own_endpoint_whose_policy_was_changed_is_restored(aws: Any) -> None:
    net, event = _fargate_web(aws)
    run(event, "remediate")
    ec2 = aws.client("ec2", region_name=REGION)
    svc = by_service(endpoints(aws, net["vpc"]))
    secrets, logs = svc["secretsmanager"][0]["VpcEndpointId"], svc["logs"][0]["VpcEndpointId"]
    deny_all = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]})
    wide_open = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
    ec2.modify_vpc_endpoint(VpcEndpointId=secrets, PolicyDocument=deny_all)
    ec2.modify_vpc_endpoint(VpcEndpointId=logs, PolicyDocument=wide_open)

    report = run(event, "report")
    restored = run(event, "remediate")

    # Report mode cannot tell the organization, so it flags only what blocks the workload.
    assert [(f["problem"], f["resource_id"]) for f in report.result["findings"]] == [
        ("endpoint-policy-changed", secrets)]
    assert "--policy-document" in report.result["findings"][0]["fix"][0]
    assert sorted((a["action"], a["resource_id"], a["status"]) for a in restored.result["actions"]) == sorted([
        ("set-endpoint-policy", secrets, "modified"), ("set-endpoint-policy", logs, "modified")])
    after = by_service(endpoints(aws, net["vpc"]))
    for short in ("secretsmanager", "logs"):
        assert json.loads(after[short][0]["PolicyDocument"]) == json.loads(
            PolicyScope("account", ACCOUNT).policy(short, REGION) or "")
    assert run(event, "remediate").writes == []


def test_a_foreign_endpoint_whose_policy_blocks_the_workload_is_a_finding(aws: Any) -> None:
    net, event = _fargate_web(aws)
    ec2 = aws.client("ec2", region_name=REGION)
    only_s3 = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})
    foreign = ec2.create_vpc_endpoint(
        VpcId=net["vpc"], ServiceName=PREFIX + "ssm", VpcEndpointType="Interface", SubnetIds=net["subnets"],
        PrivateDnsEnabled=True, PolicyDocument=only_s3)["VpcEndpoint"]["VpcEndpointId"]

    result = run(event, "remediate").result

    finding = next(f for f in result["findings"] if f["resource_id"] == foreign)
    assert finding["problem"] == "endpoint-policy-blocks-workload" and "ssm:GetParameters" in finding["summary"]
    assert ec2.describe_vpc_endpoints(VpcEndpointIds=[foreign])["VpcEndpoints"][0]["PolicyDocument"] == only_s3
