"""Parse: an EventBridge "AWS API Call via CloudTrail" event becomes a typed `Trigger`.

Which events are handled, and where each one keeps its ids, is the table `TRIGGERS`: one row per
(eventSource, eventName), with JMESPath expressions tried in order (CloudTrail's EC2 records use
XML-derived shapes whose wrapper keys vary, so several paths may be listed). Adding an event is
one row. Nothing here calls AWS.
"""
from __future__ import annotations

import re
from typing import Any

import jmespath

from rules.records import record
from vpce_remediator.errors import BadInput

DETAIL_TYPE = "AWS API Call via CloudTrail"

STR, STRS, BOOL = "string", "list of strings", "boolean"


@record
class TriggerSpec:
    kind: str  # task, service, cluster, subnet, drift: how `resolve` finds the workloads
    fields: dict[str, tuple[str, tuple[str, ...]]]  # field -> (type, JMESPath expressions)
    harvest: bool = False  # collect every EC2 resource id in the record, whatever its shape


# EC2 ids as CloudTrail writes them in request and response, in flat, "items"/"item" or
# {"tag": 1, "content": "vpce-…"} shapes alike (vpce-svc-… service ids are not endpoints). A source,
# compiled (and cached by `re`) when a drift record is first harvested, not at every cold start.
_EC2_ID = r"^(?:vpce|vpc|sg|rtb|rtbassoc|subnet)-[0-9a-f]{8,17}$"
MAX_HARVESTED = 200  # a record naming more is damaged or hostile: the first 200 are enough


_NET = "networkConfiguration.awsvpcConfiguration"


def _ecs_task_fields() -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        "cluster": (STR, ("requestParameters.cluster", "responseElements.tasks[0].clusterArn")),
        "task_definition": (STR, ("responseElements.tasks[0].taskDefinitionArn",
                                  "requestParameters.taskDefinition")),
        "subnets": (STRS, (f"requestParameters.{_NET}.subnets",)),
        "security_groups": (STRS, (f"requestParameters.{_NET}.securityGroups",)),
        "assign_public_ip": (STR, (f"requestParameters.{_NET}.assignPublicIp",)),
        "launch_type": (STR, ("responseElements.tasks[0].launchType", "requestParameters.launchType")),
        "capacity_providers": (STRS, ("requestParameters.capacityProviderStrategy[].capacityProvider",)),
        "platform_version": (STR, ("responseElements.tasks[0].platformVersion",
                                   "requestParameters.platformVersion")),
        "execute_command": (BOOL, ("requestParameters.enableExecuteCommand",
                                   "responseElements.tasks[0].enableExecuteCommand")),
        "task_arns": (STRS, ("responseElements.tasks[].taskArn",)),
        # EC2 launch type: the instances the tasks were placed on (StartTask names them itself).
        "container_instances": (STRS, ("responseElements.tasks[].containerInstanceArn",
                                       "requestParameters.containerInstances")),
    }


def _ecs_service_fields() -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        "cluster": (STR, ("responseElements.service.clusterArn", "requestParameters.cluster")),
        "service": (STR, ("responseElements.service.serviceArn", "requestParameters.serviceName",
                          "requestParameters.service")),
        # Fallbacks only: DescribeServices is authoritative when it returns these keys.
        "execute_command": (BOOL, ("responseElements.service.enableExecuteCommand",
                                   "requestParameters.enableExecuteCommand")),
        "service_connect": (BOOL, ("requestParameters.serviceConnectConfiguration.enabled",
                                   "responseElements.service.deployments[0].serviceConnectConfiguration.enabled")),
    }


def _cluster_fields(request_name: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """A cluster call's fields: the response is the cluster; the request names it by `request_name`."""
    return {
        "cluster": (STR, ("responseElements.cluster.clusterArn", f"requestParameters.{request_name}")),
        "capacity_providers": (STRS, ("responseElements.cluster.capacityProviders",
                                      "requestParameters.capacityProviders")),
    }


# Drift: calls that undo the wiring. The VPC is found from the ids, so they share one row shape.
_DRIFT = TriggerSpec("drift", {}, harvest=True)
# RevokeSecurityGroupIngress may name its group by `groupName` alone (the EC2 API reference allows
# that for the default VPC only): then the name is all there is to find the VPC by.
_SG_DRIFT = TriggerSpec("drift", {"group_name": (STR, ("requestParameters.groupName",))}, harvest=True)

TRIGGERS: dict[tuple[str, str], TriggerSpec] = {
    ("ec2.amazonaws.com", "DeleteVpcEndpoints"): _DRIFT,
    ("ec2.amazonaws.com", "ModifyVpcEndpoint"): _DRIFT,
    ("ec2.amazonaws.com", "ModifyVpcAttribute"): _DRIFT,
    ("ec2.amazonaws.com", "RevokeSecurityGroupIngress"): _SG_DRIFT,
    # Edits a rule in place (EC2 API reference: GroupId and SecurityGroupRules); CloudTrail wraps
    # the request as ModifySecurityGroupRulesRequest.{GroupId, SecurityGroupRule}. Narrowing a 443
    # rule to 127.0.0.1/32 closes the endpoint as surely as a revoke.
    ("ec2.amazonaws.com", "ModifySecurityGroupRules"): _DRIFT,
    ("ec2.amazonaws.com", "AssociateRouteTable"): _DRIFT,
    ("ec2.amazonaws.com", "ReplaceRouteTableAssociation"): _DRIFT,
    ("ec2.amazonaws.com", "CreateRouteTable"): _DRIFT,
    ("ecs.amazonaws.com", "RunTask"): TriggerSpec("task", _ecs_task_fields()),
    ("ecs.amazonaws.com", "StartTask"): TriggerSpec("task", _ecs_task_fields()),
    ("ecs.amazonaws.com", "CreateService"): TriggerSpec("service", _ecs_service_fields()),
    ("ecs.amazonaws.com", "UpdateService"): TriggerSpec("service", _ecs_service_fields()),
    ("ecs.amazonaws.com", "CreateCluster"): TriggerSpec("cluster", _cluster_fields("clusterName")),
    # Capacity providers are usually attached after CreateCluster (the console's CreateCluster
    # records carry `capacityProviders: []`). The request lists every provider the cluster keeps
    # (ECS API reference: one omitted is disassociated), and the response is the cluster.
    ("ecs.amazonaws.com", "PutClusterCapacityProviders"): TriggerSpec("cluster", _cluster_fields("cluster")),
    ("ec2.amazonaws.com", "CreateSubnet"): TriggerSpec("subnet", {
        "subnet_id": (STR, ("responseElements.subnet.subnetId",
                            "responseElements.CreateSubnetResponse.subnet.subnetId")),
        "vpc_id": (STR, ("responseElements.subnet.vpcId", "requestParameters.vpcId",
                         "requestParameters.CreateSubnetRequest.VpcId",
                         "responseElements.CreateSubnetResponse.subnet.vpcId")),
    }),
}


@record
class Trigger:
    """What an event says happened, with the ids to re-read from the API."""

    event_id: str
    source: str
    name: str
    kind: str
    account: str
    region: str
    actor: str | None = None
    cluster: str | None = None
    task_definition: str | None = None
    service: str | None = None
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    assign_public_ip: str | None = None
    launch_type: str | None = None
    capacity_providers: tuple[str, ...] = ()
    platform_version: str | None = None
    execute_command: bool | None = None
    service_connect: bool | None = None
    task_arns: tuple[str, ...] = ()
    container_instances: tuple[str, ...] = ()
    subnet_id: str | None = None
    vpc_id: str | None = None
    resource_ids: tuple[str, ...] = ()  # drift: every EC2 id the record names
    group_name: str | None = None  # drift: a security group named by name (default VPC), not by id

    @property
    def label(self) -> str:
        return f"{self.source.split('.')[0]}:{self.name}"


@record
class Ignored:
    """An event this tool deliberately does nothing with, and why."""

    reason: str
    event_id: str = ""
    name: str = ""


def parse_event(event: Any, own_role_arn: str | None = None, member_role: str | None = None) -> Trigger | Ignored:
    """Turn an EventBridge event into a `Trigger`, or say why it is ignored. `member_role` (the
    organization path): the name of the role the engine assumes in every member account; a call
    made by that role in any account is the engine's own, as `own_role_arn` is in one account.

    Raises `BadInput` (one line) when the event is not the shape EventBridge delivers.
    """
    if not isinstance(event, dict):
        raise BadInput(f"event must be a JSON object, got {_type_name(event)}")
    detail_type = event.get("detail-type")
    if not isinstance(detail_type, str):
        raise BadInput("event has no 'detail-type' string: not an EventBridge event")
    if detail_type != DETAIL_TYPE:
        return Ignored(f"detail-type {detail_type!r} is not handled (only {DETAIL_TYPE!r})")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise BadInput("event 'detail' must be an object holding the CloudTrail record")
    source, name = detail.get("eventSource"), detail.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str):
        raise BadInput("detail.eventSource and detail.eventName must be strings")
    event_id = _optional_str(detail, "eventID") or _optional_str(event, "id") or ""
    if detail.get("errorCode") is not None:
        return Ignored(f"{name} failed ({detail.get('errorCode')}): nothing was launched",
                       event_id, name)
    actor = _actor(detail)
    if own_role_arn and actor == own_role_arn:
        return Ignored(f"{name} was made by this remediator's own role", event_id, name)
    if member_role and actor and _is_role(actor, member_role):
        return Ignored(f"{name} was made by this remediator's member role", event_id, name)
    spec = TRIGGERS.get((source, name))
    if spec is None:
        return Ignored(f"{source} {name} is not an event this tool handles", event_id, name)
    region = _optional_str(detail, "awsRegion") or _optional_str(event, "region")
    account = (_optional_str(detail, "recipientAccountId") or _optional_str(event, "account") or "")
    if not region:
        raise BadInput("event has no region (detail.awsRegion or region)")
    for key in ("requestParameters", "responseElements"):
        if detail.get(key) is not None and not isinstance(detail[key], dict):
            raise BadInput(f"detail.{key} must be an object or null, got {_type_name(detail[key])}")
    values: dict[str, Any] = {}
    for fname, (ftype, paths) in spec.fields.items():
        values[fname] = _extract(detail, fname, ftype, paths)
    if values.get("assign_public_ip") is not None:
        values["assign_public_ip"] = values["assign_public_ip"].upper()
    for tuple_field in ("subnets", "security_groups", "capacity_providers", "task_arns",
                        "container_instances"):
        if tuple_field in values:
            values[tuple_field] = tuple(values[tuple_field] or ())
    values = {k: v for k, v in values.items() if v is not None}
    if spec.harvest:
        found: list[str] = []
        for key in ("requestParameters", "responseElements"):
            _harvest(detail.get(key), found)
        values["resource_ids"] = tuple(sorted(set(found)))
    return Trigger(event_id=event_id, source=source, name=name, kind=spec.kind, account=account,
                   region=region, actor=actor, **values)


def _extract(detail: dict[str, Any], fname: str, ftype: str, paths: tuple[str, ...]) -> Any:
    for path in paths:
        value = jmespath.search(path, detail)
        if value is None or value == []:
            continue
        if ftype == STR and isinstance(value, str):
            return value
        if ftype == BOOL and isinstance(value, bool):
            return value
        if ftype == STRS and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise BadInput(f"detail.{path} must be a {ftype}, got {_type_name(value)}")
    return None


def _harvest(node: Any, found: list[str], depth: int = 0) -> None:
    if len(found) >= MAX_HARVESTED or depth > 20:
        return
    if isinstance(node, str):
        if re.match(_EC2_ID, node):
            found.append(node)
    elif isinstance(node, dict):
        for value in node.values():
            _harvest(value, found, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _harvest(value, found, depth + 1)


def _is_role(arn: str, role: str) -> bool:
    """Whether `arn` is the IAM role `role` (a name, or a /path/name) of any account and partition."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        return False
    path = parts[5].removeprefix("role")
    return path == (role if role.startswith("/") else f"/{role}")


def _actor(detail: dict[str, Any]) -> str | None:
    identity = detail.get("userIdentity")
    if not isinstance(identity, dict):
        return None
    issuer = identity.get("sessionContext", {})
    issuer = issuer.get("sessionIssuer", {}) if isinstance(issuer, dict) else {}
    arn = issuer.get("arn") if isinstance(issuer, dict) else None
    if isinstance(arn, str):
        return arn
    value = identity.get("arn")
    return value if isinstance(value, str) else None


def _optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{key!r} must be a string, got {_type_name(value)}")
    return value


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def workload_key(trigger: Trigger) -> str:
    """Events with the same key concern the same workload in the same network: one evaluation
    answers them all (a storm of RunTask calls for one task definition)."""
    if trigger.kind == "task":
        parts: tuple[object, ...] = (trigger.cluster, trigger.task_definition, sorted(trigger.subnets),
                                     sorted(trigger.security_groups), trigger.launch_type,
                                     sorted(trigger.capacity_providers), trigger.platform_version,
                                     trigger.execute_command, trigger.assign_public_ip)
    elif trigger.kind == "service":
        parts = (trigger.cluster, trigger.service)
    elif trigger.kind == "cluster":
        parts = (trigger.cluster, sorted(trigger.capacity_providers))
    elif trigger.kind == "drift":
        parts = (trigger.name, trigger.resource_ids, trigger.group_name)
    else:
        parts = (trigger.subnet_id, trigger.vpc_id)
    return f"{trigger.account}|{trigger.region}|{trigger.kind}|{parts!r}"
