"""Reading AWS Config rule invocations (config_event), on plain data: what each shape says, and a
clear BadInput line for each thing an invocation can lack."""
from __future__ import annotations

import json
from typing import Any

import pytest

from vpce_remediator.config_event import (
    ConfigItem,
    event_region,
    is_config_event,
    needs_history,
    not_applicable_reason,
    parse_invocation,
    parse_item,
    stale,
)
from vpce_remediator.errors import BadInput
from vpce_remediator.samples import load_event

VPC = "vpc-0a1b2c3d4e5f60001"
SG = "sg-0a1b2c3d4e5f60021"


def with_invoking(invoking: dict[str, Any], **top: Any) -> dict[str, Any]:
    event = load_event("config/ecs-service-change")
    event["invokingEvent"] = json.dumps(invoking)
    event.update(top)
    return event


def test_configuration_as_an_object_or_a_json_string_reads_the_same() -> None:
    as_object = parse_invocation(load_event("config/ecs-service-change")).item
    as_string = parse_invocation(load_event("config/ecs-service-change-configuration-string")).item

    assert as_object is not None and as_string is not None
    assert as_string.configuration["ServiceArn"] == as_object.configuration["ServiceArn"]
    assert as_string.service_arn() == as_object.service_arn() == "arn:aws:ecs:us-east-1:123456789012:service/prod/web"
    assert as_string.cluster() == "arn:aws:ecs:us-east-1:123456789012:cluster/prod"


@pytest.mark.parametrize("relationships", [
    [{"resourceId": VPC, "resourceType": "AWS::EC2::VPC", "name": "Is contained in Vpc"}],  # a notification
    [{"resourceId": VPC, "resourceType": "AWS::EC2::VPC", "relationshipName": "Is contained in Vpc"}],  # the history
])
def test_a_group_whose_vpc_is_only_in_its_relationships_is_in_that_vpc(relationships: list[dict[str, Any]]) -> None:
    item = parse_item({"resourceType": "AWS::EC2::SecurityGroup", "resourceId": SG, "configuration": {"groupId": SG},
                       "relationships": relationships}, "configurationItem")

    assert item.vpc_id() == VPC


def test_a_vpc_named_in_the_configuration_wins_and_junk_is_no_vpc() -> None:
    item = parse_item({"resourceType": "AWS::EC2::Subnet", "resourceId": "subnet-0a1b2c3d4e5f60011",
                       "configuration": {"vpcId": "vpc-0000000000000000a"}, "relationships": [
                           {"resourceId": VPC, "resourceType": "AWS::EC2::VPC", "name": "Is contained in Vpc"}]},
                      "configurationItem")
    junk = parse_item({"resourceType": "AWS::EC2::Subnet", "resourceId": "subnet-0a1b2c3d4e5f60011",
                       "configuration": {"vpcId": "vpc-$(reboot)"}, "relationships": [{"resourceId": 7}, "x"]},
                      "configurationItem")

    assert item.vpc_id() == "vpc-0000000000000000a"
    assert junk.vpc_id() is None


@pytest.mark.parametrize("status, left, words", [
    ("ResourceDeleted", False, "was deleted"),
    ("ResourceDeletedNotRecorded", False, "was deleted (AWS Config does not record its type"),
    ("ResourceNotRecorded", False, "is not recorded by AWS Config"),
    ("OK", True, "left the rule's scope"),
    ("ResourceDiscovered", True, "left the rule's scope"),
])
def test_every_status_that_is_not_applicable_says_so_in_its_own_words(status: str, left: bool, words: str) -> None:
    item = ConfigItem("AWS::EC2::Subnet", "subnet-0a1b2c3d4e5f60011", status)

    why = not_applicable_reason(item, left)

    assert why is not None and why.startswith(f"AWS::EC2::Subnet subnet-0a1b2c3d4e5f60011 {words}")
    assert not needs_history(item, left)


@pytest.mark.parametrize("status", ["OK", "ResourceDiscovered", "", "SomethingNew"])
def test_a_live_item_in_scope_is_evaluated_and_an_oversized_one_read_from_the_history(status: str) -> None:
    item = parse_item({"resourceType": "AWS::EC2::VPC", "resourceId": VPC, "configurationItemStatus": status},
                      "configurationItemSummary")

    assert not_applicable_reason(item, False) is None
    assert needs_history(item, False)
    assert not needs_history(ConfigItem("AWS::EC2::Instance", "i-0a1b2c3d4e5f60099", "OK"), False)


@pytest.mark.parametrize("change, message", [
    ({"resultToken": None}, "the event has no resultToken"),
    ({"resultToken": ""}, "the event has no resultToken"),
    ({"accountId": "12345"}, "accountId '12345' is not a 12-digit AWS account id"),
    ({"invokingEvent": "{"}, "invokingEvent is not JSON"),
    ({"invokingEvent": {"messageType": "ScheduledNotification"}}, "invokingEvent is not a JSON object in a string"),
    ({"invokingEvent": "[]"}, "invokingEvent is not a JSON object in a string"),
    ({"invokingEvent": "{}"}, "invokingEvent has no messageType"),
    ({"invokingEvent": '{"messageType": "Nope"}'}, "unknown Config messageType 'Nope'"),
    ({"invokingEvent": '{"messageType": "ConfigurationItemChangeNotification"}'},
     "the change notification carries no configurationItem"),
    ({"invokingEvent": '{"messageType": "OversizedConfigurationItemChangeNotification"}'},
     "carries no configurationItemSummary"),
    ({"invokingEvent": '{"messageType": "OversizedConfigurationItemChangeNotification", '
                       '"configurationItemSummary": {"resourceId": "vpc-0a1b2c3d4e5f60001"}}'},
     "configurationItemSummary has no resourceType"),
    ({"invokingEvent": '{"messageType": "ConfigurationItemChangeNotification", "configurationItem": '
                       '{"resourceType": "AWS::EC2::VPC", "resourceId": "subnet-0a1b2c3d4e5f60011"}}'},
     "configurationItem.resourceId 'subnet-0a1b2c3d4e5f60011' is not an AWS::EC2::VPC id (vpc-...)"),
    ({"invokingEvent": '{"messageType": "ConfigurationItemChangeNotification", "configurationItem": '
                       '{"resourceType": "AWS::EC2::VPC", "resourceId": "vpc-\\u001b[2J"}}'},
     "configurationItem.resourceId 'vpc-?[2J' is not a resource id"),
])
def test_what_an_invocation_lacks_is_one_line_saying_what(change: dict[str, Any], message: str) -> None:
    event = load_event("config/ecs-service-change")
    for key, value in change.items():
        if value is None:
            event.pop(key)
        else:
            event[key] = value

    with pytest.raises(BadInput) as raised:
        parse_invocation(event)

    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_periodic_triggers_judge_the_whole_region() -> None:
    for name in ("config/periodic", "config/snapshot-delivery"):
        invocation = parse_invocation(load_event(name))
        assert invocation.whole_region and invocation.item is None
        assert invocation.rule_name == "vpce-remediator-vpc-endpoints" and invocation.created is not None


def test_only_a_json_true_leaves_the_scope() -> None:
    assert parse_invocation(load_event("config/ecs-service-left-scope")).left_scope
    assert not parse_invocation(with_invoking(json.loads(load_event("config/ecs-service-change")["invokingEvent"]),
                                              eventLeftScope="false")).left_scope


def test_the_events_region_is_the_rules_then_the_items() -> None:
    event = load_event("config/ecs-service-change")
    assert event_region(event) == ("us-east-1", "configRuleArn")

    event["configRuleArn"] = "arn:aws:config:$(id):123456789012:config-rule/x"  # not a Region: the item's
    assert event_region(event) == ("us-east-1", "configurationItem.awsRegion")

    summary = load_event("config/oversized-vpc")
    del summary["configRuleArn"]
    assert event_region(summary) == ("us-east-1", "configurationItemSummary.awsRegion")
    assert event_region(load_event("config/oversized-no-summary") | {"configRuleArn": 1}) is None


def test_an_invocation_without_a_token_is_still_a_config_event() -> None:
    event = load_event("config/ecs-service-change")
    del event["resultToken"]

    assert is_config_event(event)
    assert not is_config_event(load_event("ecs-CreateService"))


def test_stale_is_what_was_judged_before_and_is_not_now() -> None:
    before = [("AWS::EC2::VPC", "vpc-1"), ("AWS::EC2::VPC", "vpc-2"), ("AWS::EC2::VPC", "vpc-3"),
              ("AWS::ECS::Service", "arn:s"), ("AWS::ECS::Service", "arn:t"), ("AWS::EC2::VPC", "vpc-1")]
    now = [("AWS::EC2::VPC", "vpc-1"), ("AWS::ECS::Service", "arn:t")]

    out = stale(before, now, {"vpc-2"})

    assert [(t, r) for t, r, _ in out] == [("AWS::EC2::VPC", "vpc-2"), ("AWS::EC2::VPC", "vpc-3"),
                                           ("AWS::ECS::Service", "arn:s")]
    assert [why for *_, why in out] == [
        "no ECS service or running standalone task in this VPC any more (periodic run)",
        "VPC deleted (not found by the periodic run)",
        "ECS service not found by the periodic run (deleted, or no longer ACTIVE)"]
