"""The AWS Config custom rule: the same engine, evaluated per ECS service and per VPC.

Trigger: configuration changes of AWS::ECS::Service, AWS::EC2::VPC, AWS::EC2::Subnet,
AWS::EC2::VPCEndpoint and AWS::EC2::SecurityGroup, and a periodic run.
Reports on: AWS::ECS::Service (does this service reach every endpoint it needs?) and AWS::EC2::VPC
(does every workload in it?). Never remediates: evaluating is read-only, whatever the stack mode.

Scenarios:
1. A service or VPC whose workloads lack something -> NON_COMPLIANT, with a one-line annotation.
2. Everything present and reachable -> COMPLIANT.
3. The item was deleted or left the rule's scope -> NOT_APPLICABLE.
4. A change to a subnet, endpoint or security group -> its VPC and that VPC's services.
5. A VPC with no ECS workload -> NOT_APPLICABLE.
6. An oversized change notification -> the item is read from its configuration history first.
7. Periodic -> every VPC that hosts ECS services in the region, and those services.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rules import Workload, required_endpoints
from vpce_remediator.aws import Clients, paginate
from vpce_remediator.engine import Settings, outcome_for, plan_vpc
from vpce_remediator.errors import BadInput
from vpce_remediator.plan import Finding, WorkloadNeeds
from vpce_remediator.report import (
    NOT_APPLICABLE,
    ConfigReporter,
    Evaluation,
    SecurityHubReporter,
    evaluation,
)
from vpce_remediator.resolve import TaskDefinitions, discover_services, service_workload
from vpce_remediator.snapshot import SubnetInfo, describe_subnets, read_vpc

SERVICE = "AWS::ECS::Service"
VPC = "AWS::EC2::VPC"
NETWORK_TYPES = ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::VPCEndpoint", "AWS::EC2::SecurityGroup")
GONE = ("ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded")


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
    if message == "ScheduledNotification":
        _evaluate_region(clients, settings, run)
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
    if security_hub and (run.findings_by_vpc or run.partial_findings):
        SecurityHubReporter(clients.securityhub, clients.region, _account(event)).sync(
            run.findings_by_vpc, run.partial_findings)
    return run


def _oversized_item(clients: Clients, summary: dict[str, Any]) -> dict[str, Any]:
    """An oversized notification only summarises the item: read it from the history."""
    history = clients.config.get_resource_config_history(
        resourceType=summary["resourceType"], resourceId=summary["resourceId"], limit=1)
    items = history.get("configurationItems", [])
    if not items:
        return {**summary, "configurationItemStatus": "ResourceNotRecorded"}
    item = dict(items[0])
    if isinstance(item.get("configuration"), str):  # the history API returns it as a JSON string
        try:
            item["configuration"] = json.loads(item["configuration"])
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
        _evaluate_vpcs(clients, settings, _vpc_services(clients, vpc_id), run, always={vpc_id})
    else:
        run.evaluations.append(Evaluation(rtype, rid, NOT_APPLICABLE, f"{rtype} is not evaluated by this rule"))


def _evaluate_service(clients: Clients, settings: Settings, item: dict[str, Any],
                      configuration: dict[str, Any], run: RuleRun) -> None:
    arn = configuration.get("ServiceArn") or item.get("ARN") or item.get("resourceId", "")
    cluster = configuration.get("Cluster") or _cluster_of(arn)
    described = clients.ecs.describe_services(cluster=cluster, services=[arn]).get("services", [])
    live = [s for s in described if s.get("status") != "INACTIVE"]
    if not live:
        run.evaluations.append(Evaluation(SERVICE, item.get("resourceId", arn), NOT_APPLICABLE,
                                          "service not found (deleted?)"))
        return
    workload = service_workload(live[0], clients.region, _item_account(item), clients,
                                 TaskDefinitions(clients.ecs))
    if workload is None:
        run.evaluations.append(Evaluation(SERVICE, item.get("resourceId", arn), NOT_APPLICABLE,
                                          "task definition not found"))
        return
    subnets = _describe(clients, workload.subnet_ids)
    vpcs = {subnets[s].vpc_id for s in workload.subnet_ids if s in subnets}
    for vpc_id in sorted(vpcs):
        _evaluate_vpcs(clients, settings, {vpc_id: ([workload], subnets)}, run, vpc_evaluation=False,
                       service_ids={workload.arn: item.get("resourceId", arn)})


def _evaluate_region(clients: Clients, settings: Settings, run: RuleRun) -> None:
    """Periodic: every VPC hosting ECS services, and every such service."""
    tds = TaskDefinitions(clients.ecs)
    workloads = [w for s in discover_services(clients, None) if (w := service_workload(
        s, clients.region, "", clients, tds))]
    subnets = _describe(clients, {s for w in workloads for s in w.subnet_ids})
    by_vpc: dict[str, tuple[list[Workload], dict[str, SubnetInfo]]] = {}
    for w in workloads:
        for vpc_id in sorted({subnets[s].vpc_id for s in w.subnet_ids if s in subnets}):
            by_vpc.setdefault(vpc_id, ([], subnets))[0].append(w)
    _evaluate_vpcs(clients, settings, by_vpc, run)


def _vpc_services(clients: Clients, vpc_id: str) -> dict[str, tuple[list[Workload], dict[str, SubnetInfo]]]:
    subnets = {s["SubnetId"]: SubnetInfo(s["SubnetId"], s["VpcId"], s["AvailabilityZone"], s.get("CidrBlock", ""))
               for p in paginate(clients.ec2, "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
               for s in p.get("Subnets", [])}
    tds = TaskDefinitions(clients.ecs)
    workloads = [w for s in discover_services(clients, set(subnets))
                 if (w := service_workload(s, clients.region, "", clients, tds))]
    return {vpc_id: (workloads, subnets)}


def _evaluate_vpcs(clients: Clients, settings: Settings,
                   by_vpc: dict[str, tuple[list[Workload], dict[str, SubnetInfo]]], run: RuleRun,
                   always: set[str] | None = None, vpc_evaluation: bool = True,
                   service_ids: dict[str, str] | None = None) -> None:
    """One snapshot per VPC; one plan per workload (its own evaluation) and one for the VPC."""
    report = Settings(mode="report", enforce_on_nat_routed=settings.enforce_on_nat_routed,
                      excluded_vpcs=settings.excluded_vpcs)
    ec2 = clients.ec2
    for vpc_id in sorted(set(by_vpc) | (always or set())):
        workloads, subnets = by_vpc.get(vpc_id, ([], {}))
        if not workloads:
            run.evaluations.append(Evaluation(VPC, vpc_id, NOT_APPLICABLE, "hosts no ECS service"))
            continue
        if vpc_id in settings.excluded_vpcs:
            run.evaluations.append(Evaluation(VPC, vpc_id, NOT_APPLICABLE, "excluded by ExcludedVpcIds"))
            continue
        vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
        account = vpc.get("OwnerId", "")
        snap = read_vpc(ec2, vpc, clients.region, account, subnets)
        needs = [WorkloadNeeds(w, required_endpoints(w)) for w in workloads]
        snap, whole = plan_vpc(ec2, needs, snap, report)
        for wn in needs:
            _, own = plan_vpc(ec2, [wn], snap, report)
            findings = outcome_for(ec2, vpc_id, "report", own, snap).findings
            rid = (service_ids or {}).get(wn.workload.arn, wn.workload.arn)
            run.evaluations.append(evaluation(SERVICE, rid, findings))
        vpc_findings = outcome_for(ec2, vpc_id, "report", whole, snap).findings
        if vpc_evaluation:
            run.findings_by_vpc[vpc_id] = vpc_findings
            run.evaluations.append(evaluation(VPC, vpc_id, vpc_findings))
        else:
            run.partial_findings[vpc_id] = vpc_findings


def _describe(clients: Clients, subnet_ids: Any) -> dict[str, SubnetInfo]:
    return describe_subnets(clients.ec2, subnet_ids)


def _cluster_of(service_arn: str) -> str | None:
    # arn:aws:ecs:region:account:service/CLUSTER/NAME (the old form without the cluster has none)
    parts = service_arn.split(":", 5)[-1].split("/")
    return parts[1] if len(parts) == 3 else None


def _item_account(item: dict[str, Any]) -> str:
    return str(item.get("awsAccountId") or item.get("accountId") or "")  # history items say accountId


def _account(event: dict[str, Any]) -> str:
    return str(event.get("accountId") or "")


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)
