"""Tag trust (issue 11): the tool owns what it recorded making, never what merely carries its tag
or its group's name. Forged claims are reported, never modified, attached or opened."""
from __future__ import annotations

from typing import Any

from account import (
    ECR,
    PREFIX,
    REGION,
    STATE_TABLE,
    by_service,
    container,
    endpoints,
    private_vpc,
    register_task_definition,
    run,
    run_task_event,
)

from vpce_remediator.facts import OWN_SG_DESCRIPTION, OWN_SG_NAME

OWNER = [{"Key": "managed-by", "Value": "vpce-remediator"}]


def _web(aws: Any, azs: str = "ab") -> tuple[Any, dict[str, Any], dict[str, Any]]:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.30.0.0/16", azs)
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")])
    return ec2, net, run_task_event(net, td)


def _group(ec2: Any, group_id: str) -> dict[str, Any]:
    return ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]


def _record(aws: Any, vpc: str) -> dict[str, Any]:
    return aws.client("dynamodb", region_name=REGION).get_item(
        TableName=STATE_TABLE, Key={"id": {"S": f"owned#{vpc}"}}).get("Item", {})


def _named(ec2: Any, vpc: str) -> list[dict[str, Any]]:
    return ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                 {"Name": "group-name", "Values": [OWN_SG_NAME]}])["SecurityGroups"]


def test_a_forged_owner_tag_on_an_application_group_gets_it_neither_opened_nor_attached(aws: Any) -> None:
    ec2, net, event = _web(aws)
    payments = ec2.create_security_group(GroupName="payments-db", Description="payments database",
                                         VpcId=net["vpc"], TagSpecifications=[
                                             {"ResourceType": "security-group", "Tags": OWNER}])["GroupId"]

    first = run(event, "remediate")

    assert _group(ec2, payments)["IpPermissions"] == []
    eps = endpoints(aws, net["vpc"])
    assert eps and all(payments not in [g["GroupId"] for g in e.get("Groups", [])] for e in eps)
    [own] = _named(ec2, net["vpc"])
    assert own["GroupId"] != payments and own["Description"] == OWN_SG_DESCRIPTION
    assert all(e["Groups"][0]["GroupId"] == own["GroupId"] for e in eps if e["VpcEndpointType"] == "Interface")
    record = _record(aws, net["vpc"])
    assert record["security_group"]["S"] == own["GroupId"]
    assert set(record["endpoints"]["SS"]) == {e["VpcEndpointId"] for e in eps}
    assert first.result["status"] == "remediated"

    second = run(event, "remediate")

    assert second.writes == [] and second.result["status"] == "compliant"
    assert _group(ec2, payments)["IpPermissions"] == []


def test_a_forged_owner_tag_on_a_foreign_endpoint_gets_it_reported_not_modified(aws: Any) -> None:
    ec2, net, event = _web(aws)
    theirs = ec2.create_security_group(GroupName="theirs", Description="x", VpcId=net["vpc"])["GroupId"]
    forged = ec2.create_vpc_endpoint(
        VpcId=net["vpc"], ServiceName=PREFIX + "ecr.dkr", VpcEndpointType="Interface",
        SubnetIds=[net["subnets"][0]], SecurityGroupIds=[theirs], PrivateDnsEnabled=True,
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": OWNER}])["VpcEndpoint"]["VpcEndpointId"]

    r = run(event, "remediate")

    [dkr] = by_service(endpoints(aws, net["vpc"]))["ecr.dkr"]
    assert dkr["VpcEndpointId"] == forged
    assert dkr["SubnetIds"] == [net["subnets"][0]] and [g["GroupId"] for g in dkr["Groups"]] == [theirs]
    assert r.clients.calls["ec2.ModifyVpcEndpoint"] == 0
    assert _group(ec2, theirs)["IpPermissions"] == []
    missing_az = [f for f in r.result["findings"] if f["problem"] == "endpoint-missing-az"]
    assert [f["resource_id"] for f in missing_az] == [forged]
    assert "not created by this tool" in missing_az[0]["summary"]
    assert forged not in _record(aws, net["vpc"]).get("endpoints", {}).get("SS", [])
    assert run(event, "remediate").writes == []


def test_what_the_tool_recorded_is_still_maintained_in_a_new_az(aws: Any) -> None:
    ec2, net, event = _web(aws)
    assert run(event, "remediate").result["status"] == "remediated"
    made = {e["VpcEndpointId"] for e in endpoints(aws, net["vpc"])}
    new = ec2.create_subnet(VpcId=net["vpc"], CidrBlock="10.30.9.0/24", AvailabilityZone=REGION + "c")["Subnet"]
    ec2.associate_route_table(RouteTableId=net["rtb"], SubnetId=new["SubnetId"])
    wider = run_task_event({**net, "subnets": [*net["subnets"], new["SubnetId"]]},
                           event["detail"]["responseElements"]["tasks"][0]["taskDefinitionArn"])

    r = run(wider, "remediate")

    assert r.result["status"] == "remediated"
    assert {e["VpcEndpointId"] for e in endpoints(aws, net["vpc"])} == made
    for e in endpoints(aws, net["vpc"]):
        if e["VpcEndpointType"] == "Interface":
            assert new["SubnetId"] in e["SubnetIds"]
    assert run(wider, "remediate").writes == []


def test_a_group_squatting_the_tools_name_is_reported_and_unblocks_once_deleted(aws: Any) -> None:
    ec2, net, event = _web(aws)
    squatter = ec2.create_security_group(GroupName=OWN_SG_NAME, Description="someone else's",
                                         VpcId=net["vpc"])["GroupId"]

    r = run(event, "remediate")

    assert _group(ec2, squatter)["IpPermissions"] == []
    assert not [e for e in endpoints(aws, net["vpc"]) if e["VpcEndpointType"] == "Interface"]
    assert r.clients.calls["ec2.CreateSecurityGroup"] == 0
    problems = {f["problem"]: f for f in r.result["findings"]}
    assert problems["endpoint-security-group-squatted"]["resource_id"] == squatter
    assert "waits for" in problems["endpoint-missing"]["summary"]
    assert any(f"delete-security-group --region {REGION} --group-id {squatter}" in c
               for c in problems["endpoint-security-group-squatted"]["fix"])

    ec2.delete_security_group(GroupId=squatter)
    fixed = run(event, "remediate")

    assert fixed.result["status"] == "remediated"
    [own] = _named(ec2, net["vpc"])
    assert _record(aws, net["vpc"])["security_group"]["S"] == own["GroupId"]


def test_a_group_with_the_tools_name_and_description_used_by_an_instance_is_refused(aws: Any) -> None:
    ec2, net, event = _web(aws)
    lookalike = ec2.create_security_group(GroupName=OWN_SG_NAME, Description=OWN_SG_DESCRIPTION, VpcId=net["vpc"],
                                          TagSpecifications=[{"ResourceType": "security-group", "Tags": OWNER}])
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=net["subnets"][0],
                      SecurityGroupIds=[lookalike["GroupId"]])

    for state in (True, False):
        r = run(event, "remediate", state=state)

        assert _group(ec2, lookalike["GroupId"])["IpPermissions"] == []
        assert "endpoint-security-group-squatted" in {f["problem"] for f in r.result["findings"]}
    assert "security_group" not in _record(aws, net["vpc"])


def test_an_earlier_versions_group_is_adopted_by_proof_and_its_endpoints_only_by_the_operator(aws: Any) -> None:
    from vpce_remediator.aws import Clients
    from vpce_remediator.lock import VpcLock
    from vpce_remediator.trust import adopt, adoption_candidates

    ec2, net, event = _web(aws)
    # What an earlier version left: its group and an endpoint, tagged, in no record.
    old_sg = ec2.create_security_group(GroupName=OWN_SG_NAME, Description=OWN_SG_DESCRIPTION, VpcId=net["vpc"],
                                       TagSpecifications=[{"ResourceType": "security-group", "Tags": OWNER}])["GroupId"]
    old_dkr = ec2.create_vpc_endpoint(
        VpcId=net["vpc"], ServiceName=PREFIX + "ecr.dkr", VpcEndpointType="Interface",
        SubnetIds=[net["subnets"][0]], SecurityGroupIds=[old_sg], PrivateDnsEnabled=True,
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": OWNER}])["VpcEndpoint"]["VpcEndpointId"]

    before = run(event, "remediate")

    assert _record(aws, net["vpc"])["security_group"]["S"] == old_sg  # adopted: the proof holds
    assert [f["resource_id"] for f in before.result["findings"] if f["problem"] == "endpoint-missing-az"] == [old_dkr]
    assert by_service(endpoints(aws, net["vpc"]))["ecr.dkr"][0]["SubnetIds"] == [net["subnets"][0]]

    clients = Clients(region=REGION)
    ledger = VpcLock(clients.dynamodb, STATE_TABLE)
    assert [c["endpoint_id"] for c in adoption_candidates(clients.ec2, ledger, net["vpc"])] == [old_dkr]
    adopt(ledger, net["vpc"], [old_dkr])
    assert adoption_candidates(clients.ec2, ledger, net["vpc"]) == []

    after = run(event, "remediate")

    assert after.result["status"] == "remediated"
    assert sorted(by_service(endpoints(aws, net["vpc"]))["ecr.dkr"][0]["SubnetIds"]) == sorted(net["subnets"])
    assert run(event, "remediate").writes == []


def test_without_a_state_table_the_group_is_proved_and_every_existing_endpoint_is_foreign(aws: Any) -> None:
    ec2, net, event = _web(aws)
    assert run(event, "remediate", state=False).result["status"] == "remediated"
    [own] = _named(ec2, net["vpc"])
    dkr = by_service(endpoints(aws, net["vpc"]))["ecr.dkr"][0]["VpcEndpointId"]
    ec2.modify_vpc_endpoint(VpcEndpointId=dkr, RemoveSubnetIds=[net["subnets"][1]])

    r = run(event, "remediate", state=False)

    assert r.clients.calls["ec2.CreateSecurityGroup"] == 0 and r.clients.calls["ec2.ModifyVpcEndpoint"] == 0
    assert [f["resource_id"] for f in r.result["findings"] if f["problem"] == "endpoint-missing-az"] == [dkr]
    assert _named(ec2, net["vpc"]) == [own]


def test_the_state_table_is_read_once_and_only_when_the_plan_is_not_clean(aws: Any) -> None:
    ec2, net, event = _web(aws)

    first = run(event, "remediate")
    compliant = run(event, "remediate")

    assert first.clients.calls["dynamodb.GetItem"] == 1
    assert not [op for op in compliant.clients.calls if op.startswith("dynamodb.")]


def test_the_reliability_figure_forged_claims_change_nothing() -> None:
    from trust_check import forged_tags_changed

    assert forged_tags_changed(2) == (6, 0)
