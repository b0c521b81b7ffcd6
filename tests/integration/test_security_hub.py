"""Security Hub holds one finding per resource and problem: updated on a re-run, archived PASSED
once fixed. moto ignores GetFindings filters, so the reporter's own check is what is exercised."""
from __future__ import annotations

from typing import Any

import boto3
import pytest
from account import REGION, run
from botocore.stub import Stubber
from test_config_rule import Captured, change_event, estate, vpc_item  # noqa: F401  (fixture)

from vpce_remediator.config_rule import evaluate_config_event
from vpce_remediator.engine import Settings
from vpce_remediator.plan import Finding
from vpce_remediator.report import SecurityHubReporter, asff_finding
from vpce_remediator.samples import load_event

ACCOUNT = "123456789012"


def findings(aws: Any) -> dict[str, dict[str, Any]]:
    hub = aws.client("securityhub", region_name=REGION)
    return {f["Id"]: f for f in hub.get_findings(MaxResults=100)["Findings"]}


def evaluate_vpc(vpc_id: str) -> None:
    event = change_event(vpc_item("AWS::EC2::VPC", vpc_id, vpc_id))
    evaluate_config_event(event, Captured(), Settings(), security_hub=True)


def test_findings_are_upserted_then_archived_when_fixed(aws: Any, estate: dict[str, Any]) -> None:  # noqa: F811
    evaluate_vpc(estate["vpc"])
    first = findings(aws)

    assert first and {f["Compliance"]["Status"] for f in first.values()} == {"FAILED"}
    keys = [(f["Resources"][0]["Id"], f["ProductFields"]["vpce-remediator/Problem"],
             f["ProductFields"].get("vpce-remediator/Service")) for f in first.values()]
    assert len(keys) == len(set(keys))  # one finding per resource, problem and service
    dkr = next(f for f in first.values() if f["ProductFields"].get("vpce-remediator/Service", "").endswith("ecr.dkr"))
    assert dkr["Resources"][0] == {"Type": "AwsEc2Vpc", "Partition": "aws", "Region": REGION,
                                   "Id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{estate['vpc']}"}
    assert dkr["Severity"]["Label"] == "HIGH" and dkr["RecordState"] == "ACTIVE"
    assert dkr["ProductFields"]["vpce-remediator/Fix1"].startswith("aws ec2 create-vpc-endpoint")
    assert len(dkr["Remediation"]["Recommendation"]["Text"]) <= 512
    assert dkr["Remediation"]["Recommendation"]["Url"].startswith("https://docs.aws.amazon.com/")

    evaluate_vpc(estate["vpc"])

    assert set(findings(aws)) == set(first)  # the same ids: updated, not duplicated

    for arn in (estate["web"], estate["api"]):
        run(load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": arn}), "remediate")
    evaluate_vpc(estate["vpc"])

    after = findings(aws)
    assert set(after) == set(first)
    assert {(f["Compliance"]["Status"], f["RecordState"]) for f in after.values()} == {("PASSED", "ARCHIVED")}


def test_a_partial_view_never_archives_another_workloads_finding(aws: Any) -> None:
    reporter = SecurityHubReporter(aws.client("securityhub", region_name=REGION), REGION, ACCOUNT)
    web = Finding("AWS::EC2::VPC", "vpc-1", "endpoint-missing", "no secretsmanager", ("aws ec2 x",),
                  f"com.amazonaws.{REGION}.secretsmanager")
    api = Finding("AWS::EC2::VPC", "vpc-1", "endpoint-missing", "no ssm", ("aws ec2 y",), f"com.amazonaws.{REGION}.ssm")
    reporter.sync({"vpc-1": [web, api]})

    counts = reporter.sync({}, {"vpc-1": [api]})  # one event, one workload

    assert counts == {"imported": 1, "archived": 0}
    assert {f["RecordState"] for f in findings(aws).values()} == {"ACTIVE"}


def test_security_hub_not_enabled_is_a_warning_once() -> None:
    import logging

    warned: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warned.append  # type: ignore[method-assign]
    logger = logging.getLogger("vpce-remediator")
    logger.addHandler(handler)
    hub = boto3.client("securityhub", region_name=REGION)
    SecurityHubReporter._disabled_accounts.discard("210987654321")
    reporter = SecurityHubReporter(hub, REGION, "210987654321")
    finding = Finding("AWS::EC2::VPC", "vpc-1", "vpc-dns-hostnames-off", "off", ("aws ec2 z",))
    with Stubber(hub) as stub:
        stub.add_client_error("get_findings", "InvalidAccessException",
                              "Account 210987654321 is not subscribed to AWS Security Hub")

        first = reporter.sync({"vpc-1": [finding]})
        second = reporter.sync({"vpc-1": [finding]})  # no stubbed call left: it must not call again

        stub.assert_no_pending_responses()
    logger.removeHandler(handler)
    assert first == second == {"imported": 0, "archived": 0}
    assert sum("not enabled" in r.getMessage() for r in warned) == 1
    SecurityHubReporter._disabled_accounts.discard("210987654321")


def test_recommendation_is_capped_and_every_command_is_kept() -> None:
    long_fix = tuple(f"aws ec2 authorize-security-group-ingress --group-id sg-{i:08x} " + "x" * 300 for i in range(3))
    finding = Finding("AWS::EC2::SecurityGroup", "sg-1", "endpoint-sg-closed", "closed " * 300, long_fix)

    asff = asff_finding(finding, REGION, ACCOUNT, "vpc-1", "2026-11-29T12:00:00Z")

    assert len(asff["Remediation"]["Recommendation"]["Text"]) <= 512
    assert len(asff["Description"]) <= 1024
    assert [asff["ProductFields"][f"vpce-remediator/Fix{i}"] for i in (1, 2, 3)] == list(long_fix)
    assert asff["Resources"][0]["Type"] == "AwsEc2SecurityGroup"


@pytest.mark.parametrize("code, expected", [
    (None, "requested"),
    ("ResourceInProgressException", "not needed now"),
    ("LimitExceededException", "not needed now"),
])
def test_fast_refresh_treats_a_running_evaluation_as_done(code: str | None, expected: str) -> None:
    from vpce_remediator.report import request_config_refresh

    config = boto3.client("config", region_name=REGION)
    with Stubber(config) as stub:
        params = {"ConfigRuleNames": ["vpce-remediator-vpc-endpoints"]}
        if code:
            stub.add_client_error("start_config_rules_evaluation", code, "busy", expected_params=params)
        else:
            stub.add_response("start_config_rules_evaluation", {}, params)

        assert request_config_refresh(config, "vpce-remediator-vpc-endpoints").startswith(expected)


def test_a_batch_with_an_unfixed_problem_asks_config_once(aws: Any, estate: dict[str, Any]) -> None:  # noqa: F811
    import json as _json

    from vpce_remediator.aws import Clients
    from vpce_remediator.batch import BatchRun

    clients = Clients(region=REGION, session=boto3.session.Session(region_name=REGION))
    config = clients.session.client("config", region_name=REGION)
    clients.__dict__["config"] = config  # moto lacks StartConfigRulesEvaluation
    batch = BatchRun(clients, Settings(mode="report"), config_rule="vpce-remediator-vpc-endpoints",
                     security_hub=True)
    for arn in (estate["web"], estate["api"]):
        batch.process(_json.dumps(load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": arn})))
    with Stubber(config) as stub:
        stub.add_response("start_config_rules_evaluation", {},
                          {"ConfigRuleNames": ["vpce-remediator-vpc-endpoints"]})

        done = batch.finish()

        stub.assert_no_pending_responses()
    assert done["config_refresh"] == "requested"
    assert done["security_hub"]["imported"] > 0 and done["security_hub"]["archived"] == 0
    assert {f["RecordState"] for f in findings(aws).values()} == {"ACTIVE"}


def test_the_periodic_run_closes_the_findings_of_a_vpc_that_no_longer_hosts_a_workload(
        aws: Any, estate: dict[str, Any]) -> None:  # noqa: F811
    periodic = load_event("config/periodic")
    evaluate_config_event(periodic, Captured(), Settings(), security_hub=True)
    opened = {i for i, f in findings(aws).items()
              if f["ProductFields"]["vpce-remediator/VpcId"] == estate["vpc"] and f["RecordState"] == "ACTIVE"}
    assert opened
    ecs = aws.client("ecs", region_name=REGION)
    for arn in (estate["web"], estate["api"]):  # the VPC's services are deleted: nothing left to need endpoints
        ecs.delete_service(cluster="prod", service=arn, force=True)

    evaluate_vpc(estate["vpc"])  # a change notification for the VPC sees nothing to archive by
    assert all(findings(aws)[i]["RecordState"] == "ACTIVE" for i in opened)
    evaluate_config_event(periodic, Captured(), Settings(), security_hub=True)

    after = findings(aws)
    assert {(after[i]["Compliance"]["Status"], after[i]["RecordState"]) for i in opened} == {("PASSED", "ARCHIVED")}


def test_quoted_commands_reach_security_hub_unchanged() -> None:
    """Whitespace inside a quoted argument is part of the value: nothing re-formats the command."""
    command = "aws logs create-log-group --region us-east-1 --log-group-name 'a  b'"
    finding = Finding("AWS::ECS::Service", "arn:aws:ecs:us-east-1:1:service/c/s", "cross-region-logs", "logs",
                      (command,))

    asff = asff_finding(finding, REGION, ACCOUNT, "vpc-1", "2026-11-29T12:00:00Z")

    assert asff["ProductFields"]["vpce-remediator/Fix1"] == command
    assert "'a  b'" not in asff["Remediation"]["Recommendation"]["Text"]  # folded text would change the value
    assert "ProductFields vpce-remediator/Fix1" in asff["Remediation"]["Recommendation"]["Text"]
