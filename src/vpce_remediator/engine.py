"""The engine: event -> parse -> resolve -> snapshot -> plan -> act or report -> `Outcome`.

Every event door (Lambda handlers, CLI `invoke`, demo) calls `evaluate_event` (the queue door,
which parses each record first, `evaluate_trigger`); none has logic of its own. `evaluate_vpc` is
the one per-VPC evaluation (plan, then lock -> read again -> plan -> act, or report) that the event
path and `scan` (and through it the Config rule) share, and `verdict` the one judgement of
compliant, remediated or non-compliant. Results are objects (`VpcOutcome`, `Outcome`); only the
doors turn them into the JSON contract (`Outcome.to_dict`) or text (`render`).
"""
from __future__ import annotations

import logging
import os
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from rules import GATEWAY, INTERFACE, Workload, placed_requirements, required_endpoints
from rules.partitions import is_aws_service_name, short_name
from rules.records import field, record, replace
from rules.workload import EndpointType
from vpce_remediator.act import (
    API_CALL,
    CROSS_REGION_PERMISSION,
    PERMISSIONS,
    ActionResult,
    apply_plan,
)
from vpce_remediator.aws import Clients, error_code
from vpce_remediator.endpoint_policies import ACCOUNT, AUTO, AWS_DEFAULT, ORGANIZATION, SETTINGS, PolicyScope
from vpce_remediator.facts import (
    GATEWAY_ENDPOINTS_QUOTA,
    INTERFACE_ENDPOINTS_QUOTA,
    MODE_TAG,
    SubnetInfo,
    VpcSnapshot,
)
from vpce_remediator.fixes import PROBLEMS, Value, own_sg_lookup, placeholders, render_fix
from vpce_remediator.lock import VpcLock
from vpce_remediator.pacing import Pacer, process_pacer
from vpce_remediator.plan import (
    ADD_ROUTE_TABLES,
    ADD_SECURITY_GROUP,
    ADD_SUBNETS,
    AUTHORIZE_INGRESS,
    CREATE_GATEWAY,
    CREATE_INTERFACE,
    ENABLE_PRIVATE_DNS,
    SET_ENDPOINT_POLICY,
    Action,
    Finding,
    Plan,
    ServiceState,
    WorkloadNeeds,
    plan_remediation,
)
from vpce_remediator.registries import with_account_facts
from vpce_remediator.resolve import Resolved, resolve
from vpce_remediator.snapshot import (
    read_central_zones,
    read_dhcp_options,
    read_file_systems,
    read_interface_quota,
    read_offers,
    read_vpc,
    tags_of,
)
from vpce_remediator.triggers import Ignored, Trigger, parse_event
from vpce_remediator.trust import Trust, trust_for

MODES = ("report", "remediate", "opt-in")

# Resolving EndpointPolicy auto / organization: one call per account and container.
ORGANIZATION_ACTIONS = ("organizations:DescribeOrganization",)
_ORGANIZATIONS: dict[str, str | None] = {}

log = logging.getLogger(__name__)

COMPLIANT, REMEDIATED, NON_COMPLIANT, IGNORED = "compliant", "remediated", "non_compliant", "ignored"


@record
class Settings:
    mode: str = "report"
    enforce_on_nat_routed: bool = False
    excluded_vpcs: frozenset[str] = frozenset()
    own_role_arn: str | None = None
    max_endpoints_per_vpc: int = 20  # interface endpoints the tool keeps in one VPC
    endpoint_policy: str = AUTO  # auto, organization, account, aws-default
    organization_id: str | None = None  # set by `with_organization` (remediating runs only)
    # CrossRegionEndpoints: create cross-Region endpoints for images, keys and streams of another
    # Region (off: they are named in the finding's fix only).
    cross_region_endpoints: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.max_endpoints_per_vpc < 0:
            raise ValueError(f"max_endpoints_per_vpc must be 0 or more, not {self.max_endpoints_per_vpc}")
        if self.endpoint_policy not in SETTINGS:
            raise ValueError(f"endpoint_policy must be one of {', '.join(SETTINGS)}, not {self.endpoint_policy!r}")

    def policy_scope(self, account: str) -> PolicyScope:
        """The scope of the endpoint policies for `account`. Unresolved (report mode reads no
        organization), auto and organization stand in as the account's scope, marked inexact."""
        if self.endpoint_policy == AWS_DEFAULT:
            return PolicyScope(AWS_DEFAULT, account)
        if self.endpoint_policy == ACCOUNT:
            return PolicyScope(ACCOUNT, account)
        if self.organization_id == "":  # resolved: the account is in no organization
            return PolicyScope(ACCOUNT, account)
        if self.organization_id:
            return PolicyScope(ORGANIZATION, account, self.organization_id)
        return PolicyScope(ACCOUNT, account, exact=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Settings from the Lambda environment the SAM template sets."""
        return cls(
            mode=env.get("MODE", "report"),
            enforce_on_nat_routed=env.get("ENFORCE_ON_NAT_ROUTED_SUBNETS", "false").lower() == "true",
            excluded_vpcs=frozenset(v.strip() for v in env.get("EXCLUDED_VPC_IDS", "").split(",") if v.strip()),
            own_role_arn=env.get("OWN_ROLE_ARN") or None,
            max_endpoints_per_vpc=int(env.get("MAX_ENDPOINTS_PER_VPC") or 20),
            endpoint_policy=env.get("ENDPOINT_POLICY", AUTO) or AUTO,
            cross_region_endpoints=env.get("CROSS_REGION_ENDPOINTS", "false").lower() == "true",
            # The organization path's central stack knows the organization: no lookup per account.
            organization_id=env.get("ORGANIZATION_ID") or None,
        )


# IAM's StringEqualsIgnoreCase folds case and nothing else: fold A-Z only, strip nothing, so
# the code and the role's conditions read a `vpce-remediator:mode` tag the same way.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def mode_tag_value(tags: Mapping[str, str]) -> str:
    """The VPC's mode tag as IAM's *IgnoreCase operators compare it: ASCII case folded, no stripping."""
    return tags.get(MODE_TAG, "").translate(_ASCII_LOWER)


def with_organization(clients: Clients, settings: Settings, account: str) -> Settings:
    """Settings whose auto / organization endpoint policy knows the organization's id ("" when the
    account is in none): organizations:DescribeOrganization, once per account and container. A
    refusal leaves it unresolved: the account's scope is then used, and nothing is restored."""
    if settings.endpoint_policy not in (AUTO, ORGANIZATION) or settings.organization_id is not None:
        return settings
    if account not in _ORGANIZATIONS:
        try:
            org = clients.client("organizations").describe_organization()["Organization"]["Id"]
        except ClientError as e:
            code = error_code(e)
            if code == "AWSOrganizationsNotInUseException":
                org = ""
            elif code in ("AccessDenied", "AccessDeniedException"):
                log.warning("cannot read the organization (%s): endpoint policies scoped to the account", code)
                return settings
            else:
                raise
        _ORGANIZATIONS[account] = org
    org = _ORGANIZATIONS[account]
    if org == "" and settings.endpoint_policy == ORGANIZATION:
        log.warning("EndpointPolicy organization, but account %s is in no organization: scoped to the account",
                    account)
    return replace(settings, organization_id=org)


def effective_mode(settings: Settings, vpc_id: str, tags: Mapping[str, str]) -> str:
    """report, remediate or ignore for one VPC, from the stack mode and the VPC's tag.

    The template's remediate policy decides the same from the same tag (contract-tested over
    spellings): `Remediate` counts as remediate, ` remediate` (with a space) as no known value.
    """
    tag = mode_tag_value(tags)
    if vpc_id in settings.excluded_vpcs or tag == "ignore":
        return "ignore"
    if settings.mode == "remediate":
        return "report" if tag == "report" else "remediate"
    if settings.mode == "opt-in":
        return "remediate" if tag == "remediate" else "report"
    return "report"


def verdict(findings: Sequence[Finding], results: Sequence[ActionResult]) -> str:
    """Compliant, remediated or non-compliant, from what is still wrong and what was done: every
    door's status (an event's, a VPC's, a workload's) is this one judgement."""
    if findings:
        return NON_COMPLIANT
    if any(r.status in ("created", "modified") for r in results):
        return REMEDIATED
    return COMPLIANT


@record
class VpcOutcome:
    """One VPC evaluated: its mode, the plan, what was done and what is still wrong; or why it was
    not evaluated (`ignored`)."""

    vpc_id: str
    mode: str
    plan: Plan | None = None
    results: tuple[ActionResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    ignored: str | None = None

    @property
    def status(self) -> str:
        return IGNORED if self.ignored is not None else verdict(self.findings, self.results)


@record
class RequiredEndpoint:
    """A required endpoint as the contract reports it: the plan's state, or what was just done."""

    vpc_id: str
    service: str
    type: str
    reasons: tuple[str, ...]
    status: str  # the plan's (present, missing, ...), or created / updated by this run
    endpoint_id: str | None
    served_by: str = ""  # a hub's zone or an S3 interface endpoint, when that is what serves it


@record
class Outcome:
    """The result of one event (or one VPC or workload of a scan), serialised by `to_dict` as the
    documented JSON contract."""

    trigger: Trigger | Ignored | None = None
    workloads: tuple[Workload, ...] = ()
    vpcs: tuple[VpcOutcome, ...] = ()
    api_calls: Mapping[str, int] = field(default_factory=dict)
    not_evaluated: str | None = None  # why no VPC was looked at (the event was ignored or resolved to nothing)

    @property
    def status(self) -> str:
        if self.not_evaluated is not None or all(v.ignored is not None for v in self.vpcs):
            return IGNORED
        return verdict(self.findings, self.results)

    @property
    def reason(self) -> str | None:
        if self.not_evaluated is not None:
            return self.not_evaluated
        if any(v.ignored is None for v in self.vpcs):
            return None
        return "; ".join(v.ignored or "" for v in self.vpcs) or "no workload in a VPC"

    @property
    def mode(self) -> str | None:
        return ", ".join(sorted({v.mode for v in self.vpcs})) or None

    @property
    def findings(self) -> list[Finding]:
        return [f for v in self.vpcs for f in v.findings]

    @property
    def results(self) -> list[ActionResult]:
        return [r for v in self.vpcs for r in v.results]

    @property
    def services(self) -> list[tuple[str, ServiceState]]:
        return [(v.vpc_id, s) for v in self.vpcs if v.plan for s in v.plan.services]

    @property
    def required(self) -> list[RequiredEndpoint]:
        created = {r.action.service: r.resource_id for r in self.results if r.status == "created" and r.action.service}
        updated = {r.action.service for r in self.results if r.status == "modified" and r.action.service}
        return [RequiredEndpoint(vpc, s.service, s.type, tuple(s.reasons),
                                 "created" if s.service in created else
                                 "updated" if s.service in updated and s.status == "incomplete" else s.status,
                                 created.get(s.service, s.endpoint_id) or None, s.served_by)
                for vpc, s in self.services]

    @property
    def notes(self) -> list[str]:
        return [n for v in self.vpcs if v.plan for n in v.plan.notes] + [
            f"{v.vpc_id}: {v.ignored}" for v in self.vpcs if v.ignored]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.reason:
            out["reason"] = self.reason
        t = self.trigger
        if t is not None:
            out["event"] = {"id": t.event_id, "name": t.name,
                            **({"source": t.source} if isinstance(t, Trigger) else {})}
        out["mode"] = self.mode
        out["workloads"] = [{"kind": w.kind, "name": w.name, "arn": w.arn, "launch_type": w.launch_type,
                             "subnets": list(w.subnet_ids), "security_groups": list(w.security_group_ids),
                             **({"container_instances": {"subnets": list(w.instance_subnet_ids),
                                                         "security_groups": list(w.instance_security_group_ids)}}
                                if w.on_instances() else {})}
                            for w in self.workloads]
        out["required"] = [{"service": r.service, "type": r.type, "reasons": list(r.reasons), "status": r.status,
                            "endpoint_id": r.endpoint_id, "vpc_id": r.vpc_id,
                            **({"served_by": r.served_by} if r.served_by else {})} for r in self.required]
        out["actions"] = [{"action": r.action.kind, "service": r.action.service or None,
                           "resource_id": r.resource_id or None, "status": r.status,
                           **({"subnet_ids": list(r.action.subnet_ids)} if r.action.subnet_ids else {}),
                           **({"route_table_ids": list(r.action.route_table_ids)}
                              if r.action.route_table_ids else {}),
                           **({"error": r.error} if r.error else {})}
                          for r in self.results]
        out["findings"] = [{"resource_type": f.resource_type, "resource_id": f.resource_id,
                            "problem": f.problem, "summary": f.summary, "fix": list(f.fix),
                            **({"service": f.service} if f.service else {})} for f in self.findings]
        out["notes"] = self.notes
        out["api_calls"] = {"total": sum(self.api_calls.values()), "by_operation": dict(sorted(self.api_calls.items()))}
        return out


# ---------------------------------------------------------------- the event door


def evaluate_event(event: Any, clients: Clients, settings: Settings, lock: VpcLock | None = None) -> Outcome:
    """Run the whole engine on one EventBridge event. Raises `BadInput` for malformed events.

    `lock` serialises remediation per VPC across concurrent runs (the Lambda passes one).
    """
    return evaluate_trigger(parse_event(event, settings.own_role_arn), clients, settings, lock)


def evaluate_trigger(trigger: Trigger | Ignored, clients: Clients, settings: Settings,
                     lock: VpcLock | None = None) -> Outcome:
    """The engine on an event already parsed (the queue door parses each record once, to deduplicate)."""
    if isinstance(trigger, Ignored):
        return Outcome(trigger, not_evaluated=trigger.reason)
    # This event's calls only: a batch (and the organization path's cached member clients) reuses
    # one `Clients` for many records.
    before = dict(clients.calls)
    resolved = resolve(trigger, clients, lock)
    vpcs = () if resolved.ignored is not None else tuple(
        _event_vpc(clients, trigger, vpc_id, workloads, resolved, settings, lock)
        for vpc_id, workloads in _by_vpc(resolved).items())
    calls = {op: n - before.get(op, 0) for op, n in clients.calls.items() if n - before.get(op, 0)}
    return Outcome(trigger, tuple(resolved.workloads), vpcs, calls, resolved.ignored)


def _by_vpc(resolved: Resolved) -> dict[str, list[Workload]]:
    groups: dict[str, list[Workload]] = {vpc: [] for vpc in resolved.vpc_scope}
    if resolved.new_subnet is not None:
        groups[resolved.new_subnet.vpc_id] = []
    for w in resolved.workloads:
        for vpc in sorted({resolved.subnets[s].vpc_id for s in w.subnet_ids if s in resolved.subnets}):
            if not resolved.vpc_scope or vpc in resolved.vpc_scope:
                groups.setdefault(vpc, []).append(w)
    return {vpc: ws for vpc, ws in groups.items() if ws or resolved.new_subnet is not None}


def _event_vpc(clients: Clients, trigger: Trigger, vpc_id: str, workloads: list[Workload],
               resolved: Resolved, settings: Settings, lock: VpcLock | None = None) -> VpcOutcome:
    """One VPC an event concerns: its mode, its snapshot and needs (with what a new subnet
    inherits), then the shared evaluation."""
    ec2 = clients.ec2
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    mode, settings, ignored = vpc_mode(clients, settings, vpc_id, tags_of(vpc.get("Tags")), trigger.account)
    if ignored is not None:
        return VpcOutcome(vpc_id, mode, ignored=ignored)
    snap = read_vpc(ec2, vpc, trigger.region, trigger.account, resolved.subnets)
    trust = trust_for(lock)
    needs = workload_needs(with_account_facts(clients, workloads))
    if resolved.new_subnet is not None:
        if any(e.tagged for e in snap.endpoints):  # which of them the tool keeps decides what to inherit
            snap = trust.apply(ec2, snap)
        inherited = _inherit(resolved.new_subnet, needs, snap)
        if inherited is None:
            return VpcOutcome(vpc_id, mode, ignored=f"VPC {vpc_id} hosts no ECS service and no endpoint "
                                                    "of this tool: nothing for the new subnet to inherit")
        needs.append(WorkloadNeeds(inherited, required_endpoints(inherited)))

    def read_again() -> VpcSnapshot:
        return read_vpc(ec2, ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0], trigger.region, trigger.account,
                        resolved.subnets)

    return evaluate_vpc(clients, settings, mode, needs, snap, read_again, lock, trust).outcome


# ---------------------------------------------------------------- one VPC, for every door


def workload_needs(workloads: Iterable[Workload]) -> list[WorkloadNeeds]:
    """What each workload needs, by the network that asks (`rules.placed_requirements`: an EC2
    awsvpc task's agent calls from its container instances): what every door plans over."""
    return [WorkloadNeeds(view, requirements) for w in workloads for view, requirements in placed_requirements(w)]


def vpc_mode(clients: Clients, settings: Settings, vpc_id: str, tags: Mapping[str, str],
             account: str) -> tuple[str, Settings, str | None]:
    """A VPC's mode (report, remediate or ignore), the settings to evaluate it with (a remediating
    run knows the organization, for the endpoint policies), and why it is not evaluated, if so."""
    mode = effective_mode(settings, vpc_id, tags)
    if mode == "ignore":
        why = "listed in ExcludedVpcIds" if vpc_id in settings.excluded_vpcs else f"tagged {MODE_TAG}=ignore"
        return mode, settings, f"VPC {vpc_id} is {why}: not evaluated"
    if mode == "remediate":
        settings = with_organization(clients, settings, account)
    return mode, settings, None


@record
class VpcEvaluation:
    outcome: VpcOutcome
    snapshot: VpcSnapshot  # what it was judged on (read again under the lock when it acted)


def evaluate_vpc(clients: Clients, settings: Settings, mode: str, needs: Sequence[WorkloadNeeds],
                 snap: VpcSnapshot, read_again: Callable[[], VpcSnapshot], lock: VpcLock | None = None,
                 trust: Trust | None = None) -> VpcEvaluation:
    """The one per-VPC evaluation (events, scan and the Config rule): plan `needs` over `snap`, then
    act or report. A remediating plan with actions, given the `lock`, is acted on under the VPC's
    lock, planned again over a fresh read (`read_again`): another run may have changed the VPC
    while we read it or waited, so what we create is what is still missing."""
    ec2 = clients.ec2
    trust = trust if trust is not None else trust_for(lock)
    snap, plan = plan_trusted(ec2, needs, snap, settings, trust, lambda: clients.route53,
                              lambda: clients.route53profiles, lambda: clients.servicequotas, lambda: clients.efs)
    # Endpoint writes share a bucket of 4 tokens refilled at 0.3/s: a run against a real account
    # (the Lambda, the CLI, a scan of many VPCs) paces them.
    pacer = process_pacer(snap.account, snap.region) if clients.pace else None
    vpc_id = snap.vpc_id
    if mode == "remediate" and plan.actions and lock is not None:
        lock.acquire(vpc_id)
        try:
            fresh = trust.apply(ec2, read_again()).with_reads(snap)
            snap, plan = plan_vpc(ec2, needs, fresh, settings, lambda: clients.route53,
                                  lambda: clients.route53profiles, lambda: clients.servicequotas, lambda: clients.efs)
            return VpcEvaluation(act_or_report(ec2, vpc_id, mode, plan, snap, pacer, lock.remember), snap)
        finally:
            lock.release(vpc_id)
    return VpcEvaluation(act_or_report(ec2, vpc_id, mode, plan, snap, pacer), snap)


def plan_vpc(ec2: Any, needs: Sequence[WorkloadNeeds], snap: VpcSnapshot, settings: Settings,
             route53: Callable[[], Any] | None = None,
             profiles: Callable[[], Any] | None = None,
             quotas: Callable[[], Any] | None = None,
             efs: Callable[[], Any] | None = None) -> tuple[VpcSnapshot, Plan]:
    """Plan; when the planner needs to know which AZs offer a service, or (before creating one)
    whether a private hosted zone serves it from a centralised endpoint, read that and plan again;
    when a workload has EFS volumes, read their file systems' mount targets; when the plan has
    something to say about a VPC with a DHCP option set, read the set (custom DNS servers); when
    the plan creates interface endpoints, read the VPC's applied endpoint quota; each time plan
    again. `route53` gives the client that reads the zones (None: they are not read), `profiles`
    the one that reads the VPC's Route 53 Profile (None: Profiles are not read), `quotas` the
    Service Quotas client (None: the quota is not read, and creates run until EC2 refuses one),
    `efs` the EFS client (None: file systems are not read, and not judged)."""
    def again(snap: VpcSnapshot) -> Plan:
        return first_plan(needs, snap, settings)

    plan = again(snap)
    if plan.needs_offers or (plan.needs_zones and route53 is not None):
        if plan.needs_offers:
            snap = snap.with_offers(read_offers(ec2, plan.needs_offers))
        if plan.needs_zones and route53 is not None:
            # A refused read is logged there, and the result says a centralised endpoint would not be seen.
            snap = snap.with_zones(*read_central_zones(route53(), profiles() if profiles else None, snap.vpc_id,
                                                       snap.region, plan.zone_hosts))
        plan = again(snap)
    if plan.needs_file_systems and efs is not None:
        # Only the mount targets a task of these workloads mounts through: those in their AZs.
        azs = {snap.subnets[s].az for wn in needs for s in wn.workload.subnet_ids if s in snap.subnets}
        snap = snap.with_file_systems(read_file_systems(efs(), plan.needs_file_systems, azs))
        plan = again(snap)
    if plan.needs_dhcp:
        snap = snap.with_dhcp(read_dhcp_options(ec2, [snap.dhcp_options_id])[snap.dhcp_options_id])
        plan = again(snap)
    if plan.needs_quotas and quotas is not None:
        snap = snap.with_quota(read_interface_quota(quotas(), snap.vpc_id))
        plan = again(snap)
    return snap, plan


def first_plan(needs: Sequence[WorkloadNeeds], snap: VpcSnapshot, settings: Settings) -> Plan:
    """The plan over `snap` as read, before any read it asks for: what `plan_vpc` starts from and
    plans again from (a scan makes it ahead to start the zone reads its VPCs will want)."""
    return plan_remediation(list(needs), snap, settings.enforce_on_nat_routed, settings.max_endpoints_per_vpc,
                            settings.policy_scope(snap.account), settings.cross_region_endpoints)


def plan_trusted(ec2: Any, needs: Sequence[WorkloadNeeds], snap: VpcSnapshot, settings: Settings,
                 trust: Trust, route53: Callable[[], Any] | None = None,
                 profiles: Callable[[], Any] | None = None,
                 quotas: Callable[[], Any] | None = None,
                 efs: Callable[[], Any] | None = None) -> tuple[VpcSnapshot, Plan]:
    """Plan with nothing owned; only when that plan is not clean does ownership matter (the tool's
    own endpoints become actions instead of findings), so only then is it proved: a compliant VPC
    costs no read of the state table."""
    if not any(e.owned for e in snap.endpoints) and not snap.own_security_group:
        snap, plan = plan_vpc(ec2, needs, snap, settings, route53, profiles, quotas, efs)
        if not plan.actions and not plan.findings:
            return snap, plan
        snap = trust.apply(ec2, snap)
    return plan_vpc(ec2, needs, snap, settings, route53, profiles, quotas, efs)


def act_or_report(ec2: Any, vpc_id: str, mode: str, plan: Plan, snap: VpcSnapshot, pacer: Pacer | None = None,
                  on_created: Callable[[str, str], None] | None = None) -> VpcOutcome:
    """Remediate mode: apply the plan (the EC2 writes), and each failed action becomes a finding.
    Otherwise nothing is written: every action is reported as planned, and as a finding."""
    if mode == "remediate" and plan.actions:
        results = tuple(apply_plan(ec2, plan, snap, pacer, on_created))
        failed = tuple(_failure_finding(r, snap, plan) for r in results if r.status == "failed")
        return VpcOutcome(vpc_id, mode, plan, results, tuple(plan.findings) + failed)
    return VpcOutcome(vpc_id, mode, plan, tuple(ActionResult(a, "planned", a.resource_id) for a in plan.actions),
                      planned_findings(plan, snap))


def planned_findings(plan: Plan, snap: VpcSnapshot) -> tuple[Finding, ...]:
    """What report mode says of a plan: each action as the finding it fixes, then the plan's findings."""
    return tuple(_as_finding(a, snap) for a in plan.actions) + tuple(plan.findings)


def _inherit(subnet: SubnetInfo, needs: list[WorkloadNeeds], snap: VpcSnapshot) -> Workload | None:
    """A new subnet gets what the VPC's services need and the endpoints this tool keeps there."""
    services: dict[tuple[str, EndpointType], str] = {}
    for wn in needs:
        for n in wn.requirements.needs:
            services.setdefault((n.service, n.type), f"VPC's ECS workload {wn.workload.name} needs it")
    for e in snap.endpoints:
        if e.owned and e.live and is_aws_service_name(e.service_name, snap.region) and e.type in (INTERFACE, GATEWAY):
            typ: EndpointType = INTERFACE if e.type == INTERFACE else GATEWAY
            services.setdefault((short_name(e.service_name, snap.region), typ),
                                f"endpoint {e.id} this tool keeps in the VPC")
    if not services:
        return None
    return Workload(kind="subnet", arn=subnet.id, name=subnet.id, region=snap.region, account=snap.account,
                    launch_type="FARGATE", subnet_ids=(subnet.id,),
                    inherited=tuple((s, t, f"new subnet {subnet.id} ({subnet.az}): {why}")
                                    for (s, t), why in sorted(services.items())))


def _as_finding(action: Action, snap: VpcSnapshot) -> Finding:
    if action.kind in (ADD_SUBNETS, ADD_ROUTE_TABLES, ADD_SECURITY_GROUP, ENABLE_PRIVATE_DNS, SET_ENDPOINT_POLICY):
        rtype, rid = "AWS::EC2::VPCEndpoint", action.resource_id
    elif action.kind == AUTHORIZE_INGRESS:
        rtype, rid = "AWS::EC2::SecurityGroup", action.resource_id
    else:
        rtype, rid = "AWS::EC2::VPC", snap.vpc_id
    return Finding(rtype, rid, action.problem, action.summary, action.fix, action.service)


def _permission_finding(result: ActionResult, snap: VpcSnapshot) -> Finding:
    # A cross-Region create also needs the permission-only vpce:AllowMultiRegion (an SCP may deny it).
    needed = ", ".join(PERMISSIONS.get(result.action.kind, ())
                       + ((CROSS_REGION_PERMISSION,) if result.action.service_region else ()))
    base = _as_finding(result.action, snap)
    return Finding(base.resource_type, base.resource_id, "permission-missing",
                   f"permission missing: {needed} ({result.error}) while trying: {result.action.summary}",
                   result.action.fix, result.action.service)


# Why each refused write is a finding rather than a retry, in the words a reader needs.
_FAILURE_WHY: dict[str, str] = {
    "shared-vpc-participant": "the VPC is shared with this account by another one, and only the VPC owner "
                              "can create or change its endpoints: run the fix in the owner account "
                              "(the first command prints it), or deploy the remediator there",
    "private-dns-conflict": "a private hosted zone associated with the VPC, or another endpoint with private "
                            "DNS, already serves this service's name: use that, or create the endpoint "
                            "without private DNS",
    "endpoint-quota-reached": "the VPC endpoint quota is reached; ask Service Quotas for more",
    "security-group-quota-reached": "a security group quota is reached; ask Service Quotas for more or free some",
    "endpoint-service-invalid": "EC2 does not know this endpoint service here",
    "resource-not-found": "it was deleted since the VPC was read; the next event or the periodic Config "
                          "evaluation plans again",
    "write-refused": "retrying the same request cannot succeed",
}

# Service Quotas code and default of the quota each create counts against (DESIGN.md §6):
# interface endpoints per VPC 50, gateway endpoints per Region 20.
_QUOTAS = {CREATE_INTERFACE: INTERFACE_ENDPOINTS_QUOTA, CREATE_GATEWAY: GATEWAY_ENDPOINTS_QUOTA}


def _failure_finding(result: ActionResult, snap: VpcSnapshot, plan: Plan) -> Finding:
    """A failed action as a finding: its cause (the EC2 code and message) and its fix."""
    if result.problem in ("", "permission-missing"):
        return _permission_finding(result, snap)
    action = result.action
    base = _as_finding(action, snap)
    if not result.error:  # never sent (no usable security group): the action's own finding
        return Finding(base.resource_type, base.resource_id, base.problem,
                       f"{action.summary} ({result.message})", action.fix, action.service)
    quota_code, default_quota = _QUOTAS.get(action.kind, _QUOTAS[CREATE_INTERFACE])
    wanted = sum(1 for e in snap.endpoints if e.live) + sum(a.kind == action.kind for a in plan.actions)
    base_params = {"region": snap.region, "vpc_id": snap.vpc_id}
    params: dict[str, Value] = {
        **base_params, "service": action.service, "subnet_ids": tuple(action.subnet_ids),
        "security_group": result.security_group or own_sg_lookup(base_params),
        "quota_code": quota_code, "desired_value": str(max(default_quota, wanted) + default_quota // 2),
        "api_call": API_CALL.get(action.kind, "")}
    kind = result.problem if result.problem in PROBLEMS else "write-refused"
    why = _FAILURE_WHY.get(kind, _FAILURE_WHY["write-refused"])
    # Only the commands this action fills in completely (a ModifyVpcEndpoint has no subnets to name).
    complete = tuple(t for t in PROBLEMS[kind].fix if all(params.get(n) for n in placeholders(t) if n != "client_token"))
    fix = render_fix(complete, params).commands
    return Finding(base.resource_type, base.resource_id, kind,
                   f"{API_CALL.get(action.kind, action.kind)} refused with {result.error}: {result.message} "
                   f"-- {why}; while trying: {action.summary}", fix + action.fix, action.service)

