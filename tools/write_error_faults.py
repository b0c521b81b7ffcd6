"""Refused EC2 writes, injected into moto, through the queue door: does any end in the DLQ unreported?

moto raises none of these errors (no endpoint quota, no conflicting private DNS, no shared VPCs,
no service-name check: DESIGN.md §7), so a botocore `before-call` handler answers the chosen call
with the error, as EC2 would. For the integrator's `tools/reliability.py`:

    from write_error_faults import nonretryable_in_dlq   # tools/ is on sys.path there
    tried, unreported = nonretryable_in_dlq()            # (error codes tried, records for the DLQ)
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from vpce_remediator.aws import Clients
from vpce_remediator.batch import BatchRun
from vpce_remediator.demo import ECR, container, create_service, private_vpc, register_task_definition
from vpce_remediator.engine import Settings
from vpce_remediator.samples import load_event
from vpce_remediator.write_errors import CONSISTENCY, MESSAGE_RULES, RETRY, WRITE_ERRORS

REGION = "us-east-1"

# EC2's own wording for the errors whose message decides their finding (re:Post knowledge center).
MESSAGES = {
    "shared-vpc-participant": "This operation does not support shared VPCs.",
    "private-dns-conflict": "private-dns-enabled cannot be set because there is already a conflicting DNS "
                            "domain for ecr.api.us-east-1.amazonaws.com in the VPC vpc-0abc",
}


def reported_cases() -> list[tuple[str, str]]:
    """(code, message) for every error the table reports instead of retrying."""
    cases = [(code, f"injected {code}") for code, handling in sorted(WRITE_ERRORS.items())
             if handling not in (RETRY, CONSISTENCY)]
    cases += [(code, MESSAGES[kind]) for code, _, kind in MESSAGE_RULES if kind in MESSAGES]
    return cases


class _Http:
    status_code = 400
    headers: dict[str, str] = {}
    text = ""
    content = b""


def inject(session: Any, operation: str, code: str, message: str, status: int = 400,
           when: Callable[[int], bool] = lambda n: n == 1) -> None:
    """Answer the `when`-th calls of `operation` on this session with an EC2 error."""
    seen = {"n": 0}

    def handler(**_: Any) -> Any:
        seen["n"] += 1
        if when(seen["n"]):
            return _Http(), {"Error": {"Code": code, "Message": message},
                             "ResponseMetadata": {"HTTPStatusCode": status}}
        return None

    session.events.register(f"before-call.ec2.{operation}", handler)


@dataclass
class Trial:
    """One record through `BatchRun` with one injected error."""

    failures: list[dict[str, Any]]
    result: dict[str, Any]
    endpoints: list[dict[str, Any]] = field(default_factory=list)

    def findings_naming(self, code: str) -> list[dict[str, Any]]:
        return [f for f in self.result.get("findings", []) if code in f["summary"]]


def sqs_record(body: str) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "receiptHandle": "AQEB" + uuid.uuid4().hex, "body": body,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": "",
            "eventSource": "aws:sqs", "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:events",
            "awsRegion": REGION}


def trial(code: str, message: str, operation: str = "CreateVpcEndpoint", status: int = 400,
          when: Callable[[int], bool] = lambda n: n == 1, name: str = "app") -> Trial:
    """A Fargate service in a new private VPC (4 endpoints to make), evaluated with one error
    injected; runs inside an active moto mock."""
    ec2, ecs = boto3.client("ec2", region_name=REGION), boto3.client("ecs", region_name=REGION)
    net = private_vpc(ec2, name, "10.20.0.0/16", "ab")
    if not ecs.describe_clusters(clusters=["prod"])["clusters"]:
        ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, f"{name}-web", [container("web", f"{ECR}/web:1")])
    service = create_service(ecs, "prod", f"{name}-web", td, net, "FARGATE")
    session = boto3.session.Session(region_name=REGION)
    inject(session, operation, code, message, status, when)
    batch = BatchRun(Clients(region=REGION, session=session), Settings(mode="remediate"))
    event = load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": service})
    record = sqs_record(json.dumps(event))
    failures = batch.process_records([record])["batchItemFailures"]
    result = next(iter(batch.seen.values()), {})  # the record's result (none when it failed)
    live = [e for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])
            ["VpcEndpoints"] if e["State"].lower() not in ("deleted", "deleting", "failed", "rejected")]
    return Trial(failures, result, live)


def nonretryable_in_dlq(cases: list[tuple[str, str]] | None = None) -> tuple[int, int]:
    """(error codes tried, records that would land in the DLQ without a finding naming the code).

    Each reported code (every row of `write_errors.WRITE_ERRORS` that is not retried, and each
    message rule) refuses the first CreateVpcEndpoint of a fresh VPC. A record counts when the
    batch fails it (a permanent error retried 5 times ends in the DLQ) or when no finding names
    the code. `cases`: (code, message) pairs to try instead of all of them.
    """
    cases = reported_cases() if cases is None else cases
    unreported = 0
    with mock_aws():
        for i, (code, message) in enumerate(cases):
            t = trial(code, message, name=f"e{i}")
            if t.failures or not t.findings_naming(code):
                unreported += 1
    return len(cases), unreported


if __name__ == "__main__":
    print(nonretryable_in_dlq())
