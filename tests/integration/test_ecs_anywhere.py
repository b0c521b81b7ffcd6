"""ECS Anywhere (issue 14): an EXTERNAL task or service runs on the customer's own servers, in no
VPC of the account, so it is ignored with why, never judged against the cluster's Auto Scaling
subnets. moto registers EXTERNAL task definitions and services as ECS does."""
from __future__ import annotations

from typing import Any

from account import ECR, REGION, container, endpoints, private_vpc, run, run_task_event


def _anywhere(aws: Any) -> tuple[dict[str, Any], str]:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.80.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    td = ecs.register_task_definition(family="edge", networkMode="bridge", requiresCompatibilities=["EXTERNAL"],
                                      containerDefinitions=[{**container("edge", f"{ECR}/edge:1"), "memory": 256}])
    return net, td["taskDefinition"]["taskDefinitionArn"]


def test_an_external_task_is_ignored_with_why_and_nothing_is_written(aws: Any) -> None:
    net, td = _anywhere(aws)

    r = run(run_task_event(net, td, launch="EXTERNAL"), "remediate")

    assert r.result["status"] == "ignored"
    assert "ECS Anywhere (EXTERNAL) runs on your own servers, outside any VPC" in r.result["reason"]
    assert r.writes == [] and endpoints(aws, net["vpc"]) == []


def test_an_external_service_is_placed_in_no_vpc(aws: Any) -> None:
    # moto refuses CreateService with launchType EXTERNAL ("should be one of [EC2,FARGATE]"): the
    # service is given as DescribeServices describes one; its cluster has an Auto Scaling group's
    # subnets, which must not become the service's.
    from vpce_remediator.aws import Clients
    from vpce_remediator.discovery import TaskDefinitions, service_workload

    _, td = _anywhere(aws)
    clients = Clients(region=REGION)
    described = {"serviceArn": f"arn:aws:ecs:{REGION}:123456789012:service/prod/edge", "serviceName": "edge",
                 "clusterArn": f"arn:aws:ecs:{REGION}:123456789012:cluster/prod", "taskDefinition": td,
                 "launchType": "EXTERNAL", "deployments": [{"status": "PRIMARY", "launchType": "EXTERNAL"}]}

    w = service_workload(described, REGION, "123456789012", clients, TaskDefinitions(clients.ecs))

    assert w is not None and w.launch_type == "EXTERNAL" and w.subnet_ids == ()
    assert not clients.calls["ecs.DescribeClusters"] and not clients.calls["autoscaling.DescribeAutoScalingGroups"]
