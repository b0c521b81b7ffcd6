"""Property: once a plan is applied, planning again yields no actions, whatever the starting VPC.

Each example builds a fresh moto account: 1-3 AZs, shared, per-subnet or main route tables, a mix of
workload features, foreign endpoints (healthy or partial) and endpoints this tool made earlier for a
smaller footprint. Private DNS on owned endpoints is never turned off here: moto ignores
`ModifyVpcEndpoint(PrivateDnsEnabled=...)` (DESIGN.md §7), which would make the property untestable.
"""
from __future__ import annotations

from typing import Any

import boto3
from account import ECR, PREFIX, REGION, by_service, container, endpoints, register_task_definition, run, run_task_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

ACCOUNT = "123456789012"


@st.composite
def estates(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "azs": draw(st.integers(1, 3)),
        "tables": draw(st.sampled_from(["shared", "per-subnet", "main"])),
        "secret": draw(st.booleans()),
        "parameter": draw(st.booleans()),
        "exec": draw(st.booleans()),
        "launch": draw(st.sampled_from(["FARGATE", "EC2"])),
        "foreign": draw(st.lists(st.sampled_from(["ecr.dkr", "logs", "ssm"]), unique=True, max_size=2)),
        "foreign_partial": draw(st.booleans()),
        "earlier_single_az": draw(st.booleans()),
        "second_cidr": draw(st.booleans()),
    }


def _build(e: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    ec2, ecs = boto3.client("ec2", region_name=REGION), boto3.client("ecs", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    if e["second_cidr"]:
        ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock="10.81.0.0/16")
    shared = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    subnets = []
    for i in range(e["azs"]):
        cidr = f"10.{81 if e['second_cidr'] and i == e['azs'] - 1 else 80}.{i + 1}.0/24"
        sn = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=REGION + "abc"[i])["Subnet"]["SubnetId"]
        if e["tables"] == "shared":
            ec2.associate_route_table(RouteTableId=shared, SubnetId=sn)
        elif e["tables"] == "per-subnet":
            own = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
            ec2.associate_route_table(RouteTableId=own, SubnetId=sn)
        subnets.append(sn)
    sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    net = {"vpc": vpc, "subnets": subnets, "sg": sg}
    for short in e["foreign"]:
        open_sg = ec2.create_security_group(GroupName=f"foreign-{short}", Description="x", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=open_sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": sg}]}])
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=PREFIX + short, VpcEndpointType="Interface",
                                SubnetIds=subnets[:1] if e["foreign_partial"] else subnets,
                                SecurityGroupIds=[open_sg], PrivateDnsEnabled=True)
    secrets = ((f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:s-AbCdEf",) if e["secret"] else ()) + (
        ("/app/param",) if e["parameter"] else ())
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "app", [container("app", f"{ECR}/app:1", secrets)], e["launch"])
    exec_flag = {"detail.requestParameters.enableExecuteCommand": e["exec"]}
    return td, net, exec_flag


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(estate=estates())
def test_planning_again_after_remediation_yields_no_actions(estate: dict[str, Any]) -> None:
    with mock_aws():
        td, net, exec_flag = _build(estate)
        if estate["earlier_single_az"]:
            smaller = {**net, "subnets": net["subnets"][:1]}
            run(run_task_event(smaller, td, estate["launch"], **exec_flag), "remediate")
        event = run_task_event(net, td, estate["launch"], **exec_flag)

        first = run(event, "remediate")
        again = run(event, "report")

        assert again.result["actions"] == [], again.result["actions"]
        assert again.writes == []
        assert first.result["status"] in ("remediated", "non_compliant", "compliant")
        for short, eps in by_service(endpoints(boto3, net["vpc"])).items():
            assert len(eps) == 1, f"{len(eps)} endpoints for {short}"
        if not estate["foreign_partial"] or not estate["foreign"]:
            assert again.result["status"] == "compliant", again.result["findings"]
