"""The engine: event -> parse -> resolve -> snapshot -> plan -> act or report -> `Outcome`.

Every door (Lambda handler, CLI `invoke`, demo) calls `evaluate_event`; none has logic of its own.
"""
from __future__ import annotations

import logging
import os
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from rules import Workload, required_endpoints
from vpce_remediator.act import API_CALL, PERMISSIONS, ActionResult, Pacer, apply_plan, process_pacer
from vpce_remediator.aws import Clients, error_code
from vpce_remediator.endpoint_policies import ACCOUNT, AUTO, AWS_DEFAULT, ORGANIZATION, SETTINGS, PolicyScope
from vpce_remediator.fixes import PROBLEMS, Value, own_sg_lookup, placeholders, render_fix
from vpce_remediator.lock import VpcLock
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
from vpce_remediator.resolve import Resolved, resolve
from vpce_remediator.snapshot import MODE_TAG, SubnetInfo, VpcSnapshot, read_offers, read_vpc, service_prefix, tags_of
from vpce_remediator.triggers import Ignored, Trigger, parse_event
from vpce_remediator.trust import Trust, trust_for

MODES = ("report", "remediate", "opt-in")

# Resolving EndpointPolicy auto / organization: one call per account and container.
ORGANIZATION_ACTIONS = ("organizations:DescribeOrganization",)
_ORGANIZATIONS: dict[str, str | None] = {}

log = logging.getLogger(__name__)

COMPLIANT, REMEDIATED, NON_COMPLIANT, IGNORED = "compliant", "remediated", "non_compliant", "ignored"


@dataclass(frozen=True)
class Settings:
    mode: str = "report"
    enforce_on_nat_routed: bool = False
    excluded_vpcs: frozenset[str] = frozenset()
    own_role_arn: str | None = None
    max_endpoints_per_vpc: int = 20  # interface endpoints the tool keeps in one VPC
    endpoint_policy: str = AUTO  # auto, organization, account, aws-default
    organization_id: str | None = None  # set by `with_organization` (remediating runs only)

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


@dataclass
class VpcOutcome:
    vpc_id: str
    mode: str
    plan: Plan | None = None
    results: list[ActionResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    ignored: str | None = None


@dataclass
class Outcome:
    """The result of one event, serialised by `to_dict` as the documented JSON contract."""

    status: str
    trigger: Trigger | Ignored | None = None
    reason: str | None = None
    workloads: list[Workload] = field(default_factory=list)
    vpcs: list[VpcOutcome] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)

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
    def notes(self) -> list[str]:
        return [n for v in self.vpcs if v.plan for n in v.plan.notes] + [
            f"{v.vpc_id}: {v.ignored}" for v in self.vpcs if v.ignored]

    def to_dict(self) -> dict[str, Any]:
        created = {r.action.service: r.resource_id for r in self.results if r.status == "created" and r.action.service}
        updated = {r.action.service for r in self.results if r.status == "modified" and r.action.service}
        out: dict[str, Any] = {"status": self.status}
        if self.reason:
            out["reason"] = self.reason
        t = self.trigger
        if t is not None:
            out["event"] = {"id": t.event_id, "name": t.name,
                            **({"source": t.source} if isinstance(t, Trigger) else {})}
        out["mode"] = ", ".join(sorted({v.mode for v in self.vpcs})) or None
        out["workloads"] = [{"kind": w.kind, "name": w.name, "arn": w.arn, "launch_type": w.launch_type,
                             "subnets": list(w.subnet_ids), "security_groups": list(w.security_group_ids)}
                            for w in self.workloads]
        out["required"] = [{"service": s.service, "type": s.type, "reasons": list(s.reasons),
                            "status": "created" if s.service in created else
                            "updated" if s.service in updated and s.status == "incomplete" else s.status,
                            "endpoint_id": created.get(s.service, s.endpoint_id) or None, "vpc_id": vpc}
                           for vpc, s in self.services]
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


def evaluate_event(event: Any, clients: Clients, settings: Settings, lock: VpcLock | None = None) -> Outcome:
    """Run the whole engine on one EventBridge event. Raises `BadInput` for malformed events.

    `lock` serialises remediation per VPC across concurrent runs (the Lambda passes one).
    """
    parsed = parse_event(event, settings.own_role_arn)
    if isinstance(parsed, Ignored):
        return Outcome(IGNORED, parsed, parsed.reason)
    resolved = resolve(parsed, clients, lock)
    outcome = Outcome(IGNORED, parsed, resolved.ignored, list(resolved.workloads))
    if resolved.ignored is None:
        for vpc_id, workloads in _by_vpc(resolved).items():
            outcome.vpcs.append(evaluate_vpc(clients, parsed, vpc_id, workloads, resolved, settings, lock))
        outcome.status, outcome.reason = _status(outcome)
    outcome.api_calls = dict(clients.calls)
    return outcome


def _by_vpc(resolved: Resolved) -> dict[str, list[Workload]]:
    groups: dict[str, list[Workload]] = {vpc: [] for vpc in resolved.vpc_scope}
    if resolved.new_subnet is not None:
        groups[resolved.new_subnet.vpc_id] = []
    for w in resolved.workloads:
        for vpc in sorted({resolved.subnets[s].vpc_id for s in w.subnet_ids if s in resolved.subnets}):
            if not resolved.vpc_scope or vpc in resolved.vpc_scope:
                groups.setdefault(vpc, []).append(w)
    return {vpc: ws for vpc, ws in groups.items() if ws or resolved.new_subnet is not None}


def evaluate_vpc(clients: Clients, trigger: Trigger, vpc_id: str, workloads: list[Workload],
                 resolved: Resolved, settings: Settings, lock: VpcLock | None = None) -> VpcOutcome:
    """Snapshot one VPC, plan for its workloads, then act (remediate) or report."""
    ec2 = clients.ec2
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    tags = tags_of(vpc.get("Tags"))
    mode = effective_mode(settings, vpc_id, tags)
    if mode == "ignore":
        why = "listed in ExcludedVpcIds" if vpc_id in settings.excluded_vpcs else f"tagged {MODE_TAG}=ignore"
        return VpcOutcome(vpc_id, mode, ignored=f"VPC {vpc_id} is {why}: not evaluated")
    if mode == "remediate":
        settings = with_organization(clients, settings, trigger.account)
    snap = read_vpc(ec2, vpc, trigger.region, trigger.account, resolved.subnets)
    trust = trust_for(lock)
    needs = [WorkloadNeeds(w, required_endpoints(w)) for w in workloads]
    if resolved.new_subnet is not None:
        if any(e.tagged for e in snap.endpoints):  # which of them the tool keeps decides what to inherit
            snap = trust.apply(ec2, snap)
        inherited = _inherit(resolved.new_subnet, needs, snap)
        if inherited is None:
            return VpcOutcome(vpc_id, mode, ignored=f"VPC {vpc_id} hosts no ECS service and no endpoint "
                                                    "of this tool: nothing for the new subnet to inherit")
        needs.append(WorkloadNeeds(inherited, required_endpoints(inherited)))
    snap, plan = plan_trusted(ec2, needs, snap, settings, trust)
    pacer = process_pacer() if clients.pace else None
    if mode == "remediate" and plan.actions and lock is not None:
        lock.acquire(vpc_id)
        try:
            # Another run may have changed the VPC while we read it or waited: read it again
            # under the lock, so what we create is what is still missing.
            fresh = read_vpc(ec2, ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0], trigger.region,
                             trigger.account, resolved.subnets)
            snap, plan = plan_vpc(ec2, needs, trust.apply(ec2, fresh).with_offers(snap.offers), settings)
            return outcome_for(ec2, vpc_id, mode, plan, snap, pacer, lock.remember)
        finally:
            lock.release(vpc_id)
    return outcome_for(ec2, vpc_id, mode, plan, snap, pacer)


def plan_vpc(ec2: Any, needs: list[WorkloadNeeds], snap: VpcSnapshot, settings: Settings) -> tuple[VpcSnapshot, Plan]:
    """Plan; when the planner needs to know which AZs offer a service, read that and plan again."""
    scope = settings.policy_scope(snap.account)
    plan = plan_remediation(needs, snap, settings.enforce_on_nat_routed, settings.max_endpoints_per_vpc, scope)
    if plan.needs_offers:
        snap = snap.with_offers(read_offers(ec2, plan.needs_offers))
        plan = plan_remediation(needs, snap, settings.enforce_on_nat_routed, settings.max_endpoints_per_vpc, scope)
    return snap, plan


def plan_trusted(ec2: Any, needs: list[WorkloadNeeds], snap: VpcSnapshot, settings: Settings,
                 trust: Trust) -> tuple[VpcSnapshot, Plan]:
    """Plan with nothing owned; only when that plan is not clean does ownership matter (the tool's
    own endpoints become actions instead of findings), so only then is it proved: a compliant VPC
    costs no read of the state table."""
    if not any(e.owned for e in snap.endpoints) and not snap.own_security_group:
        snap, plan = plan_vpc(ec2, needs, snap, settings)
        if not plan.actions and not plan.findings:
            return snap, plan
        snap = trust.apply(ec2, snap)
    return plan_vpc(ec2, needs, snap, settings)


def outcome_for(ec2: Any, vpc_id: str, mode: str, plan: Plan, snap: VpcSnapshot,
                pacer: Pacer | None = None, on_created: Callable[[str, str], None] | None = None) -> VpcOutcome:
    outcome = VpcOutcome(vpc_id, mode, plan, findings=list(plan.findings))
    if mode == "remediate" and plan.actions:
        outcome.results = apply_plan(ec2, plan, snap, pacer, on_created)
        outcome.findings += [_failure_finding(r, snap, plan) for r in outcome.results if r.status == "failed"]
    else:
        outcome.results = [ActionResult(a, "planned", a.resource_id) for a in plan.actions]
        outcome.findings = [_as_finding(a, snap) for a in plan.actions] + outcome.findings
    return outcome


def _inherit(subnet: SubnetInfo, needs: list[WorkloadNeeds], snap: VpcSnapshot) -> Workload | None:
    """A new subnet gets what the VPC's services need and the endpoints this tool keeps there."""
    prefix = service_prefix(snap.region)
    services: dict[tuple[str, str], str] = {}
    for wn in needs:
        for n in wn.requirements.needs:
            services.setdefault((n.service, n.type), f"VPC's ECS workload {wn.workload.name} needs it")
    for e in snap.endpoints:
        if e.owned and e.live and e.service_name.startswith(prefix):
            services.setdefault((e.service_name.removeprefix(prefix), e.type),
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
    needed = ", ".join(PERMISSIONS.get(result.action.kind, ()))
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
_QUOTAS = {CREATE_INTERFACE: ("L-29B6F2EB", 50), CREATE_GATEWAY: ("L-1B52E74A", 20)}


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
    complete = tuple(t for t in PROBLEMS[kind].fix if all(params.get(name) for name in placeholders(t)))
    fix = render_fix(complete, params).commands
    return Finding(base.resource_type, base.resource_id, kind,
                   f"{API_CALL.get(action.kind, action.kind)} refused with {result.error}: {result.message} "
                   f"-- {why}; while trying: {action.summary}", fix + action.fix, action.service)


def _status(outcome: Outcome) -> tuple[str, str | None]:
    evaluated = [v for v in outcome.vpcs if v.ignored is None]
    if not evaluated:
        reasons = "; ".join(v.ignored or "" for v in outcome.vpcs) or "no workload in a VPC"
        return IGNORED, reasons
    if outcome.findings:
        return NON_COMPLIANT, None
    if any(r.status in ("created", "modified") for r in outcome.results):
        return REMEDIATED, None
    return COMPLIANT, None
