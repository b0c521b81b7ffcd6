"""The SAM template, translated by aws-sam-translator and deployed into moto's CloudFormation.

moto's CloudFormation does not create `AWS::SQS::QueuePolicy` or `AWS::CloudWatch::Alarm` (it
warns and skips them); those two are checked on the template itself.
"""
from __future__ import annotations

import io
import json
import warnings
import zipfile
from typing import Any

import pytest
from account import REGION
from iam_eval import translate
from test_events_and_template import FAILED_SAMPLES, OK_SAMPLES, OWN_ROLE_PATH, load_template

from vpce_remediator.samples import load_event


def deploy(aws: Any, mode: str, excluded_vpc_ids: str = "") -> dict[str, Any]:
    """Translate and create the stack; return {logical id: physical id} and the outputs."""
    parameters = {"Mode": mode, "ExcludedVpcIds": excluded_vpc_ids}
    translated = _without_config_rule(translate(parameters))  # the translation tests/contract/test_iam.py evaluates
    code_package(aws)
    cfn = aws.client("cloudformation", region_name=REGION)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the two resource types moto skips
        cfn.create_stack(StackName="vpce-remediator", TemplateBody=json.dumps(translated),
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
                         Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName="vpce-remediator")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.list_stack_resources(StackName="vpce-remediator")["StackResourceSummaries"]
                 if r["LogicalResourceId"]}
    return {"resources": resources, "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]},
            "template": translated}


def code_package(aws: Any) -> None:
    """The functions' code, as `sam deploy` uploads it, in the bucket the translated template names."""
    s3 = aws.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="artifacts")
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as z:
        z.writestr("handlers/queue.py", "def handler(event, context):\n    return {}\n")
    s3.put_object(Bucket="artifacts", Key="event.zip", Body=package.getvalue())


RULE_ARN = f"arn:aws:config:{REGION}:123456789012:config-rule/config-rule-abc123"


def _without_config_rule(template: dict[str, Any]) -> dict[str, Any]:
    """moto's CloudFormation skips AWS::Config::ConfigRule, so references to it would not resolve:
    take the rule out and put a literal ARN and name where it was referenced."""
    rule = template["Resources"].pop("ConfigRule")
    assert rule["Properties"]["Source"]["Owner"] == "CUSTOM_LAMBDA"

    def swap(node: Any) -> Any:
        if node == {"Fn::GetAtt": ["ConfigRule", "Arn"]}:
            return RULE_ARN
        if node == {"Ref": "ConfigRule"}:
            return "vpce-remediator-vpc-endpoints"
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    return swap(template)


@pytest.fixture
def stack(aws: Any) -> dict[str, Any]:
    return deploy(aws, "remediate")


def test_the_stack_yields_queue_dlq_rule_function_and_role(aws: Any, stack: dict[str, Any]) -> None:
    r = stack["resources"]
    assert {"EventQueue", "DeadLetterQueue", "EventRule", "EventFunction", "FunctionRole", "LockTable",
            "EventFunctionQueue"} <= set(r)
    sqs = aws.client("sqs", region_name=REGION)
    attrs = sqs.get_queue_attributes(QueueUrl=stack["outputs"]["EventQueueUrl"], AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=stack["outputs"]["DeadLetterQueueUrl"],
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    function = aws.client("lambda", region_name=REGION).get_function(FunctionName=r["EventFunction"])["Configuration"]
    assert int(attrs["VisibilityTimeout"]) >= 6 * function["Timeout"]
    assert function["Handler"] == "handlers.queue.handler"
    assert function["Runtime"] == "python3.13"
    assert stack["template"]["Resources"]["EventFunction"]["Properties"]["Architectures"] == ["arm64"]
    env = function["Environment"]["Variables"]
    assert env["MODE"] == "remediate" and env["OWN_ROLE_ARN"] == stack["outputs"]["FunctionRoleArn"]
    assert env["LOCK_TABLE"] == r["LockTable"]
    mapping = aws.client("lambda", region_name=REGION).list_event_source_mappings(
        FunctionName=r["EventFunction"])["EventSourceMappings"]
    assert [m["EventSourceArn"] for m in mapping] == [attrs["QueueArn"]]
    targets = aws.client("events", region_name=REGION).list_targets_by_rule(Rule=r["EventRule"])["Targets"]
    assert [(t["Arn"], t["DeadLetterConfig"]["Arn"]) for t in targets] == [(attrs["QueueArn"], dlq_arn)]


def test_the_deployed_rule_routes_exactly_the_handled_successful_calls(aws: Any, stack: dict[str, Any]) -> None:
    """put_events through the deployed rule (moto's router) and read what reaches the queue."""
    events = aws.client("events", region_name=REGION)
    sqs = aws.client("sqs", region_name=REGION)
    role_arn = stack["outputs"]["FunctionRoleArn"]
    own = load_event("ecs-RunTask", {OWN_ROLE_PATH: role_arn})
    samples = {name: load_event(name) for name in OK_SAMPLES + FAILED_SAMPLES} | {"own-RunTask": own}
    # moto would hand queued messages to the function, which it can only run in Docker: detach it so
    # the queue keeps what the rule delivered.
    awslambda = aws.client("lambda", region_name=REGION)
    for m in awslambda.list_event_source_mappings(FunctionName=stack["resources"]["EventFunction"])["EventSourceMappings"]:
        awslambda.delete_event_source_mapping(UUID=m["UUID"])

    queue = stack["outputs"]["EventQueueUrl"]
    arrived = []
    for name, event in samples.items():  # one at a time, so each arrival is attributed to its sample
        entry = {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            assert json.loads(m["Body"])["detail"]["eventID"] == event["detail"]["eventID"]
            arrived.append(name)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    names = sorted(arrived)
    assert names == sorted(OK_SAMPLES)


@pytest.mark.parametrize("mode, excluded, policies", [
    ("report", "", ["read-and-run"]),
    ("report", "vpc-0123456789abcdef0", ["read-and-run"]),
    ("remediate", "", ["read-and-run", "read-organization", "remediate-own-resources"]),
    ("opt-in", "vpc-0123456789abcdef0,vpc-0fedcba9876543210",
     ["nothing-in-excluded-vpcs", "read-and-run", "read-organization", "remediate-own-resources"])])
def test_only_a_remediating_stack_holds_the_write_policy(aws: Any, mode: str, excluded: str,
                                                         policies: list[str]) -> None:
    stack = deploy(aws, mode, excluded)
    iam = aws.client("iam", region_name=REGION)

    assert sorted(iam.list_role_policies(RoleName=stack["resources"]["FunctionRole"])["PolicyNames"]) == policies


def test_queue_policy_admits_only_the_rule_and_the_alarm_watches_the_dlq() -> None:
    resources = load_template()["Resources"]
    (statement,) = resources["QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["EventRule", "Arn"]}}}
    alarm = resources["DeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
