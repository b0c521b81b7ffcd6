"""The bench's model of AWS (tools/aws_model.py) refuses what AWS would refuse, and a scan under it
reads ahead without changing its answer.

`make bench` reports every scan figure under this model (40 ms a request, AWS's token buckets), so
its refusals are checked here against the figures AWS documents, on a frozen clock; and the scan's
concurrent reads (scan.ReadAhead) are checked to give the same VPCs, findings and order as reading
one after another, with a bucket small enough that some reads are refused and retried on the way.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import aws_model
import bench_custodian
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from vpce_remediator import aws
from vpce_remediator.aws import Clients
from vpce_remediator.engine import Settings
from vpce_remediator.scan import scan_estate

REGION = "us-east-1"
NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


@contextlib.contextmanager
def modelled(model: aws_model.Model) -> Iterator[aws_model.Model]:
    """The model installed for every session made inside (the remediator's cached ones dropped)."""
    model.install()
    aws._session.cache_clear()
    try:
        yield model
    finally:
        model.uninstall()
        aws._session.cache_clear()


def _code(call: Any) -> str:
    try:
        call()
    except ClientError as e:
        return str(e.response["Error"]["Code"])
    return "ok"


def test_a_burst_over_an_ec2_bucket_is_refused_with_request_limit_exceeded(aws: Any) -> None:
    now = {"t": 0.0}
    with modelled(aws_model.Model(latency_ms=0, clock=lambda: now["t"])) as model:
        ec2 = boto3.client("ec2", region_name=REGION, config=NO_RETRY)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

        def attribute() -> Any:
            return ec2.describe_vpc_attribute(VpcId=vpc, Attribute="enableDnsSupport")

        answers = [_code(attribute) for _ in range(101)]
        # EC2's non-mutating bucket: 100 tokens, then refused until it refills (20 a second).
        assert answers[:100] == ["ok"] * 100
        assert answers[100] == "RequestLimitExceeded"
        # Buckets are per API: DescribeSubnets has its own, untouched.
        assert _code(lambda: ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])) == "ok"
        now["t"] += 1.0
        assert [_code(attribute) for _ in range(21)] == ["ok"] * 20 + ["RequestLimitExceeded"]
        assert model.stats()["refused_by_operation"] == {"ec2.DescribeVpcAttribute": 2}


def test_a_burst_over_an_ecs_bucket_is_refused_with_throttling_exception_and_retried(aws: Any) -> None:
    now = {"t": 0.0}
    with modelled(aws_model.Model(latency_ms=0, clock=lambda: now["t"])) as model:
        ecs = boto3.client("ecs", region_name=REGION, config=NO_RETRY)
        ecs.register_task_definition(family="web", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 256}])
        codes = [_code(lambda: ecs.describe_task_definition(taskDefinition="web")) for _ in range(51)]
        assert codes == ["ok"] * 50 + ["ThrottlingException"]  # DescribeTaskDefinition: 50 tokens
        # With botocore's retries (as our clients make them), a refused read is not lost: the clock
        # moves on while botocore backs off, and the retry gets a refilled token.
        retried = boto3.client("ecs", region_name=REGION,
                               config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
        model.sleep = lambda seconds: now.__setitem__("t", now["t"] + 1.0)
        model.latency_s = 0.001  # each attempt "takes" a second of the frozen clock
        assert retried.describe_task_definition(taskDefinition="web")["taskDefinition"]["family"] == "web"


def test_route53_takes_five_requests_a_second_for_the_whole_account(aws: Any) -> None:
    now = {"t": 0.0}
    with modelled(aws_model.Model(latency_ms=0, clock=lambda: now["t"])):
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        route53 = boto3.client("route53", region_name=REGION, config=NO_RETRY)
        codes = [_code(lambda: route53.list_hosted_zones_by_vpc(VPCId=vpc, VPCRegion=REGION)) for _ in range(6)]
        assert codes == ["ok"] * 5 + ["Throttling"]


@pytest.fixture
def estate(account: Any) -> dict[str, Any]:
    """bench_custodian's estate (the side-by-side one) on the CLI tests' moto_server: 12 VPCs, half
    of them flagged (DNS hostnames off, or no ecr.dkr endpoint)."""
    return bench_custodian.seed(account.url, 12)


def _scan(url: str, read_ahead: bool) -> tuple[dict[str, Any], dict[str, int]]:
    result = scan_estate(Clients(region=REGION, endpoint_url=url, pace=True), Settings(mode="report"),
                         read_ahead=read_ahead)
    return {k: v for k, v in result.to_dict().items() if k != "api_calls"}, result.api_calls


def test_a_scan_under_the_model_gives_the_same_answer_with_and_without_reading_ahead(
        estate: dict[str, Any], account: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # An EC2 bucket far smaller than AWS's (and than our pacing assumes): the concurrent DNS
    # attribute reads run it dry, so some are refused on the way and botocore retries them.
    monkeypatch.setattr(aws_model, "EC2_NON_MUTATING", aws_model.Bucket(6, 20))
    with modelled(aws_model.Model(latency_ms=10)) as model:
        ahead, ahead_calls = _scan(account.url, read_ahead=True)
        refused_ahead = model.stats()["refused"]
    with modelled(aws_model.Model(latency_ms=10)):
        in_turn, in_turn_calls = _scan(account.url, read_ahead=False)

    assert refused_ahead > 0, "the small bucket refused nothing: no retry was exercised"
    assert ahead == in_turn  # same VPCs, same workloads, same findings, in the same order
    assert ahead_calls == in_turn_calls  # and the same reads, each made once
    # Nothing lost to the refusals: every seeded VPC is there, flagged exactly as seeded.
    statuses = {v["vpc_id"]: v["status"] for v in ahead["vpcs"]}
    assert set(statuses) == set(estate["vpcs"])
    assert sorted(v for v, s in statuses.items() if s == bench_custodian.NON_COMPLIANT) == estate["expected_flagged"]
    assert [v["vpc_id"] for v in ahead["vpcs"]] == sorted(statuses)
