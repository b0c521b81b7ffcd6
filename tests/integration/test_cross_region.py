"""Cross-Region PrivateLink (issue 13 point 4): an interface endpoint whose ServiceRegion is the
image's Region serves the pull, so the cross-Region ECR finding clears; without one the finding
offers those endpoints first, then replication merged into the registry's configuration; with
CrossRegionEndpoints the tool creates them, once.

moto's gaps (DESIGN.md §7) and what the tests do about each:
- CreateVpcEndpoint takes `ServiceRegion` but keeps none (DescribeVpcEndpoints answers no
  ServiceRegion): the tool goes by the endpoint's service name, which names the Region
  (`com.amazonaws.eu-west-1.ecr.dkr`); what the tool's create sends is checked with
  `botocore.stub.Stubber` in test_create_sends_service_region_and_s3_dns_for_every_resolver.
- PutReplicationConfiguration refuses more than one rule ("This feature is disabled"; AWS takes
  10): the pasted merge starts from an empty configuration; keeping existing rules is checked on
  the query itself.
- DescribeVpcEndpointServices with `ServiceRegions` is not implemented (InvalidServiceName): the tool
  never asks it for a cross-Region service (AWS lists no AZs for a remote service there either).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
from account import REGION, container, endpoints, private_vpc, register_task_definition, run, run_task_event
from botocore.stub import ANY, Stubber
from test_paste import (
    AWS,
    aws_cli,  # noqa: F401 (the fixture that builds .venv-awscli, used by name)
    paste,
)

from vpce_remediator.act import _create_interface
from vpce_remediator.aws import Clients
from vpce_remediator.doctor import Target, diagnose
from vpce_remediator.facts import VpcSnapshot
from vpce_remediator.plan import CREATE_INTERFACE, Action

ACCOUNT = "123456789012"
IMAGE_REGION = "eu-west-1"
IMAGE = f"{ACCOUNT}.dkr.ecr.{IMAGE_REGION}.amazonaws.com/team/web:1.4"
CROSS = {f"com.amazonaws.{IMAGE_REGION}.{s}" for s in ("ecr.api", "ecr.dkr", "s3")}


def _estate(aws: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A private VPC in us-east-1 and a Fargate task whose only image is in ECR in eu-west-1 (it logs
    to CloudWatch Logs here, so logs is still needed from this Region)."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.50.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", IMAGE)])
    return net, run_task_event(net, td)


def _hub_made_cross_region_endpoints(aws: Any, net: dict[str, Any], private_dns: bool = True) -> list[str]:
    """The three cross-Region endpoints someone else made, with a group that admits the VPC on 443."""
    ec2 = aws.client("ec2", region_name=REGION)
    sg = ec2.create_security_group(GroupName="cross-region", Description="443 from the VPC",
                                   VpcId=net["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.50.0.0/16"}]}])
    made = []
    for name in sorted(CROSS):
        extra: dict[str, Any] = {"DnsOptions": {"PrivateDnsOnlyForInboundResolverEndpoint": False}} \
            if name.endswith(".s3") else {}
        made.append(ec2.create_vpc_endpoint(
            VpcId=net["vpc"], VpcEndpointType="Interface", ServiceName=name, ServiceRegion=IMAGE_REGION,
            SubnetIds=net["subnets"], SecurityGroupIds=[sg], PrivateDnsEnabled=private_dns,
            **extra)["VpcEndpoint"]["VpcEndpointId"])
    return made


def _finding(result: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((f for f in result["findings"] if f["problem"] == kind), None)


def test_without_cross_region_endpoints_the_fix_offers_them_first_then_merged_replication(aws: Any) -> None:
    net, event = _estate(aws)

    r = run(event, "remediate")  # CrossRegionEndpoints off: nothing cross-Region is created

    held = {e["ServiceName"] for e in endpoints(aws, net["vpc"])}
    assert not held & CROSS
    assert not {f"com.amazonaws.{REGION}.ecr.api", f"com.amazonaws.{REGION}.ecr.dkr"} & held  # no local ECR need
    finding = _finding(r.result, "cross-region-ecr-image")
    assert finding is not None
    creates, rest = finding["fix"][:3], finding["fix"][3:]
    assert [c.split("--service-name ")[1].split()[0] for c in creates] == sorted(CROSS)
    assert all(f"--service-region {IMAGE_REGION}" in c and "--private-dns-enabled" in c for c in creates)
    assert "--dns-options PrivateDnsOnlyForInboundResolverEndpoint=false" in creates[2]  # s3, the last
    assert rest[0].startswith(f"aws ecr describe-registry --region {IMAGE_REGION}")
    assert rest[1].startswith(f"aws ecr put-replication-configuration --region {IMAGE_REGION}")
    assert "rules[?@ != " in rest[1]  # merged into the registry's rules, never written over them


def test_a_cross_region_endpoint_clears_the_ecr_finding(aws: Any) -> None:
    net, event = _estate(aws)
    made = _hub_made_cross_region_endpoints(aws, net)

    r = run(event, "report")

    assert _finding(r.result, "cross-region-ecr-image") is None
    served = {e.service: e for e in r.outcome.required if e.service in CROSS}
    assert set(served) == CROSS
    assert {e.status for e in served.values()} == {"present"}
    assert {e.endpoint_id for e in served.values()} == set(made)
    assert {e.served_by for e in served.values()} == {f"cross-Region endpoint for {IMAGE_REGION}"}
    report = diagnose(Clients(region=REGION), Target(task_definition="web", subnets=tuple(net["subnets"]),
                                                     security_groups=(net["sg"],)))
    sources = [c for c in report.checks if c.hop == "source"]
    assert sources and {c.level for c in sources} == {"pass"}
    assert all("served by cross-Region endpoints" in c.detail for c in sources)


def test_a_cross_region_endpoint_with_private_dns_off_leaves_the_finding_and_says_why(aws: Any) -> None:
    net, event = _estate(aws)
    _hub_made_cross_region_endpoints(aws, net, private_dns=False)

    r = run(event, "report")

    finding = _finding(r.result, "cross-region-ecr-image")
    assert finding is not None
    assert "has private DNS off" in finding["summary"]
    assert not any("create-vpc-endpoint" in c for c in finding["fix"])  # none is missing: nothing to create


def test_cross_region_endpoints_setting_creates_them_once(aws: Any) -> None:
    net, event = _estate(aws)

    first = run(event, "remediate", cross_region_endpoints=True)
    again = run(event, "remediate", cross_region_endpoints=True)

    made = {e["ServiceName"]: e for e in endpoints(aws, net["vpc"]) if e["ServiceName"] in CROSS}
    assert set(made) == CROSS
    assert all(e["PrivateDnsEnabled"] and len(e["SubnetIds"]) == 2 for e in made.values())  # one per AZ
    own = {g["GroupId"] for e in made.values() for g in e["Groups"]}
    assert len(own) == 1
    assert _finding(first.result, "cross-region-ecr-image") is None
    assert again.writes == []
    assert _finding(again.result, "cross-region-ecr-image") is None
    assert again.outcome.status == "compliant"


def test_create_sends_service_region_and_s3_dns_for_every_resolver() -> None:
    # Stubber: moto keeps no ServiceRegion (the gap above), so what the create sends is read here.
    ec2 = boto3.client("ec2", region_name=REGION)
    snap = VpcSnapshot("vpc-0abc1234def567890", REGION, ACCOUNT, ("10.50.0.0/16",), {}, True, True, {}, {}, (), {})
    action = Action(CREATE_INTERFACE, f"com.amazonaws.{IMAGE_REGION}.s3", "", "cross-region-endpoint-missing",
                    "", (), subnet_ids=("subnet-0aaa1111",), service_region=IMAGE_REGION)
    with Stubber(ec2) as stub:
        stub.add_response("create_vpc_endpoint", {"VpcEndpoint": {"VpcEndpointId": "vpce-0123456789abcdef0"}}, {
            "VpcId": snap.vpc_id, "ServiceName": action.service, "VpcEndpointType": "Interface",
            "SubnetIds": ["subnet-0aaa1111"], "SecurityGroupIds": ["sg-0ddd4444"], "PrivateDnsEnabled": True,
            "ClientToken": ANY, "TagSpecifications": ANY, "ServiceRegion": IMAGE_REGION,
            "DnsOptions": {"PrivateDnsOnlyForInboundResolverEndpoint": False}})
        assert _create_interface(ec2, snap, action, "sg-0ddd4444") == "vpce-0123456789abcdef0"
        stub.assert_no_pending_responses()


def _printed_replication_fix(account: Any, tmp_path: Path) -> list[str]:
    """The put-replication-configuration command `invoke` prints for the estate, run as a user runs it."""
    ec2, ecs = account.client("ec2"), account.client("ecs")
    net = private_vpc(ec2, "app", "10.50.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", IMAGE)])
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(run_task_event(net, td)))
    done = subprocess.run([str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "vpce-remediator"),
                           "invoke", str(event_file), "--endpoint-url", account.url, "--region", REGION, "--json"],
                          capture_output=True, text=True, timeout=120)
    finding = _finding(json.loads(done.stdout), "cross-region-ecr-image")
    assert finding is not None, done.stderr
    return [c for c in finding["fix"] if c.startswith("aws ecr put-replication-configuration")]


NEW_RULE = {"destinations": [{"region": REGION, "registryId": ACCOUNT}],
            "repositoryFilters": [{"filter": "team/web", "filterType": "PREFIX_MATCH"}]}


@pytest.mark.usefixtures("aws_cli")
def test_the_pasted_replication_fix_adds_its_rule_once(account: Any, tmp_path: Path) -> None:
    # moto refuses a configuration of more than one rule ("This feature is disabled"; AWS takes 10),
    # so the registry starts with none here; keeping the rules it has is the next test's.
    put = _printed_replication_fix(account, tmp_path)

    pasted = paste(AWS, account.url, put + put, tmp_path)  # twice: still one rule

    assert pasted.failed == []
    ecr = boto3.client("ecr", region_name=IMAGE_REGION, endpoint_url=account.url)
    assert ecr.describe_registry()["replicationConfiguration"]["rules"] == [NEW_RULE]


def test_the_replication_merge_keeps_every_rule_the_registry_has() -> None:
    # The query the command passes to --query, evaluated by jmespath, the library the AWS CLI
    # evaluates --query with, on a DescribeRegistry answer of two rules (more than moto takes).
    import jmespath

    from vpce_remediator.fixes import replication_merge_query

    kept = [{"destinations": [{"region": "ap-south-1", "registryId": ACCOUNT}]},
            {"destinations": [{"region": "eu-central-1", "registryId": "210987654321"}],
             "repositoryFilters": [{"filter": "base", "filterType": "PREFIX_MATCH"}]}]
    query = replication_merge_query(REGION, ACCOUNT, "team/web")

    once = jmespath.search(query, {"replicationConfiguration": {"rules": kept}, "registryId": ACCOUNT})
    twice = jmespath.search(query, {"replicationConfiguration": once, "registryId": ACCOUNT})

    assert once == {"rules": [*kept, NEW_RULE]}
    assert twice == once


@pytest.mark.parametrize("region", ["cn-north-1"])
def test_no_cross_region_endpoint_is_offered_across_partitions(region: str) -> None:
    from rules.partitions import serves_across_regions

    assert not serves_across_regions("ecr.dkr", region, "us-east-1")
    assert serves_across_regions("ecr.dkr", "cn-northwest-1", region)


def test_a_refused_cross_region_create_names_allow_multi_region() -> None:
    # What EC2 answers when neither the role nor an SCP allows it (the message AWS users report).
    from vpce_remediator.act import ActionResult
    from vpce_remediator.engine import _permission_finding

    snap = VpcSnapshot("vpc-0abc1234def567890", REGION, ACCOUNT, ("10.50.0.0/16",), {}, True, True, {}, {}, (), {})
    action = Action(CREATE_INTERFACE, f"com.amazonaws.{IMAGE_REGION}.ecr.dkr", "", "cross-region-endpoint-missing",
                    "no cross-Region endpoint", (), service_region=IMAGE_REGION)

    finding = _permission_finding(ActionResult(action, "failed", "", "UnauthorizedOperation"), snap)

    assert finding.problem == "permission-missing"
    assert "ec2:CreateVpcEndpoint, ec2:CreateTags, vpce:AllowMultiRegion" in finding.summary


def test_the_finding_says_replication_does_not_copy_existing_images(aws: Any) -> None:
    _, event = _estate(aws)

    finding = _finding(run(event, "report").result, "cross-region-ecr-image")

    assert finding is not None
    assert "replication copies only images pushed after the rule exists, so push the image again" in finding["summary"]
    assert f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com" in finding["summary"]
