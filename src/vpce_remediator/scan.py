"""`vpce-remediator scan`: the engine over every ECS service and standalone task of a region.

`scan_estate` is the library door (the CLI's `scan` and the Config rule's runs call it): discover
every workload with batched reads (`discovery`), read each VPC once, plan each workload over its
VPC's one snapshot (so every finding is attributed to the workloads it hurts), and evaluate each
VPC once with the engine's `evaluate_vpc` (in remediate mode, acting once per VPC on the plan for
all its workloads). `discovery.discover_service` and `scan_workloads` are its two halves for one
known service (the Config rule's change of an `AWS::ECS::Service`).

API calls grow with pages, not with services: discovery's batched ECS reads, cluster and
capacity-provider reads once per scan, one `DescribeSubnets`, `DescribeVpcs` and
`DescribeNetworkInterfaces` for the whole estate, one snapshot per VPC, and the
`DescribeVpcEndpointServices` answers shared by every VPC.
"""
from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TextIO

from rules import Workload, required_endpoints
from rules.records import replace
from vpce_remediator.act import ActionResult
from vpce_remediator.aws import Clients
from vpce_remediator.discovery import Discovery, Progress, describe_vpcs, discover, vpc_subnet_ids
from vpce_remediator.engine import (
    COMPLIANT,
    IGNORED,
    NON_COMPLIANT,
    REMEDIATED,
    Outcome,
    Settings,
    VpcOutcome,
    effective_mode,
    evaluate_vpc,
    first_plan,
    plan_vpc,
    planned_findings,
    vpc_mode,
    workload_needs,
)
from vpce_remediator.facts import ServiceOffer, SubnetInfo, VpcSnapshot
from vpce_remediator.lock import VpcLock
from vpce_remediator.plan import Action, Finding, Plan, WorkloadNeeds
from vpce_remediator.reach import resolves_privately
from vpce_remediator.registries import with_account_facts
from vpce_remediator.snapshot import (
    DNS_ATTRIBUTES,
    VPCS_PER_READ,
    describe_subnets,
    kept_subnets,
    read_dhcp_options,
    read_dns,
    read_vpc,
    read_vpcs,
    tags_of,
)

STATUSES = (COMPLIANT, REMEDIATED, NON_COMPLIANT, IGNORED)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class WorkloadScan:
    """One service or standalone task, its VPC, and its own evaluation (`outcome`: its plan, with
    what the VPC's run did about each action), or why it was not evaluated (`reason`)."""

    workload: Workload
    cluster: str
    vpc_id: str | None
    outcome: VpcOutcome | None = None
    reason: str | None = None

    @property
    def status(self) -> str:
        return self.outcome.status if self.outcome is not None else IGNORED

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.outcome.findings if self.outcome is not None else ()

    @property
    def contract(self) -> Outcome | None:
        """Its result as the event path's `Outcome` (None when it was not evaluated)."""
        return None if self.outcome is None else Outcome(None, (self.workload,), (self.outcome,))

    @property
    def result(self) -> dict[str, Any]:
        """Its result in the engine's JSON contract (without API calls: counted once, for the scan)."""
        if self.contract is None:
            return {"status": IGNORED, "reason": self.reason, "required": [], "actions": [], "findings": [],
                    "notes": []}
        result = self.contract.to_dict()
        result.pop("api_calls", None)
        return result

    def to_dict(self) -> dict[str, Any]:
        w = self.workload
        return {"arn": w.arn, "kind": w.kind, "name": w.name, "cluster": self.cluster, "vpc_id": self.vpc_id,
                "launch_type": w.launch_type, "status": self.status, "result": self.result}


@dataclass(frozen=True)
class VpcScan:
    vpc_id: str
    name: str
    mode: str  # report, remediate or ignore
    workloads: tuple[WorkloadScan, ...] = ()
    outcome: VpcOutcome | None = None  # the plan for all its workloads, acted on once
    ignored: str | None = None

    @property
    def status(self) -> str:
        return self.outcome.status if self.ignored is None and self.outcome is not None else IGNORED

    def counts(self) -> Counter[str]:
        return Counter(w.status for w in self.workloads)

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts()
        out: dict[str, Any] = {
            "vpc_id": self.vpc_id, "name": self.name or None, "mode": self.mode, "status": self.status,
            "workloads": len(self.workloads), **{s: counts.get(s, 0) for s in STATUSES},
            "findings": len(self.outcome.findings) if self.outcome else 0}
        if self.ignored:
            out["reason"] = self.ignored
        if self.outcome is not None:
            result = Outcome(None, tuple(w.workload for w in self.workloads), (self.outcome,)).to_dict()
            result.pop("api_calls", None)
            out["result"] = result
        return out


@dataclass(frozen=True)
class ScanResult:
    region: str
    mode: str
    clusters: int = 0
    vpcs: tuple[VpcScan, ...] = ()
    unplaced: tuple[WorkloadScan, ...] = ()  # no subnet or VPC to evaluate
    api_calls: Mapping[str, int] = field(default_factory=dict)

    @property
    def workloads(self) -> list[WorkloadScan]:
        return [w for v in self.vpcs for w in v.workloads] + list(self.unplaced)

    def counts(self) -> Counter[str]:
        return Counter(w.status for w in self.workloads)

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "region": self.region, "mode": self.mode,
            "summary": {"clusters": self.clusters, "vpcs": len(self.vpcs), "workloads": len(self.workloads),
                        **{s: counts.get(s, 0) for s in STATUSES}},
            "vpcs": [v.to_dict() for v in self.vpcs],
            "workloads": [w.to_dict() for w in self.workloads],
            "api_calls": {"total": sum(self.api_calls.values()), "by_operation": dict(sorted(self.api_calls.items()))},
        }


# ---------------------------------------------------------------- the scan


def scan_estate(clients: Clients, settings: Settings, vpc_ids: set[str] | None = None,
                progress: Progress | None = None, lock: VpcLock | None = None,
                read_ahead: bool = True) -> ScanResult:
    """Evaluate every ECS service and running standalone task in the region (only those in
    `vpc_ids` when given); remediate once per VPC when the settings and the VPC's tag say so.

    `progress(done, total, what)` hears about each cluster discovered and each VPC evaluated;
    `lock` serialises remediation per VPC with the event path (the Lambda passes one);
    `read_ahead` False makes every read in turn on this thread (the same reads, the same result).
    """
    before = Counter(clients.calls)
    ahead = ReadAhead()
    view = _ScanClients(clients, ahead if read_ahead else None)
    report = progress or silent
    try:
        # Scanning a few VPCs: their subnets (one read) spare the task definitions of workloads elsewhere.
        scope = None if vpc_ids is None else vpc_subnet_ids(view.ec2, vpc_ids)
        early = _EarlyVpcs(view, settings, vpc_ids)
        found = discover(view, report, scope, early.placed, early.built)
        result = scan_workloads(view, settings, found, vpc_ids, report, lock, early)
    finally:
        ahead.close()
    return replace(result, api_calls=calls_since(before, clients.calls))


def scan_workloads(clients: Clients, settings: Settings, found: Discovery, vpc_ids: set[str] | None = None,
                   progress: Progress | None = None, lock: VpcLock | None = None,
                   early: _EarlyVpcs | None = None) -> ScanResult:
    """The second half of `scan_estate`: place discovered workloads in their VPCs and evaluate each
    VPC once. A workload none of whose subnets still exists is listed as not evaluated, with why.
    `early`: what was read of their VPCs while they were discovered (only the rest is read here)."""
    before = Counter(clients.calls)
    report = progress or silent
    early = early or _EarlyVpcs(clients, settings, vpc_ids)
    subnets = early.subnets_of({s for w, _ in found.workloads for s in (*w.subnet_ids, *w.instance_subnet_ids)})
    unplaced: list[WorkloadScan] = []
    if vpc_ids is None:
        unplaced += [WorkloadScan(w, cluster, None, reason=why) for w, cluster, why in found.unreadable]

    by_vpc: dict[str, list[tuple[Workload, str]]] = {vpc: [] for vpc in vpc_ids or ()}
    for w, cluster in found.workloads:
        vpcs = sorted({subnets[s].vpc_id for s in w.subnet_ids if s in subnets})
        if not vpcs and vpc_ids is None:
            why = (f"none of its subnets ({', '.join(w.subnet_ids)}) exists any more" if w.subnet_ids
                   else "not placed in a VPC: it has no awsvpc subnets (bridge or host networking) and its "
                        "cluster no EC2 capacity provider naming subnets, so no network to evaluate")
            unplaced.append(WorkloadScan(w, cluster, None, reason=why))
        for vpc in vpcs:
            if vpc_ids is None or vpc in vpc_ids:
                by_vpc.setdefault(vpc, []).append((w, cluster))

    described = early.vpcs_of(set(by_vpc))
    offers: dict[str, ServiceOffer | None] = {}  # regional answers, shared by every VPC
    scans: list[VpcScan] = []
    order = sorted(by_vpc)
    snaps: dict[str, VpcSnapshot] = {}
    prepared: dict[str, _Prepared] = {}
    for chunk in evaluated_chunks(order, described, {v for v, ws in by_vpc.items() if ws}, settings):
        # One read of endpoints, route tables and security groups for the chunk's evaluated VPCs.
        evaluated = [described[v] for v in chunk]
        read = early.snapshots(evaluated, {s: i for s, i in subnets.items()
                                           if i.vpc_id in {v["VpcId"] for v in evaluated}})
        snaps.update(_with_dhcp_options(clients.ec2, read, by_vpc))
        # Every chunk's zone reads are started before the first VPC is evaluated (most were, as
        # their workloads were built): Route 53's five requests a second are the slowest bucket.
        for v in evaluated:
            known = early.prepared(v, by_vpc[v["VpcId"]])
            ready = prepared[v["VpcId"]] = known or _prepare(clients, settings, v, by_vpc[v["VpcId"]])
            if known is None and v["VpcId"] in snaps:
                _zones_ahead(clients, ready, snaps[v["VpcId"]], offers)
    for i, vpc_id in enumerate(order, start=1):
        described_vpc = described.get(vpc_id)
        if described_vpc is None:
            scans.append(VpcScan(vpc_id, "", "ignore", ignored=f"VPC {vpc_id} not found in {clients.region}"))
        else:
            scans.append(_scan_vpc(clients, settings, described_vpc, by_vpc[vpc_id], subnets, offers, lock,
                                   snaps.get(vpc_id), prepared.get(vpc_id)))
        report(i, len(by_vpc), "VPCs")
    return ScanResult(clients.region, settings.mode, found.clusters, tuple(scans), tuple(unplaced),
                      calls_since(before, clients.calls))


def evaluated_chunks(order: list[str], described: Mapping[str, Mapping[str, Any]], hosting: set[str],
                     settings: Settings) -> list[list[str]]:
    """The VPCs of `order` a scan reads, 50 at a time (`VPCS_PER_READ`): of each 50, those that
    exist (`described`), host a workload and are not ignored; chunks left empty are dropped."""
    chunks = []
    for start in range(0, len(order), VPCS_PER_READ):
        chunk = [v for v in order[start:start + VPCS_PER_READ] if v in described and v in hosting
                 and effective_mode(settings, v, tags_of(described[v].get("Tags"))) != "ignore"]
        if chunk:
            chunks.append(chunk)
    return chunks


class _EarlyVpcs:
    """The workloads' VPCs, read as soon as discovery knows their subnets (`placed`), before it
    reads their task definitions: the subnets, the VPCs, the DNS attribute reads (two per VPC,
    most of a scan's calls) and then the snapshots of those the scan will evaluate, all on the
    read-ahead threads, so that they run while the task definitions are read. As soon as the last
    workload of a VPC is built (`built`), its mode and needs are worked out and, when its plan will
    want them, its private hosted zones are read (Route 53's five requests a second are the
    slowest bucket: they start while other VPCs' task definitions are still being read).

    Every read is one `scan_workloads` makes anyway: it asks here first (`subnets_of`, `vpcs_of`,
    `snapshots`, `prepared`) and reads only what is not known, or what was read for a different set
    of workloads than it ends up with (then the early one is not used)."""

    def __init__(self, clients: Clients, settings: Settings, vpc_ids: set[str] | None) -> None:
        self.clients, self.settings, self.vpc_ids = clients, settings, vpc_ids
        self.subnets: dict[str, SubnetInfo] = {}
        self.asked_subnets: set[str] = set()
        self.vpcs: dict[str, dict[str, Any]] = {}
        self.asked_vpcs: set[str] = set()
        self._chunks: dict[tuple[str, ...], Future[dict[str, VpcSnapshot]]] = {}
        self._chunk_of: dict[str, tuple[str, ...]] = {}
        self._items: list[list[str]] = []  # the evaluated VPCs of each discovered item, in order
        self._next = 0
        self._pending: Counter[str] = Counter()
        self._built: dict[str, list[tuple[Workload, str]]] = {}
        self._prepared: dict[str, tuple[list[tuple[Workload, str]], _Prepared]] = {}

    def placed(self, items: list[tuple[str, ...]]) -> None:
        ec2 = self.clients.ec2
        subnet_ids = {s for item in items for s in item}
        self.subnets, self.asked_subnets = describe_subnets(ec2, subnet_ids), set(subnet_ids)
        # A scoped scan evaluates (and describes) its VPCs; an unscoped one the workloads'.
        wanted = set(self.vpc_ids) if self.vpc_ids is not None else {i.vpc_id for i in self.subnets.values()}
        self.vpcs, self.asked_vpcs = describe_vpcs(ec2, wanted), wanted
        start, ahead = getattr(ec2, "read_ahead", None), getattr(self.clients, "_ahead", None)
        if start is None or ahead is None:
            return
        by_item = [sorted({self.subnets[s].vpc_id for s in item if s in self.subnets} & wanted) for item in items]
        hosting = {v for vpcs in by_item for v in vpcs}
        # The chunks `scan_workloads` will read (it takes these when they match).
        for ids in evaluated_chunks(sorted(wanted), self.vpcs, hosting, self.settings):
            chunk = tuple(ids)
            for vpc_id in chunk:
                for attribute in DNS_ATTRIBUTES:
                    start("describe_vpc_attribute", VpcId=vpc_id, Attribute=attribute)
            self._chunks[chunk] = ahead.submit("snapshots", lambda chunk=chunk: self._read(chunk))
            self._chunk_of.update(dict.fromkeys(chunk, chunk))
        for vpcs in by_item:
            evaluated = [v for v in vpcs if v in self._chunk_of]
            self._items.append(evaluated)
            self._pending.update(evaluated)
        self._built = {v: [] for v in self._pending}

    def _read(self, chunk: tuple[str, ...]) -> dict[str, VpcSnapshot]:
        # Provisional: the chunk's three reads, without waiting for its DNS attributes (still being
        # read, paced to their bucket); `snapshots` puts them in. A plan's need of the zones (a
        # service with no endpoint here) does not depend on them.
        return read_vpcs(self.clients.ec2, [self.vpcs[v] for v in chunk], self.clients.region, "",
                         {s: i for s, i in self.subnets.items() if i.vpc_id in chunk}, dns=lambda v: (True, True))

    def built(self, w: Workload | None, cluster: str) -> None:
        if self._next >= len(self._items):
            return
        vpcs = self._items[self._next]
        self._next += 1
        for vpc_id in vpcs:
            if w is not None:
                self._built[vpc_id].append((w, cluster))
            self._pending[vpc_id] -= 1
            if self._pending[vpc_id] == 0 and self._built[vpc_id]:
                workloads = self._built[vpc_id]
                ready = _prepare(self.clients, self.settings, self.vpcs[vpc_id], workloads)
                self._prepared[vpc_id] = (list(workloads), ready)
                snap = self._chunks[self._chunk_of[vpc_id]].result().get(vpc_id)
                if snap is not None:
                    _zones_ahead(self.clients, ready, snap, {})

    def subnets_of(self, subnet_ids: set[str]) -> dict[str, SubnetInfo]:
        known = {s: self.subnets[s] for s in subnet_ids if s in self.subnets}
        rest = subnet_ids - self.asked_subnets
        return {**known, **describe_subnets(self.clients.ec2, rest)} if rest else known

    def vpcs_of(self, vpc_ids: set[str]) -> dict[str, dict[str, Any]]:
        known = {v: self.vpcs[v] for v in vpc_ids if v in self.vpcs}
        rest = vpc_ids - self.asked_vpcs
        return {**known, **describe_vpcs(self.clients.ec2, rest)} if rest else known

    def snapshots(self, vpcs: list[dict[str, Any]], subnets: Mapping[str, SubnetInfo]) -> dict[str, VpcSnapshot]:
        """The chunk's snapshots: read early when the chunk is the one read early, else now."""
        early = self._chunks.get(tuple(v["VpcId"] for v in vpcs))
        if early is None:
            return read_vpcs(self.clients.ec2, vpcs, self.clients.region, "", subnets)
        out = {}
        for vpc_id, snap in early.result().items():
            support, hostnames = read_dns(self.clients.ec2, vpc_id)
            # Subnets known only since (an EC2 workload's container instances'), as read_vpcs keeps them.
            given = kept_subnets(subnets, vpc_id, alone=len(vpcs) == 1)
            out[vpc_id] = replace(snap, dns_support=support, dns_hostnames=hostnames,
                                  subnets={**snap.subnets, **given})
        return out

    def prepared(self, vpc: dict[str, Any], workloads: list[tuple[Workload, str]]) -> _Prepared | None:
        """The VPC's mode and needs as worked out early, when for the same workloads."""
        early = self._prepared.get(vpc["VpcId"])
        return early[1] if early is not None and early[0] == workloads else None


def _with_dhcp_options(ec2: Any, snaps: dict[str, VpcSnapshot],
                       by_vpc: Mapping[str, list[tuple[Workload, str]]]) -> dict[str, VpcSnapshot]:
    """The snapshots with their DHCP option sets, for the VPCs where a workload finds a service by
    a private DNS name: one `DescribeDhcpOptions` for the chunk, so a scan (and the Config rule's
    periodic run) judges custom DNS servers in every such VPC, a compliant one too, where the
    event path reads the set only when its plan has something else to say."""
    wanted = {snap.dhcp_options_id for vpc_id, snap in snaps.items()
              if any(resolves_privately(snap, n.service, n.type)
                     for w, _ in by_vpc.get(vpc_id, ()) for n in required_endpoints(w).needs)}
    sets = read_dhcp_options(ec2, wanted)
    return {v: snap.with_dhcp(sets[snap.dhcp_options_id]) if snap.dhcp_options_id in sets else snap
            for v, snap in snaps.items()}


def silent(done: int, total: int, what: str) -> None:
    return None


def calls_since(before: Counter[str], now: Counter[str]) -> dict[str, int]:
    """The calls counted in `now` beyond those in `before`, by operation (the ones made since)."""
    return {op: n - before.get(op, 0) for op, n in now.items() if n - before.get(op, 0)}


# ---------------------------------------------------------------- one VPC


class _Prepared:
    """A VPC's mode, settings and workloads' needs, worked out once before it is evaluated."""

    __slots__ = ("mode", "settings", "ignored", "account", "placed")

    def __init__(self, mode: str, settings: Settings, ignored: str | None, account: str,
                 placed: list[list[WorkloadNeeds]]) -> None:
        self.mode, self.settings, self.ignored, self.account, self.placed = mode, settings, ignored, account, placed


def _prepare(clients: Clients, settings: Settings, vpc: dict[str, Any],
             workloads: list[tuple[Workload, str]]) -> _Prepared:
    vpc_id = vpc["VpcId"]
    # The account judging is the workloads' (a participant of a shared VPC is not its owner).
    account = workloads[0][0].account or vpc.get("OwnerId", "")
    mode, settings, ignored = vpc_mode(clients, settings, vpc_id, tags_of(vpc.get("Tags")), account)
    if ignored is not None:
        return _Prepared(mode, settings, ignored, account, [])
    placed = [workload_needs([w]) for w in with_account_facts(clients, [w for w, _ in workloads])]
    return _Prepared(mode, settings, None, account, placed)


def _zones_ahead(clients: Clients, prepared: _Prepared, snap: VpcSnapshot,
                 offers: Mapping[str, ServiceOffer | None]) -> None:
    """Start the VPC's private hosted zone read now when its plan will ask for it (a service with
    no endpoint here, which a centralised one may serve): Route 53 takes five requests a second
    for the whole account, so these reads are the slowest part of a scan of many VPCs, and they
    run while the VPCs before this one are evaluated."""
    start = getattr(clients.route53, "read_ahead", None)
    if start is None or prepared.ignored is not None:
        return
    needs = [wn for views in prepared.placed for wn in views]
    if first_plan(needs, replace(snap, account=prepared.account).with_offers(offers), prepared.settings).needs_zones:
        start("list_hosted_zones_by_vpc", VPCId=snap.vpc_id, VPCRegion=snap.region)


def _scan_vpc(clients: Clients, settings: Settings, vpc: dict[str, Any], workloads: list[tuple[Workload, str]],
              subnets: Mapping[str, SubnetInfo], offers: dict[str, ServiceOffer | None],
              lock: VpcLock | None, snap: VpcSnapshot | None = None,
              prepared: _Prepared | None = None) -> VpcScan:
    """One snapshot (`snap`, read with its neighbours, or read here), one evaluation of the VPC
    (acted on in remediate mode), one plan per workload."""
    ec2 = clients.ec2
    vpc_id = vpc["VpcId"]
    tags = tags_of(vpc.get("Tags"))
    name = tags.get("Name", "")
    if not workloads:
        return VpcScan(vpc_id, name, effective_mode(settings, vpc_id, tags),
                       ignored="hosts no ECS service and no running standalone task")
    prepared = prepared or _prepare(clients, settings, vpc, workloads)
    mode, settings, ignored, account, placed = (prepared.mode, prepared.settings, prepared.ignored,
                                                prepared.account, prepared.placed)
    if ignored is not None:
        return VpcScan(vpc_id, name, mode, tuple(WorkloadScan(w, cluster, vpc_id, reason=ignored)
                                                 for w, cluster in workloads), ignored=ignored)
    vpc_subnets = {s: i for s, i in subnets.items() if i.vpc_id == vpc_id}
    needs = [wn for views in placed for wn in views]
    snap = replace(snap, account=account) if snap is not None else \
        read_vpc(ec2, vpc, clients.region, account, vpc_subnets)

    def read_again() -> VpcSnapshot:
        return read_vpc(ec2, vpc, clients.region, account, vpc_subnets)

    evaluation = evaluate_vpc(clients, settings, mode, needs, snap.with_offers(offers), read_again, lock)
    snap = evaluation.snapshot
    offers.update(snap.offers)
    scans = []
    for views, (w, cluster) in zip(placed, workloads, strict=True):
        # The VPC's offers cover every workload's services, so this plan makes no call.
        _, own = plan_vpc(ec2, views, snap, settings)
        scans.append(WorkloadScan(w, cluster, vpc_id, _attributed(evaluation.outcome, own, snap)))
    return VpcScan(vpc_id, name, mode, tuple(scans), evaluation.outcome)


def _attributed(vpc: VpcOutcome, own: Plan, snap: VpcSnapshot) -> VpcOutcome:
    """One workload's own plan, with what the VPC's run did about each action; what is still to do
    becomes findings exactly as in report mode."""
    done = {_key(r.action): r for r in vpc.results if r.status != "planned"}
    results: list[ActionResult] = []
    unfixed: list[Action] = []
    for action in own.actions:
        r = done.get(_key(action))
        results.append(ActionResult(action, r.status, r.resource_id, r.error) if r
                       else ActionResult(action, "planned", action.resource_id))
        if r is None or r.status == "failed":
            unfixed.append(action)
    return VpcOutcome(vpc.vpc_id, vpc.mode, own, tuple(results),
                      planned_findings(replace(own, actions=tuple(unfixed)), snap))


def _key(action: Action) -> tuple[str, str, str]:
    return action.kind, action.service, action.resource_id


# ---------------------------------------------------------------- per-scan caches


class _ScanClients(Clients):
    """The caller's clients and call counter, with the reads that repeat per service (cluster
    settings, capacity providers, Auto Scaling groups) or per VPC (the endpoint quota) answered
    once per scan, and the reads a scan makes many of (services, tasks, task definitions, VPC
    attributes) readable ahead on `ahead`'s threads."""

    def __init__(self, base: Clients, ahead: ReadAhead | None = None) -> None:
        # Everything the base holds (session, region, call counter, pacing, clients made so far),
        # so no new session and one count; only the wrapped clients below are made anew.
        self.__dict__.update({k: v for k, v in vars(base).items()
                              if k not in ("ec2", "ecs", "autoscaling", "route53", "servicequotas")})
        self._base = base
        self._ahead = ahead

    @cached_property
    def ec2(self) -> Any:
        return _Memo(self._base.ec2, {"describe_vpc_attribute"}, self._ahead)

    @cached_property
    def ecs(self) -> Any:
        return _Memo(self._base.ecs, {"describe_clusters", "describe_capacity_providers", "describe_services",
                                      "describe_tasks", "describe_task_definition"}, self._ahead)

    @cached_property
    def autoscaling(self) -> Any:
        return _Memo(self._base.autoscaling, {"describe_auto_scaling_groups"}, self._ahead)

    @cached_property
    def route53(self) -> Any:
        return _Memo(self._base.route53, {"list_hosted_zones_by_vpc"}, self._ahead)

    @cached_property
    def servicequotas(self) -> Any:
        # The applied interface-endpoint quota is the account's in the Region: one answer for
        # every VPC the scan plans creates in, not one read each.
        return _Memo(self._base.servicequotas, {"get_service_quota"}, self._ahead)


class ReadAhead:
    """Threads for the reads a scan starts before it needs them: one small pool per operation,
    since AWS buckets each API apart (a pool shared by all would fill with the reads of the first
    bucket to run dry and starve the others). Each read is still made once, paced to its bucket
    by the clients (`pacing`), and answered to whoever asks for it first, in their order."""

    THREADS_PER_OPERATION = 8  # x 40 ms per call: 200 calls a second, above every bucket's refill

    def __init__(self) -> None:
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._guard = threading.Lock()

    def submit(self, operation: str, call: Callable[[], Any]) -> Future[Any]:
        with self._guard:
            pool = self._pools.get(operation)
            if pool is None:
                pool = self._pools[operation] = ThreadPoolExecutor(self.THREADS_PER_OPERATION,
                                                                   thread_name_prefix=f"scan-{operation}")
        return pool.submit(call)

    def close(self) -> None:
        # A scan that failed half-way leaves no read running behind it.
        with self._guard:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)


class _Memo:
    """A client whose listed read operations (and their paginators) answer each request once,
    from any thread; `read_ahead` starts one on `ahead`'s threads."""

    def __init__(self, client: Any, operations: set[str], ahead: ReadAhead | None = None) -> None:
        self._client = client
        self._operations = operations
        self._ahead = ahead
        self._answers: dict[str, Future[Any]] = {}
        self._guard = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name not in self._operations:
            return attr
        return lambda **kwargs: self._once(name, kwargs, lambda: attr(**kwargs))

    def read_ahead(self, name: str, **kwargs: Any) -> None:
        if name in self._operations and self._ahead is not None:
            attr = getattr(self._client, name)
            self._once(name, kwargs, lambda: attr(**kwargs), wait=False)

    def get_paginator(self, name: str) -> Any:
        paginator = self._client.get_paginator(name)
        if name not in self._operations:
            return paginator
        memo = self

        class _Pages:
            def paginate(self, **kwargs: Any) -> list[Any]:
                pages: list[Any] = memo._once("pages:" + name, kwargs, lambda: list(paginator.paginate(**kwargs)))
                return pages

        return _Pages()

    def _once(self, name: str, kwargs: Mapping[str, Any], call: Callable[[], Any], wait: bool = True) -> Any:
        key = name + json.dumps(kwargs, sort_keys=True, default=str)
        with self._guard:
            answer = self._answers.get(key)
            mine = answer is None
            if answer is None:
                answer = self._answers[key] = (self._ahead.submit(name, call) if not wait and self._ahead
                                               else Future())
        if mine and wait:
            # Asked here first: made on this thread (an error is kept, and raised to every asker).
            try:
                answer.set_result(call())
            except Exception as e:  # noqa: BLE001 - handed on unchanged to whoever asks
                answer.set_exception(e)
        return answer.result() if wait else None


# ---------------------------------------------------------------- output


class TerminalProgress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal (no dependency:
    a scan of a big estate takes a while, and a log or a pipe wants no carriage returns)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = self.stream.isatty()
        self.drawn = False

    def __call__(self, done: int, total: int, what: str) -> None:
        if not self.enabled or total <= 0:
            return
        filled = self.width * done // total
        self.stream.write(f"\r  scanning [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {what}\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def render(result: ScanResult) -> str:
    """The scan as a person reads it: a table of VPCs, then each VPC's workloads and their findings."""
    counts = result.counts()
    lines = [f"scan {result.region} ({result.mode} mode): {len(result.workloads)} workload(s) in "
             f"{len(result.vpcs)} VPC(s), {result.clusters} cluster(s): {counts[COMPLIANT]} compliant, "
             f"{counts[REMEDIATED]} remediated, {counts[NON_COMPLIANT]} non-compliant, {counts[IGNORED]} ignored", ""]
    head = ("VPC", "MODE", "WORKLOADS", "COMPLIANT", "REMEDIATED", "NON-COMPLIANT", "FINDINGS")
    table = [head] + [(
        vpc_label(v), v.mode, str(len(v.workloads)), *(str(v.counts()[s]) for s in (COMPLIANT, REMEDIATED, NON_COMPLIANT)),
        str(len(v.outcome.findings) if v.outcome else 0) if v.status != IGNORED else "-") for v in result.vpcs]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    by_vpc: dict[str | None, list[WorkloadScan]] = {}
    for w in result.workloads:
        by_vpc.setdefault(w.vpc_id, []).append(w)
    for v in result.vpcs:
        lines.append("")
        lines.append(f"  {vpc_label(v)}: {v.status.upper()}" + (f" ({v.ignored})" if v.ignored else ""))
        lines += [workload_line(w) for w in by_vpc.get(v.vpc_id, [])]
    if by_vpc.get(None):
        lines.append("")
        lines.append("  not evaluated (no network to read):")
        lines += [workload_line(w) for w in by_vpc[None]]
    if any(w.status == NON_COMPLIANT for w in result.workloads):
        lines.append("")
        lines.append("  Fix commands: --json (each finding's `fix`); the hop-by-hop view of one service: "
                     "vpce-remediator doctor --cluster C --service S")
    lines.append(f"  AWS API calls: {sum(result.api_calls.values())}")
    return "\n".join(lines)


def vpc_label(v: VpcScan) -> str:
    return v.vpc_id + (f" ({v.name})" if v.name else "")


def workload_line(w: WorkloadScan) -> str:
    what = f"{w.workload.kind} {w.cluster}/{w.workload.name}"
    if w.workload.kind == "task":
        what += f" ({w.workload.arn.rsplit('/', 1)[-1][:8]})"
    outcome = w.contract
    if outcome is None:
        extra = w.reason or ""
    elif outcome.required and all(r.status == "not-enforced" for r in outcome.required):
        extra = "not enforced: its subnets reach AWS through a NAT or internet gateway"
    else:
        problems = Counter(f.problem for f in outcome.findings)
        done = [r for r in outcome.results if r.status in ("created", "modified")]
        extra = ", ".join(f"{p} x{n}" if n > 1 else p for p, n in sorted(problems.items()))
        if done:
            extra = (f"{len(done)} change(s) made" + (f"; still: {extra}" if extra else ""))
    return f"    {w.status.upper():<14} {what}" + (f": {extra}" if extra else "")
