"""EC2 launch type with awsvpc (issue 14): the task has its own interface, but the ECS agent and
Docker on the container instance pull its images, fetch its secrets and ship its awslogs, from the
instance's subnet and security groups. Those needs are judged, and their endpoints placed, where the
instances are; what the task does itself (ECS Exec's ssmmessages) stays with the task's subnets.
Every door sees the same split: events (CreateService, RunTask), scan and doctor.

moto registers container instances and describes them with their EC2 instance: no stub. moto's
RunTask fails for EC2 awsvpc tasks on registered instances (its task ENI has no private DNS name),
so the RunTask record is the sample shaped after a real one, naming the instance it was placed on.
"""
from __future__ import annotations

import json
from typing import Any

from account import (
    ECR,
    REGION,
    by_service,
    container,
    endpoints,
    load_event,
    private_vpc,
    register_task_definition,
    run,
    run_task_event,
)

from vpce_remediator.aws import Clients
from vpce_remediator.doctor import Target, diagnose, render
from vpce_remediator.engine import Settings
from vpce_remediator.plan import CREATE_INTERFACE
from vpce_remediator.scan import scan_estate

ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-AbCdEf"
AGENT_SIDE = {"ecr.api", "ecr.dkr", "logs", "secretsmanager", "ecs", "ecs-agent", "ecs-telemetry"}


def _estate(aws: Any, instance_subnets: tuple[int, ...] = (1,)) -> dict[str, Any]:
    """A private VPC over three AZs: the service's tasks in subnet 0, its container instances (one
    per index given) in the other subnets with a group of their own."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "ec2-app", "10.70.0.0/16", "abc")
    hosts = ec2.create_security_group(GroupName="ecs-hosts", Description="container instances",
                                      VpcId=net["vpc"])["GroupId"]
    ecs.create_cluster(clusterName="prod")
    instances = []
    for i in instance_subnets:
        inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=net["subnets"][i],
                                 SecurityGroupIds=[hosts])["Instances"][0]["InstanceId"]
        doc = json.dumps({"instanceId": inst, "region": REGION, "accountId": ACCOUNT})
        instances.append(ecs.register_container_instance(cluster="prod", instanceIdentityDocument=doc)[
            "containerInstance"]["containerInstanceArn"])
    td = register_task_definition(ecs, "api", [container("api", f"{ECR}/api:2.0", (SECRET,))], "EC2")
    arn = ecs.create_service(cluster="prod", serviceName="api", taskDefinition=td, desiredCount=1,
                             launchType="EC2", enableExecuteCommand=True,
                             networkConfiguration={"awsvpcConfiguration": {
                                 "subnets": [net["subnets"][0]], "securityGroups": [net["sg"]]}})["service"]["serviceArn"]
    event = load_event("ecs-CreateService", {
        "detail.requestParameters.networkConfiguration.awsvpcConfiguration.subnets": [net["subnets"][0]],
        "detail.requestParameters.enableExecuteCommand": True,
        "detail.responseElements.service.enableExecuteCommand": True,
        "detail.responseElements.service.serviceArn": arn})
    return {**net, "hosts": hosts, "instances": instances, "td": td, "service": arn, "event": event}


def _subnets_of(aws: Any, vpc: str) -> dict[str, set[str]]:
    return {svc: {s for e in eps for s in e.get("SubnetIds", [])} for svc, eps in by_service(endpoints(aws, vpc)).items()}


def test_the_agents_endpoints_go_where_the_container_instances_are(aws: Any) -> None:
    e = _estate(aws)
    task_subnet, host_subnet = e["subnets"][0], e["subnets"][1]

    r = run(e["event"], "remediate")

    placed = _subnets_of(aws, e["vpc"])
    for svc in AGENT_SIDE:
        assert placed[svc] == {host_subnet}, svc
    assert placed["ssmmessages"] == {task_subnet}  # ECS Exec's agent runs in the task
    assert "s3" in placed  # the gateway, on the route table both subnets share
    [workload] = r.result["workloads"]
    assert workload["subnets"] == [task_subnet]
    assert workload["container_instances"] == {"subnets": [host_subnet], "security_groups": [e["hosts"]]}
    reasons = next(x.reasons for x in r.outcome.required if x.service.endswith(".ecr.dkr"))
    assert any("from its container instances" in x for x in reasons)
    # Doctor walks the instances' hops to what was made, and finds none broken.
    d = diagnose(Clients(region=REGION), Target(cluster="prod", service="api"))
    assert [(c.service, c.hop, c.detail) for c in d.all_checks if not c.ok] == []

    again = run(e["event"], "remediate")
    assert again.writes == [] and again.result["status"] == "compliant"


def test_a_closed_host_group_is_reported_with_the_command_that_opens_it(aws: Any) -> None:
    e = _estate(aws)
    ec2 = aws.client("ec2", region_name=REGION)
    ec2.revoke_security_group_egress(GroupId=e["hosts"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=e["hosts"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    r = run(e["event"], "report")

    closed = [f for f in r.result["findings"] if f["problem"] == "sg-egress-closed"]
    assert [f["resource_id"] for f in closed] == [e["hosts"]]  # the task's own group is open
    assert any(f"--group-id {e['hosts']}" in cmd for f in closed for cmd in f["fix"])


def test_a_run_task_record_names_the_instance_whose_network_counts(aws: Any) -> None:
    e = _estate(aws, instance_subnets=(1, 2))
    event = run_task_event({"subnets": [e["subnets"][0]], "sg": e["sg"]}, e["td"], "EC2", **{
        "detail.responseElements.tasks.0.containerInstanceArn": e["instances"][1]})

    r = run(event, "remediate")

    placed = _subnets_of(aws, e["vpc"])
    assert placed["ecr.dkr"] == {e["subnets"][2]}  # the instance it ran on, not the other one
    assert r.clients.calls["ecs.DescribeContainerInstances"] == 1
    assert r.clients.calls["ecs.ListContainerInstances"] == 0


def test_a_service_counts_every_instance_of_its_cluster(aws: Any) -> None:
    e = _estate(aws, instance_subnets=(1, 2))

    r = run(e["event"], "remediate")

    assert _subnets_of(aws, e["vpc"])["ecr.dkr"] == {e["subnets"][1], e["subnets"][2]}
    # The README's count: one list, one describe, one DescribeInstances for the cluster.
    assert [r.clients.calls[op] for op in ("ecs.ListContainerInstances", "ecs.DescribeContainerInstances",
                                           "ec2.DescribeInstances")] == [1, 1, 1]


def test_a_fargate_service_reads_no_container_instance(aws: Any) -> None:
    e = _estate(aws)
    ecs = aws.client("ecs", region_name=REGION)
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1.0")], "FARGATE")
    arn = ecs.create_service(cluster="prod", serviceName="web", taskDefinition=td, desiredCount=1,
                             launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                                 "subnets": [e["subnets"][0]], "securityGroups": [e["sg"]]}})["service"]["serviceArn"]

    r = run(load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": arn}), "report")

    assert not any(op.endswith(("ContainerInstances", "DescribeInstances")) for op in r.clients.calls)
    assert "container_instances" not in r.result["workloads"][0]


def test_scan_plans_the_same_split(aws: Any) -> None:
    e = _estate(aws)

    result = scan_estate(Clients(region=REGION), Settings(mode="report"))

    [scanned] = [w for w in result.workloads if w.workload.arn == e["service"]]
    assert scanned.outcome is not None and scanned.outcome.plan is not None
    creates = {a.service.split(f"{REGION}.", 1)[-1]: a.subnet_ids
               for a in scanned.outcome.plan.actions if a.kind == CREATE_INTERFACE}
    assert creates["ecr.dkr"] == (e["subnets"][1],)


def test_doctor_checks_the_instances_hops_apart(aws: Any) -> None:
    e = _estate(aws)

    d = diagnose(Clients(region=REGION), Target(cluster="prod", service="api"))

    assert d.instances is not None and d.instances.subnet_ids == (e["subnets"][1],)
    assert {c.service for c in d.instance_checks} >= AGENT_SIDE
    assert "ecr.dkr" not in {c.service for c in d.checks}
    assert {c.subnet for c in d.instance_checks if c.service == "ecr.dkr"} == {e["subnets"][1]}
    assert not d.ok  # nothing exists yet
    text = render(d)
    assert "on its container instances" in text and e["hosts"] in text
    assert d.to_dict()["container_instances"]["security_groups"] == [e["hosts"]]
