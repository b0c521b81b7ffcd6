"""The AWS Config custom rule: the same engine, evaluated per ECS service and per VPC.

Trigger: configuration changes of AWS::ECS::Service, AWS::EC2::VPC, AWS::EC2::Subnet,
AWS::EC2::VPCEndpoint and AWS::EC2::SecurityGroup (notifications and oversized ones), and a
periodic run (ScheduledNotification, or ConfigurationSnapshotDeliveryCompleted).
Reports on: AWS::ECS::Service (does this service reach every endpoint it needs?) and AWS::EC2::VPC
(does every workload in it, running standalone tasks included?). Never remediates: evaluating is
read-only, whatever the stack mode.

Workloads are found and evaluated by `scan` (`scan_estate`, or `discovery.discover_service` and
`scan_workloads` for one service), the same code as `vpce-remediator scan`, and so by the engine's
one per-VPC evaluation; this module only turns its results into evaluations. Tasks have no Config
resource type: they count in their VPC's. What an invocation says is read by `config_event`.

Scenarios:
1. A service or VPC whose workloads lack something -> NON_COMPLIANT, with a one-line annotation.
2. Everything present and reachable -> COMPLIANT.
3. The item was deleted, left the rule's scope, or is not recorded by Config -> NOT_APPLICABLE,
   each in its own words.
4. A change to a subnet, endpoint or security group -> its VPC (from its configuration, or only
   from its "Is contained in Vpc" relationship) and that VPC's services.
5. A VPC with no ECS workload, or one excluded or tagged ignore -> NOT_APPLICABLE.
6. An oversized change notification -> its summary first: deleted, out of scope or unrecorded is
   NOT_APPLICABLE at once; otherwise the item is read from its configuration history, and an item
   Config has no history of (ResourceNotDiscoveredException) is NOT_APPLICABLE, saying so.
7. Periodic -> every VPC that hosts ECS services or running standalone tasks, and those services;
   and NOT_APPLICABLE, with why, for whatever the rule judged before and no longer finds.
8. A service none of whose subnets exists any more, or whose task definition cannot be read ->
   NOT_APPLICABLE, the annotation saying which.
9. A malformed invocation (no resultToken, no summary, an id of the wrong form) -> `BadInput`, one
   line, and no evaluation.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from rules.records import replace
from vpce_remediator.accounts import AccountUnreachable, MemberAccounts
from vpce_remediator.aws import READ_ACTIONS, Clients, error_code
from vpce_remediator.config_event import (
    NETWORK_TYPES,
    SERVICE,
    VPC,
    ConfigItem,
    Invocation,
    needs_history,
    not_applicable_reason,
    parse_invocation,
    parse_item,
    stale,
)
from vpce_remediator.discovery import describe_vpcs, discover_service
from vpce_remediator.engine import IGNORED, Settings
from vpce_remediator.errors import BadInput
from vpce_remediator.plan import Finding
from vpce_remediator.report import (
    CONFIG_REPORT_ACTIONS,
    NOT_APPLICABLE,
    ConfigReporter,
    Evaluation,
    PreviousUnreadable,
    SecurityHubReporter,
    evaluated_before,
    evaluation,
)
from vpce_remediator.scan import ScanResult, WorkloadScan, scan_estate, scan_workloads

log = logging.getLogger(__name__)

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
    notes: list[str] = field(default_factory=list)  # what the run could not do, and what that leaves

    def to_dict(self) -> dict[str, Any]:
        return {"evaluations": [{"resource_type": e.resource_type, "resource_id": e.resource_id,
                                 "compliance": e.compliance, "annotation": e.annotation}
                                for e in self.evaluations],
                "put_evaluations_calls": self.put_calls, "notes": list(self.notes)}


def evaluate_config_event(event: dict[str, Any], clients: Clients, settings: Settings,
                          security_hub: bool = False) -> RuleRun:
    """Evaluate a Config rule invocation, send the evaluations, and (optionally) Security Hub findings.
    Raises `BadInput` for a malformed invocation (read before any AWS call) and for a resultToken
    Config refuses."""
    invocation = parse_invocation(event)
    run = RuleRun()
    if invocation.whole_region:
        _record(scan_estate(clients, _report_only(settings)), run)
        _mark_stale(clients, invocation, run)
    else:
        item = invocation.item
        if item is not None and invocation.oversized:
            item = _oversized_item(clients, item, invocation.left_scope, run)
        if item is not None:
            _evaluate_item(clients, settings, item, invocation.left_scope, run)
    ordering = invocation.created or datetime.now(UTC)
    try:
        run.put_calls = ConfigReporter(clients.config, invocation.result_token).put(run.evaluations, ordering)
    except ClientError as e:
        if error_code(e) != "InvalidResultTokenException":
            raise
        # A token is good for its own invocation only: no retry makes a damaged or copied one good.
        raise BadInput("AWS Config refused the resultToken (InvalidResultTokenException): it is not the token "
                       "of a current invocation of this rule (TESTMODE evaluates in test mode)") from e
    if security_hub and (run.findings_by_vpc or run.partial_findings or invocation.whole_region):
        # The periodic run sees every workload of the region: it also closes the findings of VPCs
        # that no longer host one (a change notification only sees its own VPC or service).
        SecurityHubReporter(clients.securityhub, clients.region, invocation.account).sync(
            run.findings_by_vpc, run.partial_findings, whole_region=invocation.whole_region)
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


def _oversized_item(clients: Clients, summary: ConfigItem, left_scope: bool, run: RuleRun) -> ConfigItem | None:
    """An oversized notification only summarises the item. Deleted, out of scope or unrecorded, the
    summary says all there is; otherwise the item is read from its history (None: judged already)."""
    if not needs_history(summary, left_scope):
        return summary
    try:
        history = clients.config.get_resource_config_history(  # resourceType: one of IN_SCOPE, a str here
            resourceType=summary.resource_type, resourceId=summary.resource_id, limit=1)  # type: ignore[arg-type]
    except ClientError as e:
        if error_code(e) != "ResourceNotDiscoveredException":
            raise
        run.evaluations.append(Evaluation(summary.resource_type, summary.resource_id, NOT_APPLICABLE, (
            f"{summary.label}: AWS Config has no configuration item of it (ResourceNotDiscoveredException), "
            "so this oversized change is not evaluated; the periodic run evaluates it from the live API")))
        return None
    items = history.get("configurationItems") or []
    if not items:
        run.evaluations.append(Evaluation(summary.resource_type, summary.resource_id, NOT_APPLICABLE, (
            f"{summary.label}: its configuration history is empty, so this oversized change is not evaluated; "
            "the periodic run evaluates it from the live API")))
        return None
    return parse_item(items[0], "the configuration history's item")


def _evaluate_item(clients: Clients, settings: Settings, item: ConfigItem, left_scope: bool,
                   run: RuleRun) -> None:
    why = not_applicable_reason(item, left_scope)
    if why is not None:
        run.evaluations.append(Evaluation(item.resource_type, item.resource_id, NOT_APPLICABLE, why))
    elif item.resource_type == SERVICE:
        _evaluate_service(clients, settings, item, run)
    elif item.resource_type in NETWORK_TYPES:
        vpc_id = item.vpc_id()
        if vpc_id is None:
            run.evaluations.append(Evaluation(item.resource_type, item.resource_id, NOT_APPLICABLE, (
                f"{item.label} names no VPC (neither in its configuration nor in its relationships): not "
                "evaluated on this change; the periodic run evaluates every VPC hosting ECS workloads")))
            return
        _record(scan_estate(clients, _report_only(settings), vpc_ids={vpc_id}), run)
    else:
        run.evaluations.append(Evaluation(item.resource_type, item.resource_id, NOT_APPLICABLE,
                                          f"{item.resource_type} is not evaluated by this rule"))


def _evaluate_service(clients: Clients, settings: Settings, item: ConfigItem, run: RuleRun) -> None:
    """One service in its VPC: its own evaluation, and its findings upserted (never archived: the
    other workloads of the VPC were not looked at)."""
    arn = item.service_arn()
    if arn is None:
        raise BadInput(f"{item.label}: the item names no ECS service ARN (configuration.ServiceArn, ARN or resourceId)")
    found = discover_service(clients, arn, item.cluster())
    if not found.workloads and not found.unreadable:
        run.evaluations.append(Evaluation(SERVICE, item.resource_id, NOT_APPLICABLE, "service not found (deleted?)"))
        return
    _record(scan_workloads(clients, _report_only(settings), found), run, whole_vpcs=False,
            service_ids={arn: item.resource_id})


def _mark_stale(clients: Clients, invocation: Invocation, run: RuleRun) -> None:
    """The periodic run's evaluations cover what it found; whatever the rule judged before and no
    longer finds (a VPC whose last workload went, a deleted service) becomes NOT_APPLICABLE, so
    Config's view matches the estate. Unreadable, the old evaluations stay, and the run says so."""
    if not invocation.rule_name:
        run.notes.append("the event names no configRuleName: the rule's earlier evaluations were not read, so "
                         "those of VPCs and services no longer found stay as they were")
        return
    try:
        before = evaluated_before(clients.config, invocation.rule_name)
    except PreviousUnreadable as e:
        log.warning("earlier evaluations of %s not read (%s): those no longer found stay as they were",
                    invocation.rule_name, e)
        run.notes.append(f"the rule's earlier evaluations were not read ({e}): those of VPCs and services no longer "
                         "found stay as they were")
        return
    now = [(e.resource_type, e.resource_id) for e in run.evaluations]
    gone_vpcs = {rid for rtype, rid in before if rtype == VPC} - {rid for rtype, rid in now if rtype == VPC}
    live = describe_vpcs(clients.ec2, gone_vpcs) if gone_vpcs else {}
    run.evaluations += [Evaluation(rtype, rid, NOT_APPLICABLE, why) for rtype, rid, why in stale(before, now, live)]


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
