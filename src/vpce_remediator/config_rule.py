"""The AWS Config custom rule: the same engine, evaluated per ECS service and per VPC.

Trigger: configuration changes of AWS::ECS::Service, AWS::EC2::VPC, AWS::EC2::Subnet,
AWS::EC2::VPCEndpoint and AWS::EC2::SecurityGroup, and a periodic run.
Reports on: AWS::ECS::Service (does this service reach every endpoint it needs?) and AWS::EC2::VPC
(does every workload in it, running standalone tasks included?). Never remediates: evaluating is
read-only, whatever the stack mode.

Workloads are found and evaluated by `scan` (`scan_estate`, or `discovery.discover_service` and
`scan_workloads` for one service), the same code as `vpce-remediator scan`, and so by the engine's
one per-VPC evaluation; this module only turns its results into evaluations. Tasks have no Config
resource type: they count in their VPC's.

Scenarios:
1. A service or VPC whose workloads lack something -> NON_COMPLIANT, with a one-line annotation.
2. Everything present and reachable -> COMPLIANT.
3. The item was deleted or left the rule's scope -> NOT_APPLICABLE.
4. A change to a subnet, endpoint or security group -> its VPC and that VPC's services.
5. A VPC with no ECS workload, or one excluded or tagged ignore -> NOT_APPLICABLE.
6. An oversized change notification -> the item is read from its configuration history first.
7. Periodic -> every VPC that hosts ECS services or running standalone tasks, and those services.
8. A service none of whose subnets exists any more, or whose task definition cannot be read ->
   NOT_APPLICABLE, the annotation saying which.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rules.records import replace
from vpce_remediator.accounts import AccountUnreachable, MemberAccounts
from vpce_remediator.aws import READ_ACTIONS, Clients
from vpce_remediator.discovery import discover_service
from vpce_remediator.engine import IGNORED, Settings
from vpce_remediator.errors import BadInput
from vpce_remediator.plan import Finding
from vpce_remediator.report import (
    CONFIG_REPORT_ACTIONS,
    NOT_APPLICABLE,
    ConfigReporter,
    Evaluation,
    SecurityHubReporter,
    evaluation,
)
from vpce_remediator.scan import ScanResult, WorkloadScan, scan_estate, scan_workloads

log = logging.getLogger(__name__)

SERVICE = "AWS::ECS::Service"
VPC = "AWS::EC2::VPC"
NETWORK_TYPES = ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroup")
GONE = ("ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded")

# Every IAM action the Config rule's function makes: the engine's reads (scan's included) and
# reporting (tests/contract checks that ConfigFunctionRole grants exactly these).
CONFIG_ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(READ_ACTIONS + CONFIG_REPORT_ACTIONS))


@dataclass
class RuleRun:
    """What one Config invocation decided, and what it sent."""

    evaluations: list[Evaluation] = field(default_factory=list)
    findings_by_vpc: dict[str, list[Finding]] = field(default_factory=dict)  # every workload of the VPC
    partial_findings: dict[str, list[Finding]] = field(default_factory=dict)  # one service's view
    put_calls: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"evaluations": [{"resource_type": e.resource_type, "resource_id": e.resource_id,
                                 "compliance": e.compliance, "annotation": e.annotation}
                                for e in self.evaluations],
                "put_evaluations_calls": self.put_calls}


def is_config_event(event: Any) -> bool:
    return isinstance(event, dict) and "invokingEvent" in event and "resultToken" in event


def evaluate_config_event(event: dict[str, Any], clients: Clients, settings: Settings,
                          security_hub: bool = False) -> RuleRun:
    """Evaluate a Config rule invocation, send the evaluations, and (optionally) Security Hub findings."""
    try:
        invoking = json.loads(event["invokingEvent"])
    except (TypeError, ValueError) as e:
        raise BadInput(f"invokingEvent is not JSON: {e}") from e
    if not isinstance(invoking, dict) or not isinstance(invoking.get("messageType"), str):
        raise BadInput("invokingEvent has no messageType")
    message = invoking["messageType"]
    run = RuleRun()
    whole_region = message == "ScheduledNotification"
    if whole_region:
        _record(scan_estate(clients, _report_only(settings)), run)
    elif message in ("ConfigurationItemChangeNotification", "OversizedConfigurationItemChangeNotification"):
        item = invoking.get("configurationItem") if message.startswith("Configuration") else \
            _oversized_item(clients, invoking.get("configurationItemSummary") or {})
        if not isinstance(item, dict) or not item.get("resourceType"):
            raise BadInput("the change notification carries no configuration item")
        _evaluate_item(clients, settings, item, bool(event.get("eventLeftScope")), run)
    else:
        raise BadInput(f"unknown Config messageType {message!r}")
    ordering = _timestamp(invoking.get("notificationCreationTime"))
    run.put_calls = ConfigReporter(clients.config, event["resultToken"]).put(run.evaluations, ordering)
    if security_hub and (run.findings_by_vpc or run.partial_findings or whole_region):
        # The periodic run sees every workload of the region: it also closes the findings of VPCs
        # that no longer host one (a change notification only sees its own VPC or service).
        SecurityHubReporter(clients.securityhub, clients.region, _account(event)).sync(
            run.findings_by_vpc, run.partial_findings, whole_region=whole_region)
    return run


def evaluate_in_member(event: dict[str, Any], members: MemberAccounts, settings: Settings,
                       security_hub: bool = False) -> dict[str, Any]:
    """An organization rule's invocation, evaluated in the member account it is for (`accountId`):
    every read, the evaluations (`PutEvaluations` takes only the invoking account's result token)
    and the Security Hub findings, with that account's member role. An account whose role cannot
    be assumed gets one log line and nothing else (its evaluations stay as they were)."""
    account = event.get("accountId") if isinstance(event, dict) else None
    try:
        clients = members.clients(str(account or ""))
    except AccountUnreachable as e:
        log.error("member account unreachable: not evaluated: %s", e)
        return {"status": "ignored", "reason": f"not evaluated: {e}", "account": e.account}
    return {"account": account, **evaluate_config_event(event, clients, settings, security_hub).to_dict()}


def _oversized_item(clients: Clients, summary: dict[str, Any]) -> dict[str, Any]:
    """An oversized notification only summarises the item: read it from the history."""
    history = clients.config.get_resource_config_history(
        resourceType=summary["resourceType"], resourceId=summary["resourceId"], limit=1)
    items = history.get("configurationItems", [])
    if not items:
        return {**summary, "configurationItemStatus": "ResourceNotRecorded"}
    item: dict[str, Any] = dict(items[0])
    configuration = item.get("configuration")
    if isinstance(configuration, str):  # the history API returns it as a JSON string
        try:
            item["configuration"] = json.loads(configuration)
        except ValueError:
            item["configuration"] = {}
    return item


def _evaluate_item(clients: Clients, settings: Settings, item: dict[str, Any], left_scope: bool,
                   run: RuleRun) -> None:
    rtype, rid = item["resourceType"], item.get("resourceId", "")
    if left_scope or item.get("configurationItemStatus") in GONE:
        why = "left the rule's scope" if left_scope else "was deleted"
        run.evaluations.append(Evaluation(rtype, rid, NOT_APPLICABLE, f"{rtype} {rid} {why}"))
        return
    configuration = item.get("configuration") or {}
    if rtype == SERVICE:
        _evaluate_service(clients, settings, item, configuration, run)
    elif rtype in NETWORK_TYPES:
        vpc_id = rid if rtype == VPC else configuration.get("vpcId") or configuration.get("VpcId")
        if not vpc_id:
            run.evaluations.append(Evaluation(rtype, rid, NOT_APPLICABLE, "not in a VPC"))
            return
        _record(scan_estate(clients, _report_only(settings), vpc_ids={vpc_id}), run)
    else:
        run.evaluations.append(Evaluation(rtype, rid, NOT_APPLICABLE, f"{rtype} is not evaluated by this rule"))


def _evaluate_service(clients: Clients, settings: Settings, item: dict[str, Any],
                      configuration: dict[str, Any], run: RuleRun) -> None:
    """One service in its VPC: its own evaluation, and its findings upserted (never archived: the
    other workloads of the VPC were not looked at)."""
    rid = item.get("resourceId", "")
    arn = configuration.get("ServiceArn") or item.get("ARN") or rid
    found = discover_service(clients, arn, configuration.get("Cluster"))
    if not found.workloads and not found.unreadable:
        run.evaluations.append(Evaluation(SERVICE, rid or arn, NOT_APPLICABLE, "service not found (deleted?)"))
        return
    _record(scan_workloads(clients, _report_only(settings), found), run, whole_vpcs=False,
            service_ids={arn: rid or arn})


def _record(result: ScanResult, run: RuleRun, whole_vpcs: bool = True,
            service_ids: dict[str, str] | None = None) -> None:
    """A scan's results as evaluations: one per ECS service, and, when the scan saw every workload
    of its VPCs (`whole_vpcs`), one per VPC whose findings are complete enough to archive by."""
    for v in result.vpcs:
        run.evaluations += [_service_evaluation(w, service_ids) for w in v.workloads if w.workload.kind == "service"]
        if v.outcome is None:  # not evaluated: no workload, excluded, tagged ignore, or gone
            if whole_vpcs:
                run.evaluations.append(Evaluation(VPC, v.vpc_id, NOT_APPLICABLE, v.ignored or "not evaluated"))
        elif whole_vpcs:
            run.findings_by_vpc[v.vpc_id] = list(v.outcome.findings)
            run.evaluations.append(evaluation(VPC, v.vpc_id, v.outcome.findings))
        else:
            run.partial_findings[v.vpc_id] = list(v.outcome.findings)
    run.evaluations += [_service_evaluation(w, service_ids) for w in result.unplaced if w.workload.kind == "service"]


def _service_evaluation(w: WorkloadScan, service_ids: dict[str, str] | None) -> Evaluation:
    rid = (service_ids or {}).get(w.workload.arn, w.workload.arn)
    if w.status == IGNORED:
        return Evaluation(SERVICE, rid, NOT_APPLICABLE, w.reason or "not evaluated")
    return evaluation(SERVICE, rid, w.findings)


def _report_only(settings: Settings) -> Settings:
    """Evaluating never remediates, whatever mode the stack runs in."""
    return replace(settings, mode="report")


def _account(event: dict[str, Any]) -> str:
    return str(event.get("accountId") or "")


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)
