"""Damaged AWS Config rule invocations through the Lambda handler: whatever is removed or replaced,
the handler answers (evaluations, or one clear error line), never raises, and never writes beyond
what a Config rule may: PutEvaluations (and Security Hub's findings of a still-valid invocation).
No endpoint, group or rule appears, even with MODE=remediate in the environment.

Like the CloudTrail fuzz (test_bad_input.py): each example takes a sample of events/config/ with
the estate's ids, decodes its invokingEvent, and removes or replaces 1-3 values anywhere in it
(inside the configuration item too; half the time a field of the invocation or its invokingEvent),
or truncates the invokingEvent, or sends plain junk.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from account import REGION
from config_samples import SAMPLES, WEB, TokensChecked, build_estate, sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutation import parent_of, value_paths

from bench import LambdaContext

# What a Config rule's function may send; everything else it calls must be a read.
ALLOWED_WRITES = {"config.PutEvaluations", "securityhub.BatchImportFindings"}
WRITE_VERBS = ("Create", "Modify", "Authorize", "Delete", "Put", "Update", "Revoke", "Replace", "Associate",
               "Attach", "Start", "Batch", "Tag", "Untag")


def junk(net: dict[str, Any]) -> st.SearchStrategy[Any]:
    words = ["AWS::EC2::VPC", "AWS::ECS::Service", "AWS::EC2::SecurityGroup", "AWS::EC2::Subnet", "ResourceDeleted",
             "ResourceNotRecorded", "ResourceDeletedNotRecorded", "OversizedConfigurationItemChangeNotification",
             "ScheduledNotification", "ConfigurationItemChangeNotification", "TESTMODE", "Is contained in Vpc",
             net["vpc"], net["sg"], *net["subnets"], WEB, f"arn:aws:ecs:{REGION}:123456789012:service/prod/$(reboot)",
             "vpc-0a1b2c3d4e5f60001", "arn:aws:config:eu-west-1:123456789012:config-rule/x", "2026-13-45T99:00:00Z",
             "arn:aws:ecs:eu-west-1:123456789012:service/prod/web", "arn:aws:ecs:us-east-1:999999999999:service/web",
             "arn:aws:ecs:us-east-1:123456789012:cluster/gone", "AWS::EC2::VPCEndpoint", "ResourceDiscovered",
             "ConfigurationSnapshotDeliveryCompleted", "2026-11-29T12:01:12",
             "💥", "", "x" * 3000]
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
        | st.sampled_from(words),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8) | st.sampled_from(
            ["resourceType", "resourceId", "vpcId", "configuration", "relationships"]), children, max_size=4),
        max_leaves=12)


@st.composite
def damaged(draw: st.DrawFn, net: dict[str, Any]) -> Any:
    """A Config sample with 1-3 values removed or replaced (its invokingEvent decoded for that), or junk."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(junk(net))
    event = sample(draw(st.sampled_from(SAMPLES)), net)
    if choice == 1:  # a truncated invokingEvent
        event["invokingEvent"] = event["invokingEvent"][: draw(st.integers(0, len(event["invokingEvent"])))]
        return event
    event["invokingEvent"] = json.loads(event["invokingEvent"])
    for _ in range(draw(st.integers(1, 3))):
        paths = value_paths(event)
        # Half the time a field of the invocation or of its invokingEvent (resultToken, accountId,
        # messageType, configurationItem...): a deep item has so many fields that they would hide those.
        shallow = [p for p in paths if len(p) == 1 or (p[0] == "invokingEvent" and len(p) == 2)]
        if not paths:
            break
        path = draw(st.sampled_from(shallow if shallow and draw(st.booleans()) else paths))
        parent = parent_of(event, path)
        if isinstance(parent, dict) and draw(st.booleans()):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(junk(net) | st.lists(st.just(net["subnets"][0]), min_size=300, max_size=300))
    if isinstance(event.get("invokingEvent"), dict | list) and draw(st.integers(0, 9)) > 0:
        event["invokingEvent"] = json.dumps(event["invokingEvent"])  # as Config sends it, mostly
    return event


EXAMPLES = 200


@pytest.fixture
def estate(aws: Any) -> dict[str, Any]:
    return build_estate(aws)


def test_damaged_config_events_never_raise_and_never_write(estate: dict[str, Any], aws: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.config import handler
    from vpce_remediator.aws import Clients

    monkeypatch.setenv("MODE", "remediate")  # the Config function never remediates, whatever it is told
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}.{model.name}")

    session = Clients().session  # the Lambda's: every client the handler makes is made on it
    session.events.register("before-call", count, unique_id="fuzz-count")
    ec2 = aws.client("ec2", region_name=REGION)
    groups = len(ec2.describe_security_groups()["SecurityGroups"])
    answered: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.data_too_large])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        event = data.draw(damaged(estate))

        result = handler(event, LambdaContext())  # raising here is the failure

        assert isinstance(result, dict)
        assert "evaluations" in result or (result.get("status") == "error" and "\n" not in result["error"])
        answered.append("evaluated" if "evaluations" in result else "error")

    try:
        with TokensChecked():  # moto's PutEvaluations knows test mode only: a damaged token is refused as AWS does
            run()
    finally:
        session.events.unregister("before-call", count, unique_id="fuzz-count")
    writes = {c for c in calls if c.split(".", 1)[1].startswith(WRITE_VERBS)}
    assert writes <= ALLOWED_WRITES, sorted(writes - ALLOWED_WRITES)
    assert ec2.describe_vpc_endpoints()["VpcEndpoints"] == []
    assert len(ec2.describe_security_groups()["SecurityGroups"]) == groups
    # Both kinds of answer were exercised, not only the error line.
    assert len(answered) >= EXAMPLES // 2 and {"evaluated", "error"} <= set(answered)


def test_the_reliability_row_counts_nothing_escaping_and_no_write() -> None:
    """`make reliability`'s "damaged Config events" rows, on fewer draws (the table runs 300)."""
    import reliability

    rows = reliability.damaged_config_events(n=40, seed=3)

    assert rows == [("damaged Config events", 40, "unhandled exceptions", 0),
                    ("damaged Config events", 40, "writes beyond PutEvaluations", 0)]
