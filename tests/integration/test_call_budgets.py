"""The call budgets of `make bench` (points 1-4), asserted: call counts are deterministic, so a
change that adds a read to the hot path fails here, not only in the benchmark's table.

The scenarios are the bench's own (tools/bench.py), counted by its botocore hook, through the
deployed queue handler on in-process moto.
"""
from __future__ import annotations

from typing import Any

import pytest

import bench


@pytest.fixture
def counter(aws: Any) -> Any:
    c = bench.CallCounter()
    with c.installed():
        yield c


def test_a_cold_runtask_in_a_compliant_vpc_makes_only_the_reads_that_cannot_be_merged(counter: Any) -> None:
    costs = bench.event_costs(counter)

    assert costs["cold_by_operation"] == {
        "ecs.DescribeTaskDefinition": 1, "ec2.DescribeSubnets": 1, "ec2.DescribeVpcs": 1,
        "ec2.DescribeVpcAttribute": 2, "ec2.DescribeVpcEndpoints": 1, "ec2.DescribeRouteTables": 1,
        "ec2.DescribeSecurityGroups": 1,
        # on the stack's own table: the event's idempotency record (Powertools: PutItem, UpdateItem),
        # the launch verdict shared with the other containers (BatchGetItem, then PutItem)
        "dynamodb.PutItem": 2, "dynamodb.UpdateItem": 1, "dynamodb.BatchGetItem": 1}
    assert costs["calls_per_event_cold"] == 8 <= bench.BUDGETS["calls_per_event_cold"][0]
    assert costs["state_table_calls_per_event"] == 4
    assert costs["calls_per_event_warm"] == 0 <= bench.BUDGETS["calls_per_event_warm"][0]


def test_a_storm_of_1000_launches_over_100_batches(counter: Any) -> None:
    client = bench._clients(None)
    bench.state_table(client)
    launches = bench.seed_launches(client, vpcs=2, per_vpc=5)

    storms = bench.storms(counter, launches, events=1000, batch=10)

    # Each workload is evaluated once, by whichever container meets it first (its task definition
    # and its VPC's reads); the other containers take the verdict from the state table.
    for suffix in ("", "_one_container"):
        assert storms[f"storm_calls{suffix}"] == 10 * 8
        assert storms[f"storm_calls_per_event{suffix}"] <= bench.BUDGETS["storm_calls_per_event"][0]
    assert storms["storm_containers"] == 5
    # State table: 2 idempotency calls and 1 verdict written per evaluation; one verdict read per
    # container and workload it meets.
    assert storms["storm_state_table_calls_one_container"] == 10 * 3 + 10
    assert storms["storm_state_table_calls"] == 10 * 3 + 5 * 10


def test_a_fresh_vpc_needing_six_endpoints_gets_six_creates_and_no_wasted_write(counter: Any) -> None:
    fresh = bench.fresh_vpc(counter)

    assert fresh["endpoints_created"] == ["ecr.api", "ecr.dkr", "logs", "s3", "secretsmanager", "ssm"]
    assert fresh["create_vpc_endpoint_calls"] == 6
    assert fresh["write_calls_first_run"] == {"ec2.AuthorizeSecurityGroupIngress": 1, "ec2.CreateSecurityGroup": 1,
                                              "ec2.CreateVpcEndpoint": 6}
    assert fresh["write_calls_second_run"] == 0
    assert fresh["wasted_write_calls"] == 0
