"""Faults: throttles, eventual consistency and missing permissions, injected into moto's answers.

A botocore `before-call` handler that returns a response short-circuits the call, the way
botocore's own Stubber does; it stands in for EC2 answering with an error.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from account import ECR, REGION, by_service, container, endpoints, private_vpc, register_task_definition, run_task_event
from test_queue_handler import sqs_record

from vpce_remediator.aws import Clients
from vpce_remediator.batch import BatchRun
from vpce_remediator.engine import Settings, evaluate_event
from vpce_remediator.pacing import Pacer


class FaultyClients(Clients):
    """Clients on their own session, with hooks that can fail chosen calls."""

    def __init__(self) -> None:
        super().__init__(region=REGION, session=boto3.session.Session(region_name=REGION))
        self.params: list[dict[str, Any]] = []
        self.session.events.register("provide-client-params.ec2.CreateVpcEndpoint",
                                     lambda params, **_: self.params.append(dict(params)))

    def fail(self, operation: str, code: str, when: Callable[[int], bool]) -> None:
        seen = {"n": 0}

        def handler(**_: Any) -> Any:
            seen["n"] += 1
            if when(seen["n"]):
                error = {"Error": {"Code": code, "Message": f"injected {code}"},
                         "ResponseMetadata": {"HTTPStatusCode": 400 if code != "RequestLimitExceeded" else 503}}
                return _FakeHttp(), error
            return None

        self.session.events.register(f"before-call.ec2.{operation}", handler)


class _FakeHttp:
    status_code = 503
    headers: dict[str, str] = {}
    text = ""
    content = b""


@pytest.fixture
def workload(aws: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    net = private_vpc(aws.client("ec2", region_name=REGION), "app", "10.20.0.0/16", "ab")
    td = register_task_definition(aws.client("ecs", region_name=REGION), "web", [container("web", f"{ECR}/web:1")])
    return net, run_task_event(net, td)


def test_a_throttle_fails_the_record_and_its_retry_finishes_without_duplicates(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    net, event = workload
    clients = FaultyClients()
    clients.fail("CreateVpcEndpoint", "RequestLimitExceeded", when=lambda n: n == 3)
    batch = BatchRun(clients, Settings(mode="remediate"))
    record = sqs_record(json.dumps(event))

    response = batch.process_records([record])

    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert len(endpoints(aws, net["vpc"])) == 2  # half done, and the record says so: it is retried

    retry = BatchRun(FaultyClients(), Settings(mode="remediate"))
    assert retry.process(json.dumps(event))["status"] == "remediated"
    assert {k: len(v) for k, v in by_service(endpoints(aws, net["vpc"])).items()} == {
        "ecr.api": 1, "ecr.dkr": 1, "logs": 1, "s3": 1}


def test_an_endpoint_not_yet_visible_is_asked_for_with_the_same_client_token(
        aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """EC2 is eventually consistent: a Describe right after a Create may miss it. The retry then
    sends the same request with the same ClientToken, which EC2 answers with the endpoint it already
    made (moto does not deduplicate tokens, so the request is what is asserted)."""
    _, event = workload
    first = FaultyClients()
    evaluate_event(event, first, Settings(mode="remediate"))
    blind = FaultyClients()
    blind.fail("DescribeVpcEndpoints", "noop", when=lambda n: False)
    aws.client("ec2", region_name=REGION)
    hidden = {p["ClientToken"] for p in first.params}

    def hide(parsed: dict[str, Any], **_: Any) -> None:  # the new endpoints are not visible yet
        parsed["VpcEndpoints"] = [e for e in parsed.get("VpcEndpoints", [])
                                  if not any(t["Key"] == "managed-by" for t in e.get("Tags", []))]

    blind.session.events.register("after-call.ec2.DescribeVpcEndpoints", hide)
    evaluate_event(event, blind, Settings(mode="remediate"))

    assert hidden and {p["ClientToken"] for p in blind.params} == hidden
    assert [{k: v for k, v in p.items()} for p in blind.params] == first.params


def test_access_denied_on_a_write_becomes_a_finding(aws: Any, workload: tuple[dict[str, Any], dict[str, Any]]) -> None:
    net, event = workload
    clients = FaultyClients()
    clients.fail("CreateVpcEndpoint", "UnauthorizedOperation", when=lambda n: True)

    result = evaluate_event(event, clients, Settings(mode="remediate")).to_dict()

    assert result["status"] == "non_compliant"
    denied = [f for f in result["findings"] if f["problem"] == "permission-missing"]
    assert len(denied) == 4
    assert all(f["summary"].startswith("permission missing: ec2:CreateVpcEndpoint") for f in denied)
    assert all(f["fix"][0].startswith("aws ec2 create-vpc-endpoint") for f in denied)
    assert endpoints(aws, net["vpc"]) == []


def test_the_pacer_never_spends_faster_than_the_bucket_refills() -> None:
    now = {"t": 0.0}
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now["t"] += seconds

    pacer = Pacer(clock=lambda: now["t"], sleep=sleep)
    for _ in range(6):
        pacer.take()

    assert sleeps == [pytest.approx(1 / 0.3)] * 2  # four at once, then one per refill
    now["t"] += 100
    pacer.take()
    assert len(sleeps) == 2  # a full bucket again after a quiet spell
