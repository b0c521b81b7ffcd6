"""Helpers that build and inspect a moto account the way a user would look at a real one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vpce_remediator.aws import Clients
from vpce_remediator.demo import (
    ECR,
    EXEC_ROLE,
    container,
    create_service,
    net_overrides,
    private_vpc,
    register_task_definition,
)
from vpce_remediator.engine import Outcome, Settings, evaluate_event
from vpce_remediator.lock import VpcLock
from vpce_remediator.samples import load_event

REGION = "us-east-1"
PREFIX = f"com.amazonaws.{REGION}."

__all__ = ["ECR", "REGION", "PREFIX", "Run", "container", "create_service", "private_vpc",
           "register_task_definition", "run", "state_lock", "STATE_TABLE", "run_task_event", "endpoints", "by_service", "sg_allows_443",
           "asg_capacity_provider", "bridge_service"]


@dataclass
class Run:
    outcome: Outcome
    result: dict[str, Any]
    clients: Clients

    @property
    def writes(self) -> list[str]:
        return self.clients.write_calls()


STATE_TABLE = "vpce-remediator-state"


def run(event: dict[str, Any], mode: str = "remediate", state: bool = True, **settings: Any) -> Run:
    """The engine on one event, as the deployed Lambda runs it: with the stack's state table (its
    locks and its record of what it made). `state=False` runs it as the CLI does, with none."""
    clients = Clients(region=REGION)
    outcome = evaluate_event(event, clients, Settings(mode=mode, **settings),
                             state_lock(clients) if state else None)
    return Run(outcome, outcome.to_dict(), clients)


def state_lock(clients: Clients) -> VpcLock:
    """A `VpcLock` on the stack's state table (made on first use, as template.yaml makes it)."""
    import boto3

    db = boto3.client("dynamodb", region_name=REGION)
    if STATE_TABLE not in db.list_tables()["TableNames"]:
        db.create_table(TableName=STATE_TABLE, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    return VpcLock(clients.dynamodb, STATE_TABLE)


def run_task_event(net: dict[str, Any], td_arn: str, launch: str | None = "FARGATE", **extra: Any) -> dict[str, Any]:
    overrides: dict[str, Any] = {**net_overrides(net), "detail.requestParameters.taskDefinition": td_arn.split("/")[-1],
                                 "detail.responseElements.tasks.0.taskDefinitionArn": td_arn}
    if launch:
        overrides["detail.requestParameters.launchType"] = launch
        overrides["detail.responseElements.tasks.0.launchType"] = launch
    overrides.update(extra)
    return load_event("ecs-RunTask", overrides)


def endpoints(boto3: Any, vpc: str) -> list[dict[str, Any]]:
    eps = boto3.client("ec2", region_name=REGION).describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
    return [e for e in eps if e["State"].lower() not in ("deleted", "deleting")]


def by_service(eps: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in eps:
        out.setdefault(e["ServiceName"].removeprefix(PREFIX), []).append(e)
    return out


def sg_allows_443(boto3: Any, group_ids: list[str], cidr: str) -> bool:
    groups = boto3.client("ec2", region_name=REGION).describe_security_groups(GroupIds=group_ids)["SecurityGroups"]
    for g in groups:
        for p in g.get("IpPermissions", []):
            if p.get("IpProtocol") == "tcp" and p.get("FromPort", 0) <= 443 <= p.get("ToPort", 0) \
                    and any(r.get("CidrIp") == cidr for r in p.get("IpRanges", [])):
                return True
    return False


def acl_without_replies(ec2: Any, vpc_id: str, subnet_id: str) -> str:
    """Gives `subnet_id` a network ACL that lets everything out and TCP 443 in, but no replies
    back in (the ephemeral ports): what doctor's nacl hop must catch. Returns the ACL's id."""
    acl = str(ec2.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"])
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="-1", RuleAction="allow",
                                 Egress=True, CidrBlock="0.0.0.0/0")
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6", RuleAction="allow",
                                 Egress=False, CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
    current = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
    association = next(a["NetworkAclAssociationId"] for a in current["NetworkAcls"][0]["Associations"]
                       if a["SubnetId"] == subnet_id)
    ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=acl)
    return acl


def asg_capacity_provider(boto3: Any, name: str, cidr: str, provider: str = "prod-ec2-asg") -> dict[str, Any]:
    """A private VPC `name` and the ECS capacity provider `provider` over an Auto Scaling group in its
    subnets: where a cluster's container instances run."""
    ec2 = boto3.client("ec2", region_name=REGION)
    asg = boto3.client("autoscaling", region_name=REGION)
    net = private_vpc(ec2, name, cidr, "ab")
    asg.create_launch_configuration(LaunchConfigurationName=f"{name}-lc", ImageId="ami-12c6146b",
                                    InstanceType="t3.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName=f"{name}-asg", LaunchConfigurationName=f"{name}-lc",
                                  MinSize=0, MaxSize=1, VPCZoneIdentifier=",".join(net["subnets"]))
    group_arn = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{name}-asg"])["AutoScalingGroups"][0][
        "AutoScalingGroupARN"]
    boto3.client("ecs", region_name=REGION).create_capacity_provider(
        name=provider, autoScalingGroupProvider={"autoScalingGroupArn": group_arn})
    return net


def bridge_service(ecs: Any, cluster: str, name: str, image: str) -> str:
    """An EC2 service in bridge networking: no awsvpc subnets, it runs where the cluster's instances do."""
    td = ecs.register_task_definition(family=name, networkMode="bridge", requiresCompatibilities=["EC2"],
                                      executionRoleArn=EXEC_ROLE,
                                      containerDefinitions=[container(name, image)])["taskDefinition"]
    return str(ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=td["taskDefinitionArn"],
                                  desiredCount=1, launchType="EC2")["service"]["serviceArn"])
