"""The AWS Config rule door and Security Hub, under moto (scenarios of config_rule.py's docstring).

moto records `PutEvaluations` only in test mode and ignores Security Hub filters (DESIGN.md §7), so
evaluations are asserted on the request itself, captured with a botocore event hook.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from account import ECR, REGION, container, create_service, private_vpc, register_task_definition, run
from botocore.stub import ANY, Stubber

from vpce_remediator.aws import Clients
from vpce_remediator.config_rule import evaluate_config_event
from vpce_remediator.engine import Settings
from vpce_remediator.report import ConfigReporter, Evaluation, annotation, shorten
from vpce_remediator.samples import load_event


class Captured(Clients):
    """Clients on a fresh session whose PutEvaluations requests are recorded."""

    def __init__(self) -> None:
        super().__init__(region=REGION, session=boto3.session.Session(region_name=REGION))
        self.put: list[dict[str, Any]] = []
        self.session.events.register("provide-client-params.config.PutEvaluations",
                                     lambda params, **_: self.put.append(params))

    @property
    def evaluations(self) -> dict[str, dict[str, Any]]:
        return {e["ComplianceResourceId"]: e for call in self.put for e in call["Evaluations"]}


def change_event(item: dict[str, Any], left_scope: bool = False, token: str = "TESTMODE") -> dict[str, Any]:
    event = load_event("config/ecs-service-change")
    event["invokingEvent"] = json.dumps({"configurationItem": item, "messageType": "ConfigurationItemChangeNotification",
                                         "notificationCreationTime": "2026-11-29T12:01:12.345Z"})
    event["eventLeftScope"] = left_scope
    event["resultToken"] = token
    return event


def service_item(arn: str, status: str = "OK") -> dict[str, Any]:
    item = json.loads(load_event("config/ecs-service-change")["invokingEvent"])["configurationItem"]
    item.update(resourceId=arn, ARN=arn, configurationItemStatus=status)
    item["configuration"].update(ServiceArn=arn)
    return item


def vpc_item(resource_type: str, resource_id: str, vpc_id: str, status: str = "OK") -> dict[str, Any]:
    return {"resourceType": resource_type, "resourceId": resource_id, "configurationItemStatus": status,
            "awsAccountId": "123456789012", "awsRegion": REGION,
            "configuration": {"vpcId": vpc_id} if resource_type != "AWS::EC2::VPC" else {"vpcId": vpc_id}}


@pytest.fixture
def estate(aws: Any) -> dict[str, Any]:
    """A private VPC (DNS hostnames off) with a Fargate service and an EC2 one, no endpoints."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.20.0.0/16", "ab", dns_hostnames=True)
    ecs.create_cluster(clusterName="prod")
    web = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")])
    api = register_task_definition(ecs, "api", [container("api", f"{ECR}/api:1")], "EC2")
    net["web"] = create_service(ecs, "prod", "web", web, net, "FARGATE")
    net["api"] = create_service(ecs, "prod", "api", api, net, "EC2")
    return net


def test_non_compliant_service_gets_an_annotation_a_person_understands(estate: dict[str, Any]) -> None:
    clients = Captured()

    evaluate_config_event(change_event(service_item(estate["web"])), clients, Settings())

    (call,) = clients.put
    assert call["TestMode"] is True and call["ResultToken"] == "TESTMODE"
    (only,) = call["Evaluations"]
    assert only["ComplianceResourceType"] == "AWS::ECS::Service"
    assert only["ComplianceResourceId"] == estate["web"]
    assert only["ComplianceType"] == "NON_COMPLIANT"
    assert only["Annotation"].startswith("missing ecr.api, ecr.dkr, logs, s3")
    assert len(only["Annotation"]) <= 256


def test_a_subnet_change_evaluates_its_vpc_and_every_service_there(estate: dict[str, Any], aws: Any) -> None:
    aws.client("ec2", region_name=REGION).modify_vpc_attribute(VpcId=estate["vpc"],
                                                               EnableDnsHostnames={"Value": False})
    clients = Captured()

    result = evaluate_config_event(change_event(vpc_item("AWS::EC2::Subnet", estate["subnets"][0], estate["vpc"])),
                                   clients, Settings())

    by_id = clients.evaluations
    assert set(by_id) == {estate["vpc"], estate["web"], estate["api"]}
    assert {e["ComplianceType"] for e in by_id.values()} == {"NON_COMPLIANT"}
    vpc = by_id[estate["vpc"]]["Annotation"]
    assert vpc.startswith("missing ecr.api, ecr.dkr, ecs, ecs-agent, ecs-telemetry, logs, s3")
    assert "private DNS off: VPC enableDnsHostnames=false" in vpc
    assert "ecs-agent" not in by_id[estate["web"]]["Annotation"]  # Fargate needs no ECS endpoints
    assert result.put_calls == 1


def test_a_compliant_vpc_is_compliant(estate: dict[str, Any]) -> None:
    for arn in (estate["web"], estate["api"]):
        remediate = load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": arn})
        assert run(remediate, "remediate").result["status"] in ("remediated", "compliant")
    clients = Captured()

    evaluate_config_event(change_event(vpc_item("AWS::EC2::VPC", estate["vpc"], estate["vpc"])), clients, Settings())

    assert {k: v["ComplianceType"] for k, v in clients.evaluations.items()} == {
        estate["vpc"]: "COMPLIANT", estate["web"]: "COMPLIANT", estate["api"]: "COMPLIANT"}


@pytest.mark.parametrize("status, left_scope", [("ResourceDeleted", False), ("ResourceDeletedNotRecorded", False),
                                                ("OK", True)])
def test_deleted_or_out_of_scope_items_are_not_applicable(estate: dict[str, Any], status: str,
                                                          left_scope: bool) -> None:
    clients = Captured()

    evaluate_config_event(change_event(service_item(estate["web"], status), left_scope), clients, Settings())

    assert clients.evaluations[estate["web"]]["ComplianceType"] == "NOT_APPLICABLE"
    assert clients.total_calls == 1  # nothing but the evaluation itself


def test_a_vpc_without_ecs_workloads_is_not_applicable(aws: Any) -> None:
    net = private_vpc(aws.client("ec2", region_name=REGION), "empty", "10.30.0.0/16", "a")
    clients = Captured()

    evaluate_config_event(change_event(vpc_item("AWS::EC2::VPC", net["vpc"], net["vpc"])), clients, Settings())

    assert clients.evaluations[net["vpc"]]["ComplianceType"] == "NOT_APPLICABLE"


def test_periodic_run_evaluates_every_service_and_vpc(estate: dict[str, Any]) -> None:
    clients = Captured()

    evaluate_config_event(load_event("config/periodic"), clients, Settings())

    assert set(clients.evaluations) == {estate["vpc"], estate["web"], estate["api"]}


def test_periodic_run_counts_standalone_tasks_in_their_vpc(estate: dict[str, Any], aws: Any) -> None:
    """Tasks have no Config resource type: what a running standalone task needs is in its VPC's evaluation."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    secret = f"arn:aws:secretsmanager:{REGION}:123456789012:secret:db-AbCdEf"
    job = register_task_definition(ecs, "job", [container("job", f"{ECR}/job:1", (secret,))])
    batch = private_vpc(ec2, "batch", "10.60.0.0/16", "a")
    for net in (estate, batch):
        ecs.run_task(cluster="prod", taskDefinition=job, launchType="FARGATE", networkConfiguration={
            "awsvpcConfiguration": {"subnets": net["subnets"][:1], "securityGroups": [net["sg"]]}})
    clients = Captured()

    result = evaluate_config_event(load_event("config/periodic"), clients, Settings(), security_hub=True)

    by_id = clients.evaluations
    assert set(by_id) == {estate["vpc"], estate["web"], estate["api"], batch["vpc"]}
    assert "secretsmanager" in by_id[estate["vpc"]]["Annotation"]  # the task's need, in its VPC's evaluation
    assert "secretsmanager" not in by_id[estate["web"]]["Annotation"]  # not a service's
    only_task = by_id[batch["vpc"]]
    assert only_task["ComplianceType"] == "NON_COMPLIANT"
    assert only_task["Annotation"].startswith("missing ecr.api, ecr.dkr, logs, s3, secretsmanager")
    assert batch["vpc"] in result.findings_by_vpc  # Security Hub hears of it too


def test_a_service_whose_subnets_were_deleted_is_not_applicable(estate: dict[str, Any], aws: Any) -> None:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    gone = private_vpc(ec2, "gone", "10.70.0.0/16", "a")
    td = register_task_definition(ecs, "old", [container("old", f"{ECR}/old:1")])
    old = create_service(ecs, "prod", "old", td, gone, "FARGATE")
    ec2.delete_subnet(SubnetId=gone["subnets"][0])

    periodic, change = Captured(), Captured()
    evaluate_config_event(load_event("config/periodic"), periodic, Settings())
    evaluate_config_event(change_event(service_item(old)), change, Settings())

    for clients in (periodic, change):
        stale = clients.evaluations[old]
        assert stale["ComplianceType"] == "NOT_APPLICABLE"
        assert stale["Annotation"] == f"none of its subnets ({gone['subnets'][0]}) exists any more"
    # The rest of the region is still evaluated.
    assert {k: v["ComplianceType"] for k, v in periodic.evaluations.items() if k != old} == {
        estate["vpc"]: "NON_COMPLIANT", estate["web"]: "NON_COMPLIANT", estate["api"]: "NON_COMPLIANT"}


def test_an_oversized_item_is_read_from_the_history(estate: dict[str, Any]) -> None:
    clients = Captured()
    config = clients.session.client("config", region_name=REGION)
    clients.__dict__["config"] = config  # moto has no history for EC2 items: stub the two calls
    item = vpc_item("AWS::EC2::VPC", estate["vpc"], estate["vpc"])
    event = change_event(item)
    event["invokingEvent"] = json.dumps({"messageType": "OversizedConfigurationItemChangeNotification",
                                         "configurationItemSummary": {k: item[k] for k in (
                                             "resourceType", "resourceId", "configurationItemStatus")}})
    with Stubber(config) as stub:
        history_item = {"resourceType": "AWS::EC2::VPC", "resourceId": estate["vpc"], "accountId": "123456789012",
                        "configurationItemStatus": "OK", "awsRegion": REGION,
                        "configuration": json.dumps(item["configuration"])}  # a JSON string in the history
        stub.add_response("get_resource_config_history", {"configurationItems": [history_item]},
            {"resourceType": "AWS::EC2::VPC", "resourceId": estate["vpc"], "limit": 1})
        stub.add_response("put_evaluations", {"FailedEvaluations": []},
                          {"Evaluations": ANY, "ResultToken": "TESTMODE", "TestMode": True})

        result = evaluate_config_event(event, clients, Settings())

        stub.assert_no_pending_responses()
    assert {e.resource_id for e in result.evaluations} == {estate["vpc"], estate["web"], estate["api"]}


def test_101_evaluations_go_out_in_two_calls() -> None:
    config = boto3.client("config", region_name=REGION)
    evaluations = [Evaluation("AWS::EC2::VPC", f"vpc-{i:017x}", "COMPLIANT", "ok") for i in range(101)]
    when = datetime(2026, 11, 29, tzinfo=UTC)
    with Stubber(config) as stub:
        for size in (100, 1):
            stub.add_response("put_evaluations", {"FailedEvaluations": []},
                              {"Evaluations": [ANY] * size, "ResultToken": "real-token-from-config"})

        calls = ConfigReporter(config, "real-token-from-config").put(evaluations, when)

        stub.assert_no_pending_responses()
    assert calls == 2


def test_annotations_are_cut_at_a_word_boundary() -> None:
    text = "missing " + ", ".join(f"service-number-{i}" for i in range(40))

    short = shorten(text, 256)

    assert len(short) <= 256 and short.endswith("…")
    assert short[:-1] == text[:len(short) - 1]  # a prefix of the original …
    assert text[len(short) - 1] in " ,"  # … ending where a word ended
    text = annotation([])
    # It names what was checked (the planner's hops) and the one hop it was not (doctor's only).
    assert all(hop in text for hop in ("DNS", "AZs", "route tables", "workload security groups", "endpoint policies"))
    assert "not network ACLs" in text and len(text) <= 256


def test_cli_invoke_runs_a_config_event(estate: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from vpce_remediator.cli import main
    from vpce_remediator.samples import EVENTS_DIR

    code = main(["invoke", str(EVENTS_DIR / "config" / "periodic.json"), "--json", "--region", REGION])

    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {e["resource_id"] for e in out["evaluations"]} == {estate["vpc"], estate["web"], estate["api"]}
    assert out["put_evaluations_calls"] == 1
