"""The organization path deployed into moto: an organization whose OU holds one member account;
org/central.yaml (translated by aws-sam-translator) in the management account, and the StackSet it
holds creating org/member.yaml's stack in the member account.

moto multi-account: each account has its own backends, and AssumeRole into
`arn:aws:iam::ACCOUNT:role/...` returns credentials acting in ACCOUNT (moto does not check that the
role exists), which is how the tests look into the member account.

What moto's CloudFormation does not create, and where each is checked instead:
- `AWS::CloudFormation::StackSet`: taken out of the template; what it would do is done with moto's
  StackSet API (SERVICE_MANAGED, targets the OU), with the parameter values the resource would pass,
  which moto resolves as outputs of the same stack.
- `AWS::Config::OrganizationConfigRule`: taken out (its function and permission stay);
  tests/contract/test_org_templates.py checks it on the template.
- `AWS::Events::EventBusPolicy`, `AWS::SQS::QueuePolicy`, `AWS::SNS::TopicPolicy`,
  `AWS::CloudWatch::Alarm`: moto warns and skips them; test_org_templates.py evaluates the bus policy
  and checks the queue policy and alarm on the template. moto delivers across accounts without
  looking at the bus policy.
- moto's StackSets have no delegated administrator (CallAs) and no automatic deployment: the
  management account creates the StackSet here, and the instances are created explicitly.
"""
from __future__ import annotations

import ast
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from account import REGION
from iam_eval import load_template, stack_parameters, translate
from test_events_and_template import FAILED_SAMPLES, OK_SAMPLES, OWN_ROLE_PATH
from test_stack import code_package

from vpce_remediator.samples import load_event

ROOT = Path(__file__).resolve().parents[2]
CENTRAL, MEMBER = ROOT / "org" / "central.yaml", ROOT / "org" / "member.yaml"
STACK = "vpce-remediator-org"
TAKEN_OUT = ("MemberStackSet", "OrganizationConfigRule")
MOTO_SKIPS = {"AWS::Events::EventBusPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::CloudWatch::Alarm"}


@dataclass
class Org:
    organization_id: str
    ou_id: str
    member_account: str
    central_resources: dict[str, str]  # logical id -> physical id
    outputs: dict[str, str]
    central: Any  # boto3 (the management account, moto's default)
    member: Any  # a boto3 session acting in the member account


def _session_in(aws: Any, account: str) -> Any:
    credentials = aws.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/test-inspector", RoleSessionName="test")["Credentials"]
    return aws.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                               aws_secret_access_key=credentials["SecretAccessKey"],
                               aws_session_token=credentials["SessionToken"], region_name=REGION)


def _document(policy: Any) -> Any:
    """A policy document as boto3 hands it. moto gap: the inline policies of a role its
    CloudFormation made come back as the Python repr of the document, not as JSON."""
    if not isinstance(policy, str):
        return policy
    try:
        return json.loads(policy)
    except json.JSONDecodeError:
        return ast.literal_eval(policy)


def _for_moto(translated: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template without what moto cannot create, and the StackSet resource taken out; the
    StackSet's parameter values become outputs, so that moto resolves them as CloudFormation would."""
    resources, outputs = translated["Resources"], translated["Outputs"]
    stack_set = resources.pop("MemberStackSet")
    resources.pop("OrganizationConfigRule")
    for name, output in list(outputs.items()):
        if output["Value"] in ({"Ref": r} for r in TAKEN_OUT):
            del outputs[name]
    for parameter in stack_set["Properties"]["Parameters"]:
        outputs[f"StackSet{parameter['ParameterKey']}"] = {"Value": parameter["ParameterValue"]}
    (group,) = stack_set["Properties"]["StackInstancesGroup"]
    outputs["StackSetTargetOus"] = {"Value": {"Fn::Join": [",", group["DeploymentTargets"]["OrganizationalUnitIds"]]}}
    outputs["StackSetRegions"] = {"Value": {"Fn::Join": [",", group["Regions"]]}}
    return translated, stack_set["Properties"]


def deploy(aws: Any, mode: str) -> Org:
    organizations = aws.client("organizations", region_name=REGION)
    organization = organizations.create_organization(FeatureSet="ALL")["Organization"]
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    member = organizations.create_account(Email="app@example.com", AccountName="app")["CreateAccountStatus"]["AccountId"]
    organizations.move_account(AccountId=member, SourceParentId=root, DestinationParentId=ou)

    parameters = stack_parameters(load_template(CENTRAL), {
        "OrganizationId": organization["Id"], "OrganizationalUnitIds": ou, "Mode": mode})
    template, stack_set = _for_moto(translate(parameters, CENTRAL))
    code_package(aws)
    cfn = aws.client("cloudformation", region_name=REGION)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
    skipped = {str(w.message).split("parse ")[1].split(" ")[0] for w in caught if "Tried to parse" in str(w.message)}
    assert skipped == MOTO_SKIPS  # if moto learns one of these, the tests should use it
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    # What the StackSet resource does, with the values it would pass.
    cfn.create_stack_set(
        StackSetName=f"{STACK}-members", TemplateBody=MEMBER.read_text(),
        PermissionModel=stack_set["PermissionModel"], AutoDeployment=stack_set["AutoDeployment"],
        Capabilities=stack_set["Capabilities"],
        Parameters=[{"ParameterKey": p["ParameterKey"], "ParameterValue": outputs[f"StackSet{p['ParameterKey']}"]}
                    for p in stack_set["Parameters"]])
    targets, regions = outputs["StackSetTargetOus"].split(","), outputs["StackSetRegions"].split(",")
    assert (targets, regions) == ([ou], [REGION])
    cfn.create_stack_instances(StackSetName=f"{STACK}-members", DeploymentTargets={"OrganizationalUnitIds": targets},
                               Regions=regions)

    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]}
    return Org(organization["Id"], ou, member, resources, outputs, aws, _session_in(aws, member))


@pytest.fixture
def org(aws: Any) -> Org:
    return deploy(aws, "remediate")


# ---------------------------------------------------------------- the member account


def test_the_stack_set_reaches_the_ous_account_and_only_it(org: Org) -> None:
    cfn = org.central.client("cloudformation", region_name=REGION)
    instances = cfn.list_stack_instances(StackSetName=f"{STACK}-members")["Summaries"]

    assert [(i["Account"], i["Region"]) for i in instances] == [(org.member_account, REGION)]


def test_the_member_role_trusts_only_the_central_engine_in_the_organization(org: Org) -> None:
    iam = org.member.client("iam")
    role = iam.get_role(RoleName=org.outputs["MemberRoleName"])["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]

    assert statement["Principal"] == {"AWS": org.outputs["EngineRoleArn"]}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": org.organization_id}}
    assert role["Arn"] == f"arn:aws:iam::{org.member_account}:role/vpce-remediator-member-{REGION}"
    assert sorted(iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]) == [
        "read-and-report", "read-organization", "remediate-own-resources"]


def test_a_report_mode_member_role_holds_no_write_policy(aws: Any) -> None:
    org = deploy(aws, "report")
    iam = org.member.client("iam")

    assert iam.list_role_policies(RoleName=org.outputs["MemberRoleName"])["PolicyNames"] == ["read-and-report"]


def test_the_member_rule_sends_to_the_central_bus_as_a_forwarder_that_may_only_put_there(org: Org) -> None:
    events, iam = org.member.client("events"), org.member.client("iam")
    (rule,) = events.list_rules(EventBusName="default")["Rules"]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]

    assert target["Arn"] == org.outputs["CentralEventBusArn"]
    forwarder_name = target["RoleArn"].rsplit("/", 1)[1]
    forwarder = iam.get_role(RoleName=forwarder_name)["Role"]
    assert forwarder["Arn"] == target["RoleArn"] and forwarder["Path"] == "/vpce-remediator-forwarder/"
    (trust,) = forwarder["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    (policy,) = iam.list_role_policies(RoleName=forwarder_name)["PolicyNames"]
    document = _document(iam.get_role_policy(RoleName=forwarder_name, PolicyName=policy)["PolicyDocument"])
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [
        ("events:PutEvents", org.outputs["CentralEventBusArn"])]
    bus = org.central.client("events", region_name=REGION).describe_event_bus(
        Name=org.outputs["CentralEventBusArn"].rsplit("/", 1)[1])
    assert bus["Arn"] == org.outputs["CentralEventBusArn"]


# ---------------------------------------------------------------- the central account


def test_the_central_stack_holds_queue_dlq_table_and_the_engine(org: Org) -> None:
    r, central = org.central_resources, org.central
    sqs = central.client("sqs", region_name=REGION)
    attrs = sqs.get_queue_attributes(QueueUrl=org.outputs["EventQueueUrl"], AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=org.outputs["DeadLetterQueueUrl"],
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    assert central.client("dynamodb", region_name=REGION).describe_table(
        TableName=org.outputs["LockTableName"])["Table"]["TableStatus"] == "ACTIVE"
    awslambda = central.client("lambda", region_name=REGION)
    member_role = org.member.client("iam").get_role(RoleName=org.outputs["MemberRoleName"])["Role"]["RoleName"]
    for function, handler in (("EventFunction", "handlers.queue.handler"), ("ConfigFunction", "handlers.config.handler")):
        configuration = awslambda.get_function(FunctionName=r[function])["Configuration"]
        env = configuration["Environment"]["Variables"]
        assert configuration["Handler"] == handler
        assert configuration["Role"] == org.outputs["EngineRoleArn"]
        assert env["MEMBER_ROLE_NAME"] == member_role  # the role the member stack made
        assert env["MEMBER_EXTERNAL_ID"] == ""
    mappings = awslambda.list_event_source_mappings(FunctionName=r["EventFunction"])["EventSourceMappings"]
    assert [m["EventSourceArn"] for m in mappings] == [attrs["QueueArn"]]
    rule = org.central.client("events", region_name=REGION).list_targets_by_rule(
        Rule=r["EventRule"].split("|")[-1], EventBusName=org.outputs["CentralEventBusArn"])["Targets"]
    assert [(t["Arn"], t["DeadLetterConfig"]["Arn"]) for t in rule] == [(attrs["QueueArn"], dlq_arn)]


def test_the_central_role_may_assume_the_member_roles_and_nothing_of_the_estate(org: Org) -> None:
    iam = org.central.client("iam", region_name=REGION)
    name = org.outputs["EngineRoleArn"].rsplit("/", 1)[1]
    statements = [s for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
                  for s in _document(iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"])["Statement"]]
    actions = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    (assume,) = [s for s in statements if s["Action"] == "sts:AssumeRole"]

    assert assume["Resource"] == f"arn:aws:iam::*:role/{org.outputs['MemberRoleName']}"
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": org.organization_id}}
    assert not [a for a in actions if a.startswith(("ec2:", "ecs:"))]


# ---------------------------------------------------------------- end to end: member event -> central queue


def test_member_events_reach_the_central_queue_exactly_as_template_yaml_routes_them(org: Org) -> None:
    """put_events on the member's default bus (as CloudTrail would), through the member rule, the
    central bus and its rule (moto's router), and read what reaches the central queue."""
    awslambda = org.central.client("lambda", region_name=REGION)
    # moto would hand queued messages to the function, which it can only run in Docker: disable the
    # mapping (moto gap: a deleted mapping stays attached to the queue; a disabled one is skipped).
    for m in awslambda.list_event_source_mappings(FunctionName=org.central_resources["EventFunction"])["EventSourceMappings"]:
        awslambda.update_event_source_mapping(UUID=m["UUID"], Enabled=False)
    member_role = org.member.client("iam").get_role(RoleName=org.outputs["MemberRoleName"])["Role"]["Arn"]
    samples = {name: load_event(name) for name in OK_SAMPLES + FAILED_SAMPLES}
    samples["engine-as-member-RunTask"] = load_event("ecs-RunTask", {OWN_ROLE_PATH: member_role})
    events, sqs = org.member.client("events"), org.central.client("sqs", region_name=REGION)

    arrived = []
    for name, event in samples.items():  # one at a time, so each arrival is attributed to its sample
        entry = {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        for m in sqs.receive_message(QueueUrl=org.outputs["EventQueueUrl"], MaxNumberOfMessages=10).get("Messages", []):
            assert json.loads(m["Body"])["detail"]["eventID"] == event["detail"]["eventID"]
            arrived.append(name)
            sqs.delete_message(QueueUrl=org.outputs["EventQueueUrl"], ReceiptHandle=m["ReceiptHandle"])

    assert sorted(arrived) == sorted(OK_SAMPLES)
