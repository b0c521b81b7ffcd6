"""Read an AWS Config rule invocation: which notification, which configuration item, in what state.

Pure: nothing here calls AWS. `config_rule` acts on what this module reads, so every shape Config
sends is judged here, once, and tested without AWS (tests/unit/test_config_event.py).

What Config sends (its developer guide's example events; `SourceDetail.MessageType` and
`ConfigurationItem` in the API reference):
- `ConfigurationItemChangeNotification`: the item itself. Its `configuration` is an object, or a
  JSON string (the shape `GetResourceConfigHistory` returns, seen in captured items too); the VPC of
  a network item is in `configuration.vpcId` or only in a relationship named "Is contained in Vpc"
  (`name` in notifications, `relationshipName` in the history). `supplementaryConfiguration`, an
  object or strings of JSON, is never needed: tags and settings are read from the live API.
- `OversizedConfigurationItemChangeNotification`: a `configurationItemSummary` only (no
  configuration); what it says decides whether the history is worth reading at all.
- `ScheduledNotification` and `ConfigurationSnapshotDeliveryCompleted`: a periodic run.

Every value comes from outside: a malformed one is a `BadInput` with one line a person can act on,
never an exception of Python's own.
"""
from __future__ import annotations

import json
import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from rules.formats import is_region, printable
from vpce_remediator.errors import BadInput

SERVICE = "AWS::ECS::Service"
VPC = "AWS::EC2::VPC"
NETWORK_TYPES = (VPC, "AWS::EC2::Subnet", "AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroup")
IN_SCOPE = (SERVICE, *NETWORK_TYPES)  # the rule's ComplianceResourceTypes (template.yaml)

CHANGE = "ConfigurationItemChangeNotification"
OVERSIZED = "OversizedConfigurationItemChangeNotification"
SCHEDULED = "ScheduledNotification"
SNAPSHOT_DELIVERED = "ConfigurationSnapshotDeliveryCompleted"
WHOLE_REGION = (SCHEDULED, SNAPSHOT_DELIVERED)  # both are periodic triggers: the whole Region is judged

# configurationItemStatus (API reference, ConfigurationItem).
OK = "OK"
DISCOVERED = "ResourceDiscovered"
NOT_RECORDED = "ResourceNotRecorded"
DELETED = "ResourceDeleted"
DELETED_NOT_RECORDED = "ResourceDeletedNotRecorded"
STATUSES = (OK, DISCOVERED, NOT_RECORDED, DELETED, DELETED_NOT_RECORDED)

CONTAINED_IN_VPC = "Is contained in Vpc"

_RESOURCE_TYPE = re.compile(r"[A-Za-z0-9]{1,64}::[A-Za-z0-9]{1,64}::[A-Za-z0-9]{1,64}")
# The id formats of the EC2 types in scope (EC2 API reference: 8 or 17 hex digits).
_EC2_IDS = {VPC: "vpc", "AWS::EC2::Subnet": "subnet", "AWS::EC2::VPCEndpoint": "vpce", "AWS::EC2::SecurityGroup": "sg"}
_VPC_ID = re.compile(r"vpc-[0-9a-f]{8,17}")
# ECS ARNs, the long form (service/CLUSTER/NAME) and the old one (service/NAME); names as ECS allows.
_ECS_NAME = r"[A-Za-z0-9_-]{1,255}"
_ECS_ARN = r"arn:aws[a-z-]*:ecs:[a-z0-9-]{1,30}:[0-9]{12}:"
_SERVICE_ARN = re.compile(rf"{_ECS_ARN}service/(?:{_ECS_NAME}/)?{_ECS_NAME}")
_CLUSTER = re.compile(rf"(?:{_ECS_ARN}cluster/)?{_ECS_NAME}")
_ACCOUNT = re.compile(r"[0-9]{12}")
RULE_NAME_MAX = 128  # PutConfigRule's limit on ConfigRuleName


@dataclass(frozen=True)
class Relationship:
    resource_type: str
    resource_id: str
    name: str


@dataclass(frozen=True)
class ConfigItem:
    """A configuration item, an oversized notification's summary, or an item of the history."""

    resource_type: str
    resource_id: str
    status: str = ""  # one of STATUSES, or "" when the item does not say (or says something unknown)
    configuration: Mapping[str, Any] = field(default_factory=dict)  # {} when absent or unreadable
    relationships: tuple[Relationship, ...] = ()
    arn: str = ""
    region: str = ""

    @property
    def label(self) -> str:
        return f"{self.resource_type} {self.resource_id}"

    @property
    def in_scope(self) -> bool:
        return self.resource_type in IN_SCOPE

    def vpc_id(self) -> str | None:
        """The VPC a network item belongs to: itself, its configuration's `vpcId`, or the VPC its
        relationships say it "Is contained in" (what a security group's item may carry alone)."""
        if self.resource_type == VPC:
            return self.resource_id
        for key in ("vpcId", "VpcId"):
            value = self.configuration.get(key)
            if isinstance(value, str) and _VPC_ID.fullmatch(value):
                return value
        for r in self.relationships:
            if r.resource_type == VPC and _VPC_ID.fullmatch(r.resource_id) and \
                    r.name.lower() in (CONTAINED_IN_VPC.lower(), ""):
                return r.resource_id
        return None

    def service_arn(self) -> str | None:
        """An ECS service's ARN: its configuration's `ServiceArn`, the item's `ARN`, or its id."""
        for value in (self.configuration.get("ServiceArn"), self.arn, self.resource_id):
            if isinstance(value, str) and _SERVICE_ARN.fullmatch(value):
                return value
        return None

    def cluster(self) -> str | None:
        """The service's cluster as its configuration names it (None: the one its ARN names)."""
        value = self.configuration.get("Cluster")
        return value if isinstance(value, str) and _CLUSTER.fullmatch(value) else None


@dataclass(frozen=True)
class Invocation:
    """One Config rule invocation, read and checked."""

    message: str
    result_token: str
    account: str
    rule_name: str = ""  # "" when the event does not name its rule
    left_scope: bool = False
    created: datetime | None = None  # notificationCreationTime, when readable
    item: ConfigItem | None = None  # the item, or an oversized notification's summary

    @property
    def whole_region(self) -> bool:
        return self.message in WHOLE_REGION

    @property
    def oversized(self) -> bool:
        return self.message == OVERSIZED


def is_config_event(event: Any) -> bool:
    """A Config rule invocation (complete or not), as opposed to an EventBridge event."""
    return isinstance(event, dict) and any(k in event for k in ("invokingEvent", "resultToken", "configRuleArn"))


def parse_invocation(event: Any) -> Invocation:
    """The invocation, or `BadInput` saying what is missing or malformed."""
    if not isinstance(event, dict):
        raise BadInput("a Config rule invocation is a JSON object")
    token = event.get("resultToken")
    if not isinstance(token, str) or not token.strip():
        raise BadInput("the event has no resultToken: PutEvaluations needs the one AWS Config sends with each rule "
                       "invocation (TESTMODE evaluates in test mode)")
    account = event.get("accountId")
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise BadInput(f"accountId {shown(account)} is not a 12-digit AWS account id")
    raw = event.get("invokingEvent")
    try:
        invoking = json.loads(raw) if isinstance(raw, str) else None
    except ValueError as e:
        raise BadInput(f"invokingEvent is not JSON: {e}") from e
    if not isinstance(invoking, dict):
        raise BadInput("invokingEvent is not a JSON object in a string, as AWS Config sends it")
    message = invoking.get("messageType")
    if not isinstance(message, str):
        raise BadInput("invokingEvent has no messageType")
    rule = event.get("configRuleName")
    invocation = Invocation(message, token, account,
                            rule if isinstance(rule, str) and 0 < len(rule) <= RULE_NAME_MAX
                            and printable(rule) == rule else "",
                            event.get("eventLeftScope") is True, _timestamp(invoking.get("notificationCreationTime")))
    if message in WHOLE_REGION:
        return invocation
    if message == CHANGE:
        if "configurationItem" not in invoking:
            raise BadInput("the change notification carries no configurationItem")
        return replace(invocation, item=parse_item(invoking["configurationItem"], "configurationItem"))
    if message == OVERSIZED:
        summary = invoking.get("configurationItemSummary")
        if not isinstance(summary, dict) or not summary:
            raise BadInput("the oversized change notification carries no configurationItemSummary: nothing names "
                           "the resource (the periodic run evaluates it)")
        return replace(invocation, item=parse_item(summary, "configurationItemSummary"))
    raise BadInput(f"unknown Config messageType {shown(message)}")


def parse_item(raw: Any, where: str) -> ConfigItem:
    """A configuration item as a notification, a summary or the history gives it."""
    if not isinstance(raw, dict):
        raise BadInput(f"{where} is not an object")
    rtype, rid = raw.get("resourceType"), raw.get("resourceId")
    if not isinstance(rtype, str) or not _RESOURCE_TYPE.fullmatch(rtype):
        raise BadInput(f"{where}.resourceType {shown(rtype)} is not a resource type (AWS::EC2::VPC, ...)"
                       if rtype is not None else f"{where} has no resourceType")
    if not isinstance(rid, str) or not 0 < len(rid) <= 768 or printable(rid) != rid:
        raise BadInput(f"{where}.resourceId {shown(rid)} is not a resource id" if rid is not None
                       else f"{where} has no resourceId")
    prefix = _EC2_IDS.get(rtype)
    if prefix and not re.fullmatch(rf"{prefix}-[0-9a-f]{{8,17}}", rid):
        raise BadInput(f"{where}.resourceId {shown(rid)} is not an {rtype} id ({prefix}-...)")
    status = raw.get("configurationItemStatus")
    arn, region = raw.get("ARN", raw.get("arn")), raw.get("awsRegion")
    return ConfigItem(rtype, rid, status if status in STATUSES else "", _configuration(raw.get("configuration")),
                      _relationships(raw.get("relationships")), arn if isinstance(arn, str) else "",
                      region if isinstance(region, str) else "")


def not_applicable_reason(item: ConfigItem, left_scope: bool) -> str | None:
    """Why the item is NOT_APPLICABLE whatever the estate looks like, each state in its own words."""
    if item.status == DELETED:
        return f"{item.label} was deleted"
    if item.status == DELETED_NOT_RECORDED:
        return f"{item.label} was deleted (AWS Config does not record its type: the recorder excludes it)"
    if left_scope:
        return f"{item.label} left the rule's scope"
    if item.status == NOT_RECORDED:
        return (f"{item.label} is not recorded by AWS Config (its recorder excludes the type), so this change "
                "carries no configuration; the periodic run evaluates VPCs and ECS services from the live API")
    return None


def needs_history(summary: ConfigItem, left_scope: bool) -> bool:
    """Whether an oversized notification's item is worth reading from the history: in scope, and
    neither deleted, out of scope nor unrecorded (their summary says all there is to say)."""
    return summary.in_scope and not_applicable_reason(summary, left_scope) is None


def event_region(event: Any) -> tuple[str, str] | None:
    """The Region a Config invocation is for, and the field that says so: the rule's ARN first (its
    evaluations go there), then the item's or the summary's `awsRegion`. None when none is valid."""
    if not isinstance(event, dict):
        return None
    arn = event.get("configRuleArn")
    if isinstance(arn, str) and arn.startswith("arn:") and arn.count(":") >= 5 and is_region(arn.split(":")[3]):
        return arn.split(":")[3], "configRuleArn"
    try:
        invoking = json.loads(event["invokingEvent"]) if isinstance(event.get("invokingEvent"), str) else None
    except ValueError:
        return None
    for key in ("configurationItem", "configurationItemSummary"):
        item = invoking.get(key) if isinstance(invoking, dict) else None
        region = item.get("awsRegion") if isinstance(item, dict) else None
        if isinstance(region, str) and is_region(region):
            return region, f"{key}.awsRegion"
    return None


def stale(before: Iterable[tuple[str, str]], now: Iterable[tuple[str, str]],
          live_vpcs: Container[str]) -> list[tuple[str, str, str]]:
    """What a periodic run must mark NOT_APPLICABLE: each (type, id) the rule judged before and no
    longer evaluates, with why (`live_vpcs`: which of those VPCs still exist)."""
    current = set(now)
    out = []
    for rtype, rid in dict.fromkeys(before):
        if (rtype, rid) in current:
            continue
        if rtype == VPC:
            why = ("no ECS service or running standalone task in this VPC any more (periodic run)" if rid in live_vpcs
                   else "VPC deleted (not found by the periodic run)")
        elif rtype == SERVICE:
            why = "ECS service not found by the periodic run (deleted, or no longer ACTIVE)"
        else:
            why = f"{rtype} not evaluated by the periodic run"
        out.append((rtype, rid, why))
    return out


def shown(value: Any) -> str:
    """An untrusted value as an error message may quote it: repr'd, printable, at most 80 characters."""
    return repr(printable(str(value))[:80])


def _configuration(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):  # the history's shape, and some notifications'
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _relationships(value: Any) -> tuple[Relationship, ...]:
    out = []
    for r in value if isinstance(value, list) else ():
        if not isinstance(r, dict):
            continue
        rtype, rid = r.get("resourceType"), r.get("resourceId")
        name = r.get("name", r.get("relationshipName"))  # notifications say name, the history relationshipName
        if isinstance(rtype, str) and isinstance(rid, str):
            out.append(Relationship(rtype, rid, name if isinstance(name, str) else ""))
    return tuple(out)


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.tzinfo is not None else None
    return None
