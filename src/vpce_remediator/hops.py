"""Hops: every step between a private task and an AWS service it needs, checked from data. Pure.

`check_hops` is what `vpce-remediator doctor` reasons with, in place of `dig`, `nc` and `telnet`
from a debug instance: for each endpoint service the workload needs and each of its subnets, does
the name resolve to the endpoint, does the endpoint exist in the right shape and AZ, do both
security groups and both network ACLs let TCP 443 and its replies through, is the S3 gateway on
the subnet's route table, do the endpoint policies let an image pull through. It never calls AWS:
`doctor.read_facts` reads everything once and hands it over as `DoctorFacts`.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rules import GATEWAY, INTERFACE, Requirements, Workload
from rules.formats import is_ecr_repository
from rules.refs import parse_image
from vpce_remediator import prices
from vpce_remediator.fixes import Json, Value, fix_commands, ingress_443, own_sg_lookup, render_fix
from vpce_remediator.plan import WorkloadNeeds, plan_remediation
from vpce_remediator.policies import (
    ecr_layer_fix_note,
    layer_bucket_arn,
    partition,
    policy_allows,
    policy_allows_ecr_layers,
    policy_plus,
    policy_with_ecr_layers,
)
from vpce_remediator.snapshot import EndpointInfo, VpcSnapshot, cidr_contains, service_prefix

PASS, WARN, FAIL = "pass", "warn", "fail"
ANY_SERVICE = "*"  # the `service` of hops that hold for every service: the subnet's route out, the image source

# Hop names, in the order a packet meets them (and the order the table prints them).
ROUTE = "route"  # a NAT or internet-gateway route: the alternative path
SOURCE = "source"  # images, secrets, log groups no endpoint in this region can serve
ENDPOINT = "endpoint"
DNS = "dns"
ROUTE_TABLE = "route-table"
AZ = "az"
POLICY = "policy"
SG_EGRESS = "sg-egress"
SG_INGRESS = "sg-ingress"
NACL = "nacl"
HOP_ORDER = (ROUTE, SOURCE, ENDPOINT, DNS, ROUTE_TABLE, AZ, POLICY, SG_EGRESS, SG_INGRESS, NACL)

_SERVING = frozenset({"available", "modifying"})  # endpoint states that carry traffic
_GONE = frozenset({"deleting", "deleted", "expired"})  # listed for a while after deletion; ignored

# Where replies come back to: the client's ephemeral ports. Linux picks from 32768-60999 and
# Windows from 49152-65535; a fix opens 1024-65535, the range AWS recommends for network ACLs.
_EPHEMERAL = {"linux": (32768, 60999), "windows": (49152, 65535)}
_EPHEMERAL_FIX = (1024, 65535)

# The pulls an ECR endpoint policy must allow: the agent asks ecr.api for a token, then the
# registry API (ecr.dkr) for the manifest and the layer URLs. Layers themselves come from S3.
_ECR_API_ACTIONS = ("ecr:GetAuthorizationToken",)
_ECR_DKR_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")

# Fix commands for hops the engine never reports (it does not manage egress rules or ACLs).
_FIXES: dict[str, tuple[str, ...]] = {
    "sg-egress-closed": (
        "aws ec2 authorize-security-group-egress --region {region} --group-id {security_group} "
        "--ip-permissions {ip_permissions}",
    ),
    "nacl-closed": (
        "aws ec2 create-network-acl-entry --region {region} --network-acl-id {acl_id} --rule-number {rule} "
        "--{direction} --protocol tcp --port-range From={from_port},To={to_port} --cidr-block {cidr} "
        "--rule-action allow",
    ),
    "ecr-policy-blocks-pull": (
        "aws ec2 modify-vpc-endpoint --region {region} --vpc-endpoint-id {endpoint_id} "
        "--policy-document {policy}",
    ),
}


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class Check:
    """One hop for one service from one subnet: pass, warn (works, but mind this) or fail."""

    service: str  # short endpoint service name ("ecr.dkr"), or ANY_SERVICE
    subnet: str
    hop: str
    level: str
    detail: str
    fix: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.level != FAIL

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "subnet": self.subnet, "hop": self.hop, "ok": self.ok,
                "level": self.level, "detail": self.detail, "fix": list(self.fix)}


@dataclass(frozen=True)
class AclEntry:
    number: int
    egress: bool
    protocol: str  # "-1" (all), "6" (tcp), ...
    allow: bool
    cidr: str  # IPv4 only; IPv6 entries are not read
    from_port: int = 0
    to_port: int = 65535


@dataclass(frozen=True)
class NetworkAcl:
    id: str
    subnet_ids: tuple[str, ...]
    entries: tuple[AclEntry, ...]


@dataclass(frozen=True)
class EgressRule:
    protocol: str
    from_port: int
    to_port: int
    cidrs: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    prefix_list_ids: tuple[str, ...] = ()

    def allows_https(self) -> bool:
        return self.protocol == "-1" or (self.protocol == "tcp" and self.from_port <= 443 <= self.to_port)


@dataclass(frozen=True)
class PrivateZone:
    id: str
    name: str  # without the trailing dot


@dataclass(frozen=True)
class PrefixList:
    id: str
    cidrs: tuple[str, ...]  # empty when the API did not say (moto)


@dataclass(frozen=True)
class DoctorFacts:
    """Everything the hops depend on, read once by `doctor.read_facts`."""

    workload: Workload
    requirements: Requirements
    snapshot: VpcSnapshot  # with the offers of every interface service the workload needs
    egress: Mapping[str, tuple[EgressRule, ...]]  # workload security group -> its egress rules
    acls: tuple[NetworkAcl, ...] | None  # None: not readable
    zones: tuple[PrivateZone, ...] | None  # private hosted zones associated with the VPC; None: not readable
    dns_names: Mapping[str, str] = field(default_factory=dict)  # full service name -> its private DNS name
    s3_prefix_list: PrefixList | None = None

    def acl_of(self, subnet_id: str) -> NetworkAcl | None:
        return next((a for a in self.acls or () if subnet_id in a.subnet_ids), None)


# ---------------------------------------------------------------- the hops


def check_hops(facts: DoctorFacts) -> list[Check]:
    """Every hop for every service the workload needs from every one of its subnets."""
    return _Doctor(facts).run()


class _Doctor:
    def __init__(self, facts: DoctorFacts) -> None:
        self.f = facts
        self.w = facts.workload
        self.snap = facts.snapshot
        self.prefix = service_prefix(self.snap.region)
        self.base: dict[str, Value] = {"region": self.snap.region, "vpc_id": self.snap.vpc_id}
        self.subnets = [s for s in self.w.subnet_ids if s in self.snap.subnets]
        self.alt = {s: self.alternative_path(s) for s in self.subnets}
        self.checks: list[Check] = []
        # ACL entries the fixes of this run ask for, so no two of them are given one rule number.
        self.acl_rules: dict[tuple[str, bool, str, int, int], int] = {}

    def run(self) -> list[Check]:
        for sid in self.subnets:
            self.route(sid)
        self.sources()
        for need in self.f.requirements.needs:
            if need.type == INTERFACE:
                self.interface(need.service)
            else:
                self.gateway(need.service)
        order = {h: i for i, h in enumerate(HOP_ORDER)}
        services = [ANY_SERVICE] + [n.service for n in self.f.requirements.needs]
        position = {s: i for i, s in enumerate(services)}
        subnet_pos = {s: i for i, s in enumerate(self.subnets)}
        return sorted(self.checks, key=lambda c: (position.get(c.service, 99), order.get(c.hop, 99),
                                                  subnet_pos.get(c.subnet, 99)))

    def add(self, service: str, subnet: str, hop: str, level: str, detail: str,
            fix: Iterable[str] = ()) -> None:
        self.checks.append(Check(service, subnet, hop, level, detail, tuple(dict.fromkeys(fix))))

    def az(self, subnet_id: str) -> str:
        subnet = self.snap.subnets.get(subnet_id)
        return subnet.az if subnet else "?"

    def cidr(self, subnet_id: str) -> str:
        subnet = self.snap.subnets.get(subnet_id)
        return subnet.cidr if subnet else ""

    # ------------------------------------------------------------ the way out and what no endpoint serves

    def alternative_path(self, subnet_id: str) -> str | None:
        """The NAT or internet gateway a subnet's 0.0.0.0/0 reaches, as the engine counts them."""
        table = self.snap.route_table_of(subnet_id)
        if table is None or table.egress not in ("nat", "igw"):
            return None
        # An internet gateway only carries traffic from tasks with a public IP (engine's rule too).
        if table.egress == "igw" and self.w.assign_public_ip is False:
            return None
        return table.egress_target

    def route(self, sid: str) -> None:
        table = self.snap.route_table_of(sid)
        alt = self.alt[sid]
        if table is None:
            self.add(ANY_SERVICE, sid, ROUTE, PASS, "no route table: the endpoints are the only way out")
            return
        which = f"{table.id}{' (main)' if table.main and sid not in table.subnet_ids else ''}"
        if alt:
            kind = "NAT gateway" if table.egress == "nat" else "internet gateway"
            self.add(ANY_SERVICE, sid, ROUTE, WARN,
                     f"alternative path: {which} sends 0.0.0.0/0 to {kind} {alt}, so a service without a "
                     f"working endpoint is reached through it instead (NAT: ${prices.NAT_GATEWAY_PER_GB}/GB)")
        elif table.egress == "igw":
            self.add(ANY_SERVICE, sid, ROUTE, PASS, f"{which} routes to internet gateway {table.egress_target}, "
                                                    "but the task has no public IP: the endpoints are the only way out")
        elif table.egress:
            self.add(ANY_SERVICE, sid, ROUTE, PASS,
                     f"{which} sends 0.0.0.0/0 to {table.egress} {table.egress_target}: whether that reaches "
                     "the internet is not visible from this VPC, so the endpoints must work")
        else:
            self.add(ANY_SERVICE, sid, ROUTE, PASS,
                     f"{which} has no route to a NAT or internet gateway: the endpoints are the only way out")

    def sources(self) -> None:
        """Images, secrets and log groups that no endpoint in this region can serve."""
        kinds = {p.kind for p in self.f.requirements.problems}
        if not kinds:
            return
        # The planner already knows these problems and their fix commands; ask it (pure).
        plan = plan_remediation([WorkloadNeeds(self.w, self.f.requirements)], self.snap, enforce_on_nat_routed=True)
        for finding in (f for f in plan.findings if f.problem in kinds):
            for sid in self.subnets:
                alt = self.alt[sid]
                if alt:
                    self.add(ANY_SERVICE, sid, SOURCE, WARN, f"{finding.summary} (reached through {alt} here)",
                             finding.fix)
                else:
                    self.add(ANY_SERVICE, sid, SOURCE, FAIL, finding.summary, finding.fix)

    # ------------------------------------------------------------ interface endpoints

    def interface(self, short: str) -> None:
        service = self.prefix + short
        mine = self.endpoints_of(service)
        live = [e for e in mine if e.type == INTERFACE and e.state.lower() in _SERVING]
        endpoint = _best(live) or _best([e for e in mine if e.type == INTERFACE])
        zone = self.zone_for(service)
        for sid in self.subnets:
            if endpoint is None or endpoint not in live:
                if zone is not None:
                    self.centralised(short, service, sid, zone)
                else:
                    self.missing_interface(short, service, sid, endpoint, mine)
                continue
            self.add(short, sid, ENDPOINT, PASS,
                     f"{endpoint.id} is {endpoint.state} (Interface, subnets in "
                     f"{', '.join(sorted({self.az(s) for s in endpoint.subnet_ids})) or 'no AZ'})")
            resolves = self.dns(short, service, sid, live, zone)
            self.interface_az(short, service, sid, live, endpoint)
            self.ecr_policy(short, sid, endpoint, resolves)
            peers = tuple(sorted({s for e in live for s in e.subnet_ids}))
            groups = tuple(sorted({g for e in live for g in e.group_ids}))
            self.egress(short, sid, resolves, groups, tuple(self.cidr(p) for p in peers if self.cidr(p)), None)
            self.endpoint_ingress(short, sid, endpoint, resolves)
            self.nacl(short, sid, resolves, [(p, self.cidr(p)) for p in peers if self.cidr(p)])

    def missing_interface(self, short: str, service: str, sid: str, dead: EndpointInfo | None,
                          mine: list[EndpointInfo]) -> None:
        alt = self.alt[sid]
        gateway = next((e for e in mine if e.type == GATEWAY), None)
        if dead is not None and dead.state.lower() == "pending":
            self.add(short, sid, ENDPOINT, WARN, f"{dead.id} is pending: it carries traffic once available")
            return
        if dead is not None:
            what = f"{service} endpoint {dead.id} is {dead.state}: it carries no traffic"
        elif gateway is not None:
            what = (f"{service} has only the Gateway endpoint {gateway.id}; this workload needs an Interface "
                    "endpoint")
        else:
            what = f"no {service} interface endpoint in {self.snap.vpc_id}"
        zones = "" if self.f.zones is not None else " (private hosted zones not readable, so a centralised " \
                                                    "endpoint would not be seen)"
        level, why = (WARN, f"; traffic goes through {alt} instead") if alt else (FAIL, "")
        self.add(short, sid, ENDPOINT, level, what + why + zones, self.create_interface_fix(service))
        self.dns_attributes_only(short, sid)

    def create_interface_fix(self, service: str) -> tuple[str, ...]:
        offer = self.snap.offers.get(service)
        offered = offer.azs if offer else None
        chosen: dict[str, str] = {}
        for sid in sorted(self.subnets):
            az = self.az(sid)
            if (offered is None or az in offered) and az not in chosen:
                chosen[az] = sid
        if not chosen:
            return fix_commands("service-not-offered", {**self.base, "service": service})
        own = self.snap.own_security_group or self.snap.named_security_group  # printed, never acted on
        group = own.id if own else own_sg_lookup(self.base)
        commands: tuple[str, ...] = ()
        if own is None:
            commands = fix_commands("endpoint-security-group-missing", {
                **self.base, "security_group": group,
                "ip_permissions": ingress_443(cidrs=self.snap.cidrs, why="vpce-remediator")})
        return commands + fix_commands("endpoint-missing", {
            **self.base, "service": service, "subnet_ids": tuple(chosen[az] for az in sorted(chosen)),
            "security_group": group})

    def centralised(self, short: str, service: str, sid: str, zone: PrivateZone) -> None:
        self.add(short, sid, ENDPOINT, PASS,
                 f"no endpoint in {self.snap.vpc_id}, but private hosted zone {zone.name} ({zone.id}) is "
                 "associated with it: a centralised endpoint in another VPC serves it (its AZs, security "
                 "groups and network ACLs are checked there, not here)")
        problems, fix = self.vpc_dns_problems()
        if problems:
            self.add(short, sid, DNS, FAIL, "; ".join(problems) + f": the zone {zone.name} is not used", fix)
        else:
            self.add(short, sid, DNS, PASS, f"{self.dns_name(service)} resolves through zone {zone.name}")

    def vpc_dns_problems(self) -> tuple[list[str], list[str]]:
        problems: list[str] = []
        fix: list[str] = []
        if not self.snap.dns_support:
            problems.append(f"VPC {self.snap.vpc_id} has enableDnsSupport=false (its resolver is off)")
            fix += fix_commands("vpc-dns-support-off", self.base)
        if not self.snap.dns_hostnames:
            problems.append(f"VPC {self.snap.vpc_id} has enableDnsHostnames=false")
            fix += fix_commands("vpc-dns-hostnames-off", self.base)
        return problems, fix

    def dns_attributes_only(self, short: str, sid: str) -> None:
        """With no endpoint yet, the VPC attributes still decide whether one could work."""
        problems, fix = self.vpc_dns_problems()
        if problems:
            self.add(short, sid, DNS, self.bypass_level(sid, fatal=not self.snap.dns_support),
                     "; ".join(problems) + ": an endpoint's private DNS cannot work until it is on", fix)

    def dns(self, short: str, service: str, sid: str, live: list[EndpointInfo], zone: PrivateZone | None) -> bool:
        """Whether the service's name resolves to the endpoint; adds the dns hop."""
        name = self.dns_name(service)
        problems, fix = self.vpc_dns_problems()
        private = next((e for e in live if e.private_dns), None)
        if private is None and zone is None:
            endpoint = live[0]
            problems.append(f"private DNS is off on {endpoint.id}")
            fix += fix_commands("private-dns-off", {**self.base, "endpoint_id": endpoint.id})
        if not problems:
            how = f"private DNS of {private.id}" if private else f"private hosted zone {zone.name if zone else '?'}"
            self.add(short, sid, DNS, PASS, f"{name} resolves to the endpoint ({how})")
            return True
        alt = self.alt[sid]
        # Without the VPC resolver nothing resolves at all, whatever the route out.
        level = self.bypass_level(sid, fatal=not self.snap.dns_support)
        effect = (f"{name} does not resolve at all" if not self.snap.dns_support
                  else f"{name} resolves to public addresses, not to the endpoint")
        why = f"; traffic goes through {alt} instead" if level == WARN else ""
        self.add(short, sid, DNS, level, "; ".join(problems) + ": " + effect + why, fix)
        return False

    def interface_az(self, short: str, service: str, sid: str, live: list[EndpointInfo],
                     endpoint: EndpointInfo) -> None:
        az = self.az(sid)
        covered = {self.az(s) for e in live for s in e.subnet_ids}
        if az in covered:
            self.add(short, sid, AZ, PASS, f"{endpoint.id} has a subnet in the task's AZ")
            return
        offer = self.snap.offers.get(service)
        if offer is not None and az not in offer.azs:
            self.add(short, sid, AZ, WARN, f"{service} is not offered in {az}: tasks here reach "
                                           f"{', '.join(sorted(covered))} across AZs")
            return
        self.add(short, sid, AZ, WARN,
                 f"{endpoint.id} has no subnet in {az}: tasks here cross to "
                 f"{', '.join(sorted(covered)) or 'no AZ'} (inter-AZ data charges), one AZ failure away "
                 "from losing the service",
                 fix_commands("endpoint-missing-az", {**self.base, "endpoint_id": endpoint.id, "subnet_ids": (sid,)}))

    def ecr_policy(self, short: str, sid: str, endpoint: EndpointInfo, used: bool) -> None:
        repos = self.ecr_repositories()
        actions = {"ecr.api": _ECR_API_ACTIONS, "ecr.dkr": _ECR_DKR_ACTIONS}.get(short)
        if not repos or not actions:
            return
        resources = ["*"] if short == "ecr.api" else repos
        blocked = [(a, r) for a in actions for r in resources if not policy_allows(endpoint.policy, a, r)]
        if not blocked:
            self.add(short, sid, POLICY, PASS, f"{endpoint.id}'s policy allows {', '.join(actions)}")
            return
        statement = {"Sid": "AllowEcsImagePulls", "Effect": "Allow", "Principal": "*",
                     "Action": sorted({a for a, _ in blocked}), "Resource": sorted({r for _, r in blocked})}
        fix = _render(_FIXES["ecr-policy-blocks-pull"], {
            **self.base, "endpoint_id": endpoint.id, "policy": policy_plus(endpoint.policy, statement)})
        what = ", ".join(f"{a} on {r}" for a, r in blocked)
        self.add(short, sid, POLICY, self.bypass_level(sid, used=used),
                 f"{endpoint.id}'s endpoint policy does not allow {what}: the image pull is refused", fix)

    def endpoint_ingress(self, short: str, sid: str, endpoint: EndpointInfo, used: bool) -> None:
        groups = [g for gid in endpoint.group_ids if (g := self.snap.security_groups.get(gid)) is not None]
        if not groups or len(groups) < len(endpoint.group_ids):
            self.add(short, sid, SG_INGRESS, WARN, f"security groups of {endpoint.id} not readable in "
                                                   f"{self.snap.vpc_id}: not checked")
            return
        sources = set(self.w.security_group_ids)
        cidr = self.cidr(sid)
        for g in groups:
            for rule in g.ingress:
                if not rule.allows_https():
                    continue
                by_group = sorted(set(rule.group_ids) & sources)
                by_cidr = [c for c in rule.cidrs if cidr_contains(c, cidr)]
                if by_group or by_cidr:
                    self.add(short, sid, SG_INGRESS, PASS,
                             f"{g.id} on {endpoint.id} allows TCP 443 from {', '.join(by_group or by_cidr[:1])}")
                    return
        if sources:
            permissions, source = ingress_443(group_ids=tuple(sorted(sources))), ", ".join(sorted(sources))
        else:
            permissions, source = ingress_443(cidrs=(cidr,)), cidr
        self.add(short, sid, SG_INGRESS, self.bypass_level(sid, used=used),
                 f"security group(s) {', '.join(endpoint.group_ids)} of {endpoint.id} allow no TCP 443 from the "
                 f"task's subnet or security groups: connections time out; allow it from {source}",
                 fix_commands("endpoint-sg-closed", {**self.base, "security_group": endpoint.group_ids[0],
                                                     "ip_permissions": permissions}))

    # ------------------------------------------------------------ gateway endpoints (S3)

    def gateway(self, short: str) -> None:
        service = self.prefix + short
        mine = self.endpoints_of(service)
        live = [e for e in mine if e.type == GATEWAY and e.state.lower() in _SERVING]
        tables = sorted({t.id for s in self.subnets if (t := self.snap.route_table_of(s))})
        for sid in self.subnets:
            alt = self.alt[sid]
            if not live:
                other = next((e for e in mine if e.type != GATEWAY), None)
                dead = next((e for e in mine if e.type == GATEWAY), None)
                if dead is not None:
                    what = f"{service} gateway endpoint {dead.id} is {dead.state}: it carries no traffic"
                elif other is not None:
                    what = (f"{service} has only the {other.type} endpoint {other.id}; the workload needs the "
                            "Gateway endpoint on its route table")
                else:
                    what = f"no {service} gateway endpoint in {self.snap.vpc_id}"
                level, why = (WARN, f"; traffic goes through {alt} instead") if alt else (FAIL, "")
                self.add(short, sid, ENDPOINT, level, what + why, fix_commands("gateway-endpoint-missing", {
                    **self.base, "service": service, "route_table_ids": tuple(tables)}))
                continue
            table = self.snap.route_table_of(sid)
            on_table = [e for e in live if table and table.id in e.route_table_ids]
            endpoint = min(on_table or live, key=_rank)
            self.add(short, sid, ENDPOINT, PASS, f"{endpoint.id} is {endpoint.state} (Gateway)")
            used = bool(on_table)
            if used and table is not None:
                self.add(short, sid, ROUTE_TABLE, PASS, f"{table.id} routes {short}'s prefix list to {endpoint.id}")
            else:
                where = f"{table.id}{' (the main table)' if table and table.main and sid not in table.subnet_ids else ''}" \
                    if table else "no route table"
                ours = ", ".join(sorted({t for e in live for t in e.route_table_ids})) or "no route table"
                why = (f"; traffic goes through {alt} at ${prices.NAT_GATEWAY_PER_GB}/GB instead"
                       if alt else ": image layers cannot be downloaded")
                self.add(short, sid, ROUTE_TABLE, WARN if alt else FAIL,
                         f"{endpoint.id} is on {ours}, not on {where}, the task subnet's table{why}",
                         fix_commands("s3-gateway-missing-route-table", {
                             **self.base, "endpoint_id": endpoint.id, "route_table_ids": (table.id,) if table else ()}))
            if short == "s3":
                self.s3_policy(sid, endpoint, used)
                self.egress(short, sid, used, (), None, self.f.s3_prefix_list)
                s3_cidrs = self.f.s3_prefix_list.cidrs if self.f.s3_prefix_list else ()
                self.nacl(short, sid, used, [("S3", c) for c in s3_cidrs or ("0.0.0.0/0",)])

    def s3_policy(self, sid: str, endpoint: EndpointInfo, used: bool) -> None:
        if not self.ecr_repositories():
            return
        region = self.snap.region
        if policy_allows_ecr_layers(endpoint.policy, region):
            self.add("s3", sid, POLICY, PASS, f"{endpoint.id}'s policy allows s3:GetObject on the ECR layer bucket")
            return
        self.add("s3", sid, POLICY, self.bypass_level(sid, used=used),
                 f"{endpoint.id}'s policy does not allow s3:GetObject on {layer_bucket_arn(region)}, where ECR "
                 "keeps image layers: pulls fail after the manifest" + ecr_layer_fix_note(endpoint.policy, region),
                 fix_commands("s3-policy-blocks-ecr-layers", {
                     **self.base, "endpoint_id": endpoint.id, "policy": policy_with_ecr_layers(endpoint.policy, region)}))

    # ------------------------------------------------------------ shared: security groups, ACLs, DNS

    def egress(self, short: str, sid: str, used: bool, groups: tuple[str, ...], cidrs: tuple[str, ...] | None,
               prefix_list: PrefixList | None) -> None:
        """The workload's security groups let TCP 443 out to the endpoint (its groups, subnets or prefix list)."""
        mine = self.w.security_group_ids
        if not mine:
            self.add(short, sid, SG_EGRESS, WARN, "the workload names no security group (its container "
                                                  "instances' groups apply): not checked")
            return
        if any(g not in self.f.egress for g in mine):
            self.add(short, sid, SG_EGRESS, PASS, f"egress of {', '.join(g for g in mine if g not in self.f.egress)} "
                                                  "not readable: not accused")
            return
        rules = [r for g in mine for r in self.f.egress[g] if r.allows_https()]
        if cidrs is not None:  # interface endpoint: its ENIs live in its subnets
            if any(set(r.group_ids) & set(groups) for r in rules):
                self.add(short, sid, SG_EGRESS, PASS, f"egress of {', '.join(mine)} allows TCP 443 to {', '.join(groups)}")
                return
            closed = [c for c in cidrs if not any(cidr_contains(rc, c) for r in rules for rc in r.cidrs)]
            target = ", ".join(groups) or ", ".join(cidrs)
            permissions = ingress_443(group_ids=groups[:1]) if groups else ingress_443(cidrs=tuple(closed))
        else:  # S3 gateway: S3's public ranges, named by its prefix list
            pl = prefix_list.id if prefix_list else ""
            wanted = prefix_list.cidrs if prefix_list and prefix_list.cidrs else ("0.0.0.0/0",)
            if any(pl and pl in r.prefix_list_ids for r in rules):
                self.add(short, sid, SG_EGRESS, PASS, f"egress of {', '.join(mine)} allows TCP 443 to {pl}")
                return
            closed = [c for c in wanted if not any(cidr_contains(rc, c) for r in rules for rc in r.cidrs)]
            target = pl or "S3's address ranges"
            permissions = (Json([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                  "PrefixListIds": [{"PrefixListId": pl}]}]) if pl
                           else ingress_443(cidrs=("0.0.0.0/0",)))
        if not closed:
            self.add(short, sid, SG_EGRESS, PASS, f"egress of {', '.join(mine)} allows TCP 443 to {target}")
            return
        self.add(short, sid, SG_EGRESS, self.bypass_level(sid, used=used),
                 f"egress of {', '.join(mine)} allows no TCP 443 to {target}: connections are dropped "
                 "before they leave the task",
                 _render(_FIXES["sg-egress-closed"], {**self.base, "security_group": mine[0],
                                                      "ip_permissions": permissions}))

    def nacl(self, short: str, sid: str, used: bool, peers: Sequence[tuple[str, str]]) -> None:
        """Both subnets' network ACLs: 443 out and replies back in from the workload; the mirror at the endpoint."""
        if self.f.acls is None:
            self.add(short, sid, NACL, WARN, "network ACLs not readable: not checked")
            return
        here = self.cidr(sid)
        os_family = (self.w.os_family or "").lower()
        lo, hi = _EPHEMERAL["windows" if os_family.startswith("windows") else "linux"]
        problems: list[str] = []
        fix: list[str] = []
        seen: set[tuple[str, bool, str, int]] = set()
        if peers and all(peer_id == sid for peer_id, _ in peers):
            self.add(short, sid, NACL, PASS, f"the endpoint's network interface is in {sid} itself: traffic "
                                             "inside a subnet meets no network ACL")
            return
        for peer_id, peer in peers:
            if peer_id == sid:
                continue  # an ENI in the task's own subnet: traffic inside a subnet meets no network ACL
            legs = [(self.f.acl_of(sid), True, peer, 443, 443, f"TCP 443 out of {sid} to {peer}"),
                    (self.f.acl_of(sid), False, peer, lo, hi, f"replies (TCP {lo}-{hi}) into {sid} from {peer}")]
            if peer_id.startswith("subnet-"):
                legs += [(self.f.acl_of(peer_id), False, here, 443, 443, f"TCP 443 into {peer_id} from {here}"),
                         (self.f.acl_of(peer_id), True, here, lo, hi, f"replies (TCP {lo}-{hi}) out of {peer_id} to {here}")]
            for acl, egress, cidr, first, last, what in legs:
                if acl is None or (acl.id, egress, cidr, first) in seen:
                    continue
                seen.add((acl.id, egress, cidr, first))
                allowed, blocker = acl_allows(acl, egress, cidr, first, last)
                if allowed:
                    continue
                by = f"rule {blocker.number} denies it" if blocker else "no rule allows it"
                problems.append(f"{acl.id} blocks {what} ({by})")
                ports = (443, 443) if first == 443 else _EPHEMERAL_FIX
                fix += _render(_FIXES["nacl-closed"], {
                    **self.base, "acl_id": acl.id, "rule": self.acl_rule(acl, egress, blocker, cidr, ports),
                    "direction": "egress" if egress else "ingress", "from_port": ports[0], "to_port": ports[1],
                    "cidr": cidr})
        if not problems:
            acls = sorted({a.id for a in (self.f.acl_of(sid), *(self.f.acl_of(p) for p, _ in peers)) if a})
            self.add(short, sid, NACL, PASS, f"{', '.join(acls)} {'allow' if len(acls) > 1 else 'allows'} "
                                             "TCP 443 and its replies")
            return
        self.add(short, sid, NACL, self.bypass_level(sid, used=used), "; ".join(problems), fix)

    def acl_rule(self, acl: NetworkAcl, egress: bool, blocker: AclEntry | None, cidr: str,
                 ports: tuple[int, int]) -> int:
        """The rule number of an entry a fix adds: one number per entry, across the whole run."""
        key = (acl.id, egress, cidr, *ports)
        if key not in self.acl_rules:
            taken = {n for (a, e, *_), n in self.acl_rules.items() if (a, e) == (acl.id, egress)}
            self.acl_rules[key] = _free_rule(acl, egress, blocker, taken)
        return self.acl_rules[key]

    def endpoints_of(self, service: str) -> list[EndpointInfo]:
        """The service's endpoints in the VPC, but not those on their way out (they show for a while)."""
        return [e for e in self.snap.endpoints if e.service_name == service and e.state.lower() not in _GONE]

    def bypass_level(self, sid: str, used: bool = False, fatal: bool = False) -> str:
        """FAIL, or WARN when traffic does not take this endpoint and an alternative path carries it."""
        if fatal or used or not self.alt[sid]:
            return FAIL
        return WARN

    def zone_for(self, service: str) -> PrivateZone | None:
        name = self.dns_name(service).removeprefix("*.")
        return next((z for z in self.f.zones or () if name == z.name or name.endswith("." + z.name)), None)

    def dns_name(self, service: str) -> str:
        return self.f.dns_names.get(service) or default_dns_name(service, self.snap.region)

    def ecr_repositories(self) -> list[str]:
        """ARNs of the same-region ECR repositories the workload pulls from."""
        out = []
        for c in self.w.containers:
            ref = parse_image(c.image)
            if ref.kind == "ecr" and ref.region == self.w.region:
                repo = c.image.split("/", 1)[1].split("@")[0]
                repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
                if not is_ecr_repository(repo):
                    continue  # not an image ECR can serve: no policy statement is written for it
                out.append(f"arn:{partition(self.snap.region)}:ecr:{ref.region}:{ref.account}:repository/{repo}")
        return sorted(set(out))


# ---------------------------------------------------------------- helpers (pure)


def default_dns_name(service: str, region: str) -> str:
    """A service's private DNS name when `DescribeVpcEndpointServices` did not say (moto, AccessDenied)."""
    short = service.removeprefix(service_prefix(region))
    special = {"ecr.api": f"api.ecr.{region}.amazonaws.com", "ecr.dkr": f"*.dkr.ecr.{region}.amazonaws.com",
               "kinesis-firehose": f"firehose.{region}.amazonaws.com",
               "kinesis-streams": f"kinesis.{region}.amazonaws.com"}
    return special.get(short, f"{short}.{region}.amazonaws.com")


def _rank(e: EndpointInfo) -> tuple[bool, bool, str]:
    """Which endpoint speaks for a service when there are several: private DNS on, then ours."""
    return not e.private_dns, not e.owned, e.id


def _best(endpoints: Sequence[EndpointInfo]) -> EndpointInfo | None:
    return min(endpoints, key=_rank) if endpoints else None


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def acl_allows(acl: NetworkAcl, egress: bool, peer: str, first: int, last: int) -> tuple[bool, AclEntry | None]:
    """Whether `acl` lets TCP ports first..last to (egress) or from `peer` through, and the deny rule
    that stops them when it does not (None: nothing allows them, so the final `*` rule denies).

    Rules apply in number order; the first rule matching a port decides it. A rule covering only
    part of the peer's addresses cannot allow the whole peer, but can deny part of it.
    """
    peer_net = _network(peer)
    undecided = [(first, last)]
    for entry in sorted((e for e in acl.entries if e.egress == egress), key=lambda e: e.number):
        if not undecided:
            break
        if entry.protocol not in ("-1", "6"):
            continue
        rule_net = _network(entry.cidr)
        if peer_net is None or rule_net is None or rule_net.version != peer_net.version \
                or not rule_net.overlaps(peer_net):  # type: ignore[arg-type]
            continue
        whole = peer_net.subnet_of(rule_net)  # type: ignore[arg-type]
        if entry.allow and not whole:
            continue
        lo, hi = (0, 65535) if entry.protocol == "-1" else (entry.from_port, entry.to_port)
        if not any(a <= hi and lo <= b for a, b in undecided):
            continue
        if not entry.allow:
            return False, entry
        undecided = list(_subtract(undecided, lo, hi))
    return not undecided, None


def _subtract(ranges: Iterable[tuple[int, int]], lo: int, hi: int) -> Iterator[tuple[int, int]]:
    for a, b in ranges:
        if b < lo or a > hi:
            yield a, b
            continue
        if a < lo:
            yield a, lo - 1
        if b > hi:
            yield hi + 1, b


def _free_rule(acl: NetworkAcl, egress: bool, blocker: AclEntry | None, taken: Iterable[int] = ()) -> int:
    """A free rule number that is evaluated before the blocking rule (or anywhere before `*`);
    `taken`: numbers other fixes already give out."""
    used = {e.number for e in acl.entries if e.egress == egress} | set(taken)
    if blocker is not None:
        return next((n for n in range(blocker.number - 1, 0, -1) if n not in used), 1)
    return next(n for n in range(100, 32767, 10) if n not in used)


def _render(templates: tuple[str, ...], params: Mapping[str, Value]) -> tuple[str, ...]:
    """The hops' own commands, quoted and format-checked like the engine's (fixes.render_fix)."""
    return render_fix(templates, params).commands
