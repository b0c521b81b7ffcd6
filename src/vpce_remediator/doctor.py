"""`vpce-remediator doctor`: every hop between one workload and the AWS services it needs.

Three steps, the way the engine works: `resolve_target` re-reads the workload from ECS (a service,
or a task definition with the subnets and security groups it would run with); `read_facts` reads
the VPC once (the engine's `snapshot.read_vpc`, plus what only doctor needs: network ACLs, private hosted
zones, service DNS names, the S3 prefix list);
(with the mount targets of EFS volumes and the VPC's DHCP option set, which the engine reads only
when a plan asks);
`reach.judge` reasons over that data without calling AWS, with the rules the planner uses.
`render` prints the table.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from rules import GATEWAY, INTERFACE, Workload, placed_requirements, required_endpoints
from rules.partitions import service_name
from rules.records import replace
from vpce_remediator.act import DENIED
from vpce_remediator.aws import Clients, error_code, paginate
from vpce_remediator.discovery import (
    TaskDefinitions,
    assigns_public_ip,
    build_workload,
    default_launch_type,
    service_workload,
)
from vpce_remediator.errors import BadInput
from vpce_remediator.facts import (
    AclEntry,
    NetworkAcl,
    PrefixList,
    ServiceOffer,
    SubnetInfo,
    VpcSnapshot,
)
from vpce_remediator.fixplan import ordered_fix
from vpce_remediator.reach import (
    ANY_SERVICE,
    FAIL,
    PASS,
    WARN,
    Check,
    endpoints_of,
    judge,
    registry_accounts,
    resolves_privately,
    service_hosts,
)
from vpce_remediator.registries import with_account_facts
from vpce_remediator.snapshot import (
    describe_endpoint_services,
    describe_subnets,
    offers_from,
    read_central_zones,
    read_dhcp_options,
    read_file_systems,
    read_vpc,
)

# What doctor reads beyond the engine's `aws.READ_ACTIONS` (doctor runs from a terminal, so these
# are the caller's to hold, not the Lambda role's).
DOCTOR_READ_ACTIONS = ("ec2:DescribeNetworkAcls", "ec2:DescribePrefixLists")

LAUNCH_TYPES = ("FARGATE", "EC2")

MARKS: Mapping[str, str] = {PASS: "✔", WARN: "!", FAIL: "✘"}
ASCII_MARKS: Mapping[str, str] = {PASS: "ok", WARN: "!", FAIL: "X"}


@dataclass(frozen=True)
class Target:
    """What to diagnose: a service, or a task definition with the network it would run in."""

    cluster: str | None = None
    service: str | None = None
    task_definition: str | None = None
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    launch_type: str | None = None

    def validate(self) -> None:
        """Refuse a target that names no workload, or two, before any AWS call."""
        if self.task_definition:
            if self.cluster or self.service:
                raise BadInput("give either --cluster/--service or --task-definition, not both")
            if not self.subnets:
                raise BadInput("--task-definition needs --subnets")
            if not self.security_groups:
                raise BadInput("--task-definition needs --security-groups")
        elif self.cluster and self.service:
            if self.subnets or self.security_groups or self.launch_type:
                raise BadInput("--subnets, --security-groups and --launch-type go with --task-definition; "
                               "a service's come from ECS")
        else:
            raise BadInput("name a workload: --cluster C --service S, or --task-definition FAMILY[:REV] "
                           "--subnets S1,S2 --security-groups SG1")
        for prefix, ids in (("subnet-", self.subnets), ("sg-", self.security_groups)):
            bad = [i for i in ids if not i.startswith(prefix)]
            if bad:
                raise BadInput(f"{', '.join(bad)}: expected ids starting with {prefix}")
        if self.launch_type and self.launch_type not in LAUNCH_TYPES:
            raise BadInput(f"--launch-type must be one of {', '.join(LAUNCH_TYPES)}")


@dataclass
class Diagnosis:
    workload: Workload
    vpc_id: str
    vpc_name: str
    subnets: Mapping[str, SubnetInfo]  # the workload's (and its container instances')
    checks: list[Check]
    api_calls: dict[str, int] = field(default_factory=dict)
    # An EC2 awsvpc task's container instances (`Workload.on_instances`), with the hops of what the
    # agent does from there (image pulls, secrets, awslogs, the ECS endpoints): None when not apart.
    instances: Workload | None = None
    instance_checks: list[Check] = field(default_factory=list)

    @property
    def all_checks(self) -> list[Check]:
        return self.checks + self.instance_checks

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.all_checks)

    @property
    def fix(self) -> tuple[str, ...]:
        """Every fix of a hop that does not pass, as one list to paste: in order, each command once."""
        return ordered_fix(c.fix for c in self.all_checks if c.level != PASS)

    def count(self, level: str) -> int:
        return sum(1 for c in self.all_checks if c.level == level)

    def to_dict(self) -> dict[str, Any]:
        w = self.workload
        return {
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
            "fix": list(self.fix),
            "summary": {level: self.count(level) for level in (PASS, WARN, FAIL)},
            "workload": {"kind": w.kind, "name": w.name, "arn": w.arn, "launch_type": w.launch_type,
                         "subnets": list(w.subnet_ids), "security_groups": list(w.security_group_ids)},
            **({"container_instances": {
                "subnets": list(self.instances.subnet_ids), "security_groups": list(self.instances.security_group_ids),
                "checks": [c.to_dict() for c in self.instance_checks]}} if self.instances else {}),
            "vpc_id": self.vpc_id,
            "api_calls": {"total": sum(self.api_calls.values()), "by_operation": dict(sorted(self.api_calls.items()))},
        }


def diagnose(clients: Clients, target: Target) -> Diagnosis:
    """Resolve the workload, read its VPC once, check every hop. Raises `BadInput` for a target
    that does not exist, `ClientError` for anything else AWS refuses."""
    target.validate()
    before = dict(clients.calls)
    [workload] = with_account_facts(clients, [resolve_target(clients, target)])
    snap = read_facts(clients, workload)
    if target.security_groups:
        missing = [g for g in target.security_groups if g not in snap.security_groups]
        if missing:
            raise BadInput(f"security group(s) {', '.join(missing)} not found in {snap.vpc_id} ({clients.region})")
    # The task's hops, and (EC2 awsvpc) its container instances' for what the agent does there.
    [(task, needs), *on_instances] = placed_requirements(workload)
    checks = judge(snap, task, needs)
    instances, instance_checks = (on_instances[0][0], judge(snap, *on_instances[0])) if on_instances else (None, [])
    calls = {op: n - before.get(op, 0) for op, n in clients.calls.items() if n - before.get(op, 0)}
    return Diagnosis(workload, snap.vpc_id, snap.tags.get("Name", ""),
                     {s: snap.subnets[s] for s in (*workload.subnet_ids, *workload.instance_subnet_ids)
                      if s in snap.subnets}, checks, calls, instances, instance_checks)


# ---------------------------------------------------------------- the workload


def resolve_target(clients: Clients, target: Target) -> Workload:
    """The workload as the engine describes it, re-read from ECS."""
    region = clients.region
    tds = TaskDefinitions(clients.ecs)
    if target.task_definition:
        td = tds.get(target.task_definition)
        if td is None:
            raise BadInput(f"task definition {target.task_definition} not found in {region}")
        launch = target.launch_type or default_launch_type(None, td)
        return build_workload("task", td["taskDefinitionArn"], f"{td['family']}:{td['revision']}", region,
                              _account(td["taskDefinitionArn"]), launch, td, subnets=target.subnets,
                              groups=target.security_groups,
                              public_ip=assigns_public_ip(None, launch, target.subnets), platform=None, exec_=None)
    assert target.cluster and target.service  # Target.validate: a task definition, or both of these
    try:
        described = clients.ecs.describe_services(cluster=target.cluster, services=[target.service])
    except ClientError as e:
        if error_code(e) == "ClusterNotFoundException":
            raise BadInput(f"cluster {target.cluster} not found in {region}") from e
        raise
    services = [s for s in described.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        raise BadInput(f"service {target.service} not found in cluster {target.cluster} ({region})")
    s = services[0]
    workload = service_workload(s, region, _account(s["serviceArn"]), clients, tds)
    if workload is None:
        raise BadInput(f"task definition {s.get('taskDefinition')} of service {target.service} not found")
    if not workload.subnet_ids:
        raise BadInput(f"service {target.service} names no subnets and its cluster no Auto Scaling capacity "
                       "provider: no network to check")
    return workload


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


# ---------------------------------------------------------------- reading the VPC once


def read_facts(clients: Clients, workload: Workload) -> VpcSnapshot:
    """Everything the hops need, read once: the engine's snapshot (with every security group's
    egress), the offers and DNS names of the services, and doctor's own reads: network ACLs,
    private hosted zones, the S3 prefix list."""
    ec2 = clients.ec2
    region = clients.region
    subnets = describe_subnets(ec2, (*workload.subnet_ids, *workload.instance_subnet_ids))
    missing = [s for s in workload.subnet_ids if s not in subnets]
    if missing:
        raise BadInput(f"subnet(s) {', '.join(missing)} not found in {region}")
    vpc_ids = sorted({subnets[s].vpc_id for s in workload.subnet_ids})
    if len(vpc_ids) != 1:
        raise BadInput(f"the subnets are in {len(vpc_ids)} VPCs ({', '.join(vpc_ids)}); a task's are in one")
    vpc = ec2.describe_vpcs(VpcIds=vpc_ids)["Vpcs"][0]
    snap = read_vpc(ec2, vpc, region, workload.account or vpc.get("OwnerId", ""), subnets)
    requirements = required_endpoints(workload)
    offers = read_services(ec2, [service_name(n.service, region, INTERFACE)
                                 for n in requirements.needs if n.type == INTERFACE])
    needs_s3 = any(n.service == "s3" and n.type == GATEWAY for n in requirements.needs)
    prefix_lists = dict(snap.prefix_lists)
    if needs_s3:
        s3 = service_name("s3", region, GATEWAY)
        prefix_lists[s3] = _unless_denied(lambda: read_prefix_list(ec2, s3))
    snap = replace(snap.with_offers(offers), acls=_unless_denied(lambda: read_acls(ec2, snap.vpc_id)),
                   prefix_lists=prefix_lists)
    # Records are read for the zones that take the names of the interface services with no
    # serving endpoint here: those a centralised endpoint would serve.
    accounts = registry_accounts([workload], region)
    hosts = frozenset(h for n in requirements.needs if n.type == INTERFACE
                      and not any(e.serving for e in endpoints_of(snap, service_name(n.service, region, INTERFACE))
                                  if e.type == INTERFACE)
                      for h in service_hosts(snap, service_name(n.service, region, INTERFACE), accounts))
    zones, readable = read_central_zones(clients.route53, clients.route53profiles, snap.vpc_id, region, hosts)
    snap = snap.with_zones(zones, readable)
    # EFS volumes: their file systems' mount targets, with the groups of those in the task's AZs.
    if workload.efs_file_systems:
        snap = snap.with_file_systems(read_file_systems(
            clients.efs, workload.efs_file_systems, {subnets[s].az for s in workload.subnet_ids}))
    # The DHCP option set, whenever a service is found by a private DNS name (custom DNS servers).
    if snap.dhcp_options_id.startswith("dopt-") and any(
            resolves_privately(snap, n.service, n.type) for n in requirements.needs):
        snap = snap.with_dhcp(read_dhcp_options(ec2, [snap.dhcp_options_id])[snap.dhcp_options_id])
    return snap


def read_services(ec2: Any, service_names: Sequence[str]) -> dict[str, ServiceOffer | None]:
    """Which AZs offer each service, and its private DNS name, as the engine reads offers (one
    `DescribeVpcEndpointServices`; one per name when the region does not offer some name, which
    stays None so its endpoint hop says so)."""
    names = sorted(set(service_names))
    return offers_from(names, describe_endpoint_services(ec2, names))


def read_acls(ec2: Any, vpc_id: str) -> tuple[NetworkAcl, ...]:
    """Every network ACL of the VPC with its IPv4 entries and the subnets it guards."""
    out = []
    for page in paginate(ec2, "describe_network_acls", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]):
        for a in page.get("NetworkAcls", []):
            entries = tuple(
                AclEntry(number=int(e["RuleNumber"]), egress=bool(e.get("Egress")),
                         protocol=str(e.get("Protocol", "-1")), allow=e.get("RuleAction") == "allow",
                         cidr=e["CidrBlock"], from_port=int(e.get("PortRange", {}).get("From", 0)),
                         to_port=int(e.get("PortRange", {}).get("To", 65535)))
                for e in a.get("Entries", []) if "CidrBlock" in e)
            out.append(NetworkAcl(a["NetworkAclId"], tuple(x["SubnetId"] for x in a.get("Associations", [])
                                                           if x.get("SubnetId")), entries))
    return tuple(out)


def read_prefix_list(ec2: Any, name: str) -> PrefixList | None:
    """The AWS-managed prefix list of a gateway service (S3's public ranges)."""
    for page in paginate(ec2, "describe_prefix_lists", Filters=[{"Name": "prefix-list-name", "Values": [name]}]):
        for p in page.get("PrefixLists", []):
            return PrefixList(p["PrefixListId"], tuple(p.get("Cidrs", [])))
    return None


def _unless_denied(read: Any) -> Any:
    """The read's result, or None when the caller may not make it (the hop then says "not checked")."""
    try:
        return read()
    except ClientError as e:
        if error_code(e) in DENIED:
            return None
        raise


# ---------------------------------------------------------------- the table


def render(d: Diagnosis, marks: Mapping[str, str] = MARKS) -> str:
    """The hops as a table: one row per service and hop, one mark column per subnet (a second table
    for an EC2 awsvpc task's container instances), then the fixes."""
    w = d.workload
    vpc = f"{d.vpc_id} ({d.vpc_name})" if d.vpc_name else d.vpc_id
    fix = d.fix
    numbers = {cmd: i for i, cmd in enumerate(fix, start=1)}
    lines = [f"doctor: {w.kind} {w.name} [{w.launch_type}] in VPC {vpc}"]
    broken: list[str] = []
    warned: list[str] = []
    _table(lines, d, w, d.checks, marks, numbers, broken, warned, "")
    if d.instances is not None:
        lines.append("  on its container instances (the ECS agent and Docker: image pulls, secrets, awslogs, "
                     "the ECS endpoints):")
        _table(lines, d, d.instances, d.instance_checks, marks, numbers, broken, warned, " (instances)")
    legend = f"{marks[PASS]} pass, {marks[WARN]} works but mind it, {marks[FAIL]} broken"
    subnet_count = len(w.subnet_ids) + (len(d.instances.subnet_ids) if d.instances else 0)
    tally = f"{len(d.all_checks)} checks over {subnet_count} subnet(s); {legend}"
    if broken:
        lines.append(f"  {len(broken)} broken hop(s): {', '.join(broken)} ({tally})")
    else:
        lines.append(f"  every hop passes ({tally})")
    if warned:
        lines.append(f"  {len(warned)} warning(s): " + ", ".join(warned))
    if fix:
        lines.append("  fix, in order (paste as is: prerequisites first, each command once):")
        width = len(str(len(fix))) + 2
        for number, cmd in enumerate(fix, start=1):
            lines.append(f"  {'[' + str(number) + ']':>{width}} $ {cmd}")
    lines.append(f"  AWS API calls: {sum(d.api_calls.values())}")
    return "\n".join(lines)


def _table(lines: list[str], d: Diagnosis, w: Workload, checks: Sequence[Check], marks: Mapping[str, str],
           numbers: Mapping[str, int], broken: list[str], warned: list[str], where: str) -> None:
    """One network's table (the task's, or its container instances'), its broken and warned hops
    added to `broken` and `warned` (named with `where`)."""
    label = {sid: str(i) for i, sid in enumerate(w.subnet_ids, start=1)}
    lines += ["  subnets: " + "   ".join(f"[{label[s]}] {s} {d.subnets[s].az} {d.subnets[s].cidr}"
                                        for s in w.subnet_ids if s in d.subnets),
              f"  security groups: {', '.join(w.security_group_ids) or '(the container instances)'}", ""]
    rows: dict[tuple[str, str], dict[str, Check]] = {}
    for c in checks:
        rows.setdefault((c.service, c.hop), {})[c.subnet] = c
    svc_width = max([len("SERVICE")] + [len(_service_label(s)) for s, _ in rows])
    hop_width = max([len("HOP")] + [len(h) for _, h in rows])
    mark_width = max(len(m) for m in marks.values()) + 1
    subnet_cols = "".join(f"{label[s]:<{mark_width}}" for s in w.subnet_ids)
    lines.append(f"  {'SERVICE':<{svc_width}}  {'HOP':<{hop_width}}  {subnet_cols} DETAIL")
    for (service, hop), by_subnet in rows.items():
        cells = "".join(f"{marks[by_subnet[s].level] if s in by_subnet else '-':<{mark_width}}" for s in w.subnet_ids)
        lines.append(f"  {_service_label(service):<{svc_width}}  {hop:<{hop_width}}  {cells} "
                     f"{_row_detail(by_subnet, label, numbers)}".rstrip())
        if any(c.level == FAIL for c in by_subnet.values()):
            broken.append(f"{_service_label(service)} {hop}{where}")
        elif any(c.level == WARN for c in by_subnet.values()):
            warned.append(f"{_service_label(service)} {hop}{where}")
    lines.append("")


def _service_label(service: str) -> str:
    return "(all)" if service == ANY_SERVICE else service


def _row_detail(by_subnet: Mapping[str, Check], label: Mapping[str, str], numbers: Mapping[str, int]) -> str:
    """One detail for the row: the same text once, or each subnet's own, then the fix commands it
    points to (their numbers in the one list)."""
    checks = list(by_subnet.values())
    worst = [c for c in checks if c.level == FAIL] or [c for c in checks if c.level == WARN] or checks
    parts: list[str] = []
    details = list(dict.fromkeys(c.detail for c in worst))
    for text in details:
        subnets = [c.subnet for c in worst if c.detail == text]
        prefix = "" if len(details) == 1 and len(subnets) == len(checks) else \
            "[" + ",".join(label.get(s, "?") for s in subnets) + "] "
        refs = sorted({numbers[cmd] for c in worst if c.detail == text for cmd in c.fix if cmd in numbers})
        parts.append(prefix + text + (f" -> fix {', '.join(map(str, refs))}" if refs else ""))
    return "; ".join(parts)


def marks_for(stream: Any) -> Mapping[str, str]:
    """✔ ✘ ! where the terminal can print them, plain ASCII where it cannot (a C locale, say)."""
    try:
        "".join(MARKS.values()).encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_MARKS
    return MARKS
