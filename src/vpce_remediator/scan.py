"""`vpce-remediator scan`: the engine over every ECS service and standalone task of a region.

`scan_estate` is the library door (the CLI's `scan` and the Config rule's runs call it): discover
every workload with batched reads, read each VPC once, plan each workload over its VPC's one
snapshot (so every finding is attributed to the workloads it hurts), and, in remediate mode, act
once per VPC on the plan for all its workloads. `discover_service` and `scan_workloads` are its two
halves for one known service (the Config rule's change of an `AWS::ECS::Service`).

API calls grow with pages, not with services: `ListServices`/`ListTasks` pages, `DescribeServices`
10 services a call, `DescribeTasks` 100 tasks a call, task definitions read once per ARN, cluster
and capacity-provider reads once per scan, one `DescribeSubnets`, `DescribeVpcs` and
`DescribeNetworkInterfaces` for the whole estate, one snapshot per VPC, and the
`DescribeVpcEndpointServices` answers shared by every VPC.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, TextIO

from botocore.exceptions import ClientError

from rules import Workload, required_endpoints
from vpce_remediator.act import ActionResult, process_pacer
from vpce_remediator.aws import Clients, error_code, paginate
from vpce_remediator.engine import (
    COMPLIANT,
    IGNORED,
    NON_COMPLIANT,
    REMEDIATED,
    Outcome,
    Settings,
    VpcOutcome,
    effective_mode,
    outcome_for,
    plan_trusted,
    plan_vpc,
    with_organization,
)
from vpce_remediator.lock import VpcLock
from vpce_remediator.plan import Action, Finding, Plan, WorkloadNeeds
from vpce_remediator.resolve import (
    TaskDefinitions,
    build_workload,
    cluster_config,
    cluster_instance_subnets,
    default_launch_type,
    exec_config,
    launch_type_of,
    service_workload,
)
from vpce_remediator.snapshot import (
    MODE_TAG,
    VPCS_PER_READ,
    ServiceOffer,
    SubnetInfo,
    VpcSnapshot,
    describe_subnets,
    read_vpc,
    read_vpcs,
    tags_of,
)
from vpce_remediator.trust import trust_for

_SERVICES_PER_DESCRIBE = 10  # DescribeServices limit
_TASKS_PER_DESCRIBE = 100  # DescribeTasks limit
_FILTER_VALUES = 200  # EC2 filter values per call
_PAGE = {"PageSize": 100}  # ECS list calls return 10 a page unless asked for their maximum, 100

Progress = Callable[[int, int, str], None]  # (done, total, what) -> None


# ---------------------------------------------------------------- results


@dataclass
class WorkloadScan:
    """One service or standalone task, its VPC and its result in the engine's JSON contract
    (`findings`: the same findings as objects, for reporters such as the Config rule)."""

    workload: Workload
    cluster: str
    vpc_id: str | None
    result: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.result["status"])

    def to_dict(self) -> dict[str, Any]:
        w = self.workload
        return {"arn": w.arn, "kind": w.kind, "name": w.name, "cluster": self.cluster, "vpc_id": self.vpc_id,
                "launch_type": w.launch_type, "status": self.status, "result": self.result}


@dataclass
class VpcScan:
    vpc_id: str
    name: str
    mode: str  # report, remediate or ignore
    workloads: list[WorkloadScan] = field(default_factory=list)
    outcome: VpcOutcome | None = None  # the plan for all its workloads, acted on once
    ignored: str | None = None

    @property
    def status(self) -> str:
        if self.ignored is not None or self.outcome is None:
            return IGNORED
        if self.outcome.findings:
            return NON_COMPLIANT
        if any(r.status in ("created", "modified") for r in self.outcome.results):
            return REMEDIATED
        return COMPLIANT

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
            result = Outcome(self.status, None, None, [w.workload for w in self.workloads], [self.outcome]).to_dict()
            result.pop("api_calls", None)
            out["result"] = result
        return out


STATUSES = (COMPLIANT, REMEDIATED, NON_COMPLIANT, IGNORED)


@dataclass
class ScanResult:
    region: str
    mode: str
    clusters: int = 0
    vpcs: list[VpcScan] = field(default_factory=list)
    unplaced: list[WorkloadScan] = field(default_factory=list)  # no subnet or VPC to evaluate
    api_calls: dict[str, int] = field(default_factory=dict)

    @property
    def workloads(self) -> list[WorkloadScan]:
        return [w for v in self.vpcs for w in v.workloads] + self.unplaced

    def to_dict(self) -> dict[str, Any]:
        counts = Counter(w.status for w in self.workloads)
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
                progress: Progress | None = None, lock: VpcLock | None = None) -> ScanResult:
    """Evaluate every ECS service and running standalone task in the region (only those in
    `vpc_ids` when given); remediate once per VPC when the settings and the VPC's tag say so.

    `progress(done, total, what)` hears about each cluster discovered and each VPC evaluated;
    `lock` serialises remediation per VPC with the event path (the Lambda passes one).
    """
    before = Counter(clients.calls)
    view = _ScanClients(clients)
    report = progress or _silent
    # Scanning a few VPCs: their subnets (one read) spare the task definitions of workloads elsewhere.
    scope = None if vpc_ids is None else _vpc_subnets(view.ec2, vpc_ids)
    result = scan_workloads(view, settings, discover(view, report, scope), vpc_ids, report, lock)
    result.api_calls = _since(before, clients.calls)
    return result


def scan_workloads(clients: Clients, settings: Settings, found: Discovery, vpc_ids: set[str] | None = None,
                   progress: Progress | None = None, lock: VpcLock | None = None) -> ScanResult:
    """The second half of `scan_estate`: place discovered workloads in their VPCs and evaluate each
    VPC once. A workload none of whose subnets still exists is listed as not evaluated, with why."""
    before = Counter(clients.calls)
    report = progress or _silent
    subnets = describe_subnets(clients.ec2, {s for w, _ in found.workloads for s in w.subnet_ids})
    result = ScanResult(clients.region, settings.mode, found.clusters)
    if vpc_ids is None:
        result.unplaced += [_ignored(w, cluster, None, why) for w, cluster, why in found.unreadable]

    by_vpc: dict[str, list[tuple[Workload, str]]] = {vpc: [] for vpc in vpc_ids or ()}
    for w, cluster in found.workloads:
        vpcs = sorted({subnets[s].vpc_id for s in w.subnet_ids if s in subnets})
        if not vpcs and vpc_ids is None:
            why = (f"none of its subnets ({', '.join(w.subnet_ids)}) exists any more" if w.subnet_ids
                   else "it has no awsvpc subnets and its cluster no Auto Scaling capacity provider: "
                        "no network to evaluate")
            result.unplaced.append(_ignored(w, cluster, None, why))
        for vpc in vpcs:
            if vpc_ids is None or vpc in vpc_ids:
                by_vpc.setdefault(vpc, []).append((w, cluster))

    described = _describe_vpcs(clients.ec2, by_vpc)
    offers: dict[str, ServiceOffer | None] = {}  # regional answers, shared by every VPC
    order = sorted(by_vpc)
    for start in range(0, len(order), VPCS_PER_READ):
        chunk = order[start:start + VPCS_PER_READ]
        # One read of endpoints, route tables and security groups for the chunk's evaluated VPCs.
        evaluated = [described[v] for v in chunk if v in described and by_vpc[v]
                     and effective_mode(settings, v, tags_of(described[v].get("Tags"))) != "ignore"]
        snaps = read_vpcs(clients.ec2, evaluated, clients.region, "",
                          {s: i for s, i in subnets.items() if i.vpc_id in {v["VpcId"] for v in evaluated}})
        for i, vpc_id in enumerate(chunk, start=start + 1):
            vpc = described.get(vpc_id)
            if vpc is None:
                result.vpcs.append(VpcScan(vpc_id, "", "ignore",
                                           ignored=f"VPC {vpc_id} not found in {clients.region}"))
            else:
                result.vpcs.append(_scan_vpc(clients, settings, vpc, by_vpc[vpc_id], subnets, offers, lock,
                                             snaps.get(vpc_id)))
            report(i, len(by_vpc), "VPCs")
    result.api_calls = _since(before, clients.calls)
    return result


def _silent(done: int, total: int, what: str) -> None:
    return None


def _since(before: Counter[str], now: Counter[str]) -> dict[str, int]:
    return {op: n - before.get(op, 0) for op, n in now.items() if n - before.get(op, 0)}


@dataclass
class Discovery:
    workloads: list[tuple[Workload, str]] = field(default_factory=list)  # (workload, cluster name)
    unreadable: list[tuple[Workload, str, str]] = field(default_factory=list)  # (workload, cluster, why)
    clusters: int = 0


def discover(clients: Clients, progress: Progress, subnet_ids: set[str] | None = None) -> Discovery:
    """Every ECS service and running standalone task of the region as engine workloads, with the
    name of its cluster. With `subnet_ids`, an awsvpc workload in none of them is passed over
    before its task definition is read (one without awsvpc subnets is kept: its cluster's
    instances decide where it runs)."""
    ecs = clients.ecs
    region = clients.region
    tds = TaskDefinitions(ecs)
    clusters = [a for page in paginate(ecs, "list_clusters", PaginationConfig=_PAGE) for a in page.get("clusterArns", [])]
    found = Discovery(clusters=len(clusters))
    tasks: list[dict[str, Any]] = []
    for i, cluster in enumerate(clusters, start=1):
        arns = [a for page in paginate(ecs, "list_services", cluster=cluster, PaginationConfig=_PAGE)
                for a in page.get("serviceArns", [])]
        _add_services(clients, cluster, arns, tds, found, subnet_ids)
        arns = [a for page in paginate(ecs, "list_tasks", cluster=cluster, desiredStatus="RUNNING",
                                       PaginationConfig=_PAGE) for a in page.get("taskArns", [])]
        for chunk in _chunks(arns, _TASKS_PER_DESCRIBE):
            # A service's tasks are the service's business: it is evaluated as one workload.
            tasks += [t for t in ecs.describe_tasks(cluster=cluster, tasks=chunk).get("tasks", [])
                      if not str(t.get("group", "")).startswith("service:")
                      and not str(t.get("startedBy", "")).startswith("ecs-svc/")
                      and _in_scope(_task_subnets(t), subnet_ids)]
        progress(i, len(clusters), "clusters")
    enis = _task_interfaces(clients.ec2, tasks)
    for t in tasks:
        w = _task_workload(t, clients, tds, enis)
        cluster = t["clusterArn"].rsplit("/", 1)[-1]
        if w is None:
            found.unreadable.append(_unreadable(t["taskArn"], t.get("taskDefinitionArn", "?").rsplit("/", 1)[-1],
                                                "task", region, t.get("taskDefinitionArn", ""), cluster))
        else:
            found.workloads.append((w, cluster))
    return found


def discover_service(clients: Clients, service: str, cluster: str | None = None) -> Discovery:
    """One ECS service (ARN or name) as `discover` finds it: a workload, an unreadable one, or
    nothing when the service or its cluster is gone. `cluster` defaults to the one a service ARN
    names (`service/CLUSTER/NAME`; the old ARN form names none: ECS's default cluster)."""
    if cluster is None:
        parts = service.split(":", 5)[-1].split("/")
        cluster = parts[1] if len(parts) == 3 else "default"
    found = Discovery(clusters=1)
    try:
        _add_services(clients, cluster, [service], TaskDefinitions(clients.ecs), found)
    except ClientError as e:
        if error_code(e) != "ClusterNotFoundException":
            raise
    return found


def _add_services(clients: Clients, cluster: str, arns: list[str], tds: TaskDefinitions, found: Discovery,
                  subnet_ids: set[str] | None = None) -> None:
    """Describe services 10 a call; each live one (in `subnet_ids`, when given) becomes a workload
    (or an unreadable one)."""
    name = cluster.rsplit("/", 1)[-1]
    for chunk in _chunks(arns, _SERVICES_PER_DESCRIBE):
        for s in clients.ecs.describe_services(cluster=cluster, services=chunk).get("services", []):
            if s.get("status") == "INACTIVE" or not _in_scope(_service_subnets(s), subnet_ids):
                continue
            w = service_workload(s, clients.region, _account(s["serviceArn"]), clients, tds)
            if w is None:
                found.unreadable.append(_unreadable(s["serviceArn"], s.get("serviceName", "?"), "service",
                                                    clients.region, s.get("taskDefinition", ""), name))
            else:
                found.workloads.append((w, name))


def _service_subnets(service: Mapping[str, Any]) -> list[str]:
    """A service's awsvpc subnets, where `resolve.service_workload` reads them."""
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    net = service.get("networkConfiguration") or primary.get("networkConfiguration") or {}
    return list(net.get("awsvpcConfiguration", {}).get("subnets", []))


def _task_subnets(task: Mapping[str, Any]) -> list[str]:
    return [d["value"] for a in task.get("attachments", []) if a.get("type") == "ElasticNetworkInterface"
            for d in a.get("details", []) if d.get("name") == "subnetId" and d.get("value")]


def _in_scope(subnets: list[str], scope: set[str] | None) -> bool:
    return scope is None or not subnets or bool(scope.intersection(subnets))


def _vpc_subnets(ec2: Any, vpc_ids: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for chunk in _chunks(sorted(vpc_ids), _FILTER_VALUES):
        for page in paginate(ec2, "describe_subnets", Filters=[{"Name": "vpc-id", "Values": chunk}]):
            out.update(n["SubnetId"] for n in page.get("Subnets", []))
    return out


def _task_workload(task: dict[str, Any], clients: Clients, tds: TaskDefinitions,
                   enis: Mapping[str, dict[str, Any]]) -> Workload | None:
    """A running task as the engine's `resolve` would describe it from a RunTask event."""
    td = tds.get(task["taskDefinitionArn"])
    if td is None:
        return None
    provider = task.get("capacityProviderName")
    launch = launch_type_of(task.get("launchType"), [provider] if provider else [])
    exec_on = bool(task.get("enableExecuteCommand"))
    cluster = cluster_config(clients, task["clusterArn"]) if (launch is None or exec_on) else None
    if launch is None:
        launch = default_launch_type(cluster, td)
    details = {d.get("name"): d.get("value") for a in task.get("attachments", [])
               if a.get("type") == "ElasticNetworkInterface" for d in a.get("details", [])}
    eni = enis.get(details.get("networkInterfaceId") or "", {})
    if details.get("subnetId"):
        subnets: tuple[str, ...] = (details["subnetId"],)
        public_ip: bool | None = bool((eni.get("Association") or {}).get("PublicIp"))
    else:  # bridge or host networking: the container instances' subnets
        subnets = cluster_instance_subnets(clients, cluster or cluster_config(clients, task["clusterArn"]))
        public_ip = None
    return build_workload("task", task["taskArn"], f"{td['family']}:{td['revision']}", clients.region,
                          _account(task["taskArn"]), launch, td, subnets=subnets,
                          groups=tuple(g["GroupId"] for g in eni.get("Groups", [])), public_ip=public_ip,
                          platform=task.get("platformVersion"), exec_=exec_config(exec_on, cluster))


def _task_interfaces(ec2: Any, tasks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The tasks' network interfaces (DescribeTasks names their subnet, not their security groups)."""
    ids = sorted({d["value"] for t in tasks for a in t.get("attachments", []) for d in a.get("details", [])
                  if d.get("name") == "networkInterfaceId" and d.get("value")})
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids, _FILTER_VALUES):
        # A filter, not NetworkInterfaceIds=: a task stopped since DescribeTasks must not fail the scan.
        for page in paginate(ec2, "describe_network_interfaces",
                             Filters=[{"Name": "network-interface-id", "Values": chunk}]):
            out.update({n["NetworkInterfaceId"]: n for n in page.get("NetworkInterfaces", [])})
    return out


def _describe_vpcs(ec2: Any, vpc_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(vpc_ids), _FILTER_VALUES):
        for page in paginate(ec2, "describe_vpcs", Filters=[{"Name": "vpc-id", "Values": chunk}]):
            out.update({v["VpcId"]: v for v in page.get("Vpcs", [])})
    return out


# ---------------------------------------------------------------- one VPC


def _scan_vpc(clients: Clients, settings: Settings, vpc: dict[str, Any], workloads: list[tuple[Workload, str]],
              subnets: Mapping[str, SubnetInfo], offers: dict[str, ServiceOffer | None],
              lock: VpcLock | None, snap: VpcSnapshot | None = None) -> VpcScan:
    """One snapshot (`snap`, read with its neighbours, or read here), one plan for the VPC (acted on
    in remediate mode), one plan per workload."""
    ec2 = clients.ec2
    vpc_id = vpc["VpcId"]
    tags = tags_of(vpc.get("Tags"))
    mode = effective_mode(settings, vpc_id, tags)
    scan = VpcScan(vpc_id, tags.get("Name", ""), mode)
    if not workloads:
        scan.ignored = "hosts no ECS service and no running standalone task"
        return scan
    if mode == "ignore":
        why = "listed in ExcludedVpcIds" if vpc_id in settings.excluded_vpcs else f"tagged {MODE_TAG}=ignore"
        scan.ignored = f"VPC {vpc_id} is {why}: not evaluated"
        scan.workloads = [_ignored(w, cluster, vpc_id, scan.ignored) for w, cluster in workloads]
        return scan
    account = vpc.get("OwnerId") or workloads[0][0].account
    vpc_subnets = {s: i for s, i in subnets.items() if i.vpc_id == vpc_id}
    needs = [WorkloadNeeds(w, required_endpoints(w)) for w, _ in workloads]
    snap = replace(snap, account=account) if snap is not None else \
        read_vpc(ec2, vpc, clients.region, account, vpc_subnets)
    if mode == "remediate":
        settings = with_organization(clients, settings, account)
    trust = trust_for(lock)
    snap, plan = plan_trusted(ec2, needs, snap.with_offers(offers), settings, trust)
    # Endpoint writes share a bucket of 4 tokens refilled at 0.3/s: a remediating scan of many VPCs
    # against a real account paces them, as the Lambda does.
    pacer = process_pacer() if clients.pace else None
    if mode == "remediate" and plan.actions and lock is not None:
        lock.acquire(vpc_id)
        try:
            # As the event path does: another run may have changed the VPC since the read, so read
            # it again under the lock and create only what is still missing.
            fresh = read_vpc(ec2, vpc, clients.region, account, vpc_subnets)
            snap, plan = plan_vpc(ec2, needs, trust.apply(ec2, fresh).with_offers(snap.offers), settings)
            outcome = outcome_for(ec2, vpc_id, mode, plan, snap, pacer, lock.remember)
        finally:
            lock.release(vpc_id)
    else:
        outcome = outcome_for(ec2, vpc_id, mode, plan, snap, pacer)
    scan.outcome = outcome
    offers.update(snap.offers)
    for wn, (w, cluster) in zip(needs, workloads, strict=True):
        # The VPC's offers cover every workload's services, so this plan makes no call.
        _, own = plan_vpc(ec2, [wn], snap, settings)
        result, findings = _attributed(ec2, w, outcome, own, snap)
        scan.workloads.append(WorkloadScan(w, cluster, vpc_id, result, findings))
    return scan


def _attributed(ec2: Any, workload: Workload, vpc: VpcOutcome, own: Plan,
                snap: VpcSnapshot) -> tuple[dict[str, Any], list[Finding]]:
    """One workload's contract result (and its findings): its own plan, with what the VPC's run did
    about each action."""
    done = {_key(r.action): r for r in vpc.results if r.status != "planned"}
    results: list[ActionResult] = []
    unfixed: list[Action] = []
    for action in own.actions:
        r = done.get(_key(action))
        results.append(ActionResult(action, r.status, r.resource_id, r.error) if r
                       else ActionResult(action, "planned", action.resource_id))
        if r is None or r.status == "failed":
            unfixed.append(action)
    # What is still to do becomes findings exactly as in report mode (no call is made in report mode).
    findings = outcome_for(ec2, vpc.vpc_id, "report", replace(own, actions=tuple(unfixed)), snap).findings
    out = VpcOutcome(vpc.vpc_id, vpc.mode, own, results, findings)
    status = NON_COMPLIANT if findings else (
        REMEDIATED if any(r.status in ("created", "modified") for r in results) else COMPLIANT)
    result = Outcome(status, None, None, [workload], [out]).to_dict()
    result.pop("api_calls", None)  # counted once, for the whole scan
    return result, findings


def _key(action: Action) -> tuple[str, str, str]:
    return action.kind, action.service, action.resource_id


def _ignored(w: Workload, cluster: str, vpc_id: str | None, reason: str) -> WorkloadScan:
    return WorkloadScan(w, cluster, vpc_id, {"status": IGNORED, "reason": reason, "required": [], "actions": [],
                                             "findings": [], "notes": []})


def _unreadable(arn: str, name: str, kind: str, region: str, task_definition: str,
                cluster: str) -> tuple[Workload, str, str]:
    """A workload whose task definition cannot be read: still listed, with the reason."""
    w = Workload(kind=kind, arn=arn, name=name, region=region, account=_account(arn), launch_type="?",
                 task_definition_arn=task_definition or None)
    return w, cluster, f"task definition {task_definition or '?'} cannot be read (deregistered and deleted?)"


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ---------------------------------------------------------------- per-scan caches


class _ScanClients(Clients):
    """The caller's clients and call counter, with the reads that repeat per service (cluster
    settings, capacity providers, Auto Scaling groups) answered once per scan."""

    def __init__(self, base: Clients) -> None:
        # Everything the base holds (session, region, call counter, pacing, clients made so far),
        # so no new session and one count; only the ECS and Auto Scaling clients are wrapped.
        self.__dict__.update({k: v for k, v in vars(base).items() if k not in ("ecs", "autoscaling")})
        self._base = base

    @cached_property
    def ec2(self) -> Any:
        return self._base.ec2

    @cached_property
    def ecs(self) -> Any:
        return _Memo(self._base.ecs, {"describe_clusters", "describe_capacity_providers"})

    @cached_property
    def autoscaling(self) -> Any:
        return _Memo(self._base.autoscaling, {"describe_auto_scaling_groups"})


class _Memo:
    """A client whose listed read operations (and their paginators) answer each request once."""

    def __init__(self, client: Any, operations: set[str]) -> None:
        self._client = client
        self._operations = operations
        self._answers: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name not in self._operations:
            return attr
        return lambda **kwargs: self._once(name, kwargs, lambda: attr(**kwargs))

    def get_paginator(self, name: str) -> Any:
        paginator = self._client.get_paginator(name)
        if name not in self._operations:
            return paginator
        memo = self

        class _Pages:
            def paginate(self, **kwargs: Any) -> list[Any]:
                return memo._once("pages:" + name, kwargs, lambda: list(paginator.paginate(**kwargs)))

        return _Pages()

    def _once(self, name: str, kwargs: Mapping[str, Any], call: Callable[[], Any]) -> Any:
        key = name + json.dumps(kwargs, sort_keys=True, default=str)
        if key not in self._answers:
            self._answers[key] = call()
        return self._answers[key]


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


def render(result: dict[str, Any]) -> str:
    """The scan as a person reads it: a table of VPCs, then each VPC's workloads and their findings."""
    s = result["summary"]
    lines = [f"scan {result['region']} ({result['mode']} mode): {s['workloads']} workload(s) in {s['vpcs']} VPC(s), "
             f"{s['clusters']} cluster(s): {s['compliant']} compliant, {s['remediated']} remediated, "
             f"{s['non_compliant']} non-compliant, {s['ignored']} ignored", ""]
    head = ("VPC", "MODE", "WORKLOADS", "COMPLIANT", "REMEDIATED", "NON-COMPLIANT", "FINDINGS")
    table = [head] + [(
        v["vpc_id"] + (f" ({v['name']})" if v.get("name") else ""), v["mode"], str(v["workloads"]),
        str(v["compliant"]), str(v["remediated"]), str(v["non_compliant"]),
        str(v["findings"]) if v["status"] != IGNORED else "-") for v in result["vpcs"]]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    by_vpc: dict[str | None, list[dict[str, Any]]] = {}
    for w in result["workloads"]:
        by_vpc.setdefault(w["vpc_id"], []).append(w)
    for v in result["vpcs"]:
        lines.append("")
        lines.append(f"  {v['vpc_id']}" + (f" ({v['name']})" if v.get("name") else "") + f": {v['status'].upper()}"
                     + (f" ({v['reason']})" if v.get("reason") else ""))
        lines += [_workload_line(w) for w in by_vpc.get(v["vpc_id"], [])]
    if by_vpc.get(None):
        lines.append("")
        lines.append("  not evaluated (no network to read):")
        lines += [_workload_line(w) for w in by_vpc[None]]
    if any(w["status"] == NON_COMPLIANT for w in result["workloads"]):
        lines.append("")
        lines.append("  Fix commands: --json (each finding's `fix`); the hop-by-hop view of one service: "
                     "vpce-remediator doctor --cluster C --service S")
    lines.append(f"  AWS API calls: {result['api_calls']['total']}")
    return "\n".join(lines)


def _workload_line(w: dict[str, Any]) -> str:
    r = w["result"]
    what = f"{w['kind']} {w['cluster']}/{w['name']}"
    if w["kind"] == "task":
        what += f" ({w['arn'].rsplit('/', 1)[-1][:8]})"
    if r.get("reason"):
        extra = r["reason"]
    elif r.get("required") and all(x["status"] == "not-enforced" for x in r["required"]):
        extra = "not enforced: its subnets reach AWS through a NAT or internet gateway"
    else:
        problems = Counter(f["problem"] for f in r.get("findings", []))
        done = [a for a in r.get("actions", []) if a["status"] in ("created", "modified")]
        extra = ", ".join(f"{p} x{n}" if n > 1 else p for p, n in sorted(problems.items()))
        if done:
            extra = (f"{len(done)} change(s) made" + (f"; still: {extra}" if extra else ""))
    return f"    {w['status'].upper():<14} {what}" + (f": {extra}" if extra else "")
