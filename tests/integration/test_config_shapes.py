"""Every invocation shape of events/config/, through the Lambda handler and through `invoke`:
no traceback, the evaluation Config would record (compliance and annotation), or one clear line.

The estate: a private VPC with a Fargate service (prod/web, the samples' service) and an EC2
one, no endpoints, so whatever is evaluated is NON_COMPLIANT and anything else is NOT_APPLICABLE.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from account import REGION
from botocore.stub import ANY
from config_samples import (
    SAMPLES,
    WEB,
    AnswerOnly,
    PutEvaluations,
    TokensChecked,
    build_estate,
    invoking,
    sample,
    sample_text,
)

from bench import LambdaContext  # the context Lambda passes, shared with make bench
from vpce_remediator.cli import main

MISSING_FARGATE = "missing ecr.api, ecr.dkr, logs, s3"
MISSING_VPC = "missing ecr.api, ecr.dkr, ecs, ecs-agent, ecs-telemetry, logs, s3"


def expected(name: str, net: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Per sample: resource id -> (compliance, what the annotation starts with or contains)."""
    subnet, whole = net["subnets"][0], {
        net["vpc"]: ("NON_COMPLIANT", MISSING_VPC), WEB: ("NON_COMPLIANT", MISSING_FARGATE),
        net["api"]: ("NON_COMPLIANT", MISSING_VPC)}
    return {
        "ecs-service-change": {WEB: ("NON_COMPLIANT", MISSING_FARGATE)},
        "ecs-service-change-configuration-string": {WEB: ("NON_COMPLIANT", MISSING_FARGATE)},
        "ecs-service-deleted": {WEB: ("NOT_APPLICABLE", f"AWS::ECS::Service {WEB} was deleted")},
        "ecs-service-left-scope": {WEB: ("NOT_APPLICABLE", f"AWS::ECS::Service {WEB} left the rule's scope")},
        "subnet-not-recorded": {subnet: ("NOT_APPLICABLE", f"AWS::EC2::Subnet {subnet} is not recorded by AWS Config "
                                                           "(its recorder excludes the type)")},
        "security-group-relationship-vpc": whole,
        "oversized-vpc": whole,  # read from the history (answered below: moto has none for EC2 types)
        "oversized-ec2-instance": {"i-0a1b2c3d4e5f60099": (
            "NOT_APPLICABLE", "AWS::EC2::Instance is not evaluated by this rule")},
        "oversized-ecs-service-deleted": {WEB: ("NOT_APPLICABLE", f"AWS::ECS::Service {WEB} was deleted")},
        "periodic": whole,
        "snapshot-delivery": whole,
        "oversized-no-summary": {},
        "oversized-partial-summary": {},
    }[name]


ERRORS = {
    "oversized-no-summary": "the oversized change notification carries no configurationItemSummary",
    "oversized-partial-summary": "configurationItemSummary has no resourceId",
}


@pytest.fixture
def estate(aws: Any) -> dict[str, Any]:
    return build_estate(aws)


@pytest.fixture
def history(estate: dict[str, Any]) -> Any:
    """GetResourceConfigHistory answered as AWS would for the VPC of oversized-vpc (a moto gap)."""
    with AnswerOnly("config", "GetResourceConfigHistory") as stub:
        yield stub


def _history_answer(stub: AnswerOnly, net: dict[str, Any]) -> None:
    item = {"resourceType": "AWS::EC2::VPC", "resourceId": net["vpc"], "accountId": "123456789012",
            "awsRegion": REGION, "configurationItemStatus": "OK", "configurationItemCaptureTime": "2026-11-29T12:01:10Z",
            "configuration": json.dumps({"vpcId": net["vpc"], "cidrBlock": "10.20.0.0/16", "state": "available"}),
            "supplementaryConfiguration": {}, "relationships": [
                {"resourceType": "AWS::EC2::Subnet", "resourceId": s, "relationshipName": "Contains Subnet"}
                for s in net["subnets"]]}
    stub.add_response("get_resource_config_history", {"configurationItems": [item]},
                      {"resourceType": "AWS::EC2::VPC", "resourceId": net["vpc"], "limit": 1})


def _check(name: str, net: dict[str, Any], sent: dict[str, dict[str, Any]]) -> None:
    want = expected(name, net)
    assert set(sent) == set(want), name
    for rid, (compliance, text) in want.items():
        got = sent[rid]
        assert got["ComplianceType"] == compliance, (name, rid, got)
        assert got["Annotation"].startswith(text) or text in got["Annotation"], (name, rid, got["Annotation"])
        assert len(got["Annotation"]) <= 256


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample_through_the_lambda_handler(name: str, estate: dict[str, Any], history: AnswerOnly) -> None:
    from handlers.config import handler

    if name == "oversized-vpc":
        _history_answer(history, estate)

    with PutEvaluations() as put:
        result = handler(sample(name, estate), LambdaContext())

    if name in ERRORS:
        assert result == {"status": "error", "error": result["error"]} and ERRORS[name] in result["error"]
        assert put.requests == []  # nothing evaluated, nothing sent
    else:
        _check(name, estate, put.by_id)
        assert {e["resource_id"] for e in result["evaluations"]} == set(put.by_id)
    history.assert_no_pending_responses()  # the history was read exactly when it had to be


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample_through_invoke(name: str, estate: dict[str, Any], history: AnswerOnly, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(sample_text(name, estate))
    if name == "oversized-vpc":
        _history_answer(history, estate)

    with PutEvaluations() as put:
        code = main(["invoke", str(path), "--json"])

    out, err = capsys.readouterr()  # main returned: nothing escaped it, so no traceback
    assert "evaluating in Region us-east-1 (from the event's configRuleArn; --region overrides it)" in err
    if name in ERRORS:
        assert code == 2 and ERRORS[name] in json.loads(out)["error"]
        assert put.requests == []
    else:
        assert code == 0
        _check(name, estate, put.by_id)
        assert {e["resource_id"] for e in json.loads(out)["evaluations"]} == set(put.by_id)
    history.assert_no_pending_responses()


def test_an_oversized_item_config_has_no_history_of_is_not_applicable_with_why(estate: dict[str, Any]) -> None:
    """moto's own answer here (ResourceNotDiscoveredException) is what AWS says of an item it no
    longer holds: not a failure of the rule."""
    from handlers.config import handler

    with PutEvaluations() as put:
        handler(sample("oversized-vpc", estate), LambdaContext())

    (only,) = put.by_id.values()
    assert only["ComplianceResourceId"] == estate["vpc"] and only["ComplianceType"] == "NOT_APPLICABLE"
    assert "ResourceNotDiscoveredException" in only["Annotation"]


@pytest.mark.parametrize("status, words", [
    ("ResourceDeleted", "was deleted"),
    ("ResourceDeletedNotRecorded", "was deleted (AWS Config does not record its type"),
    ("ResourceNotRecorded", "is not recorded by AWS Config"),
])
def test_each_gone_or_unrecorded_status_has_its_own_words(status: str, words: str, estate: dict[str, Any]) -> None:
    from handlers.config import handler

    event = sample("ecs-service-change", estate)
    inner = invoking(event)
    inner["configurationItem"]["configurationItemStatus"] = status
    event["invokingEvent"] = json.dumps(inner)

    with PutEvaluations() as put:
        handler(event, LambdaContext())

    assert put.by_id[WEB]["ComplianceType"] == "NOT_APPLICABLE"
    assert put.by_id[WEB]["Annotation"].startswith(f"AWS::ECS::Service {WEB} {words}")
    if status == "ResourceNotRecorded":
        assert "deleted" not in put.by_id[WEB]["Annotation"]


def test_no_result_token_is_one_clear_line_in_the_handler_and_the_cli(estate: dict[str, Any], tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from handlers.config import handler

    event = sample("ecs-service-change", estate)
    del event["resultToken"]
    path = tmp_path / "no-token.json"
    path.write_text(json.dumps(event))

    result = handler(event, LambdaContext())
    code = main(["invoke", str(path)])

    err = capsys.readouterr().err
    assert result["status"] == "error" and "no resultToken" in result["error"]
    assert code == 2
    (line,) = [x for x in err.splitlines() if "bad event" in x]
    assert "no resultToken" in line and "EventBridge" not in err


def test_a_token_config_refuses_is_one_clear_line(estate: dict[str, Any]) -> None:
    """A copied or damaged resultToken: AWS answers InvalidResultTokenException, which no retry mends."""
    from handlers.config import handler

    event = sample("ecs-service-change", estate)
    event["resultToken"] = "eyJlbmNyeXB0ZWREYXRhIjpbXX0="  # a real token's shape, of no current invocation

    with TokensChecked() as checked:
        result = handler(event, LambdaContext())

    assert checked.refused == 1
    assert result["status"] == "error" and "InvalidResultTokenException" in result["error"]


def test_invoke_evaluates_in_the_events_region_unless_told_otherwise(estate: dict[str, Any], tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    event = sample("periodic", estate)
    event["configRuleArn"] = event["configRuleArn"].replace(f":{REGION}:", ":eu-west-1:")
    path = tmp_path / "periodic-eu.json"
    path.write_text(json.dumps(event))

    elsewhere = main(["invoke", str(path), "--json"])
    there = json.loads(capsys.readouterr().out)
    overridden = main(["invoke", str(path), "--json", "--region", REGION])
    out, err = capsys.readouterr()

    assert elsewhere == overridden == 0
    assert there["evaluations"] == []  # eu-west-1 hosts nothing: the us-east-1 estate is not judged there
    assert {e["resource_id"] for e in json.loads(out)["evaluations"]} == {estate["vpc"], WEB, estate["api"]}
    assert "evaluating in Region us-east-1 (--region)" in err


def test_invoke_takes_the_items_region_when_the_rule_arn_names_none(estate: dict[str, Any], tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    event = sample("ecs-service-change-configuration-string", estate)
    del event["configRuleArn"]
    path = tmp_path / "no-arn.json"
    path.write_text(json.dumps(event))

    code = main(["invoke", str(path)])

    out, err = capsys.readouterr()
    assert code == 0 and "evaluating in Region us-east-1 (from the event's configurationItem.awsRegion" in err
    assert f"NON_COMPLIANT   AWS::ECS::Service {WEB}: {MISSING_FARGATE}" in out


def test_the_periodic_run_marks_what_it_no_longer_finds_not_applicable(estate: dict[str, Any], aws: Any) -> None:
    """Config's view matches the estate: a VPC whose last workload went, a deleted VPC and a deleted
    service the rule judged before are NOT_APPLICABLE, each saying why; what is still there is not
    touched twice. The earlier evaluations are read over every page."""
    from handlers.config import handler

    empty = aws.client("ec2", region_name=REGION).create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    gone_vpc, gone_service = "vpc-0ffffffffffffff01", f"arn:aws:ecs:{REGION}:123456789012:service/prod/old"
    before = [("AWS::EC2::VPC", estate["vpc"], "NON_COMPLIANT"), ("AWS::EC2::VPC", empty, "NON_COMPLIANT"),
              ("AWS::EC2::VPC", gone_vpc, "COMPLIANT"), ("AWS::ECS::Service", gone_service, "NON_COMPLIANT"),
              ("AWS::ECS::Service", WEB, "NON_COMPLIANT")]
    pages = [before[:3], before[3:]]
    with AnswerOnly("config", "GetComplianceDetailsByConfigRule") as stub, PutEvaluations() as put:
        for i, page in enumerate(pages):
            stub.add_response("get_compliance_details_by_config_rule", {
                "EvaluationResults": [{"EvaluationResultIdentifier": {"EvaluationResultQualifier": {
                    "ConfigRuleName": "vpce-remediator-vpc-endpoints", "ResourceType": t, "ResourceId": r}},
                    "ComplianceType": c} for t, r, c in page], **({"NextToken": "page-2"} if i == 0 else {})},
                {"ConfigRuleName": "vpce-remediator-vpc-endpoints", "ComplianceTypes": ["COMPLIANT", "NON_COMPLIANT"],
                 "Limit": 100, **({"NextToken": "page-2"} if i else {})})

        result = handler(sample("periodic", estate), LambdaContext())

        stub.assert_no_pending_responses()
    sent = put.by_id
    assert {k: v["ComplianceType"] for k, v in sent.items()} == {
        estate["vpc"]: "NON_COMPLIANT", WEB: "NON_COMPLIANT", estate["api"]: "NON_COMPLIANT",
        empty: "NOT_APPLICABLE", gone_vpc: "NOT_APPLICABLE", gone_service: "NOT_APPLICABLE"}
    assert sent[empty]["Annotation"] == "no ECS service or running standalone task in this VPC any more (periodic run)"
    assert sent[gone_vpc]["Annotation"] == "VPC deleted (not found by the periodic run)"
    assert sent[gone_service]["Annotation"].startswith("ECS service not found by the periodic run")
    assert len(result["evaluations"]) == 6 and result["notes"] == []


def test_earlier_evaluations_refused_leave_them_and_say_so(estate: dict[str, Any]) -> None:
    """A member role deployed before this read was granted: the run still evaluates everything."""
    from handlers.config import handler

    with AnswerOnly("config", "GetComplianceDetailsByConfigRule") as stub, PutEvaluations() as put:
        stub.add_client_error("get_compliance_details_by_config_rule", "AccessDeniedException", "not authorized",
                              expected_params={"ConfigRuleName": ANY, "ComplianceTypes": ANY, "Limit": 100})

        result = handler(sample("periodic", estate), LambdaContext())

    assert set(put.by_id) == {estate["vpc"], WEB, estate["api"]}
    (note,) = result["notes"]
    assert "AccessDeniedException" in note and "stay as they were" in note
