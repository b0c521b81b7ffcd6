"""The engine end to end on an in-process moto account, checked the way a user checks the account."""
from __future__ import annotations

import json
from typing import Any

import pytest
from account import (
    ECR,
    PREFIX,
    REGION,
    asg_capacity_provider,
    by_service,
    container,
    create_service,
    endpoints,
    private_vpc,
    register_task_definition,
    run,
    run_task_event,
    sg_allows_443,
)

from vpce_remediator.samples import load_event

ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-pass-AbCdEf"
PARAM = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/web/api-key"
FARGATE_SET = {"ecr.api", "ecr.dkr", "s3", "logs", "secretsmanager", "ssm"}


def _fargate_web(aws: Any, **vpc: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", vpc.pop("cidr", "10.20.0.0/16"), vpc.pop("azs", "ab"), **vpc)
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1.4", (SECRET, PARAM))])
    return net, run_task_event(net, td)


def test_fargate_task_gets_exactly_its_endpoints_then_second_run_is_compliant(aws: Any) -> None:
    net, event = _fargate_web(aws)

    first = run(event, "remediate")

    assert first.result["status"] == "remediated"
    svc = by_service(endpoints(aws, net["vpc"]))
    assert set(svc) == FARGATE_SET
    assert all(len(eps) == 1 for eps in svc.values())
    for name in FARGATE_SET - {"s3"}:
        ep = svc[name][0]
        assert ep["VpcEndpointType"] == "Interface"
        assert ep["PrivateDnsEnabled"] is True
        assert sorted(ep["SubnetIds"]) == sorted(net["subnets"])
        groups = [g["GroupId"] for g in ep["Groups"]]
        assert sg_allows_443(aws, groups, "10.20.0.0/16")
        assert {"Key": "managed-by", "Value": "vpce-remediator"} in ep["Tags"]
    s3 = svc["s3"][0]
    assert s3["VpcEndpointType"] == "Gateway" and s3["RouteTableIds"] == [net["rtb"]]
    own_sg = aws.client("ec2", region_name=REGION).describe_security_groups(
        GroupIds=[svc["logs"][0]["Groups"][0]["GroupId"]])["SecurityGroups"][0]
    assert all(r.get("CidrIp") != "0.0.0.0/0" for p in own_sg["IpPermissions"] for r in p.get("IpRanges", []))
    assert first.clients.calls["ec2.CreateVpcEndpoint"] == 6
    assert first.clients.calls["ec2.DescribeVpcEndpointServices"] == 1  # every offer in one call
    assert first.clients.calls["ec2.CreateSecurityGroup"] == 1

    second = run(event, "remediate")

    assert second.result["status"] == "compliant"
    assert second.writes == []
    assert second.result["actions"] == [] and second.result["findings"] == []
    assert len(endpoints(aws, net["vpc"])) == 6
    assert {r["status"] for r in second.result["required"]} == {"present"}


def test_required_services_carry_full_names_and_reasons(aws: Any) -> None:
    _, event = _fargate_web(aws)

    result = run(event, "report").result

    required = {r["service"]: r for r in result["required"]}
    assert set(required) == {PREFIX + s for s in FARGATE_SET}
    assert required[PREFIX + "ecr.dkr"]["type"] == "Interface"
    assert required[PREFIX + "s3"]["type"] == "Gateway"
    assert required[PREFIX + "ecr.dkr"]["reasons"] == [f"container web: image {ECR}/web:1.4"]
    assert required[PREFIX + "ssm"]["reasons"] == [f"container web: secret {PARAM}"]


def test_report_mode_changes_nothing_and_says_how_to_fix(aws: Any) -> None:
    net, event = _fargate_web(aws)

    r = run(event, "report")

    assert r.result["status"] == "non_compliant"
    assert r.writes == []
    assert endpoints(aws, net["vpc"]) == []
    assert {a["status"] for a in r.result["actions"]} == {"planned"}
    problems = [f["problem"] for f in r.result["findings"]]
    assert problems.count("endpoint-missing") == 5 and "gateway-endpoint-missing" in problems
    dkr = next(f for f in r.result["findings"] if f.get("service") == PREFIX + "ecr.dkr")
    (command,) = dkr["fix"]
    assert command.startswith(f"aws ec2 create-vpc-endpoint --region {REGION} --vpc-id {net['vpc']} "
                              "--vpc-endpoint-type Interface --service-name com.amazonaws.us-east-1.ecr.dkr")
    assert f"--subnet-ids {' '.join(net['subnets'])}" in command  # one per AZ, in AZ order
    assert "--private-dns-enabled" in command
    s3 = next(f for f in r.result["findings"] if f["problem"] == "gateway-endpoint-missing")
    assert f"--route-table-ids {net['rtb']}" in s3["fix"][0]


def test_ec2_launch_type_service_with_exec_needs_ecs_endpoints_and_ssmmessages(aws: Any) -> None:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.30.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "api", [container("api", f"{ECR}/api:2")], "EC2")
    arn = create_service(ecs, "prod", "api", td, net, "EC2", exec_=True)
    event = load_event("ecs-CreateService-ec2-exec", {
        "detail.requestParameters.networkConfiguration.awsvpcConfiguration.subnets": net["subnets"],
        "detail.responseElements.service.serviceArn": arn})

    r = run(event, "remediate")

    assert r.result["status"] == "remediated"
    assert set(by_service(endpoints(aws, net["vpc"]))) == {
        "ecr.api", "ecr.dkr", "s3", "logs", "ecs", "ecs-agent", "ecs-telemetry", "ssmmessages"}
    assert r.result["workloads"][0]["launch_type"] == "EC2"


def test_foreign_endpoint_is_reported_never_touched_or_duplicated(aws: Any) -> None:
    net, event = _fargate_web(aws)
    ec2 = aws.client("ec2", region_name=REGION)
    closed = ec2.create_security_group(GroupName="legacy-endpoints", Description="x", VpcId=net["vpc"])["GroupId"]
    foreign = ec2.create_vpc_endpoint(
        VpcId=net["vpc"], ServiceName=PREFIX + "ecr.dkr", VpcEndpointType="Interface",
        SubnetIds=[net["subnets"][0]], SecurityGroupIds=[closed], PrivateDnsEnabled=False)["VpcEndpoint"]

    r = run(event, "remediate")

    dkr = by_service(endpoints(aws, net["vpc"]))["ecr.dkr"]
    assert [e["VpcEndpointId"] for e in dkr] == [foreign["VpcEndpointId"]]
    assert sorted(dkr[0]["SubnetIds"]) == [net["subnets"][0]]
    assert r.clients.calls["ec2.ModifyVpcEndpoint"] == 0
    assert r.result["status"] == "non_compliant"
    findings = {f["problem"]: f for f in r.result["findings"]}
    assert findings["private-dns-off"]["fix"] == [
        f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id {foreign['VpcEndpointId']} "
        "--private-dns-enabled"]
    assert findings["endpoint-missing-az"]["resource_id"] == foreign["VpcEndpointId"]
    assert net["subnets"][1] in findings["endpoint-missing-az"]["fix"][0]
    sg = findings["endpoint-sg-closed"]
    assert sg["resource_type"] == "AWS::EC2::SecurityGroup" and sg["resource_id"] == closed
    assert sg["fix"] == [f"aws ec2 authorize-security-group-ingress --region {REGION} --group-id {closed} "
                         f"--ip-permissions '[{{\"IpProtocol\":\"tcp\",\"FromPort\":443,\"ToPort\":443,"
                         f"\"UserIdGroupPairs\":[{{\"GroupId\":\"{net['sg']}\"}}]}}]'"]


def test_nat_routed_subnets_are_not_enforced_by_default(aws: Any) -> None:
    net, event = _fargate_web(aws, nat=True)

    r = run(event, "remediate")

    assert r.result["status"] == "compliant"
    assert r.writes == [] and endpoints(aws, net["vpc"]) == []
    assert {x["status"] for x in r.result["required"]} == {"not-enforced"}
    (note,) = [n for n in r.result["notes"] if n.startswith("not enforced")]
    assert "NAT" in note and "$" in note

    enforced = run(event, "remediate", enforce_on_nat_routed=True)

    assert enforced.result["status"] == "remediated"
    assert set(by_service(endpoints(aws, net["vpc"]))) == FARGATE_SET


def test_dns_hostnames_off_reports_the_attribute_and_creates_no_interface_endpoint(aws: Any) -> None:
    net, event = _fargate_web(aws, dns_hostnames=False)

    r = run(event, "remediate")

    assert set(by_service(endpoints(aws, net["vpc"]))) == {"s3"}  # a gateway needs no DNS
    (dns,) = [f for f in r.result["findings"] if f["problem"] == "vpc-dns-hostnames-off"]
    assert dns["fix"] == [f"aws ec2 modify-vpc-attribute --region {REGION} --vpc-id {net['vpc']} "
                          "--enable-dns-hostnames Value=true"]
    assert r.result["status"] == "non_compliant"


def test_create_subnet_extends_owned_endpoints_to_the_new_az_and_route_table(aws: Any) -> None:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.40.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")])
    arn = create_service(ecs, "prod", "web", td, net, "FARGATE")
    assert run(load_event("ecs-CreateService", {
        "detail.requestParameters.networkConfiguration.awsvpcConfiguration.subnets": net["subnets"],
        "detail.responseElements.service.serviceArn": arn}), "remediate").result["status"] == "remediated"
    new = ec2.create_subnet(VpcId=net["vpc"], CidrBlock="10.40.9.0/24", AvailabilityZone=REGION + "c")["Subnet"]
    new_rtb = ec2.create_route_table(VpcId=net["vpc"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=new_rtb, SubnetId=new["SubnetId"])

    r = run(load_event("ec2-CreateSubnet", {"detail.responseElements.subnet.subnetId": new["SubnetId"],
                                            "detail.responseElements.subnet.vpcId": net["vpc"]}), "remediate")

    assert r.result["status"] == "remediated"
    svc = by_service(endpoints(aws, net["vpc"]))
    assert set(svc) == {"ecr.api", "ecr.dkr", "s3", "logs"}
    for name in ("ecr.api", "ecr.dkr", "logs"):
        assert new["SubnetId"] in svc[name][0]["SubnetIds"]
    assert sorted(svc["s3"][0]["RouteTableIds"]) == sorted([net["rtb"], new_rtb])
    assert r.clients.calls["ec2.CreateVpcEndpoint"] == 0
    again = run(load_event("ec2-CreateSubnet", {"detail.responseElements.subnet.subnetId": new["SubnetId"],
                                                "detail.responseElements.subnet.vpcId": net["vpc"]}), "remediate")
    assert again.result["status"] == "compliant" and again.writes == []


def test_create_subnet_in_a_vpc_without_workloads_is_ignored(aws: Any) -> None:
    ec2 = aws.client("ec2", region_name=REGION)
    net = private_vpc(ec2, "empty", "10.50.0.0/16", "a")

    r = run(load_event("ec2-CreateSubnet", {"detail.responseElements.subnet.subnetId": net["subnets"][0],
                                            "detail.responseElements.subnet.vpcId": net["vpc"]}), "remediate")

    assert r.result["status"] == "ignored"
    assert "no ECS service" in r.result["reason"]
    assert r.writes == []


def test_vpc_tags_choose_the_mode(aws: Any) -> None:
    net, event = _fargate_web(aws)
    ec2 = aws.client("ec2", region_name=REGION)

    def tag(value: str) -> None:
        ec2.create_tags(Resources=[net["vpc"]], Tags=[{"Key": "vpce-remediator:mode", "Value": value}])

    tag("ignore")
    ignored = run(event, "remediate")
    assert ignored.result["status"] == "ignored" and "ignore" in ignored.result["reason"]
    assert ignored.writes == []

    tag("report")
    reported = run(event, "remediate")
    assert reported.result["status"] == "non_compliant" and reported.writes == []

    opt_in_untagged = run(event, "opt-in")
    assert opt_in_untagged.writes == [] and opt_in_untagged.result["mode"] == "report"

    tag("remediate")
    opted_in = run(event, "opt-in")
    assert opted_in.result["status"] == "remediated"
    assert set(by_service(endpoints(aws, net["vpc"]))) == FARGATE_SET


def test_excluded_vpc_is_not_evaluated(aws: Any) -> None:
    net, event = _fargate_web(aws)

    r = run(event, "remediate", excluded_vpcs=frozenset({net["vpc"]}))

    assert r.result["status"] == "ignored" and r.writes == []
    assert r.clients.total_calls <= 3  # task definition, subnets, the VPC itself: nothing more


def test_public_image_is_a_finding_with_a_pull_through_cache_fix(aws: Any) -> None:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.60.0.0/16", "a")
    td = register_task_definition(ecs, "edge", [container("edge", "public.ecr.aws/nginx/nginx:1.27")])

    r = run(run_task_event(net, td), "remediate")

    (finding,) = [f for f in r.result["findings"] if f["problem"] == "public-registry-image"]
    assert finding["resource_type"] == "AWS::ECS::TaskDefinition"
    assert finding["fix"] == [f"aws ecr create-pull-through-cache-rule --region {REGION} "
                              "--ecr-repository-prefix ecr-public --upstream-registry-url public.ecr.aws"]
    assert set(by_service(endpoints(aws, net["vpc"]))) == {"logs"}  # no ECR endpoints for a public image


def test_create_cluster_without_capacity_providers_is_ignored(aws: Any) -> None:
    r = run(load_event("ecs-CreateCluster"), "remediate")

    assert r.result["status"] == "ignored"
    assert "no EC2 capacity providers" in r.result["reason"]
    assert r.clients.total_calls == 0


def test_create_cluster_with_an_asg_capacity_provider_covers_its_subnets(aws: Any) -> None:
    net = asg_capacity_provider(aws, "ec2", "10.70.0.0/16")

    r = run(load_event("ecs-CreateCluster-capacity-providers"), "remediate")

    assert r.result["status"] == "remediated"
    assert set(by_service(endpoints(aws, net["vpc"]))) == {"ecs", "ecs-agent", "ecs-telemetry"}


def test_capacity_providers_put_on_a_cluster_later_cover_their_subnets(aws: Any) -> None:
    """The console's CreateCluster carries `capacityProviders: []`; the providers come with
    PutClusterCapacityProviders, whose record is evaluated as CreateCluster's would be."""
    net = asg_capacity_provider(aws, "ec2", "10.71.0.0/16")
    ecs = aws.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="prod")
    assert run(load_event("ecs-CreateCluster"), "remediate").result["status"] == "ignored"
    strategy = [{"capacityProvider": "prod-ec2-asg", "weight": 1, "base": 0}]
    ecs.put_cluster_capacity_providers(cluster="prod", capacityProviders=["prod-ec2-asg", "FARGATE"],
                                       defaultCapacityProviderStrategy=strategy)
    event = load_event("ecs-PutClusterCapacityProviders")

    report = run(event, "report")
    assert report.writes == []
    assert report.result["workloads"][0]["subnets"] == net["subnets"]
    assert {f["service"] for f in report.result["findings"] if f["problem"] == "endpoint-missing"} == {
        PREFIX + s for s in ("ecs", "ecs-agent", "ecs-telemetry")}

    assert run(event, "remediate").result["status"] == "remediated"
    assert set(by_service(endpoints(aws, net["vpc"]))) == {"ecs", "ecs-agent", "ecs-telemetry"}
    assert run(event, "remediate").result["status"] == "compliant"


def test_capacity_providers_put_to_fargate_only_are_ignored(aws: Any) -> None:
    r = run(load_event("ecs-PutClusterCapacityProviders", {
        "detail.requestParameters.capacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "detail.responseElements.cluster.capacityProviders": ["FARGATE", "FARGATE_SPOT"]}), "remediate")

    assert r.result["status"] == "ignored"
    assert "no EC2 capacity providers" in r.result["reason"]
    assert r.clients.total_calls == 0


def test_json_contract_keys(aws: Any) -> None:
    _, event = _fargate_web(aws)

    result = json.loads(json.dumps(run(event, "report").result))

    assert {"status", "required", "actions", "findings"} <= set(result)
    assert set(result["required"][0]) >= {"service", "type", "reasons"}
    assert set(result["actions"][0]) >= {"action", "service", "resource_id", "status"}
    assert set(result["findings"][0]) >= {"resource_type", "resource_id", "problem", "summary", "fix"}
    assert all(isinstance(c, str) for f in result["findings"] for c in f["fix"])


@pytest.fixture
def region_without_xray(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto offers every service in every region; here the region does not offer X-Ray, as some
    regions lack a service: DescribeVpcEndpointServices then answers InvalidServiceName for it."""
    from moto.ec2.models import vpcs

    aws.client("ec2", region_name=REGION).describe_vpc_endpoint_services()  # moto builds its catalogue
    catalogue = vpcs.DEFAULT_VPC_ENDPOINT_SERVICES[REGION]
    monkeypatch.setitem(vpcs.DEFAULT_VPC_ENDPOINT_SERVICES, REGION,
                        [s for s in catalogue if s["ServiceName"] != PREFIX + "xray"])
    return PREFIX + "xray"


def test_a_service_the_region_does_not_offer_leaves_the_others_fixed(aws: Any, region_without_xray: str) -> None:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.20.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1"),
                                               container("xray", f"{ECR}/aws-xray-daemon:3.3")])

    first = run(run_task_event(net, td), "remediate")

    # The endpoints the region offers are made; X-Ray, which it does not, is a finding that says so.
    assert set(by_service(endpoints(aws, net["vpc"]))) == {"ecr.api", "ecr.dkr", "logs", "s3"}
    assert first.result["status"] == "non_compliant"
    (finding,) = [f for f in first.result["findings"] if f["problem"] == "service-not-offered"]
    assert finding["service"] == region_without_xray
    assert finding["summary"].startswith(f"{region_without_xray} is not offered in this region ({REGION})")
    assert {r["service"]: r["status"] for r in first.result["required"]}[region_without_xray] == "unavailable"
    # One call for the four interface services fails on X-Ray, then one call per service.
    assert first.clients.calls["ec2.DescribeVpcEndpointServices"] == 1 + 4

    second = run(run_task_event(net, td), "remediate")

    assert second.writes == []
    assert [f["problem"] for f in second.result["findings"]] == ["service-not-offered"]
    assert second.clients.calls["ec2.DescribeVpcEndpointServices"] == 1  # X-Ray alone: its one refusal


def test_a_launch_into_subnets_deleted_since_is_ignored_with_why_and_no_write(aws: Any) -> None:
    """CloudTrail delivers minutes after the call; the subnets may be gone by then. The record must
    end, not fail again and again into the dead-letter queue."""
    net, event = _fargate_web(aws)
    ec2 = aws.client("ec2", region_name=REGION)
    for subnet in net["subnets"]:
        ec2.delete_subnet(SubnetId=subnet)

    done = run(event, "remediate")

    assert done.result["status"] == "ignored"
    assert done.result["reason"] == f"none of its subnets ({', '.join(sorted(net['subnets']))}) exists any more"
    assert done.writes == []
    assert endpoints(aws, net["vpc"]) == []


def test_a_service_event_for_a_cluster_deleted_since_is_ignored_with_why(aws: Any) -> None:
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/gone"
    event = load_event("ecs-CreateService", {"detail.requestParameters.cluster": cluster,
                                             "detail.responseElements.service.clusterArn": cluster,
                                             "detail.responseElements.service.serviceArn":
                                                 f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/gone/web"})

    done = run(event, "remediate")

    assert (done.result["status"], done.result["reason"]) == ("ignored", f"cluster {cluster} not found (deleted?)")
    assert done.writes == []


def test_a_vpc_needing_six_interface_endpoints_with_a_cap_of_four_gets_four_then_nothing_more(aws: Any) -> None:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.20.0.0/16", "ab")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")])
    event = run_task_event(net, td, launch="EC2")  # ECR, logs and the three ECS agent endpoints

    first = run(event, "remediate", max_endpoints_per_vpc=4)

    made = by_service(endpoints(aws, net["vpc"]))
    interfaces = sorted(s for s, eps in made.items() if eps[0]["VpcEndpointType"] == "Interface")
    # in planning order: ECS's three as the ECS guide lists them (ecs-agent, ecs-telemetry, ecs)
    assert interfaces == ["ecr.api", "ecr.dkr", "ecs-agent", "ecs-telemetry"] and "s3" in made
    [cap] = [f for f in first.result["findings"] if f["problem"] == "endpoint-cap-reached"]
    assert "2 interface endpoint(s) not created" in cap["summary"] and "ecs, logs" in cap["summary"]
    assert "$29.20/month" in cap["summary"]

    second = run(event, "remediate", max_endpoints_per_vpc=4)

    assert second.writes == []
    assert [f["problem"] for f in second.result["findings"]] == ["endpoint-cap-reached"]
    assert len(endpoints(aws, net["vpc"])) == 5
