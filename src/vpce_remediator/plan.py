"""Plan: (what workloads need, what the VPC has, settings) -> actions and findings. Pure.

The planner never calls AWS and is deterministic: the same inputs give the same plan, and a plan
applied to the VPC then planned again gives no actions. When it needs to know which AZs offer a
service it has not been told about, it says so in `needs_offers` and the engine asks AWS and plans
again, so a compliant VPC costs no `DescribeVpcEndpointServices` call.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rules import GATEWAY, INTERFACE, Requirements, Workload, WorkloadProblem
from rules.calls import FEATURE_CALLS
from rules.partitions import service_name, short_name
from rules.records import field, mutable_record, record, replace
from rules.workload import EndpointType
from vpce_remediator import prices
from vpce_remediator.endpoint_policies import AWS_DEFAULT, PolicyScope, arn, same_policy
from vpce_remediator.facts import INTERFACE_QUOTA_TYPES, OWN_SG_NAME, EndpointInfo, ServiceOffer, VpcSnapshot
from vpce_remediator.fixes import (
    NO_ARG,
    Shell,
    Value,
    fix_commands,
    ingress_443,
    ip_address_type_arg,
    render_fix,
    shell,
)
from vpce_remediator.policies import (
    ecr_layer_fix_note,
    layer_bucket_arn,
    policy_allows,
    policy_allows_ecr_layers,
    policy_with_ecr_layers,
)
from vpce_remediator.reach import (
    ENDPOINT_PENDING,
    MOUNT_TARGET,
    NFS,
    PROBLEM_HOP,
    SG_EGRESS,
    SOURCE,
    WARN,
    CrossRegionLeg,
    alternative_path,
    az_of,
    base_params,
    blocked_calls,
    central_egress,
    central_egress_text,
    cross_region_cover,
    cross_region_create_fix,
    cross_region_subnets,
    custom_dns,
    dns_records_for,
    efs_paths,
    efs_resource,
    efs_service,
    egress_to,
    gateway_for,
    gateway_tables,
    ingress_allows,
    ingress_allows_all,
    ingress_source,
    ipv6_way_out,
    live_endpoints,
    missing_mount_target_text,
    missing_records_text,
    one_subnet_per_az,
    own_group_ids,
    own_group_ref,
    peer_cidrs,
    placement,
    private_nat_text,
    pulls_from_ecr,
    rank,
    registry_accounts,
    resolves_privately,
    s3_interface_detail,
    s3_interface_path,
    service_hosts,
    shared_vpc_fix,
    task_cidrs,
    unblocking_policy,
    vpc_dns_problems,
    workload_problem_fix,
    zone_cover,
    zone_record_fix,
)

CREATE_SECURITY_GROUP = "create-security-group"
AUTHORIZE_INGRESS = "authorize-security-group-ingress"
CREATE_INTERFACE = "create-interface-endpoint"
CREATE_GATEWAY = "create-gateway-endpoint"
ADD_SUBNETS = "add-endpoint-subnets"
ADD_ROUTE_TABLES = "add-endpoint-route-tables"
ADD_SECURITY_GROUP = "add-endpoint-security-group"
ENABLE_PRIVATE_DNS = "enable-private-dns"
SET_ENDPOINT_POLICY = "set-endpoint-policy"

# ECS's endpoints sort between ecr.* and kms.* as the ECS guide lists them: ecs-agent, ecs-telemetry, ecs.
ECS_CREATE_ORDER = {"ecs-agent": "ecs.0", "ecs-telemetry": "ecs.1", "ecs": "ecs.2"}
# How a container instance's agent is restarted to take the new ECS endpoints (run per instance).
AGENT_RESTART = ("aws ecs list-container-instances --region {region} --cluster {cluster} "
                 "--query containerInstanceArns --output text",
                 "aws ecs update-container-agent --region {region} --cluster {cluster} --container-instance "
                 "CONTAINER_INSTANCE_ARN")


class _NotRead:
    """An offer the engine has not read yet."""


_NOT_READ = _NotRead()
Offer = ServiceOffer | None | _NotRead


@record
class WorkloadNeeds:
    workload: Workload
    requirements: Requirements


@record
class Action:
    """One change the remediator may make; `fix` is the same change as CLI commands."""

    kind: str
    service: str  # full service name, "" for the security group
    resource_id: str  # the endpoint or security group changed; "" when it is created
    problem: str  # the finding this becomes when the change is not made (report mode)
    summary: str
    fix: tuple[str, ...]
    subnet_ids: tuple[str, ...] = ()
    route_table_ids: tuple[str, ...] = ()
    cidrs: tuple[str, ...] = ()  # IPv4 and IPv6 blocks the own group lets 443 in from
    policy: str | None = None  # the endpoint policy to create with or set; None: none / reset
    ip_address_type: str = ""  # a create's IpAddressType ("": EC2's default, ipv4)
    dns_record_ip_type: str = ""  # a create's DnsOptions.DnsRecordIpType ("": EC2's default)
    service_region: str = ""  # a cross-Region create's ServiceRegion ("": the VPC's own Region)


@record
class Finding:
    resource_type: str
    resource_id: str
    problem: str
    summary: str
    fix: tuple[str, ...]
    service: str = ""


@record
class ServiceState:
    service: str
    type: str
    reasons: tuple[str, ...]
    status: str  # present, missing, incomplete, pending, not-enforced, unavailable
    endpoint_id: str = ""
    served_by: str = ""  # what serves it when no endpoint here does: a hub's zone, an S3 interface endpoint


@record
class Verdict:
    """What the planner found wanting for one workload, subnet and service, and on which hop (the
    hop names and problem kinds of `reach`): what the agreement test holds against doctor's."""

    workload: str  # the workload's ARN
    subnet: str
    service: str  # short name, or reach.ANY_SERVICE
    hop: str
    problem: str


@record
class Plan:
    vpc_id: str
    services: tuple[ServiceState, ...]
    actions: tuple[Action, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    needs_offers: frozenset[str] = frozenset()
    # True: a service would be created, and the VPC's private hosted zones (which may serve it
    # from a centralised endpoint) have not been read: read them and plan again.
    needs_zones: bool = False
    verdicts: tuple[Verdict, ...] = ()
    # The names (DNS) of the services that would be created: the zones covering them are the ones
    # whose records are read.
    zone_hosts: frozenset[str] = frozenset()
    # True: interface endpoints would be created and the VPC's applied endpoint quota has not been
    # read: read it (Service Quotas) and plan again.
    needs_quotas: bool = False
    # EFS file systems the workloads' volumes name that have not been read: read their mount
    # targets and plan again (only workloads with EFS volumes ask).
    needs_file_systems: frozenset[str] = frozenset()
    # True: a service is found by a private DNS name, the VPC has a DHCP option set not read yet,
    # and the plan has something to report or create anyway: read the set and plan again. A plan
    # with nothing to say costs no read (the event budget), and doctor always reads it.
    needs_dhcp: bool = False


@mutable_record
class _Need:
    reasons: list[str] = field(default_factory=list)
    subnets: set[str] = field(default_factory=set)  # enforced workload subnets
    groups: set[str] = field(default_factory=set)  # workload security groups
    members: set[tuple[int, str]] = field(default_factory=set)  # (workload index, enforced subnet)
    not_enforced: bool = False


def plan_remediation(needs: Sequence[WorkloadNeeds], snap: VpcSnapshot,
                     enforce_on_nat_routed: bool = False, max_endpoints_per_vpc: int | None = None,
                     policy: PolicyScope | None = None, cross_region: bool = False) -> Plan:
    """Decide what to create or change, and what to report, for the workloads in one VPC.

    Every decision about whether a workload reaches a service is one of `reach`'s rules, the ones
    doctor prints. `max_endpoints_per_vpc` caps the interface endpoints the tool keeps in the VPC
    (its live ones plus those it would create now); creates past it become one
    `endpoint-cap-reached` finding; creates that would pass the VPC's interface endpoint quota
    (`snap.interface_quota`, asked for in `needs_quotas`) are none of them made, one
    `endpoint-quota-reached` finding instead. `policy`: the scope of the endpoint policies the tool creates
    and keeps; None puts no policy on what it creates (other endpoints' policies are still judged
    for what the workload calls). `cross_region` (the CrossRegionEndpoints setting): create the
    cross-Region endpoints that would serve an image, key or stream of another Region; without it
    they are only named in that problem's finding.
    """
    b = _Builder(snap, [wn.workload for wn in needs], max_endpoints_per_vpc, policy)
    b.cross_region = cross_region
    aggregated: dict[tuple[str, str], _Need] = {}
    nat_subnets: dict[str, str] = {}
    for i, wn in enumerate(needs):
        enforced = b.enforced_subnets(wn.workload, enforce_on_nat_routed, nat_subnets)
        for need in wn.requirements.needs:
            here = enforced if need.type != INTERFACE or enforce_on_nat_routed else \
                b.without_ipv6_way_out(need.service, enforced)
            agg = aggregated.setdefault((need.service, need.type), _Need())
            agg.reasons.extend(r for r in need.reasons if r not in agg.reasons)
            agg.subnets.update(here)
            agg.groups.update(wn.workload.security_group_ids)
            agg.members.update((i, s) for s in here)
            agg.not_enforced = agg.not_enforced or not here
        if enforced:
            for problem in wn.requirements.problems:
                b.workload_problem(i, problem, sorted(enforced))
        b.notes.extend(n for n in wn.requirements.notes if n not in b.notes)

    interface_members = {m for (_, t), a in aggregated.items() if t == INTERFACE for m in a.members}
    if interface_members:
        b.check_vpc_dns({(short, m) for (short, t), a in aggregated.items() if t == INTERFACE for m in a.members})
    b.check_custom_dns({(short, m) for (short, t), a in aggregated.items() if resolves_privately(snap, short, t)
                        for m in a.members})
    b.plan_efs()
    # Interface endpoints first so the security group they share is planned before them; ECS's three
    # in the order the ECS guide lists them (ecs-agent, ecs-telemetry, ecs).
    for (short, typ), agg in sorted(aggregated.items(), key=lambda kv: (
            kv[0][1] != INTERFACE, ECS_CREATE_ORDER.get(kv[0][0], kv[0][0]), kv[0][1])):
        if typ == GATEWAY:
            b.plan_gateway(short, agg)
        else:
            b.plan_interface(short, agg)
    b.plan_cross_region()
    b.agent_restart_note()
    b.quota_check()
    b.plan_own_security_group()
    b.egress_findings()
    b.cap_finding()
    if nat_subnets:
        b.nat_note(nat_subnets, aggregated)
    return b.build()


class _Builder:
    def __init__(self, snap: VpcSnapshot, workloads: Sequence[Workload], cap: int | None = None,
                 policy: PolicyScope | None = None) -> None:
        self.snap = snap
        self.workloads = list(workloads)
        self.cap = cap
        self.owned_interfaces = sum(1 for e in snap.endpoints if e.owned and e.live and e.type == INTERFACE)
        self.capped: list[Action] = []  # creates the cap held back
        self.needs_quotas = False
        self.own_sg_kept = False  # an endpoint the tool keeps uses its group (not only its creates)
        self.scope = policy
        self.actions: list[Action] = []
        self.findings: list[Finding] = []
        self.notes: list[str] = []
        self.states: list[ServiceState] = []
        self.needs_offers: set[str] = set()
        self.needs_zones = False
        self.zone_hosts: set[str] = set()
        self.verdicts: set[Verdict] = set()
        # workload security group -> (services it cannot reach, the commands that open it)
        self.closed_egress: dict[str, tuple[list[str], list[str]]] = {}
        self.own = snap.own_security_group
        self.uses_own_sg = False
        self.sg_for_findings = False  # reported endpoint creates name the own group (VPC DNS off)
        self.dns_ok = snap.dns_support and snap.dns_hostnames
        self.base: dict[str, Value] = base_params(snap)
        self.cross_region = False
        # cross-Region service -> (its leg, the enforced subnets it would serve, the reasons)
        self.cross_wanted: dict[str, tuple[CrossRegionLeg, set[str], list[str]]] = {}
        self.cross_served: set[str] = set()
        self.needs_file_systems: set[str] = set()
        self.dhcp_wanted = False  # some service is found by a private DNS name: the DHCP options matter

    # ------------------------------------------------------------ scope and verdicts

    def enforced_subnets(self, w: Workload, enforce_nat: bool, nat_subnets: dict[str, str]) -> list[str]:
        """Workload subnets in this VPC that have no other way out to AWS services."""
        out = []
        for sid in w.subnet_ids:
            subnet = self.snap.subnets.get(sid)
            if subnet is None or subnet.vpc_id != self.snap.vpc_id:
                continue
            table = alternative_path(self.snap, sid, w.assign_public_ip)
            if table is not None and not enforce_nat:
                nat_subnets[sid] = f"{table.egress} {table.egress_target}"
                continue
            out.append(sid)
            self.route_note(sid)
        return out

    def route_note(self, sid: str) -> None:
        """An enforced subnet whose default route looks like a way out but is not known to be one:
        the reason it is enforced goes in the result (`reach.CENTRAL_EGRESS`, private NAT)."""
        table = self.snap.route_table_of(sid)
        if table is None:
            return
        if table.egress == "private-nat":
            note = f"enforced: {sid}: " + private_nat_text(table)
        elif central_egress(self.snap, sid) is not None:
            note = f"enforced: {sid}: " + central_egress_text(table)
        else:
            return
        if note not in self.notes:
            self.notes.append(note)

    def without_ipv6_way_out(self, short: str, subnets: list[str]) -> list[str]:
        """The subnets whose ::/0 does not carry the service's traffic out (`reach.ipv6_way_out`)."""
        out = []
        for sid in subnets:
            table = ipv6_way_out(self.snap, sid, service_name(short, self.snap.region, INTERFACE))
            if table is None:
                out.append(sid)
                continue
            note = (f"not enforced for {service_name(short, self.snap.region, INTERFACE)}: {sid} routes ::/0 to {table.egress6} "
                    f"{table.egress6_target} and the service takes IPv6 (SupportedIpAddressTypes), so its "
                    "tasks reach it without an endpoint when they call its dual-stack endpoint "
                    "(set EnforceOnNatRoutedSubnets to enforce)")
            if note not in self.notes:
                self.notes.append(note)
        return out

    def blame(self, short: str, members: Iterable[tuple[int, str]], problem: str) -> None:
        """Record that these (workload, subnet) pairs do not reach `short` because of `problem`."""
        for i, sid in members:
            self.verdicts.add(Verdict(self.workloads[i].arn, sid, short, PROBLEM_HOP[problem], problem))

    def az(self, subnet_id: str) -> str:
        return az_of(self.snap, subnet_id)

    # ------------------------------------------------------------ VPC

    def check_vpc_dns(self, members: set[tuple[str, tuple[int, str]]]) -> None:
        for kind, text in vpc_dns_problems(self.snap):
            attribute = text.split(" has ", 1)[1].split("=", 1)[0]
            self.findings.append(Finding(
                "AWS::EC2::VPC", self.snap.vpc_id, kind,
                f"VPC {self.snap.vpc_id} has {attribute}=false: private DNS of interface endpoints "
                "cannot work, so tasks resolve AWS services to public addresses they cannot reach",
                fix_commands(kind, self.base)))
            for short, member in members:
                self.blame(short, [member], kind)

    def check_custom_dns(self, members: set[tuple[str, tuple[int, str]]]) -> None:
        """Custom DNS servers in the VPC's DHCP options (reach.custom_dns): one finding for the
        VPC, and every workload subnet of every service found by a private DNS name blamed on its
        dns hop. Never acted on: the option set is the VPC's, not the tool's."""
        if not members:
            return
        self.dhcp_wanted = True
        found = custom_dns(self.snap)
        if found is None:
            return
        self.findings.append(Finding("AWS::EC2::VPC", self.snap.vpc_id, "dhcp-custom-dns", found.summary, found.fix))
        for short, member in sorted(members):
            self.blame(short, [member], "dhcp-custom-dns")

    # ------------------------------------------------------------ EFS volumes (report only)

    def plan_efs(self) -> None:
        """Each EFS volume's file system from each workload subnet in this VPC (reach.efs_paths,
        the rule doctor prints): one finding per file system and problem, blamed on the mount-target
        or nfs hop. Whatever the route out: NFS to a mount target never leaves the VPC. The tool
        never writes to EFS or to groups it does not own, so these are findings in every mode."""
        # (file system, problem) -> workload names, subnets, details, commands
        found: dict[tuple[str, str], tuple[list[str], list[str], list[str], list[str]]] = {}
        for i, w in enumerate(self.workloads):
            unread = {f for f in w.efs_file_systems if f not in self.snap.file_systems}
            self.needs_file_systems.update(unread)
            subnets = [s for s in w.subnet_ids if (info := self.snap.subnets.get(s)) and info.vpc_id == self.snap.vpc_id]
            for path in efs_paths(self.snap, w, subnets):
                if path.file_system in unread:
                    continue  # asked for (needs_file_systems), judged once read
                if not path.problem:
                    if path.level == WARN and path.detail not in self.notes:
                        self.notes.append(path.detail)  # not readable: said, not accused
                    continue
                self.blame(efs_service(path.file_system), [(i, path.subnet)], path.problem)
                names, where, details, fix = found.setdefault((path.file_system, path.problem), ([], [], [], []))
                names.extend(n for n in [f"{w.kind} {w.name}"] if n not in names)
                where.extend(s for s in [path.subnet] if s not in where)
                details.extend(d for d in [path.detail] if d not in details)
                fix.extend(c for c in path.fix if c not in fix)
        for (fs_id, problem), (names, where, details, fix) in sorted(found.items()):
            if problem == "efs-mount-target-missing":
                azs = sorted({self.az(s) for s in where} - {""})
                text = missing_mount_target_text(self.snap, self.snap.file_systems[fs_id], azs)
                what = f"{text}; mounted by {', '.join(names)} in {', '.join(sorted(where))}"
            else:
                what = f"EFS file system {fs_id}, mounted by {', '.join(names)}: " + "; ".join(details)
            self.findings.append(Finding("AWS::EFS::FileSystem", efs_resource(self.snap, fs_id), problem,
                                         what + " (report only: the remediator never changes EFS or groups it "
                                                "does not own)", tuple(fix)))

    # ------------------------------------------------------------ interface endpoints

    def plan_interface(self, short: str, need: _Need) -> None:
        service = service_name(short, self.snap.region, INTERFACE)
        reasons = tuple(need.reasons)
        if not need.subnets:
            self.states.append(ServiceState(service, INTERFACE, reasons, "not-enforced"))
            return
        live = live_endpoints(self.snap, service, INTERFACE)
        serving = [e for e in live if e.serving]
        azs = {self.az(s) for s in need.subnets}
        offer: Offer = self.snap.offers.get(service, _NOT_READ)
        if not live:
            if not self.plan_centralised(service, reasons, need):
                self.plan_new_interface(service, reasons, need, azs, offer)
            return
        if not serving:
            self.pending(short, INTERFACE, live, need)
            return
        endpoint = min(serving, key=rank)
        before = len(self.actions) + len(self.findings)
        covered = {self.az(s) for e in serving for s in e.subnet_ids}
        missing_azs = azs - covered
        if missing_azs:
            if isinstance(offer, _NotRead):
                self.needs_offers.add(service)
            else:
                offered = missing_azs & (offer.azs if offer else frozenset())
                self.note_unoffered(service, missing_azs - offered)
                subnets = one_subnet_per_az(self.snap, need.subnets, offered)
                if subnets:
                    params = {**self.base, "endpoint_id": endpoint.id, "subnet_ids": subnets}
                    summary = (f"{service} endpoint {endpoint.id} has no subnet in "
                               f"{', '.join(sorted(self.az(s) for s in subnets))}, where the workload runs")
                    self.change_endpoint(endpoint, ADD_SUBNETS, "endpoint-missing-az", service, summary,
                                         params, subnet_ids=subnets)
                    self.blame(short, {m for m in need.members if self.az(m[1]) in offered}, "endpoint-missing-az")
        if not any(e.private_dns for e in serving):
            summary = (f"{service} endpoint {endpoint.id} has private DNS off: the default "
                       f"hostname still resolves to public addresses")
            if not endpoint.owned or self.dns_ok:
                self.change_endpoint(endpoint, ENABLE_PRIVATE_DNS, "private-dns-off", service, summary,
                                     {**self.base, "endpoint_id": endpoint.id})
            self.blame(short, need.members, "private-dns-off")
        if endpoint.owned:
            self.uses_own_sg = self.own_sg_kept = True
            if self.own is None or self.own.id not in endpoint.group_ids:
                params = {**self.base, "endpoint_id": endpoint.id, "security_group": own_group_ref(self.snap)}
                self.actions.append(Action(
                    ADD_SECURITY_GROUP, service, endpoint.id, "endpoint-security-group-detached",
                    f"{service} endpoint {endpoint.id} lacks the remediator's security group",
                    fix_commands("endpoint-security-group-detached", params)))
        else:
            self.check_foreign_security_groups(service, endpoint, need)
        self.blame_closed_ingress(short, endpoint, need)
        self.check_policy(service, endpoint, offer, need)
        peers = sorted({s for e in serving for s in e.subnet_ids})
        groups = sorted({g for e in serving for g in e.group_ids})
        self.check_egress(short, need, groups, peers, records=endpoint.dns_record_ip_type)
        status = "present" if len(self.actions) + len(self.findings) == before else "incomplete"
        self.states.append(ServiceState(service, INTERFACE, reasons, status, endpoint.id))

    def plan_new_interface(self, service: str, reasons: tuple[str, ...], need: _Need,
                           azs: set[str], offer: Offer) -> None:
        short = short_name(service, self.snap.region)
        if self.snap.zones is None:
            self.needs_zones = True  # a centralised endpoint may serve it: asked before creating
            self.zone_hosts.update(service_hosts(self.snap, service, self.accounts(need)))
        if isinstance(offer, _NotRead):
            self.needs_offers.add(service)
            self.states.append(ServiceState(service, INTERFACE, reasons, "missing"))
            return
        offered = azs & (offer.azs if offer else frozenset())
        subnets, ip_type = placement(self.snap, need.subnets, offered, offer)
        records = dns_records_for(ip_type)
        if not subnets:
            # None: DescribeVpcEndpointServices does not know the service in this region at all.
            where = f"this region ({self.snap.region})" if offer is None else ", ".join(sorted(azs))
            self.findings.append(Finding(
                "AWS::EC2::VPC", self.snap.vpc_id, "service-not-offered",
                f"{service} is not offered in {where}: no endpoint can serve it there; needed by "
                f"{_first(reasons)}",
                fix_commands("service-not-offered", {**self.base, "service": service}), service))
            self.blame(short, need.members, "service-not-offered")
            self.states.append(ServiceState(service, INTERFACE, reasons, "unavailable"))
            return
        self.note_unoffered(service, azs - offered)
        policy = self.expected_policy(service, offer)
        params = {**self.base, "service": service, "subnet_ids": subnets,
                  "security_group": own_group_ref(self.snap), "policy_arg": _policy_arg(policy),
                  "ip_arg": ip_address_type_arg(ip_type, records)}
        summary = (f"no {service} interface endpoint in {self.snap.vpc_id}; needed by "
                   f"{_first(reasons)}; costs {prices.endpoint_vs_nat(len(subnets))}")
        if not self.dns_ok:
            # Private DNS is refused while the VPC DNS attributes are off, and an endpoint without
            # it serves nobody: report, and create it once the VPC finding is fixed.
            self.findings.append(Finding(
                "AWS::EC2::VPC", self.snap.vpc_id, "endpoint-missing",
                summary + " (waits for the VPC DNS attributes, see that finding)",
                fix_commands("endpoint-missing", params), service))
            self.sg_for_findings = True
        else:
            create = Action(CREATE_INTERFACE, service, "", "endpoint-missing", summary,
                            fix_commands("endpoint-missing", params), subnet_ids=subnets,
                            policy=policy, ip_address_type="" if ip_type == "ipv4" else ip_type,
                            dns_record_ip_type=records)
            if self.cap is not None and self.owned_interfaces + self.creates() >= self.cap:
                self.capped.append(create)
            else:
                self.uses_own_sg = True
                self.actions.append(create)
        self.blame(short, need.members, "endpoint-missing")
        if not self.snap.shared:  # the owner's endpoint: where it would go is not this account's to say
            self.check_egress(short, need, own_group_ids(self.snap), subnets, records=records)
        self.states.append(ServiceState(service, INTERFACE, reasons, "missing"))

    def ingress_closed(self, endpoint: EndpointInfo, member: tuple[int, str]) -> bool:
        """Whether the endpoint's groups, as they are now, keep the member's tasks out."""
        i, sid = member
        return ingress_allows_all(self.snap, endpoint.group_ids, task_cidrs(self.snap, sid, endpoint.dns_record_ip_type),
                                  self.workloads[i].security_group_ids) is False
    def accounts(self, need: _Need) -> tuple[str, ...]:
        """The registry accounts the need's workloads pull their ECR images from."""
        return registry_accounts((self.workloads[i] for i in sorted({i for i, _ in need.members})), self.snap.region)

    def plan_centralised(self, service: str, reasons: tuple[str, ...], need: _Need) -> bool:
        """A service no endpoint here serves, whose names a private hosted zone of the VPC takes
        (directly or through a Route 53 Profile): nothing is created (an endpoint with private DNS
        would conflict with the zone); a name the zone holds no record for is a finding. False:
        no zone takes it."""
        cover = zone_cover(self.snap, service, self.accounts(need))
        if cover is None:
            return False
        zone = cover.zone
        served_by = f"private hosted zone {zone.name or '?'} ({zone.id}, {zone.source})"
        if not cover.missing:
            unread = " (its records not readable: not checked)" if cover.unread else ""
            self.notes.append(f"{service}: no endpoint in {self.snap.vpc_id}, served through {served_by} by a "
                              f"centralised endpoint{unread}")
            self.states.append(ServiceState(service, INTERFACE, reasons, "present", served_by=served_by))
            return True
        short = short_name(service, self.snap.region)
        self.findings.append(Finding(
            "AWS::Route53::HostedZone", zone.id, "central-zone-record-missing",
            f"{service}: {served_by} takes its names in {self.snap.vpc_id}, but "
            f"{missing_records_text(self.snap, service, cover)}, so they resolve nowhere; add an alias record "
            "to the hub's endpoint (nothing is created here: an endpoint with private DNS would conflict with "
            "the zone)",
            zone_record_fix(self.snap, cover, service), service))
        self.blame(short, need.members, "central-zone-record-missing")
        self.states.append(ServiceState(service, INTERFACE, reasons, "incomplete", served_by=served_by))
        return True

    def check_foreign_security_groups(self, service: str, endpoint: EndpointInfo, need: _Need) -> None:
        closed = sorted({s for i, s in need.members if self.ingress_closed(endpoint, (i, s))})
        if not closed or not endpoint.group_ids:
            return
        group = endpoint.group_ids[0]
        permissions, source = ingress_source(self.snap, sorted(need.groups), [
            c for s in closed for c in task_cidrs(self.snap, s, endpoint.dns_record_ip_type)])
        params = {**self.base, "security_group": group, "ip_permissions": permissions}
        self.findings.append(Finding(
            "AWS::EC2::SecurityGroup", group, "endpoint-sg-closed",
            f"{service} endpoint {endpoint.id}: its security groups ({', '.join(endpoint.group_ids)}) "
            f"allow no TCP 443 from {', '.join(closed)}; allow it from {source}",
            fix_commands("endpoint-sg-closed", params), service))

    def blame_closed_ingress(self, short: str, endpoint: EndpointInfo, need: _Need) -> None:
        """The members the endpoint's groups, as they are now, do not let in (whoever fixes it)."""
        if endpoint.owned and (self.own is None or self.own.id not in endpoint.group_ids):
            # The tool's endpoint without its group: the group's ingress is what it will have.
            self.blame(short, {m for m in need.members if self.ingress_closed(endpoint, m)},
                       "endpoint-security-group-detached")
            return
        self.blame(short, {m for m in need.members if self.ingress_closed(endpoint, m)}, "endpoint-sg-closed")

    def check_egress(self, short: str, need: _Need, groups: Sequence[str], peers: Sequence[str],
                     gateway: str = "", records: str = "") -> None:
        """Whether each workload's own groups let TCP 443 out to the endpoint in subnets `peers`, whose
        DNS records are `records` (reach.egress_to)."""
        for i, sid in sorted(need.members):
            w = self.workloads[i]
            verdict = egress_to(self.snap, w.security_group_ids, groups, peer_cidrs(self.snap, sid, peers, records),
                                gateway)
            if verdict.ok is False:
                self.blame(short, [(i, sid)], "sg-egress-closed")
                services, fix = self.closed_egress.setdefault(w.security_group_ids[0], ([], []))
                services.extend(x for x in [short] if x not in services)
                fix.extend(c for c in verdict.fix if c not in fix)

    def egress_findings(self) -> None:
        for group, (services, fix) in sorted(self.closed_egress.items()):
            self.findings.append(Finding(
                "AWS::EC2::SecurityGroup", group, "sg-egress-closed",
                f"workload security group {group} allows no TCP 443 out to the endpoints of "
                f"{', '.join(services)}: connections are dropped before they leave the task "
                "(a workload's group: fix it yourself)", tuple(fix)))

    def pending(self, short: str, typ: EndpointType, live: list[EndpointInfo], need: _Need) -> None:
        """Every endpoint of the service is on its way: it carries traffic once available, and
        nothing is created beside it."""
        service = service_name(short, self.snap.region, typ)
        endpoint = min(live, key=rank)
        self.notes.append(f"{service} {typ.lower()} endpoint {endpoint.id} is {endpoint.state}: it carries "
                          "traffic once available")
        self.blame(short, need.members, ENDPOINT_PENDING)
        self.states.append(ServiceState(service, typ, tuple(need.reasons), "pending", endpoint.id))

    def note_unoffered(self, service: str, azs: set[str]) -> None:
        if azs:
            self.notes.append(f"{service} is not offered in {', '.join(sorted(azs))}: tasks there "
                              "reach it through an endpoint in another AZ")

    # ------------------------------------------------------------ gateway endpoints

    def plan_gateway(self, short: str, need: _Need) -> None:
        service = service_name(short, self.snap.region, GATEWAY)
        reasons = tuple(need.reasons)
        if not need.subnets:
            self.states.append(ServiceState(service, GATEWAY, reasons, "not-enforced"))
            return
        path = s3_interface_path(self.snap, service) if short == "s3" else None
        if path is not None:
            self.plan_s3_interface(service, reasons, need, path)
            return
        tables = gateway_tables(self.snap, need.subnets)
        live = live_endpoints(self.snap, service, GATEWAY)
        if not live:
            policy = self.expected_policy(service, self.snap.offers.get(service))
            params = {**self.base, "service": service, "route_table_ids": tuple(tables),
                      "policy_arg": _policy_arg(policy)}
            self.actions.append(Action(
                CREATE_GATEWAY, service, "", "gateway-endpoint-missing",
                f"no {service} gateway endpoint on {', '.join(tables)}; needed by {_first(reasons)} "
                "(gateway endpoints are free)",
                fix_commands("gateway-endpoint-missing", params), route_table_ids=tuple(tables),
                policy=policy))
            self.blame(short, need.members, "gateway-endpoint-missing")
            if short == "s3" and not self.snap.shared:
                self.check_egress(short, need, (), (), gateway=service)
            self.states.append(ServiceState(service, GATEWAY, reasons, "missing"))
            return
        if not any(e.serving for e in live):
            self.pending(short, GATEWAY, live, need)
            return
        live = [e for e in live if e.serving]
        endpoint = min(live, key=lambda e: (not e.owned, e.id))
        before = len(self.actions) + len(self.findings)
        covered = {t for e in live for t in e.route_table_ids}
        missing = tuple(t for t in tables if t not in covered)
        if missing:
            params = {**self.base, "endpoint_id": endpoint.id, "route_table_ids": missing}
            summary = (f"{service} gateway endpoint {endpoint.id} is not on route table(s) "
                       f"{', '.join(missing)} used by the workload's subnets")
            self.change_endpoint(endpoint, ADD_ROUTE_TABLES, "s3-gateway-missing-route-table", service,
                                 summary, params, route_table_ids=missing)
            self.blame(short, {m for m in need.members if (t := self.snap.route_table_of(m[1])) and t.id in missing},
                       "s3-gateway-missing-route-table")
        if short == "s3":
            self.check_layer_bucket(service, live, need)
            self.check_egress(short, need, (), (), gateway=service)
        if endpoint.owned:
            self.check_policy(service, endpoint, self.snap.offers.get(service), need)
        status = "present" if len(self.actions) + len(self.findings) == before else "incomplete"
        self.states.append(ServiceState(service, GATEWAY, reasons, status, endpoint.id))

    def plan_s3_interface(self, service: str, reasons: tuple[str, ...], need: _Need, endpoint: EndpointInfo) -> None:
        """S3 through an interface endpoint with private DNS for all resolvers (reach.s3_interface_path):
        its subnets, groups and policy are checked as an interface endpoint's, and no gateway is
        demanded (the guide followed is named in the note)."""
        short = short_name(service, self.snap.region)
        before = len(self.actions) + len(self.findings)
        self.notes.append(f"{service}: " + s3_interface_detail(endpoint))
        for kind, _ in vpc_dns_problems(self.snap):
            self.blame(short, need.members, kind)  # its private DNS needs them: the VPC finding says so
        covered = {self.az(s) for s in endpoint.subnet_ids}
        offer = self.snap.offers.get(service)
        uncovered = {self.az(s) for s in need.subnets} - covered
        unoffered = uncovered - offer.azs if offer is not None else set()
        wanting = {m for m in need.members if self.az(m[1]) not in covered and self.az(m[1]) not in unoffered}
        if offer is not None:
            self.note_unoffered(service, unoffered)
        subnets = one_subnet_per_az(self.snap, {m[1] for m in wanting})
        if subnets:
            summary = (f"{service} interface endpoint {endpoint.id} (the VPC's S3 path) has no subnet in "
                       f"{', '.join(sorted(self.az(s) for s in subnets))}, where the workload runs")
            self.change_endpoint(endpoint, ADD_SUBNETS, "endpoint-missing-az", service, summary,
                                 {**self.base, "endpoint_id": endpoint.id, "subnet_ids": subnets}, subnet_ids=subnets)
            self.blame(short, wanting, "endpoint-missing-az")
        self.check_foreign_security_groups(service, endpoint, need)
        self.blame_closed_ingress(short, endpoint, need)
        self.check_layer_bucket(service, [endpoint], need)
        self.check_egress(short, need, endpoint.group_ids, sorted(endpoint.subnet_ids),
                          records=endpoint.dns_record_ip_type)
        status = "present" if len(self.actions) + len(self.findings) == before else "incomplete"
        self.states.append(ServiceState(service, INTERFACE, reasons, status, endpoint.id,
                                        served_by=f"interface endpoint {endpoint.id} (private DNS for all resolvers)"))

    def check_layer_bucket(self, service: str, live: list[EndpointInfo], need: _Need) -> None:
        """Image layers come from S3: only a workload that pulls from this region's ECR needs them."""
        pullers = {m for m in need.members if pulls_from_ecr(self.workloads[m[0]], self.snap.region)}
        if not pullers:
            return
        blocking = [e for e in live if not policy_allows_ecr_layers(e.policy, self.snap.region)]
        for e in blocking:
            if not (self.scope is not None and e.owned):  # the tool's own: restored to its policy below
                self.findings.append(Finding(
                    "AWS::EC2::VPCEndpoint", e.id, "s3-policy-blocks-ecr-layers",
                    f"{service} gateway endpoint {e.id}: its policy does not allow s3:GetObject on "
                    f"{layer_bucket_arn(self.snap.region)}, where ECR keeps image layers"
                    + ecr_layer_fix_note(e.policy, self.snap.region),
                    fix_commands("s3-policy-blocks-ecr-layers",
                                 {**self.base, "endpoint_id": e.id,
                                  "policy": policy_with_ecr_layers(e.policy, self.snap.region)}),
                    service))
        ids = {e.id for e in blocking}
        self.blame("s3", {m for m in pullers if gateway_for(self.snap, live, m[1])[0].id in ids},
                   "s3-policy-blocks-ecr-layers")

    # ------------------------------------------------------------ endpoint policies

    def expected_policy(self, service: str, offer: Offer) -> str | None:
        """The policy the tool puts on an endpoint of `service` (None: none)."""
        if self.scope is None or (isinstance(offer, ServiceOffer) and not offer.policy_supported):
            return None
        return self.scope.policy(short_name(service, self.snap.region), self.snap.region)

    def own_blocked_calls(self, short: str, policy: str | None) -> list[str]:
        """The calls every feature makes through the tool's own `short` endpoint that its policy refuses."""
        assert self.scope is not None
        calls = {(c.action, c.resource, c.by_aws) for rule in FEATURE_CALLS.values() for c in rule
                 if c.service == short}
        blocked = []
        for action, resource, by_aws in sorted(calls, key=lambda c: (c[0], c[1] or "")):
            # None: an action without a resource ("*")
            target = arn(resource, self.snap.region, self.snap.account) if resource else "*"
            ctx = self.scope.context(resource=resource is not None, by_aws=by_aws)
            if not policy_allows(policy, action, target, ctx):
                blocked.append(action)
        return sorted(set(blocked))

    def check_policy(self, service: str, endpoint: EndpointInfo, offer: Offer, need: _Need) -> None:
        """The tool's own endpoint keeps the tool's policy; another's must not refuse what the workload calls."""
        short = short_name(service, self.snap.region)
        params = {**self.base, "endpoint_id": endpoint.id}
        if endpoint.owned and self.scope is not None:
            expected = self.expected_policy(service, offer)
            blocked = self.own_blocked_calls(short, endpoint.policy)
            if blocked:
                self.blame(short, need.members, "endpoint-policy-changed")
            if self.scope.mode == AWS_DEFAULT or expected is None:
                if blocked and self.scope.mode == AWS_DEFAULT:
                    self.actions.append(Action(
                        SET_ENDPOINT_POLICY, service, endpoint.id, "endpoint-policy-reset",
                        f"{service} endpoint {endpoint.id}: its policy refuses {', '.join(blocked)}; "
                        "resetting it to AWS's full-access default (EndpointPolicy aws-default)",
                        fix_commands("endpoint-policy-reset", params)))
                return
            if blocked or (self.scope.exact and not same_policy(endpoint.policy, expected)):
                why = f"refuses {', '.join(blocked)}" if blocked else "is not the one it was created with"
                self.actions.append(Action(
                    SET_ENDPOINT_POLICY, service, endpoint.id, "endpoint-policy-changed",
                    f"{service} endpoint {endpoint.id}: its policy {why}; restoring the "
                    f"{self.scope.mode}-scoped policy",
                    fix_commands("endpoint-policy-changed", {**params, "policy": expected}), policy=expected))
            return
        # Without a scope the tool keeps no policy of its own: its endpoints are judged as any other.
        refused: dict[tuple[str, str], None] = {}
        for i, sid in sorted(need.members):
            blocked_here = blocked_calls(self.snap, short, endpoint.policy, self.workloads[i], self.scope)
            if blocked_here:
                self.blame(short, [(i, sid)], "endpoint-policy-blocks-workload")
                refused.update(dict.fromkeys(blocked_here))
        if refused:
            calls = list(refused)
            self.findings.append(Finding(
                "AWS::EC2::VPCEndpoint", endpoint.id, "endpoint-policy-blocks-workload",
                f"{service} endpoint {endpoint.id}: its policy refuses "
                f"{', '.join(dict.fromkeys(a for a, _ in calls))}, which the workload calls "
                + ("(the remediator's endpoint, its policy changed since: it keeps no policy of its own, "
                   "EndpointPolicy is unset here)" if endpoint.owned else "(not created by this tool: fix it yourself)"),
                fix_commands("endpoint-policy-blocks-workload",
                             {**params, "policy": unblocking_policy(endpoint.policy, calls)}), service))

    # ------------------------------------------------------------ shared

    def change_endpoint(self, endpoint: EndpointInfo, kind: str, problem: str, service: str,
                        summary: str, params: Mapping[str, Value], subnet_ids: tuple[str, ...] = (),
                        route_table_ids: tuple[str, ...] = ()) -> None:
        """A change to an endpoint: an action when the tool owns it, a finding otherwise."""
        fix = fix_commands(problem, params)
        if endpoint.owned:
            self.actions.append(Action(kind, service, endpoint.id, problem, summary, fix, subnet_ids=subnet_ids,
                                       route_table_ids=route_table_ids))
        else:
            self.findings.append(Finding("AWS::EC2::VPCEndpoint", endpoint.id, problem,
                                         summary + " (not created by this tool: fix it yourself)",
                                         fix, service))

    def creates(self) -> int:
        return sum(1 for a in self.actions if a.kind == CREATE_INTERFACE)

    def cap_finding(self) -> None:
        if not self.capped:
            return
        kept = self.owned_interfaces + self.creates()
        services = ", ".join(short_name(a.service, self.snap.region) for a in self.capped)
        endpoint_azs = sum(len(a.subnet_ids) for a in self.capped)
        self.findings.append(Finding(
            "AWS::EC2::VPC", self.snap.vpc_id, "endpoint-cap-reached",
            f"{len(self.capped)} interface endpoint(s) not created in {self.snap.vpc_id} ({services}): the "
            f"remediator keeps {kept} there and its cap is {self.cap} per VPC. They would cost "
            f"${prices.endpoints_monthly(endpoint_azs):.2f}/month + ${prices.INTERFACE_ENDPOINT_PER_GB}/GB "
            f"({endpoint_azs} endpoint-AZs, us-east-1 prices, {prices.PRICES_AS_OF}). Raise the stack parameter "
            f"MaxEndpointsPerVpc to {kept + len(self.capped)} (CLI: --max-endpoints-per-vpc), or create them "
            "with the commands below",
            fix_commands("endpoint-cap-reached", self.base) + tuple(c for a in self.capped for c in a.fix)))

    def quota_check(self) -> None:
        """Interface endpoints count against a quota per VPC (every live one, whoever made it, and
        Gateway Load Balancer endpoints too): when the creates would pass it, none is made (no
        partial create) and one `endpoint-quota-reached` finding gives the numbers, the increase to
        ask for and the creates to run once it is granted. The quota is read (`needs_quotas`) only
        when a create is planned."""
        creates = [a for a in self.actions if a.kind == CREATE_INTERFACE]
        if not creates or self.snap.shared:
            return
        quota = self.snap.interface_quota
        if quota is None:
            self.needs_quotas = True
            return
        in_use = sum(1 for e in self.snap.endpoints if e.live and e.type in INTERFACE_QUOTA_TYPES)
        if in_use + len(creates) <= quota.value:
            return
        self.actions = [a for a in self.actions if a not in creates]
        self.uses_own_sg = self.own_sg_kept
        self.sg_for_findings = True  # the creates' commands look the own group up: report its create
        wanted = in_use + len(creates)
        services = ", ".join(short_name(a.service, self.snap.region) for a in creates)
        source = (f"the quota Service Quotas applies ({quota.code})" if not quota.unread else
                  f"AWS's default for {quota.code}, since Service Quotas did not say ({quota.unread}): "
                  "the applied value may be higher")
        self.findings.append(Finding(
            "AWS::EC2::VPC", self.snap.vpc_id, "endpoint-quota-reached",
            f"{len(creates)} interface endpoint(s) not created in {self.snap.vpc_id} ({services}): the VPC holds "
            f"{in_use} interface endpoint(s) and the quota is {quota.value} per VPC ({source}); creating them "
            f"would make {wanted}, so none is created. Ask for {wanted} (the first commands), then create them "
            "with the commands below",
            fix_commands("endpoint-quota-reached", {**self.base, "quota_code": quota.code,
                                                     "desired_value": str(wanted)})
            + tuple(c for a in creates for c in a.fix)))

    def plan_own_security_group(self) -> None:
        if not self.uses_own_sg:
            if self.sg_for_findings:
                self.own_security_group_findings()
            return
        cidrs = self.snap.all_cidrs  # IPv4 and IPv6: tasks of dual-stack and IPv6-only subnets use the latter
        squatter = self.snap.named_security_group if self.own is None else None
        if squatter is not None:
            self.squatted(squatter.id)
            return
        if self.own is None:
            params = {**self.base, "security_group": own_group_ref(self.snap),
                      "ip_permissions": ingress_443(cidrs=cidrs, why="vpce-remediator")}
            self.actions.insert(0, Action(
                CREATE_SECURITY_GROUP, "", "", "endpoint-security-group-missing",
                f"no security group for the remediator's endpoints in {self.snap.vpc_id} "
                f"(TCP 443 from {', '.join(cidrs)})",
                fix_commands("endpoint-security-group-missing", params), cidrs=cidrs))
            return
        missing = tuple(c for c in cidrs if not ingress_allows(self.snap, (self.own.id,), c, ()))
        if missing:
            params = {**self.base, "security_group": self.own.id,
                      "ip_permissions": ingress_443(cidrs=missing, why="vpce-remediator")}
            self.actions.insert(0, Action(
                AUTHORIZE_INGRESS, "", self.own.id, "endpoint-sg-closed",
                f"security group {self.own.id} lacks TCP 443 from {', '.join(missing)}",
                fix_commands("endpoint-sg-closed", params), cidrs=missing))

    def own_security_group_findings(self) -> None:
        """Endpoint creates that wait for the VPC's DNS attributes are reported with commands that
        look the own group up by name: report its create (or its missing ingress) too, so those
        commands find it. Nothing is made before the endpoints can be."""
        before = list(self.actions)
        self.uses_own_sg = True
        self.plan_own_security_group()
        self.uses_own_sg = False
        for a in [a for a in self.actions if a not in before]:
            self.actions.remove(a)
            rtype, rid = ("AWS::EC2::SecurityGroup", a.resource_id) if a.resource_id else ("AWS::EC2::VPC",
                                                                                           self.snap.vpc_id)
            self.findings.append(Finding(rtype, rid, a.problem, a.summary + " (the endpoints that wait for the "
                                         "VPC DNS attributes use it)", a.fix))

    def squatted(self, group_id: str) -> None:
        """A group the tool cannot prove its own holds its name, so it can make no group of its own:
        say so, and turn every change that needs the group into a finding that waits for it."""
        waiting = [a for a in self.actions if a.kind in (CREATE_INTERFACE, ADD_SECURITY_GROUP)]
        self.actions = [a for a in self.actions if a not in waiting]
        self.findings.append(Finding(
            "AWS::EC2::SecurityGroup", group_id, "endpoint-security-group-squatted",
            f"security group {group_id} is named {OWN_SG_NAME} in {self.snap.vpc_id} but is not the "
            "remediator's (not in its records, or not provably its own: another description, or "
            "used by network interfaces other than endpoints'); the remediator never opens or "
            "attaches it, and cannot create its own under that name until it is deleted",
            fix_commands("endpoint-security-group-squatted", {**self.base, "security_group": group_id})))
        for a in waiting:
            rtype, rid = ("AWS::EC2::VPCEndpoint", a.resource_id) if a.resource_id else ("AWS::EC2::VPC",
                                                                                         self.snap.vpc_id)
            self.findings.append(Finding(rtype, rid, a.problem,
                                         f"{a.summary} (waits for {group_id} to be deleted, see that finding)",
                                         a.fix, a.service))

    def workload_problem(self, i: int, problem: WorkloadProblem, subnets: list[str]) -> None:
        w = self.workloads[i]
        cover = cross_region_cover(self.snap, w, problem, subnets)
        reason = problem.summary.split(";", 1)[0]
        if cover is not None and cover.served:
            for leg in cover.legs:
                if leg.service not in self.cross_served and leg.endpoint is not None:
                    self.cross_served.add(leg.service)
                    self.states.append(ServiceState(leg.service, INTERFACE, (reason,), "present", leg.endpoint.id,
                                                    served_by=f"cross-Region endpoint for {leg.region}"))
            self.notes.append(f"{reason}: served by cross-Region endpoints {cover.text()}")
            return
        if cover is not None and self.cross_region and self.dns_ok and not self.snap.shared and \
                all(leg.endpoint is None or not leg.wanting for leg in cover.legs):
            # CrossRegionEndpoints: what is missing is created (plan_cross_region), once for every
            # workload that needs it; those already there serve as they are.
            for leg in cover.missing:
                _, where, reasons = self.cross_wanted.setdefault(leg.service, (leg, set(), []))
                where.update(subnets)
                reasons.extend(r for r in [reason] if r not in reasons)
            self.blame("*", [(i, s) for s in subnets], "cross-region-endpoint-missing")
            return
        fix = workload_problem_fix(self.snap, w, problem, cover, subnets)
        wanting = f" (cross-Region endpoints: {cover.wanting()})" if cover is not None and \
            len(cover.missing) < len(cover.legs) else ""
        resource_type, resource_id = _workload_resource(w)
        self.findings.append(Finding(resource_type, resource_id, problem.kind,
                                     problem.summary + wanting + fix.note(), fix.commands))
        self.blame("*", [(i, s) for s in subnets], problem.kind)

    def agent_restart_note(self) -> None:
        """Container instances already running keep the connections their ECS agent made before the
        ECS endpoints existed: once the endpoints are created, restart (update) each instance's agent
        so it reaches ECS through them (ECS guide, interface VPC endpoints)."""
        ecs_creates = sorted(short_name(a.service, self.snap.region) for a in self.actions
                             if a.kind == CREATE_INTERFACE and short_name(a.service, self.snap.region) in ECS_CREATE_ORDER)
        clusters = sorted({c for w in self.workloads if w.launch_type in ("EC2", "MANAGED_INSTANCES")
                           and (c := w.cluster)})
        for cluster in clusters if ecs_creates else ():
            commands = render_fix(AGENT_RESTART, {**self.base, "cluster": cluster}).commands
            if not commands:
                continue  # a cluster name ECS would not give: nothing safe to print
            self.notes.append(f"after the {', '.join(ecs_creates)} endpoints are created, restart the ECS agent of "
                              f"cluster {cluster}'s running container instances so they use them: "
                              + "; then ".join(commands))

    def plan_cross_region(self) -> None:
        """The cross-Region endpoints CrossRegionEndpoints lets the tool create: one per service,
        a subnet in each AZ the workloads run in (none where AWS does not support it), the tool's
        group, private DNS on (S3's for every resolver: no gateway can serve another Region's S3)."""
        for service, (leg, where, reasons) in sorted(self.cross_wanted.items()):
            subnets = cross_region_subnets(self.snap, sorted(where))
            if not subnets:  # every workload AZ is one AWS gives no cross-Region access: a create would fail
                self.notes.append(f"{service} (ServiceRegion {leg.region}): the workloads' AZs "
                                  f"({', '.join(sorted({self.az(s) for s in where}))}) are all ones AWS does not "
                                  "support for cross-Region access: no cross-Region endpoint can be placed")
                self.states.append(ServiceState(service, INTERFACE, tuple(reasons), "unavailable"))
                continue
            summary = (f"no cross-Region {service} interface endpoint in {self.snap.vpc_id} (ServiceRegion "
                       f"{leg.region}); needed by {_first(tuple(reasons))}; costs "
                       f"{prices.endpoint_vs_nat(len(subnets))} plus inter-Region data transfer")
            fix = cross_region_create_fix(self.snap, [leg], subnets)
            create = Action(CREATE_INTERFACE, service, "", "cross-region-endpoint-missing", summary, fix.commands,
                            subnet_ids=subnets, service_region=leg.region)
            if self.cap is not None and self.owned_interfaces + self.creates() >= self.cap:
                self.capped.append(create)
            else:
                self.uses_own_sg = True
                self.actions.append(create)
            self.states.append(ServiceState(service, INTERFACE, tuple(reasons), "missing"))

    def nat_note(self, nat_subnets: dict[str, str], aggregated: dict[tuple[str, str], _Need]) -> None:
        interface_services = sum(1 for (_, t) in aggregated if t == INTERFACE)
        azs = {self.az(s) for s in nat_subnets}
        routes = ", ".join(f"{s} ({target})" for s, target in sorted(nat_subnets.items()))
        self.notes.append(
            f"not enforced: {routes} route 0.0.0.0/0 to a NAT or internet gateway, so the workload "
            f"reaches AWS services without endpoints (set EnforceOnNatRoutedSubnets to enforce). "
            + prices.cost_comparison(interface_services * len(azs), len(azs)))

    def for_the_owner(self) -> None:
        """A participant of a shared VPC sees none of the owner's endpoints and may create none: every
        change to the VPC, its endpoints or their groups becomes one finding with read-only commands
        for the owner; what the participant holds (its workloads' groups and images) stays its own."""
        participant = (SOURCE, SG_EGRESS, MOUNT_TARGET, NFS)  # its images, its groups, its file systems
        owner_side = [f for f in self.findings if PROBLEM_HOP.get(f.problem) not in participant]
        if not self.actions and not owner_side:
            return
        services = sorted({short_name(st.service, self.snap.region) for st in self.states
                           if st.status in ("missing", "incomplete", "unavailable")})
        self.findings = [Finding(
            "AWS::EC2::VPC", self.snap.vpc_id, "shared-vpc-participant",
            f"VPC {self.snap.vpc_id} is shared with account {self.snap.account} by its owner, account "
            f"{self.snap.owner}: its endpoints are the owner's, and a participant neither sees nor creates "
            f"them. The workloads here need {', '.join(services) or 'the endpoints listed'}: the owner checks "
            f"them with the commands below (run as account {self.snap.owner}), or deploys the remediator there",
            shared_vpc_fix(self.snap))] + [f for f in self.findings if f not in owner_side]
        self.actions = []
        self.states = [replace(st, status="not-visible") if st.status in ("missing", "incomplete") else st
                       for st in self.states]

    def build(self) -> Plan:
        # Before the participant's view folds the findings: whether there is anything to say at all.
        dhcp = self.needs_dhcp()
        if self.snap.shared:
            self.for_the_owner()
        verdicts = tuple(sorted(self.verdicts, key=lambda v: (v.workload, v.subnet, v.service, v.hop, v.problem)))
        # "present" means reachable: an endpoint the workload cannot reach (its own group's egress,
        # say, found after the endpoint was judged) is incomplete. Custom DNS servers are a caveat
        # no API can settle (its own finding says so), not a fault of the endpoint.
        wanting = {v.service for v in verdicts if v.problem not in (ENDPOINT_PENDING, "dhcp-custom-dns")}
        states = [replace(st, status="incomplete")
                  if st.status == "present" and short_name(st.service, self.snap.region) in wanting else st
                  for st in self.states]
        return Plan(self.snap.vpc_id, tuple(states), tuple(self.actions), tuple(self.findings),
                    tuple(self.notes), frozenset(self.needs_offers), self.needs_zones, verdicts,
                    frozenset(self.zone_hosts), self.needs_quotas, frozenset(self.needs_file_systems), dhcp)

    def needs_dhcp(self) -> bool:
        """Whether to read the VPC's DHCP option set (see `Plan.needs_dhcp`)."""
        return (self.dhcp_wanted and self.snap.dhcp is None and self.snap.dhcp_options_id.startswith("dopt-")
                and bool(self.actions or self.findings or self.needs_offers or self.needs_zones))


# ---------------------------------------------------------------- helpers


def _policy_arg(policy: str | None) -> Shell:
    return shell(" --policy-document {policy}", {"policy": policy}) if policy else NO_ARG


def _first(reasons: tuple[str, ...]) -> str:
    if not reasons:
        return "the workload"
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return reasons[0] + more


def _workload_resource(w: Workload) -> tuple[str, str]:
    if w.kind == "service":
        return "AWS::ECS::Service", w.arn
    if w.task_definition_arn:
        return "AWS::ECS::TaskDefinition", w.task_definition_arn
    return "AWS::ECS::Cluster", w.arn
