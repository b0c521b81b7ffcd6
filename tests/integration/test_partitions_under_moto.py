"""A cn-north-1 workload under moto: the EC2 reader, the planner and the writer with China's names.

moto 5.2.5 answers `DescribeVpcEndpointServices` in cn-north-1 with `com.amazonaws.` for every
service, ECR included, where AWS says `cn.com.amazonaws.cn-north-1.ecr.dkr` (AWS CDK's exception
table, rules/partitions.py). So moto can show that logs and the S3 gateway are named and
recognised right, and that the ECR names asked for are China's; it cannot offer them. The test
asserts that named gap, so it says when moto closes it.
"""
from __future__ import annotations

from typing import Any

from rules import Workload, required_endpoints
from rules.workload import ContainerSpec, LogConfig
from vpce_remediator.plan import CREATE_GATEWAY, CREATE_INTERFACE, WorkloadNeeds, plan_remediation
from vpce_remediator.snapshot import describe_subnets, read_offers, read_vpc

REGION = "cn-north-1"
ACCOUNT = "123456789012"


def test_a_cn_north_1_vpc_is_read_and_planned_with_chinas_names(aws: Any) -> None:
    ec2 = aws.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.0.1.0/24", AvailabilityZone=REGION + "a")["Subnet"]
    table = ec2.create_route_table(VpcId=vpc["VpcId"])["RouteTable"]
    ec2.associate_route_table(RouteTableId=table["RouteTableId"], SubnetId=subnet["SubnetId"])
    # An S3 gateway already there, under the name AWS gives it in China.
    gateway = ec2.create_vpc_endpoint(VpcId=vpc["VpcId"], ServiceName=f"com.amazonaws.{REGION}.s3",
                                      VpcEndpointType="Gateway", RouteTableIds=[table["RouteTableId"]])["VpcEndpoint"]
    w = Workload(kind="task", arn=f"arn:aws-cn:ecs:{REGION}:{ACCOUNT}:task/c/1", name="web:1", region=REGION,
                 account=ACCOUNT, launch_type="FARGATE", subnet_ids=(subnet["SubnetId"],), security_group_ids=(),
                 containers=(ContainerSpec("web", f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com.cn/web:1",
                                           LogConfig("awslogs", (("awslogs-group", "/ecs/web"),))),),
                 assign_public_ip=False)
    needs = [WorkloadNeeds(w, required_endpoints(w))]

    snap = read_vpc(ec2, ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])["Vpcs"][0], REGION, ACCOUNT,
                    describe_subnets(ec2, [subnet["SubnetId"]]))
    first = plan_remediation(needs, snap)
    snap = snap.with_offers(read_offers(ec2, first.needs_offers))
    plan = plan_remediation(needs, snap)

    assert first.needs_offers == {f"cn.com.amazonaws.{REGION}.ecr.api", f"cn.com.amazonaws.{REGION}.ecr.dkr",
                                  f"com.amazonaws.{REGION}.logs"}
    assert [a for a in plan.actions if a.kind == CREATE_GATEWAY] == []  # the existing gateway is recognised
    gateway_state = {s.service: s for s in plan.services}[f"com.amazonaws.{REGION}.s3"]
    assert (gateway_state.status, gateway_state.endpoint_id) == ("present", gateway["VpcEndpointId"])
    assert [a.service for a in plan.actions if a.kind == CREATE_INTERFACE] == [f"com.amazonaws.{REGION}.logs"]
    # moto's gap: it knows only com.amazonaws.cn-north-1.ecr.*, so China's ECR names are "not offered".
    assert snap.offers[f"cn.com.amazonaws.{REGION}.ecr.dkr"] is None
    assert {f.service for f in plan.findings if f.problem == "service-not-offered"} == \
        {f"cn.com.amazonaws.{REGION}.ecr.api", f"cn.com.amazonaws.{REGION}.ecr.dkr"}
