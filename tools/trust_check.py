"""Forged ownership claims against the remediator, in figures (for `make reliability`).

Each round builds, in a fresh in-process moto account, a VPC whose workload needs endpoints and
plants forgeries: an application group tagged `managed-by: vpce-remediator`, a foreign endpoint
with that tag (missing an AZ), and a group someone else named `vpce-remediator-endpoints` in a
second VPC. The remediator then runs in remediate mode twice, with the stack's state table on even
rounds and without one (as the CLI) on odd rounds. A foreign resource counts as changed when its
rules, subnets, groups or private DNS differ afterwards, or when the tool attached it anywhere.

    from trust_check import forged_tags_changed
    tried, changed = forged_tags_changed(rounds=10)   # changed must be 0
"""
from __future__ import annotations

import os
from typing import Any

REGION = "us-east-1"
TABLE = "vpce-remediator-state"
OWNER = [{"Key": "managed-by", "Value": "vpce-remediator"}]


def forged_tags_changed(rounds: int = 10) -> tuple[int, int]:
    """(forgeries tried, foreign resources the remediator changed) over `rounds` fresh accounts."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "testing")
    tried = changed = 0
    for i in range(rounds):
        t, c = _round(with_state=i % 2 == 0)
        tried, changed = tried + t, changed + c
    return tried, changed


def _round(with_state: bool) -> tuple[int, int]:
    import boto3
    from moto import mock_aws

    from vpce_remediator.aws import Clients
    from vpce_remediator.demo import ECR, container, private_vpc, register_task_definition
    from vpce_remediator.engine import Settings, evaluate_event
    from vpce_remediator.facts import OWN_SG_NAME
    from vpce_remediator.lock import VpcLock
    from vpce_remediator.samples import load_event

    with mock_aws():
        ec2, ecs = boto3.client("ec2", region_name=REGION), boto3.client("ecs", region_name=REGION)
        if with_state:
            boto3.client("dynamodb", region_name=REGION).create_table(
                TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        ecs.create_cluster(clusterName="prod")
        td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")])
        app, other = private_vpc(ec2, "app", "10.50.0.0/16", "ab"), private_vpc(ec2, "other", "10.60.0.0/16", "ab")
        forged: list[tuple[str, str]] = []  # (kind, id)
        tagged_sg = ec2.create_security_group(GroupName="payments-db", Description="payments", VpcId=app["vpc"],
                                              TagSpecifications=[{"ResourceType": "security-group", "Tags": OWNER}])
        forged.append(("group", tagged_sg["GroupId"]))
        theirs = ec2.create_security_group(GroupName="theirs", Description="x", VpcId=app["vpc"])["GroupId"]
        endpoint = ec2.create_vpc_endpoint(
            VpcId=app["vpc"], ServiceName=f"com.amazonaws.{REGION}.ecr.dkr", VpcEndpointType="Interface",
            SubnetIds=[app["subnets"][0]], SecurityGroupIds=[theirs], PrivateDnsEnabled=False,
            TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": OWNER}])["VpcEndpoint"]
        forged.append(("endpoint", endpoint["VpcEndpointId"]))
        squatter = ec2.create_security_group(GroupName=OWN_SG_NAME, Description="not the tool's",
                                             VpcId=other["vpc"], TagSpecifications=[
                                                 {"ResourceType": "security-group", "Tags": OWNER}])["GroupId"]
        forged.append(("group", squatter))
        before = {rid: _state(ec2, kind, rid) for kind, rid in forged}
        for _ in range(2):
            for net in (app, other):
                event = load_event("ecs-RunTask", _overrides(net, td))
                clients = Clients(region=REGION)
                evaluate_event(event, clients, Settings(mode="remediate"),
                               VpcLock(clients.dynamodb, TABLE) if with_state else None)
        changed = sum(1 for kind, rid in forged if _state(ec2, kind, rid) != before[rid])
        attached = {g["GroupId"] for net in (app, other) for e in _endpoints(ec2, net["vpc"])
                    if e["VpcEndpointId"] != endpoint["VpcEndpointId"] for g in e.get("Groups", [])}
        changed += len(attached & {tagged_sg["GroupId"], squatter, theirs})
        return len(forged), changed


def _overrides(net: dict[str, Any], td_arn: str) -> dict[str, Any]:
    from vpce_remediator.demo import net_overrides

    return {**net_overrides(net), "detail.requestParameters.taskDefinition": td_arn.split("/")[-1],
            "detail.responseElements.tasks.0.taskDefinitionArn": td_arn,
            "detail.requestParameters.launchType": "FARGATE", "detail.responseElements.tasks.0.launchType": "FARGATE"}


def _endpoints(ec2: Any, vpc: str) -> list[dict[str, Any]]:
    return ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]


def _state(ec2: Any, kind: str, rid: str) -> Any:
    if kind == "group":
        return ec2.describe_security_groups(GroupIds=[rid])["SecurityGroups"][0]["IpPermissions"]
    e = ec2.describe_vpc_endpoints(VpcEndpointIds=[rid])["VpcEndpoints"][0]
    return sorted(e.get("SubnetIds", [])), sorted(g["GroupId"] for g in e.get("Groups", [])), e.get("PrivateDnsEnabled")


if __name__ == "__main__":
    print(forged_tags_changed())
