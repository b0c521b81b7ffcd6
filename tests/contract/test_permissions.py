"""The template's IAM grants exactly what the code calls: nothing missing, no write to spare.

Static: the actions declared in the code (`READ_ACTIONS`, `act.PERMISSIONS`, `LOCK_ACTIONS`) equal
the actions the function role grants for EC2, ECS, Auto Scaling and DynamoDB, and
`config_rule.CONFIG_ACTIONS` equal the Config rule role's, and the README's permissions for
`doctor` (which runs with the caller's credentials, not a role of the stack) name exactly
`doctor.DOCTOR_READ_ACTIONS`. Dynamic: a demo estate replayed in remediate mode with a lock, plus
an Auto Scaling cluster, calls only those; the Config rule's periodic and change runs over it call
only theirs; a diagnosis calls only the engine's reads and doctor's own.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from account import ECR, PREFIX, REGION, container, create_service, private_vpc, register_task_definition
from test_events_and_template import load_template

from vpce_remediator.act import PERMISSIONS
from vpce_remediator.aws import READ_ACTIONS, Clients
from vpce_remediator.config_rule import CONFIG_ACTIONS, evaluate_config_event
from vpce_remediator.demo import seed
from vpce_remediator.doctor import DOCTOR_READ_ACTIONS, Target, diagnose
from vpce_remediator.engine import ORGANIZATION_ACTIONS, Settings, evaluate_event
from vpce_remediator.lock import LOCK_ACTIONS, VpcLock
from vpce_remediator.report import EVENT_REPORT_ACTIONS
from vpce_remediator.samples import load_event

ENGINE_SERVICES = ("ec2:", "ecs:", "autoscaling:", "dynamodb:", "config:", "securityhub:", "organizations:", "route53:",
                   "route53profiles:", "servicequotas:", "guardduty:", "ecr:", "elasticfilesystem:")
WRITE_VERBS = ("Create", "Modify", "Authorize", "Delete", "Put", "Update", "Revoke", "Replace", "Associate")
DECLARED = (set(READ_ACTIONS) | {a for actions in PERMISSIONS.values() for a in actions} | set(LOCK_ACTIONS)
            | set(EVENT_REPORT_ACTIONS) | set(ORGANIZATION_ACTIONS))
CONFIG_DECLARED = set(CONFIG_ACTIONS)
DOCTOR_DECLARED = set(READ_ACTIONS) | set(DOCTOR_READ_ACTIONS)
README = Path(__file__).resolve().parents[2] / "README.md"


def role_statements(role: str = "FunctionRole") -> list[tuple[str, dict[str, Any]]]:
    """Every statement a role can hold: its own policies and the conditional one."""
    resources = load_template()["Resources"]
    out = [(p["PolicyName"], s) for p in resources[role]["Properties"]["Policies"]
           for s in p["PolicyDocument"]["Statement"]]
    for name, r in resources.items():
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]:
            # CreatesCrossRegionEndpoints holds CanRemediate too (and CrossRegionEndpoints=true).
            label = f"{name} (remediate/opt-in only)" if r.get("Condition") in (
                "CanRemediate", "CreatesCrossRegionEndpoints") else name
            out += [(label, s) for s in r["Properties"]["PolicyDocument"]["Statement"]]
    return out


def actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


@pytest.mark.parametrize("role", ["FunctionRole", "ConfigFunctionRole"])
def test_every_statement_has_a_sid_and_no_wildcard_action(role: str) -> None:
    for policy, s in role_statements(role):
        assert s.get("Sid"), f"a statement of {policy} has no Sid"
        assert all("*" not in a for a in actions_of(s)), s["Sid"]


def test_granted_engine_actions_equal_the_declared_ones() -> None:
    granted = {a for _, s in role_statements() for a in actions_of(s) if a.startswith(ENGINE_SERVICES)}

    assert granted == DECLARED


def test_the_config_rule_role_reads_and_reports_only() -> None:
    granted = {a for _, s in role_statements("ConfigFunctionRole") for a in actions_of(s)
               if a.startswith(ENGINE_SERVICES)}

    assert granted == CONFIG_DECLARED
    assert not [a for a in granted if a.startswith("ec2:") and not a.startswith("ec2:Describe")]


# Resources an endpoint only references: not the tool's to tag, and the SAR gives them no other
# key worth a condition. The Allow names them by ARN in this account and Region.
REFERENCED_ONLY = ("subnet/*", "route-table/*")


def test_every_ec2_write_is_conditioned_and_none_deletes() -> None:
    for policy, s in role_statements():
        writes = [a for a in actions_of(s) if a.startswith("ec2:") and a.split(":")[1].startswith(WRITE_VERBS)]
        assert not [a for a in writes if a.startswith(("ec2:Delete", "ec2:Revoke"))], s["Sid"]
        if writes and s["Effect"] == "Allow":
            assert "remediate/opt-in only" in policy, f"{s['Sid']} would grant EC2 writes in report mode"
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            if all(r["Fn::Sub"].endswith(REFERENCED_ONLY) for r in resources):
                assert all("${AWS::AccountId}:" in r["Fn::Sub"] for r in resources), s["Sid"]
            else:
                assert s.get("Condition"), f"{s['Sid']} grants {writes} without a condition"


def test_other_writes_touch_only_the_stacks_own_resources() -> None:
    for _, s in role_statements():
        writes = [a for a in actions_of(s) if not a.startswith(("ec2:", "xray:"))
                  and a.split(":")[1].startswith((*WRITE_VERBS, "Delete"))]
        if writes:
            assert s["Resource"] != "*" and "Fn::GetAtt" in s["Resource"], s["Sid"]


def test_report_mode_grants_no_ec2_write() -> None:
    template = load_template()
    assert template["Resources"]["RemediatePolicy"]["Condition"] == "CanRemediate"
    assert template["Conditions"]["CanRemediate"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "Mode"}, "report"]}]}
    assert template["Resources"]["ExcludedVpcsPolicy"]["Condition"] == "RemediatesWithExcludedVpcs"
    assert {"Condition": "CanRemediate"} in template["Conditions"]["RemediatesWithExcludedVpcs"]["Fn::And"]


def test_only_a_remediating_stack_reads_the_organization() -> None:
    resources = load_template()["Resources"]
    lookup = resources["OrganizationLookupPolicy"]
    assert lookup["Condition"] == "CanRemediate"
    assert [s["Action"] for s in lookup["Properties"]["PolicyDocument"]["Statement"]] == list(ORGANIZATION_ACTIONS)
    granted = {a for _, s in role_statements("ConfigFunctionRole") for a in actions_of(s)}
    assert not granted & set(ORGANIZATION_ACTIONS)


def test_endpoint_creation_requires_amazon_services_and_the_owner_tag() -> None:
    by_sid = {s["Sid"]: s for _, s in role_statements()}
    endpoint = by_sid["CreateAmazonEndpointsTagged"]["Condition"]["StringEquals"]
    assert endpoint["ec2:VpceServiceOwner"] == "amazon"
    assert endpoint["aws:RequestTag/managed-by"] == "vpce-remediator"
    assert endpoint["ec2:VpceServiceName"]  # equal to the rules table's services: test_iam.py
    assert by_sid["TagOnlyWhileCreating"]["Condition"]["StringEquals"]["ec2:CreateAction"] == [
        "CreateVpcEndpoint", "CreateSecurityGroup"]
    opt_in, remediate = by_sid["CreateEndpointsInVpc"]["Condition"]["Fn::If"][1:]
    # case folded as engine.effective_mode folds it; test_iam.py proves they agree
    assert opt_in == {"StringEqualsIgnoreCase": {"ec2:ResourceTag/vpce-remediator:mode": "remediate"}}
    assert remediate == {"StringNotEqualsIgnoreCase": {"ec2:ResourceTag/vpce-remediator:mode": ["report", "ignore"]}}


def iam_action(op: str) -> str:
    """A counted call ("service-quotas.GetServiceQuota": botocore's service name) as its IAM action."""
    service, name = op.split(".", 1)
    return f"{IAM_PREFIX.get(service, service)}:{name}"


# where botocore's name and IAM's prefix differ
IAM_PREFIX = {"service-quotas": "servicequotas", "efs": "elasticfilesystem"}


def test_everything_the_engine_calls_is_declared(aws: Any) -> None:
    estate = seed(aws)
    dynamodb = aws.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName="locks", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    asg = aws.client("autoscaling", region_name=REGION)
    net = private_vpc(aws.client("ec2", region_name=REGION), "asg", "10.90.0.0/16", "a")
    asg.create_launch_configuration(LaunchConfigurationName="lc", ImageId="ami-12c6146b", InstanceType="t3.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName="g", LaunchConfigurationName="lc", MinSize=0, MaxSize=1,
                                  VPCZoneIdentifier=net["subnets"][0])
    arn = asg.describe_auto_scaling_groups()["AutoScalingGroups"][0]["AutoScalingGroupARN"]
    aws.client("ecs", region_name=REGION).create_capacity_provider(
        name="prod-ec2-asg", autoScalingGroupProvider={"autoScalingGroupArn": arn})
    clients = Clients(region=REGION)
    lock = VpcLock(clients.dynamodb, "locks")
    events = [load_event(sample, overrides) for _, sample, overrides in estate.events]
    events.append(load_event("ecs-CreateCluster-capacity-providers"))

    for mode in ("report", "remediate"):
        for event in events:
            evaluate_event(event, clients, Settings(mode=mode), lock)

    called = {iam_action(op) for op in clients.calls}
    assert called <= DECLARED, sorted(called - DECLARED)
    assert {"ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:CreateSecurityGroup",
            "autoscaling:DescribeAutoScalingGroups", "dynamodb:PutItem",
            "organizations:DescribeOrganization", "elasticfilesystem:DescribeMountTargets",
            "elasticfilesystem:DescribeMountTargetSecurityGroups"} <= called  # the replay reached them


def test_everything_the_config_rule_calls_is_declared(aws: Any) -> None:
    import json

    estate = seed(aws)
    prod = estate.ids["prod"]
    aws.client("ecs", region_name=REGION).run_task(  # a standalone task, for scan's task reads
        cluster="prod", taskDefinition="batch", launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": prod["subnets"][:1], "securityGroups": [prod["sg"]]}})
    clients = Clients(region=REGION)
    periodic = load_event("config/periodic")
    vpc_change = load_event("config/ecs-service-change")
    vpc_change["invokingEvent"] = json.dumps({
        "messageType": "ConfigurationItemChangeNotification", "configurationItem": {
            "resourceType": "AWS::EC2::VPC", "resourceId": prod["vpc"], "configurationItemStatus": "OK",
            "configuration": {"vpcId": prod["vpc"]}}})

    for event in (periodic, vpc_change, load_event("config/ecs-service-change")):
        evaluate_config_event(event, clients, Settings(), security_hub=True)

    called = {iam_action(op) for op in clients.calls}
    assert called <= CONFIG_DECLARED, sorted(called - CONFIG_DECLARED)
    assert {"ecs:ListTasks", "ecs:DescribeTasks", "ec2:DescribeNetworkInterfaces",
            "config:PutEvaluations", "securityhub:BatchImportFindings"} <= called  # the runs reached them


def test_the_readme_names_exactly_the_reads_doctor_adds() -> None:
    sentence = re.search(r"beyond\s+the\s+engine's\s+reads,\s+doctor\s+calls\s+(.*?)\(`doctor\.DOCTOR_READ_ACTIONS`",
                         README.read_text(), re.DOTALL)
    assert sentence, "README: the doctor section no longer says which reads doctor adds"
    named = re.findall(r"`([a-z0-9-]+:[A-Za-z]+)`", sentence.group(1))

    assert sorted(named) == sorted(DOCTOR_READ_ACTIONS)
    assert not set(DOCTOR_READ_ACTIONS) & set(READ_ACTIONS)  # "beyond the engine's": none twice


def test_everything_doctor_calls_is_declared(aws: Any) -> None:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.20.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    create_service(ecs, "prod", "web", register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")]),
                   net, "FARGATE")
    ec2.create_vpc_endpoint(VpcId=net["vpc"], ServiceName=PREFIX + "s3", VpcEndpointType="Gateway",
                            RouteTableIds=[net["rtb"]])
    clients = Clients(region=REGION)

    diagnose(clients, Target(cluster="prod", service="web"))

    called = {iam_action(op) for op in clients.calls}
    assert called <= DOCTOR_DECLARED, sorted(called - DOCTOR_DECLARED)
    assert set(DOCTOR_READ_ACTIONS) <= called  # the diagnosis reached each of doctor's own reads
