"""The queue door end to end: an SQS batch through the deployed handler, under moto."""
from __future__ import annotations

import json
import sys
import threading
import uuid
from typing import Any

import pytest
from account import (
    ECR,
    REGION,
    by_service,
    container,
    endpoints,
    private_vpc,
    register_task_definition,
    run_task_event,
)
from test_handler import LambdaContext

from vpce_remediator.aws import Clients
from vpce_remediator.batch import BatchRun, Recent, SharedVerdicts
from vpce_remediator.engine import Settings
from vpce_remediator.lock import VpcBusy, VpcLock
from vpce_remediator.samples import load_event

QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:vpce-remediator-events"


def sqs_record(body: str) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "receiptHandle": "AQEB" + uuid.uuid4().hex, "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764417600000",
                           "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1764417600001"},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": QUEUE_ARN, "awsRegion": REGION}


def lock_table(aws: Any) -> str:
    aws.client("dynamodb", region_name=REGION).create_table(
        TableName="locks", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    return "locks"


@pytest.fixture
def workload(aws: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    net = private_vpc(aws.client("ec2", region_name=REGION), "app", "10.20.0.0/16", "ab")
    ecs = aws.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")])
    return net, run_task_event(net, td)


def test_a_batch_fails_only_its_malformed_record_and_evaluates_a_duplicate_once(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from handlers.queue import handler, logger

    logger.registered_handler.stream = sys.stdout  # type: ignore[attr-defined]  # Powertools keeps the first stream
    net, event = workload
    monkeypatch.setenv("MODE", "remediate")
    monkeypatch.setenv("LOCK_TABLE", lock_table(aws))
    good, duplicate = sqs_record(json.dumps(event)), sqs_record(json.dumps(event))
    malformed = sqs_record('{"detail-type": "AWS API Call via CloudTrail", "detail": "truncated')
    failed_call = sqs_record(json.dumps(load_event("ecs-RunTask-failed")))

    response = handler({"Records": [good, duplicate, malformed, failed_call]}, LambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": malformed["messageId"]}]}
    svc = by_service(endpoints(aws, net["vpc"]))
    assert set(svc) == {"ecr.api", "ecr.dkr", "s3", "logs"}
    assert all(len(v) == 1 for v in svc.values())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    evaluated = [entry for entry in lines if entry.get("message") == "record evaluated"]
    assert [e["status"] for e in evaluated] == ["remediated", "ignored", "ignored"]
    assert "duplicate delivery" in evaluated[1]["reason"]
    assert "AccessDeniedException" in evaluated[2]["reason"]
    assert any(e.get("message") == "record rejected" and e["message_id"] == malformed["messageId"] for e in lines)


def test_the_duplicate_costs_no_aws_call(aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, event = workload
    clients = Clients(region=REGION)
    run = BatchRun(clients, Settings(mode="report"))

    run.process(json.dumps(event))
    first = clients.total_calls
    again = run.process(json.dumps(event))

    assert clients.total_calls == first
    assert again["status"] == "ignored"


def test_two_runs_on_one_vpc_at_once_create_one_endpoint_per_service(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """The lock in action: two batches for the same VPC at the same moment (threads)."""
    net, event = workload
    table = lock_table(aws)
    start = threading.Barrier(2)
    results: list[dict[str, Any]] = []

    def worker() -> None:
        clients = Clients(region=REGION)
        run = BatchRun(clients, Settings(mode="remediate"), VpcLock(clients.dynamodb, table, poll_seconds=0.05))
        body = json.dumps(load_event("ecs-RunTask", {"detail": event["detail"]}))  # a new event id
        start.wait()
        results.append(run.process(body))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    svc = by_service(endpoints(aws, net["vpc"]))
    assert {k: len(v) for k, v in svc.items()} == {"ecr.api": 1, "ecr.dkr": 1, "s3": 1, "logs": 1}
    assert sorted(r["status"] for r in results) == ["compliant", "remediated"]


def test_a_held_lock_makes_the_record_retry_later(aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    net, event = workload
    clients = Clients(region=REGION)
    table = lock_table(aws)
    VpcLock(clients.dynamodb, table).acquire(net["vpc"])  # another run holds it
    run = BatchRun(clients, Settings(mode="remediate"), VpcLock(clients.dynamodb, table, wait_seconds=0.2,
                                                                  poll_seconds=0.05))

    with pytest.raises(VpcBusy):
        run.process(json.dumps(event))

    assert endpoints(aws, net["vpc"]) == []


def test_a_storm_of_runtask_for_one_workload_is_one_evaluation(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, event = workload
    clients = Clients(region=REGION)
    run = BatchRun(clients, Settings(mode="report"))

    results = [run.process(json.dumps(load_event("ecs-RunTask", {"detail": event["detail"]}))) for _ in range(1000)]

    assert run.evaluations == 1
    assert {r["status"] for r in results} == {"non_compliant"}
    assert sum(1 for r in results if "deduplicated_from" in r) == 999
    assert clients.total_calls <= 12  # the one evaluation's reads, nothing per duplicate


def test_a_redelivered_event_in_a_later_batch_is_not_evaluated_again(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    net, event = workload
    table = lock_table(aws)
    body = json.dumps(event)
    first = BatchRun(Clients(region=REGION), Settings(mode="remediate"), idempotency_table=table)
    second = BatchRun(Clients(region=REGION), Settings(mode="remediate"), idempotency_table=table)

    one = first.process(body)
    two = second.process(body)  # another invocation, another batch, same CloudTrail event

    assert (first.evaluations, second.evaluations) == (1, 0)
    assert two["status"] == one["status"] == "remediated"
    assert len(endpoints(aws, net["vpc"])) == 4


def _launch(event: dict[str, Any], **overrides: Any) -> str:
    """The same task launch as `event` under a new CloudTrail event id (a new RunTask call)."""
    return json.dumps(load_event("ecs-RunTask", {"detail": event["detail"], **overrides}))


def test_a_launch_storm_across_batches_of_a_warm_container_is_one_evaluation(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, event = workload
    memory = Recent()
    clients = Clients(region=REGION)
    batches = [BatchRun(clients, Settings(mode="report"), memory=memory) for _ in range(100)]

    results = [run.process(_launch(event)) for run in batches for _ in range(10)]
    after_first = clients.total_calls

    assert sum(run.evaluations for run in batches) == 1
    assert {r["status"] for r in results} == {"non_compliant"}
    assert sum(1 for r in results if "s ago by this container" in r.get("reason", "")) == 990
    cold = Clients(region=REGION)
    BatchRun(cold, Settings(mode="report")).process(_launch(event))  # a cold container pays the reads again
    assert after_first == cold.total_calls


def test_the_memory_forgets_after_its_window_and_after_any_network_change(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    net, event = workload
    now = [0.0]
    memory = Recent(seconds=300, clock=lambda: now[0])

    def evaluations(body: str) -> int:
        run = BatchRun(Clients(region=REGION), Settings(mode="report"), memory=memory)
        run.process(body)
        return run.evaluations

    assert evaluations(_launch(event)) == 1
    now[0] = 299
    assert evaluations(_launch(event)) == 0
    now[0] = 601  # past the window of the first evaluation
    assert evaluations(_launch(event)) == 1
    drift = load_event("ec2-ModifyVpcAttribute", {"detail.requestParameters.vpcId": net["vpc"]})
    assert evaluations(json.dumps(drift)) == 1  # drift is never remembered, and wipes the memory
    assert len(memory) == 0
    assert evaluations(_launch(event)) == 1


def test_a_launch_by_family_name_alone_is_not_remembered(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """`--task-definition web` means the latest revision, which may change between two launches."""
    _, event = workload
    memory = Recent()
    by_family = {"detail.responseElements.tasks.0.taskDefinitionArn": None,
                 "detail.requestParameters.taskDefinition": "web"}
    for _ in range(2):
        run = BatchRun(Clients(region=REGION), Settings(mode="report"), memory=memory)
        run.process(_launch(event, **by_family))
        assert run.evaluations == 1
    assert len(memory) == 0


def test_the_same_revision_launched_into_another_network_is_evaluated_on_its_own(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """The memory is per network: a compliant launch must not vouch for one into a broken VPC."""
    net, event = workload
    memory = Recent()
    BatchRun(Clients(region=REGION), Settings(mode="remediate"), memory=memory).process(_launch(event))
    other = private_vpc(aws.client("ec2", region_name=REGION), "other", "10.40.0.0/16", "ab")
    path = "detail.requestParameters.networkConfiguration.awsvpcConfiguration"

    run = BatchRun(Clients(region=REGION), Settings(mode="remediate"), memory=memory)
    result = run.process(_launch(event, **{f"{path}.subnets": other["subnets"],
                                           f"{path}.securityGroups": [other["sg"]]}))

    assert run.evaluations == 1 and result["status"] == "remediated"
    assert set(by_service(endpoints(aws, other["vpc"]))) == {"ecr.api", "ecr.dkr", "s3", "logs"}


def test_a_redelivered_event_answered_from_the_idempotency_store_is_not_remembered_as_fresh(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """Its stored verdict may be a day old: the next launch must look at the VPC as it is now."""
    net, event = workload
    table = lock_table(aws)
    body = json.dumps(event)
    BatchRun(Clients(region=REGION), Settings(mode="remediate"), idempotency_table=table).process(body)
    ec2 = aws.client("ec2", region_name=REGION)
    dkr = by_service(endpoints(aws, net["vpc"]))["ecr.dkr"][0]["VpcEndpointId"]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[dkr])
    memory = Recent()  # a new container receives the redelivery, then a new launch

    redelivered = BatchRun(Clients(region=REGION), Settings(mode="remediate"), idempotency_table=table,
                           memory=memory)
    redelivered.process(body)
    launch = BatchRun(Clients(region=REGION), Settings(mode="remediate"), idempotency_table=table, memory=memory)
    result = launch.process(_launch(event))

    assert (redelivered.evaluations, launch.evaluations) == (0, 1)
    assert result["status"] == "remediated"
    assert len(by_service(endpoints(aws, net["vpc"]))["ecr.dkr"]) == 1


def test_a_verdict_with_a_failed_write_is_not_remembered() -> None:
    failed = {"status": "non_compliant", "actions": [{"action": "create-endpoint", "status": "failed"}],
              "findings": [{"problem": "permission-missing"}]}
    assert not Recent.settled(failed)
    assert not Recent.settled({"status": "non_compliant", "actions": [], "findings": [
        {"problem": "permission-missing"}]})
    assert Recent.settled({"status": "remediated", "actions": [{"status": "created"}], "findings": []})


def _container(table: str, memory: Recent | None = None) -> BatchRun:
    """A batch in a container of its own (its own memory), sharing the stack's table."""
    clients = Clients(region=REGION)
    return BatchRun(clients, Settings(mode="remediate"), memory=memory or Recent(),
                    shared=SharedVerdicts(clients.dynamodb, table))


def test_a_launch_evaluated_by_one_container_is_not_evaluated_again_by_another(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, event = workload
    table = lock_table(aws)
    first, second = _container(table), _container(table)

    first.process(_launch(event))
    answer = second.process(_launch(event))

    assert (first.evaluations, second.evaluations) == (1, 0)
    assert answer["status"] == "remediated" and "by another container" in answer["reason"]
    assert [op for op in second.clients.calls if not op.startswith("dynamodb.")] == []


def test_drift_in_one_container_voids_the_shared_verdicts_of_every_container(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    net, event = workload
    table = lock_table(aws)
    _container(table).process(_launch(event))
    dkr = by_service(endpoints(aws, net["vpc"]))["ecr.dkr"][0]["VpcEndpointId"]
    aws.client("ec2", region_name=REGION).delete_vpc_endpoints(VpcEndpointIds=[dkr])
    drift = load_event("ec2-DeleteVpcEndpoints")
    drift["detail"]["requestParameters"]["DeleteVpcEndpointsRequest"] = {"VpcEndpointId": {"tag": 1, "content": dkr}}
    _container(table).process(json.dumps(drift))  # another container restores it, and moves the epoch

    later = _container(table)
    later.process(_launch(event))

    assert later.evaluations == 1  # the verdict from before the drift is void everywhere


def test_a_shared_verdict_past_its_window_is_not_used(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, event = workload
    table = lock_table(aws)
    now = [1_000_000.0]
    clients = Clients(region=REGION)
    shared = SharedVerdicts(clients.dynamodb, table, seconds=120, clock=lambda: now[0])
    BatchRun(clients, Settings(mode="remediate"), memory=Recent(), shared=shared).process(_launch(event))

    now[0] += 121
    late = BatchRun(clients, Settings(mode="remediate"), memory=Recent(), shared=shared)
    late.process(_launch(event))

    assert late.evaluations == 1
