"""Drift: someone undoes the wiring. Report mode says so with the fix; remediate mode restores what
the tool owns; the tool's own calls coming back change nothing. Each drift sample in events/ is
replayed in both modes against the real change made in moto."""
from __future__ import annotations

import json
from typing import Any

import pytest
from account import (
    ECR,
    PREFIX,
    REGION,
    asg_capacity_provider,
    bridge_service,
    by_service,
    container,
    create_service,
    endpoints,
    private_vpc,
    register_task_definition,
    run,
    sg_allows_443,
)

from vpce_remediator.samples import load_event

SAMPLE = {"vpc": "vpc-0a1b2c3d4e5f60001", "a": "subnet-0a1b2c3d4e5f60011", "b": "subnet-0a1b2c3d4e5f60012",
          "own_sg": "sg-0a1b2c3d4e5f60031", "dkr": "vpce-0a1b2c3d4e5f60041", "new_rtb": "rtb-0a1b2c3d4e5f60052",
          "assoc": "rtbassoc-0a1b2c3d4e5f60061"}
OWN_ROLE = "arn:aws:iam::123456789012:role/vpce-remediator-FunctionRole-1A2B3C"


def retarget(sample: str, ids: dict[str, str]) -> dict[str, Any]:
    """The sample with its placeholder ids replaced by the moto account's real ones."""
    text = json.dumps(load_event(sample))
    for key, real in ids.items():
        text = text.replace(SAMPLE[key], real)
    return json.loads(text)


@pytest.fixture
def wired(aws: Any) -> dict[str, Any]:
    """A remediated VPC: a Fargate service and the four endpoints it needs, made by the tool."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.20.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")])
    arn = create_service(ecs, "prod", "web", td, net, "FARGATE")
    assert run(load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": arn}),
               "remediate").result["status"] == "remediated"
    svc = by_service(endpoints(aws, net["vpc"]))
    own_sg = svc["logs"][0]["Groups"][0]["GroupId"]
    return {**net, "ec2": ec2, "svc": svc, "ids": {
        "vpc": net["vpc"], "a": net["subnets"][0], "b": net["subnets"][1], "own_sg": own_sg,
        "dkr": svc["ecr.dkr"][0]["VpcEndpointId"]}}


def test_a_deleted_endpoint_is_reported_or_recreated(aws: Any, wired: dict[str, Any]) -> None:
    wired["ec2"].delete_vpc_endpoints(VpcEndpointIds=[wired["ids"]["dkr"]])
    event = retarget("ec2-DeleteVpcEndpoints", wired["ids"])

    report = run(event, "report")
    assert report.writes == [] and report.result["status"] == "non_compliant"
    assert [f["service"] for f in report.result["findings"] if f["problem"] == "endpoint-missing"] == [
        f"com.amazonaws.{REGION}.ecr.dkr"]

    fixed = run(event, "remediate")
    assert fixed.result["status"] == "remediated"
    assert fixed.clients.calls["ec2.CreateVpcEndpoint"] == 1
    assert len(by_service(endpoints(aws, wired["vpc"]))["ecr.dkr"]) == 1


def test_a_subnet_removed_from_an_owned_endpoint_is_put_back(aws: Any, wired: dict[str, Any]) -> None:
    dkr = wired["ids"]["dkr"]
    wired["ec2"].modify_vpc_endpoint(VpcEndpointId=dkr, RemoveSubnetIds=[wired["ids"]["b"]])
    event = retarget("ec2-ModifyVpcEndpoint", wired["ids"])

    report = run(event, "report")
    (finding,) = report.result["findings"]
    assert finding["problem"] == "endpoint-missing-az" and finding["resource_id"] == dkr
    assert finding["fix"] == [f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id {dkr} "
                              f"--add-subnet-ids {wired['ids']['b']}"]

    assert run(event, "remediate").result["status"] == "remediated"
    (endpoint,) = by_service(endpoints(aws, wired["vpc"]))["ecr.dkr"]
    assert sorted(endpoint["SubnetIds"]) == sorted(wired["subnets"])


def test_dns_hostnames_turned_off_is_reported_in_both_modes(wired: dict[str, Any]) -> None:
    wired["ec2"].modify_vpc_attribute(VpcId=wired["vpc"], EnableDnsHostnames={"Value": False})
    event = retarget("ec2-ModifyVpcAttribute", wired["ids"])

    for mode in ("report", "remediate"):
        r = run(event, mode)
        assert r.writes == []  # a VPC attribute is the owner's call, never ours
        assert [f["problem"] for f in r.result["findings"]] == ["vpc-dns-hostnames-off"]


def test_https_revoked_on_the_own_security_group_is_restored(aws: Any, wired: dict[str, Any]) -> None:
    sg = wired["ids"]["own_sg"]
    wired["ec2"].revoke_security_group_ingress(GroupId=sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}])
    event = retarget("ec2-RevokeSecurityGroupIngress", wired["ids"])

    report = run(event, "report")
    assert report.writes == []
    assert [(f["problem"], f["resource_id"]) for f in report.result["findings"]] == [("endpoint-sg-closed", sg)]

    assert run(event, "remediate").result["status"] == "remediated"
    rules = wired["ec2"].describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"]
    assert any(p.get("FromPort") == 443 and any(r["CidrIp"] == "10.20.0.0/16" for r in p["IpRanges"])
               for p in rules)


def test_https_narrowed_to_loopback_on_the_own_security_group_is_restored(aws: Any, wired: dict[str, Any]) -> None:
    """ModifySecurityGroupRules edits the rule in place: 443 from the VPC becomes 443 from 127.0.0.1/32
    (a real record does this), which closes the endpoints as surely as a revoke."""
    ec2, sg = wired["ec2"], wired["ids"]["own_sg"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg]}])["SecurityGroupRules"]
    (https,) = [r for r in rules if not r["IsEgress"] and r.get("FromPort") == 443]
    ec2.modify_security_group_rules(GroupId=sg, SecurityGroupRules=[{
        "SecurityGroupRuleId": https["SecurityGroupRuleId"], "SecurityGroupRule": {
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv4": "127.0.0.1/32"}}])
    assert not sg_allows_443(aws, [sg], "10.20.0.0/16")
    event = retarget("ec2-ModifySecurityGroupRules", wired["ids"])

    report = run(event, "report")
    assert report.writes == []
    assert [(f["problem"], f["resource_id"]) for f in report.result["findings"]] == [("endpoint-sg-closed", sg)]

    fixed = run(event, "remediate")
    assert fixed.result["status"] == "remediated"
    assert [w for w in fixed.writes if w.startswith("ec2.")] == ["ec2.AuthorizeSecurityGroupIngress"]
    assert sg_allows_443(aws, [sg], "10.20.0.0/16")
    assert run(event, "remediate").result["status"] == "compliant"  # restored once, then nothing to do


def test_https_narrowed_on_someone_elses_endpoint_group_is_reported_never_changed(aws: Any) -> None:
    """The tool restores only what it owns: a team's own endpoint group, narrowed, is a finding."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "team", "10.21.0.0/16", "ab")
    sg = ec2.create_security_group(GroupName="team-endpoints", Description="team endpoints",
                                   VpcId=net["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.21.0.0/16"}]}])
    for service in ("ecr.api", "ecr.dkr", "logs"):
        ec2.create_vpc_endpoint(VpcId=net["vpc"], ServiceName=PREFIX + service, VpcEndpointType="Interface",
                                SubnetIds=net["subnets"], SecurityGroupIds=[sg], PrivateDnsEnabled=True)
    ec2.create_vpc_endpoint(VpcId=net["vpc"], ServiceName=PREFIX + "s3", VpcEndpointType="Gateway",
                            RouteTableIds=[net["rtb"]])
    ecs.create_cluster(clusterName="prod")
    arn = create_service(ecs, "prod", "web", register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")]),
                         net, "FARGATE")
    launch = load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": arn})
    assert run(launch, "remediate").result["status"] == "compliant"
    (https,) = [r for r in ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg]}])[
        "SecurityGroupRules"] if not r["IsEgress"]]
    ec2.modify_security_group_rules(GroupId=sg, SecurityGroupRules=[{
        "SecurityGroupRuleId": https["SecurityGroupRuleId"], "SecurityGroupRule": {
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv4": "127.0.0.1/32"}}])

    r = run(retarget("ec2-ModifySecurityGroupRules", {"own_sg": sg}), "remediate")

    assert [w for w in r.writes if w.startswith("ec2.")] == []
    assert r.result["status"] == "non_compliant"
    assert {(f["problem"], f["resource_id"]) for f in r.result["findings"]} == {("endpoint-sg-closed", sg)}
    assert all(any(f"--group-id {sg}" in c and "authorize-security-group-ingress" in c for c in f["fix"])
               for f in r.result["findings"])
    assert not sg_allows_443(aws, [sg], "10.21.0.0/16")


@pytest.mark.parametrize("sample", ["ec2-AssociateRouteTable", "ec2-ReplaceRouteTableAssociation"])
def test_a_workload_subnet_moved_to_a_new_route_table_gets_the_s3_gateway(
        aws: Any, wired: dict[str, Any], sample: str) -> None:
    ec2 = wired["ec2"]
    new_rtb = ec2.create_route_table(VpcId=wired["vpc"])["RouteTable"]["RouteTableId"]
    table = ec2.describe_route_tables(RouteTableIds=[wired["rtb"]])["RouteTables"][0]
    assoc = next(a["RouteTableAssociationId"] for a in table["Associations"] if a.get("SubnetId") == wired["ids"]["b"])
    if sample == "ec2-AssociateRouteTable":
        ec2.disassociate_route_table(AssociationId=assoc)
        assoc = ec2.associate_route_table(RouteTableId=new_rtb, SubnetId=wired["ids"]["b"])["AssociationId"]
    else:
        assoc = ec2.replace_route_table_association(AssociationId=assoc, RouteTableId=new_rtb)["NewAssociationId"]
    event = retarget(sample, {**wired["ids"], "new_rtb": new_rtb, "assoc": assoc})

    report = run(event, "report")
    assert report.writes == []
    (finding,) = report.result["findings"]
    assert finding["problem"] == "s3-gateway-missing-route-table" and new_rtb in finding["fix"][0]

    assert run(event, "remediate").result["status"] == "remediated"
    (s3,) = by_service(endpoints(aws, wired["vpc"]))["s3"]
    assert sorted(s3["RouteTableIds"]) == sorted([wired["rtb"], new_rtb])


def test_a_new_unused_route_table_changes_nothing(wired: dict[str, Any]) -> None:
    new_rtb = wired["ec2"].create_route_table(VpcId=wired["vpc"])["RouteTable"]["RouteTableId"]
    event = retarget("ec2-CreateRouteTable", {**wired["ids"], "new_rtb": new_rtb})

    for mode in ("report", "remediate"):
        r = run(event, mode)
        assert r.result["status"] == "compliant" and r.writes == []


@pytest.mark.parametrize("sample", ["ec2-CreateVpcEndpoint-own", "ec2-CreateSecurityGroup-own",
                                    "ec2-AuthorizeSecurityGroupIngress-own", "ec2-ModifyVpcEndpoint-own",
                                    "ec2-CreateTags-own"])
def test_the_tools_own_calls_coming_back_make_no_write(aws: Any, wired: dict[str, Any], sample: str) -> None:
    # Leave something to fix, so that evaluating would write: only dropping the event keeps it quiet.
    wired["ec2"].delete_vpc_endpoints(VpcEndpointIds=[wired["ids"]["dkr"]])
    event = retarget(sample, wired["ids"])

    r = run(event, "remediate", own_role_arn=OWN_ROLE)

    assert r.result["status"] == "ignored"
    assert r.writes == [] and r.clients.total_calls == 0


def test_an_endpoint_ec2_no_longer_describes_is_found_in_the_tools_own_record(aws: Any) -> None:
    import boto3

    from vpce_remediator.aws import Clients
    from vpce_remediator.engine import Settings, evaluate_event
    from vpce_remediator.lock import VpcLock

    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    aws.client("dynamodb", region_name=REGION).create_table(
        TableName="state", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    net = private_vpc(ec2, "app", "10.20.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    arn = create_service(ecs, "prod", "web", register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")]),
                         net, "FARGATE")
    made = Clients(region=REGION)
    evaluate_event(load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": arn}), made,
                   Settings(mode="remediate"), VpcLock(made.dynamodb, "state"))
    dkr = by_service(endpoints(aws, net["vpc"]))["ecr.dkr"][0]["VpcEndpointId"]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[dkr])

    forgetful = Clients(region=REGION, session=boto3.session.Session(region_name=REGION))
    by_id = {"asked": False}
    forgetful.session.events.register("provide-client-params.ec2.DescribeVpcEndpoints",
                                      lambda params, **_: by_id.update(asked="VpcEndpointIds" in params))

    def not_found(**_: Any) -> Any:  # EC2 has forgotten the deleted endpoint
        if by_id["asked"]:
            return type("Http", (), {"status_code": 400, "headers": {}, "text": "", "content": b""})(), {
                "Error": {"Code": "InvalidVpcEndpointId.NotFound", "Message": "gone"},
                "ResponseMetadata": {"HTTPStatusCode": 400}}
        return None

    forgetful.session.events.register("before-call.ec2.DescribeVpcEndpoints", not_found)
    event = retarget("ec2-DeleteVpcEndpoints", {"dkr": dkr})

    result = evaluate_event(event, forgetful, Settings(mode="remediate"), VpcLock(forgetful.dynamodb, "state"))

    assert result.to_dict()["status"] == "remediated"
    assert len(by_service(endpoints(aws, net["vpc"]))["ecr.dkr"]) == 1


def test_drift_in_a_vpc_running_only_a_standalone_task_restores_what_the_task_needs(aws: Any) -> None:
    """A batch job started by RunTask has no service: a drift must still count what it needs."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "batch", "10.30.0.0/16", "ab")
    ecs.create_cluster(clusterName="jobs")
    td = register_task_definition(ecs, "job", [container("job", f"{ECR}/job:1")])
    ecs.run_task(cluster="jobs", taskDefinition=td, launchType="FARGATE", networkConfiguration={
        "awsvpcConfiguration": {"subnets": net["subnets"], "securityGroups": [net["sg"]]}})
    launch = load_event("ecs-RunTask", {
        "detail.requestParameters.networkConfiguration.awsvpcConfiguration.subnets": net["subnets"],
        "detail.requestParameters.networkConfiguration.awsvpcConfiguration.securityGroups": [net["sg"]],
        "detail.requestParameters.taskDefinition": "job:1",
        "detail.responseElements.tasks.0.taskDefinitionArn": td})
    assert run(launch, "remediate").result["status"] == "remediated"
    dkr = by_service(endpoints(aws, net["vpc"]))["ecr.dkr"][0]["VpcEndpointId"]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[dkr])

    fixed = run(retarget("ec2-DeleteVpcEndpoints", {"dkr": dkr, "vpc": net["vpc"]}), "remediate")

    assert fixed.result["status"] == "remediated"
    assert [w["kind"] for w in fixed.result["workloads"]] == ["task"]
    svc = by_service(endpoints(aws, net["vpc"]))
    assert len(svc["ecr.dkr"]) == 1 and svc["ecr.dkr"][0]["VpcEndpointId"] != dkr


# --- reasons that say what happened, and workloads that belong to one VPC only ------------------------------


def test_a_drift_naming_a_vpc_that_is_gone_says_the_vpc_is_gone(aws: Any) -> None:
    ec2 = aws.client("ec2", region_name=REGION)
    gone = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    ec2.delete_vpc(VpcId=gone)

    r = run(retarget("ec2-ModifyVpcAttribute", {"vpc": gone}), "remediate")

    assert r.result["status"] == "ignored" and r.writes == []
    assert f"VPC {gone} no longer exists" in r.result["reason"]
    assert "hosts no ECS service" not in r.result["reason"]


def test_a_drift_in_a_vpc_without_workloads_says_so(aws: Any) -> None:
    empty = private_vpc(aws.client("ec2", region_name=REGION), "empty", "10.98.0.0/16", "a")

    r = run(retarget("ec2-ModifyVpcAttribute", {"vpc": empty["vpc"]}), "remediate")

    assert r.result["status"] == "ignored"
    assert f"{empty['vpc']}, which hosts no ECS service" in r.result["reason"]


def _revoke_by_name(name: str) -> dict[str, Any]:
    """RevokeSecurityGroupIngress naming its group by `groupName` only, as the EC2 API allows in the default VPC."""
    event = load_event("ec2-RevokeSecurityGroupIngress", {"detail.requestParameters.groupName": name})
    del event["detail"]["requestParameters"]["groupId"]
    del event["detail"]["responseElements"]["revokedSecurityGroupRuleSet"]
    return event


def test_a_group_named_by_name_is_found_by_name_in_the_default_vpc(aws: Any, wired: dict[str, Any]) -> None:
    """The tool's group has the same name in every VPC it serves; a call naming it by name alone
    means the default VPC's, and that VPC is the one judged and restored."""
    ec2, ecs = wired["ec2"], aws.client("ecs", region_name=REGION)
    default = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=default, EnableDnsHostnames={"Value": True})
    rtb = ec2.create_route_table(VpcId=default)["RouteTable"]["RouteTableId"]  # no way out: private
    private = [ec2.create_subnet(VpcId=default, CidrBlock=f"172.31.{200 + i}.0/24",
                                 AvailabilityZone=REGION + az)["Subnet"]["SubnetId"] for i, az in enumerate("ab")]
    for subnet in private:
        ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)
    tasks = ec2.create_security_group(GroupName="jobs-tasks", Description="tasks", VpcId=default)["GroupId"]
    ecs.create_cluster(clusterName="jobs")
    arn = create_service(ecs, "jobs", "job", register_task_definition(ecs, "job", [container("job", f"{ECR}/job:1")]),
                         {"subnets": private, "sg": tasks}, "FARGATE")
    assert run(load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": arn,
                                                "detail.responseElements.service.clusterArn": "jobs"}),
               "remediate").result["status"] == "remediated"
    own = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["vpce-remediator-endpoints"]}])[
        "SecurityGroups"]
    assert sorted(g["VpcId"] for g in own) == sorted([default, wired["vpc"]])  # one name, two VPCs
    sg = next(g["GroupId"] for g in own if g["VpcId"] == default)
    ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "172.31.0.0/16"}]}])

    r = run(_revoke_by_name("vpce-remediator-endpoints"), "remediate")

    assert r.result["status"] == "remediated"
    assert {e["vpc_id"] for e in r.result["required"]} == {default}
    assert [w["name"] for w in r.result["workloads"]] == ["job"]
    assert sg_allows_443(aws, [sg], "172.31.0.0/16")


def test_a_group_named_by_a_name_no_group_has_says_so(aws: Any, wired: dict[str, Any]) -> None:
    r = run(_revoke_by_name("web-endpoints"), "remediate")

    assert r.result["status"] == "ignored" and r.writes == []
    assert "security group 'web-endpoints' is named by name only" in r.result["reason"]
    assert "default VPC holds no group of that name" in r.result["reason"]


def test_a_bridge_mode_service_placed_nowhere_is_no_workload_of_the_drifted_vpc(aws: Any, wired: dict[str, Any]) -> None:
    """A bridge-mode service has no awsvpc subnets; with no capacity provider to place it, it runs in
    no VPC the tool can name, and must not be listed as a workload of every VPC that drifts."""
    ecs = aws.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="legacy")
    bridge_service(ecs, "legacy", "old-api", f"{ECR}/old-api:1")
    wired["ec2"].delete_vpc_endpoints(VpcEndpointIds=[wired["ids"]["dkr"]])

    r = run(retarget("ec2-DeleteVpcEndpoints", wired["ids"]), "report")

    assert [w["name"] for w in r.result["workloads"]] == ["web"]


def test_a_bridge_mode_service_belongs_to_the_vpc_of_its_clusters_instances(aws: Any, wired: dict[str, Any]) -> None:
    ecs = aws.client("ecs", region_name=REGION)
    hosts = asg_capacity_provider(aws, "hosts", "10.22.0.0/16", "legacy-asg")
    ecs.create_cluster(clusterName="legacy", capacityProviders=["legacy-asg"])
    bridge_service(ecs, "legacy", "old-api", f"{ECR}/old-api:1")

    elsewhere = run(retarget("ec2-ModifyVpcAttribute", wired["ids"]), "report")
    at_home = run(retarget("ec2-ModifyVpcAttribute", {"vpc": hosts["vpc"]}), "report")

    assert [w["name"] for w in elsewhere.result["workloads"]] == ["web"]
    (old_api,) = at_home.result["workloads"]
    assert (old_api["name"], old_api["subnets"]) == ("old-api", hosts["subnets"])
    assert {f["service"] for f in at_home.result["findings"] if f["problem"] == "endpoint-missing"} >= {
        PREFIX + s for s in ("ecs", "ecs-agent", "ecs-telemetry", "ecr.dkr")}
