"""The organization path's engine (issue 15): one central queue function, each record evaluated in
the account it is about, with that account's member role.

moto keeps a backend per account and `AssumeRole` into `arn:aws:iam::ACCOUNT:role/...` returns
credentials acting in ACCOUNT, so the member accounts here are real moto accounts: what is created
in A is looked for in A, in B and in the central account. moto's AssumeRole does not check that the
role exists (DESIGN.md §7), so the one account without a member role is an STS answer given by
botocore's Stubber: that gap alone.
"""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from account import (
    ECR,
    REGION,
    by_service,
    container,
    private_vpc,
    register_task_definition,
    run_task_event,
    state_lock,
)
from botocore.stub import Stubber
from test_config_rule import change_event, vpc_item
from test_queue_handler import sqs_record

from vpce_remediator.accounts import MemberAccounts, MemberRole
from vpce_remediator.aws import Clients
from vpce_remediator.batch import BatchRun
from vpce_remediator.config_rule import evaluate_in_member
from vpce_remediator.engine import Settings

CENTRAL, A, B, C = "123456789012", "111111111111", "222222222222", "333333333333"
ROLE = "vpce-remediator-member"


def session_in(account: str) -> boto3.session.Session:
    """boto3 acting in `account`, as a user of that account would look at it."""
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="test")["Credentials"]
    return boto3.session.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                 aws_session_token=creds["SessionToken"], region_name=REGION)


def seed(account: str, cidr: str, image: str | None = None) -> dict[str, Any]:
    """A private VPC with a Fargate task definition pulling from the account's own ECR, in `account`."""
    s = session_in(account)
    ec2, ecs = s.client("ec2"), s.client("ecs")
    net = private_vpc(ec2, f"app-{account}", cidr, "ab")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", image or ECR.replace(CENTRAL, account) + "/web:1")])
    s.client("securityhub").enable_security_hub()
    event = run_task_event(net, td, **{"account": account, "detail.recipientAccountId": account,
                                       "detail.userIdentity.accountId": account})
    return {**net, "session": s, "event": event}


def endpoints_in(session: Any) -> list[dict[str, Any]]:
    return [e for e in session.client("ec2").describe_vpc_endpoints()["VpcEndpoints"]
            if e["State"].lower() not in ("deleted", "deleting")]


def central_run(clients: Clients, **kw: Any) -> BatchRun:
    return BatchRun(clients, Settings(mode="remediate"), state_lock(clients), security_hub=True,
                    members=MemberAccounts(clients, MemberRole(ROLE)), **kw)


def test_each_record_is_remediated_in_its_own_account_only(aws: Any) -> None:
    a = seed(A, "10.1.0.0/16", "docker.io/library/nginx:1.27")  # a public image: a finding in A
    b = seed(B, "10.2.0.0/16")
    central = Clients(region=REGION)
    batch = central_run(central)

    response = batch.process_records([sqs_record(json.dumps(a["event"])), sqs_record(json.dumps(b["event"]))])
    batch.finish()

    assert response == {"batchItemFailures": []}
    in_a, in_b = endpoints_in(a["session"]), endpoints_in(b["session"])
    assert {e["VpcId"] for e in in_a} == {a["vpc"]} and {e["VpcId"] for e in in_b} == {b["vpc"]}
    assert {"ecr.dkr", "logs"} <= set(by_service(in_b)) and "ecr.dkr" not in by_service(in_a)
    assert endpoints_in(boto3.session.Session(region_name=REGION)) == []  # nothing in the central account
    # Security Hub findings land in the account they are about, naming its own resources (the
    # public image's task definition).
    hub_a = a["session"].client("securityhub").get_findings()["Findings"]
    assert hub_a and {f["AwsAccountId"] for f in hub_a} == {A}
    assert {f["Resources"][0]["Id"] for f in hub_a} == {f"arn:aws:ecs:{REGION}:{A}:task-definition/web:1"}
    assert boto3.client("securityhub", region_name=REGION).get_findings()["Findings"] == []
    # Each account's record of what the tool made is kept under its id in the central table.
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="vpce-remediator-state")["Items"]
    owned = {i["id"]["S"] for i in items if i["id"]["S"].startswith("owned#")}
    assert owned == {f"owned#{B}#{b['vpc']}"} | ({f"owned#{A}#{a['vpc']}"} if in_a else set())
    # The central account assumed each member role once; every EC2 call was made as a member.
    assert central.calls["sts.AssumeRole"] == 2
    assert not any(op.startswith(("ec2.", "ecs.")) for op in central.calls)


def test_credentials_are_cached_per_account_and_a_second_run_changes_nothing(aws: Any) -> None:
    b = seed(B, "10.2.0.0/16")
    central = Clients(region=REGION)
    members = MemberAccounts(central, MemberRole(ROLE))
    BatchRun(central, Settings(mode="remediate"), state_lock(central), members=members).process_records(
        [sqs_record(json.dumps(b["event"]))])
    made = endpoints_in(b["session"])

    # A later batch in the same warm container (a fresh batch memory, the same member credentials).
    later = BatchRun(central, Settings(mode="remediate"), state_lock(central), members=members)
    result = later.process(json.dumps(b["event"]))

    assert central.calls["sts.AssumeRole"] == 1  # cached for the credentials' lifetime
    assert result["status"] == "compliant", result.get("reason")
    assert endpoints_in(b["session"]) == made


def test_an_account_without_the_member_role_is_not_evaluated_and_nothing_is_written(
        aws: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    c = seed(C, "10.3.0.0/16")
    central = Clients(region=REGION)
    batch = central_run(central)
    with Stubber(central.sts) as sts:  # moto gap: its AssumeRole never refuses a missing role
        sts.add_client_error("assume_role", "AccessDenied", f"User is not authorized to perform: sts:AssumeRole on "
                             f"resource: arn:aws:iam::{C}:role/{ROLE}", 403)
        response = batch.process_records([sqs_record(json.dumps(c["event"]))])
        batch.finish()

    assert response == {"batchItemFailures": []}  # retrying in seconds finds the same role missing
    assert endpoints_in(c["session"]) == [] and endpoints_in(boto3.session.Session(region_name=REGION)) == []
    logged = [r for r in caplog.records if r.getMessage() == "member account unreachable: not evaluated"]
    assert len(logged) == 1
    assert logged[0].account == C and "is the member stack deployed there?" in logged[0].error  # type: ignore[attr-defined]
    # One CloudWatch metric (embedded metric format, on stdout) per unreachable record.
    out = capsys.readouterr().out
    metrics = [json.loads(line) for line in out.splitlines() if line.startswith("{") and "UnreachableAccount" in line]
    assert [(m["account"], m["UnreachableAccount"]) for m in metrics] == [(C, [1.0])]


def test_the_member_roles_own_calls_never_trigger_the_engine(aws: Any) -> None:
    b = seed(B, "10.2.0.0/16")
    event = json.loads(json.dumps(b["event"]))
    event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = f"arn:aws:iam::{B}:role/{ROLE}"
    central = Clients(region=REGION)

    result = central_run(central).process(json.dumps(event))

    assert result["status"] == "ignored" and "member role" in result["reason"]
    assert central.calls["sts.AssumeRole"] == 0 and endpoints_in(b["session"]) == []


def test_the_organization_config_rule_evaluates_and_reports_with_the_members_credentials(aws: Any) -> None:
    b = seed(B, "10.2.0.0/16")
    s = b["session"]
    s.client("ecs").create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=1,
                                   launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                                       "subnets": b["subnets"], "securityGroups": [b["sg"]]}})
    central = Clients(region=REGION)
    members = MemberAccounts(central, MemberRole(ROLE))
    put: list[dict[str, Any]] = []
    members.clients(B).session.events.register("provide-client-params.config.PutEvaluations",
                                               lambda params, **_: put.append(params))
    event = change_event(vpc_item("AWS::EC2::VPC", b["vpc"], b["vpc"]))
    event["accountId"] = B

    result = evaluate_in_member(event, members, Settings(), security_hub=True)

    assert result["account"] == B
    assert {e["ComplianceResourceId"]: e["ComplianceType"] for call in put for e in call["Evaluations"]}[b["vpc"]] \
        == "NON_COMPLIANT"
    assert s.client("securityhub").get_findings()["Findings"]  # in B's Security Hub
    assert boto3.client("securityhub", region_name=REGION).get_findings()["Findings"] == []
    assert not any(op.startswith(("config.", "ec2.", "securityhub.")) for op in central.calls)


def test_an_organization_rule_invocation_for_an_unreachable_account_puts_nothing(aws: Any) -> None:
    central = Clients(region=REGION)
    event = change_event(vpc_item("AWS::EC2::VPC", "vpc-0123456789abcdef0", "vpc-0123456789abcdef0"))
    event["accountId"] = "not-an-account"

    result = evaluate_in_member(event, MemberAccounts(central, MemberRole(ROLE)), Settings())

    assert result["status"] == "ignored" and "12-digit" in result["reason"]
    assert central.total_calls == 0


def test_one_event_id_in_two_accounts_is_two_evaluations_under_idempotency(aws: Any) -> None:
    a, b = seed(A, "10.1.0.0/16"), seed(B, "10.2.0.0/16")
    for e in (a["event"], b["event"]):
        e["detail"]["eventID"] = "the-same-event-id"
    central = Clients(region=REGION)
    members = MemberAccounts(central, MemberRole(ROLE))
    lock = state_lock(central)

    results = [BatchRun(central, Settings(mode="remediate"), lock, members=members, idempotency_table=lock.table)
               .process(json.dumps(e)) for e in (a["event"], b["event"])]

    assert [r["status"] for r in results] == ["remediated", "remediated"]
    assert endpoints_in(a["session"]) and endpoints_in(b["session"])


def test_sts_throttled_past_the_retries_leaves_the_record_to_be_retried(aws: Any) -> None:
    c = seed(C, "10.3.0.0/16")
    central = Clients(region=REGION)
    batch = central_run(central)
    with Stubber(central.sts) as sts:  # moto never throttles; botocore's retries are spent on these
        for _ in range(6):
            sts.add_client_error("assume_role", "Throttling", "Rate exceeded", 400)
        response = batch.process_records([record := sqs_record(json.dumps(c["event"]))])

    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert endpoints_in(c["session"]) == []
