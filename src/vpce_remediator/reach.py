"""Reach: does a workload in a subnet reach each AWS service it needs, and if not, why. Pure.

One set of rules for every door. `judge` checks every hop for every service the workload needs
from every one of its subnets (the route out, the endpoint, DNS, the route table, the AZ, the
endpoint policy, both security groups, both network ACLs) and says pass, warn or fail with the
problem kind and the fix. `vpce-remediator doctor` prints those checks; the planner (`plan.py`)
turns the same rules into the changes it makes and the findings it raises, and records, per
(workload, subnet, service), which hop it found wanting (`Plan.verdicts`): an agreement test holds
the two to the same verdict. The hops only one door judges are listed in `ONE_DOOR_HOPS`.

The rules read only `facts`: a fact a reader did not fill (None) is "not checked", never a fault.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from rules import GATEWAY, INTERFACE, Requirements, Workload, WorkloadProblem
from rules.calls import CHECKED_ON_FOREIGN_ENDPOINTS
from rules.formats import is_ecr_repository, is_efs_file_system_id, safe_repr
from rules.partitions import CROSS_REGION_UNSUPPORTED_AZ_IDS, dns_suffix, service_name, short_name
from rules.records import record, replace
from rules.refs import parse_image
from vpce_remediator import prices
from vpce_remediator.endpoint_policies import PolicyScope
from vpce_remediator.facts import (
    AclEntry,
    EndpointInfo,
    FileSystem,
    MountTarget,
    NetworkAcl,
    PrivateZone,
    RouteTableInfo,
    ServiceOffer,
    VpcSnapshot,
    cidr_contains,
)
from vpce_remediator.fixes import (
    NO_ARG,
    PULL_THROUGH_CREDENTIAL,
    PULL_THROUGH_RULE_SHOW,
    S3_ALL_RESOLVERS,
    Fix,
    Json,
    Shell,
    Value,
    fix_commands,
    fix_for,
    image_repository,
    ingress_443,
    ip_address_type_arg,
    own_sg_lookup,
    prefix_list_443,
    render_fix,
    replication_merge_query,
    security_groups_arg,
    shell,
    tcp_permissions,
)
from vpce_remediator.policies import (
    layer_bucket_arn,
    partition,
    policy_allows,
    policy_allows_ecr_layers,
    policy_plus,
    policy_with_ecr_layers,
)

Level = Literal["pass", "warn", "fail"]
PASS: Level = "pass"
WARN: Level = "warn"
FAIL: Level = "fail"
ANY_SERVICE = "*"  # the `service` of hops that hold for every service: the subnet's route out, the image source

# Hop names, in the order a packet meets them (and the order doctor prints them).
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
# An EFS volume's path: the file system's mount target in the task's AZ, then NFS (TCP 2049) to it.
MOUNT_TARGET = "mount-target"
NFS = "nfs"
HOP_ORDER = (ROUTE, SOURCE, ENDPOINT, DNS, ROUTE_TABLE, AZ, POLICY, SG_EGRESS, SG_INGRESS, NACL, MOUNT_TARGET, NFS)

# A pending endpoint is no finding: it is reported as pending by every door.
ENDPOINT_PENDING = "endpoint-pending"

# Which hop each problem kind is about: how a finding or an action of the planner and a check of
# doctor are compared (the agreement test), and how a finding says which hop it fixes.
PROBLEM_HOP: Mapping[str, str] = {
    "endpoint-missing": ENDPOINT, "gateway-endpoint-missing": ENDPOINT, "service-not-offered": ENDPOINT,
    ENDPOINT_PENDING: ENDPOINT,
    "vpc-dns-support-off": DNS, "vpc-dns-hostnames-off": DNS, "private-dns-off": DNS,
    "s3-gateway-missing-route-table": ROUTE_TABLE,
    "endpoint-missing-az": AZ,
    "s3-policy-blocks-ecr-layers": POLICY, "endpoint-policy-blocks-workload": POLICY,
    "endpoint-policy-changed": POLICY, "endpoint-policy-reset": POLICY,
    "sg-egress-closed": SG_EGRESS,
    "endpoint-sg-closed": SG_INGRESS, "endpoint-security-group-missing": SG_INGRESS,
    "endpoint-security-group-detached": SG_INGRESS, "endpoint-security-group-squatted": SG_INGRESS,
    "nacl-closed": NACL, "central-zone-record-missing": DNS,
    "public-registry-image": SOURCE, "unmirrorable-registry-image": SOURCE, "cross-region-ecr-image": SOURCE,
    "cross-region-secret": SOURCE, "cross-region-parameter": SOURCE, "cross-region-logs": SOURCE,
    "cross-region-kms-key": SOURCE, "cross-region-firehose": SOURCE,
    "cross-region-kinesis-stream": SOURCE, "cross-region-s3-output": SOURCE,
    # A cross-Region endpoint the tool would create (CrossRegionEndpoints): what it serves is judged
    # on the image's (key's, stream's) source hop, where both doors say whether it is served.
    "cross-region-endpoint-missing": SOURCE,
    # EFS volumes: judged per file system (`efs_service`), never acted on (report only).
    "efs-mount-target-missing": MOUNT_TARGET, "efs-nfs-closed": NFS,
    # Custom DNS servers in the DHCP options: the name resolves to the endpoint only if they forward.
    "dhcp-custom-dns": DNS,
}

# The hops one door judges and the other does not, and why. Everything else both doors judge
# with the functions of this module, and the agreement test holds them to the same verdict.
ONE_DOOR_HOPS: Mapping[str, str] = {
    NACL: "doctor only: network ACLs are one more Describe call per VPC, which the event path's "
          "8-call budget does not pay for, and the remediator never changes an ACL",
    ROUTE: "doctor only: the route out is information (which path a failing service falls back to); "
           "the planner uses the same rule to decide which subnets it enforces",
}

# Where replies come back to: the client's ephemeral ports. Linux picks from 32768-60999 and
# Windows from 49152-65535; a fix opens 1024-65535, the range AWS recommends for network ACLs.
_EPHEMERAL = {"linux": (32768, 60999), "windows": (49152, 65535)}
_EPHEMERAL_FIX = (1024, 65535)

# The calls an ECR image pull makes whose resource is the workload's repository (the rest of
# `CHECKED_ON_FOREIGN_ENDPOINTS` is judged for any resource: the exact ARNs are not known).
_REPOSITORY_CALLS = frozenset({"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"})


@record
class Check:
    """One hop for one service from one subnet: pass, warn (works, but mind this) or fail.
    `problem` is the finding kind a warn or fail stands for ("" when it is only information)."""

    service: str  # short endpoint service name ("ecr.dkr"), or ANY_SERVICE
    subnet: str
    hop: str
    level: Level
    detail: str
    fix: tuple[str, ...] = ()
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.level != FAIL

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "subnet": self.subnet, "hop": self.hop, "ok": self.ok,
                "level": self.level, "detail": self.detail, "fix": list(self.fix), "problem": self.problem}


# ---------------------------------------------------------------- the shared rules


# Default routes that hand the subnet's traffic to another network: a transit gateway or Cloud WAN
# core network, a Gateway Load Balancer or Network Firewall endpoint ("gwlbe"), a peering
# connection. This is AWS's central-egress design (the multi-VPC whitepaper's "Centralized egress to
# internet"; the AMS guide's egress VPC: spokes reach the internet through a transit gateway to the
# egress VPC's NAT gateways), often with inspection on the way. What lies beyond (a NAT gateway, a
# firewall that drops AWS's public ranges, nothing at all) is not visible from the spoke, so these
# subnets are enforced by default: only working endpoints are known to carry the traffic. Every
# result says so (`central_egress_text`). A private NAT gateway (`ConnectivityType=private`,
# "private-nat") is no way out either: it reaches only other VPCs and on-premises networks.
CENTRAL_EGRESS = ("tgw", "cloudwan", "gwlbe", "peering")
_EGRESS_NAME = {"tgw": "transit gateway", "cloudwan": "Cloud WAN core network",
                "gwlbe": "Gateway Load Balancer or Network Firewall endpoint", "peering": "peering connection",
                "private-nat": "private NAT gateway", "nat": "NAT gateway", "igw": "internet gateway",
                "vgw": "virtual private gateway", "eni": "network interface", "instance": "instance"}


def egress_name(kind: str | None) -> str:
    return _EGRESS_NAME.get(kind or "", kind or "")


def central_egress(snap: VpcSnapshot, subnet_id: str) -> RouteTableInfo | None:
    """The subnet's route table when its 0.0.0.0/0 leaves through another network (`CENTRAL_EGRESS`)."""
    subnet = snap.subnets.get(subnet_id)
    if subnet is not None and subnet.family == "ipv6":
        return None
    table = snap.route_table_of(subnet_id)
    return table if table is not None and table.egress in CENTRAL_EGRESS else None


def central_egress_text(table: RouteTableInfo) -> str:
    return (f"egress through a central VPC: {table.id} sends 0.0.0.0/0 to {egress_name(table.egress)} "
            f"{table.egress_target}, and what lies beyond is not visible from here, so the endpoints must work")


def private_nat_text(table: RouteTableInfo) -> str:
    return (f"{table.id} sends 0.0.0.0/0 to private NAT gateway {table.egress_target}: a private NAT gateway "
            "reaches other VPCs and on-premises networks, not the internet, so it is no way out to AWS "
            "services and the endpoints must work")


def alternative_path(snap: VpcSnapshot, subnet_id: str, assign_public_ip: bool | None) -> RouteTableInfo | None:
    """The route table whose 0.0.0.0/0 takes the subnet's tasks to AWS services without endpoints:
    a NAT gateway, or an internet gateway for tasks with a public IP. None: the endpoints are the
    only way out."""
    subnet = snap.subnets.get(subnet_id)
    if subnet is not None and subnet.family == "ipv6":
        return None  # its tasks have no IPv4 address: 0.0.0.0/0 carries nothing of theirs
    table = snap.route_table_of(subnet_id)
    if table is None or table.egress not in ("nat", "igw"):
        return None
    # An internet gateway only carries traffic from addresses with a public IP.
    if table.egress == "igw" and assign_public_ip is False:
        return None
    return table


# ---------------------------------------------------------------- address families (IPv6)
#
# Which addresses a task's traffic to an interface endpoint uses. Workloads call a service by its
# default hostname, which private DNS points at the endpoint. The records it gets follow the
# endpoint's DnsOptions.DnsRecordIpType (EC2 API reference, DnsOptionsSpecification; PrivateLink
# guide, "DNS record IP type"): `ipv4` and `service-defined` give the private DNS name A records only
# (service-defined adds AAAA to the Regional and zonal vpce names, which workloads do not call),
# `dualstack` A and AAAA, `ipv6` AAAA only. So a task in an IPv4-only subnet uses IPv4; in an
# IPv6-only subnet, IPv6; in a dual-stack subnet, IPv4 unless the name has AAAA records through the
# endpoint, then both: a host given both may take either (RFC 6724's default order prefers IPv6,
# and the SDKs do not all fall back), so each family's rules must let it through.

V4, V6 = 4, 6


def families(snap: VpcSnapshot, subnet_id: str, dns_record_ip_type: str) -> tuple[int, ...]:
    """The IP versions a task in the subnet reaches an endpoint with these DNS records over."""
    subnet = snap.subnets.get(subnet_id)
    family = subnet.family if subnet else "ipv4"
    if family != "dualstack":
        return (V6,) if family == "ipv6" else (V4,)
    records = dns_record_ip_type.lower()
    return (V4, V6) if records == "dualstack" else (V6,) if records == "ipv6" else (V4,)


def subnet_cidrs(snap: VpcSnapshot, subnet_id: str, versions: Iterable[int]) -> tuple[str, ...]:
    """The subnet's blocks of these IP versions (none where it has none)."""
    subnet = snap.subnets.get(subnet_id)
    if subnet is None:
        return ()
    wanted = set(versions)
    return tuple(([subnet.cidr] if V4 in wanted and subnet.cidr else [])
                 + (list(subnet.ipv6_cidrs) if V6 in wanted else []))


def task_cidrs(snap: VpcSnapshot, subnet_id: str, dns_record_ip_type: str) -> tuple[str, ...]:
    """Where a task's connections to the endpoint come from: its subnet's blocks of the families it uses."""
    return subnet_cidrs(snap, subnet_id, families(snap, subnet_id, dns_record_ip_type))


def peer_cidrs(snap: VpcSnapshot, subnet_id: str, peers: Iterable[str], dns_record_ip_type: str) -> list[str]:
    """Where a task's connections go: the endpoint subnets' blocks of the families the task uses."""
    versions = families(snap, subnet_id, dns_record_ip_type)
    return [c for p in peers for c in subnet_cidrs(snap, p, versions)]


def vpc_blocks(snap: VpcSnapshot, cidrs: Iterable[str]) -> tuple[str, ...]:
    """The VPC's blocks of the IP versions among `cidrs` (its IPv4 ones when none is IPv6)."""
    six = any(":" in c for c in cidrs)
    four = any(c and ":" not in c for c in cidrs) or not six
    return (snap.cidrs if four else ()) + (snap.ipv6_cidrs if six else ())


def ingress_allows_all(snap: VpcSnapshot, group_ids: Iterable[str], cidrs: Sequence[str],
                       sources: Iterable[str], port: int = 443) -> bool | None:
    """`ingress_allows` for every one of `cidrs` (a group reference covers both families)."""
    groups, wanted = tuple(group_ids), tuple(sources)
    verdicts = [ingress_allows(snap, groups, c, wanted, port) for c in cidrs or ("",)]
    return None if None in verdicts else all(verdicts)


def ipv6_way_out(snap: VpcSnapshot, subnet_id: str, service: str) -> RouteTableInfo | None:
    """The route table whose ::/0 takes the subnet's tasks to `service` over IPv6, without endpoints.

    Decided conservatively. An egress-only or internet gateway carries IPv6 out (IPv6 addresses
    are public: no public IP is assigned), but only to a service that answers over IPv6, and
    most AWS services' default hostnames have IPv4 addresses only: ECS's guide says IPv6-only
    workloads must pull through ECR's dual-stack endpoints or use DNS64 and NAT64 (a NAT gateway).
    What AWS says about a service's IPv6 support is `DescribeVpcEndpointServices`'
    SupportedIpAddressTypes; a service it does not list IPv6 for, or an offer not read, has no way
    out here. The S3 gateway and the route hop (every service) never count it.
    """
    subnet = snap.subnets.get(subnet_id)
    offer = snap.offers.get(service)
    if subnet is None or not subnet.ipv6_cidrs or offer is None or not offer.ipv6:
        return None
    table = snap.route_table_of(subnet_id)
    return table if table is not None and table.egress6 in ("eigw", "igw") else None


def endpoint_ip_type(snap: VpcSnapshot, subnet_ids: Iterable[str], offer: ServiceOffer | None) -> str:
    """The IpAddressType a new interface endpoint gets: `dualstack` when every subnet is dual-stack
    and the service takes both families, `ipv6` when every subnet is IPv6-only and the service
    takes IPv6, else `ipv4` (EC2's rule: every subnet must have the chosen families)."""
    found = {snap.subnets[s].family for s in subnet_ids if s in snap.subnets}
    types = offer.ip_types if offer else frozenset()
    if found == {"dualstack"} and {"ipv4", "ipv6"} <= types:
        return "dualstack"
    if found == {"ipv6"} and "ipv6" in types:
        return "ipv6"
    return "ipv4"


def dns_records_for(ip_type: str) -> str:
    """The DnsRecordIpType a new endpoint of `ip_type` gets: records for every family it has."""
    return ip_type if ip_type in ("dualstack", "ipv6") else ""


def placement(snap: VpcSnapshot, subnets: Iterable[str], azs: Iterable[str] | None,
              offer: ServiceOffer | None) -> tuple[tuple[str, ...], str]:
    """Where a new interface endpoint goes (one subnet per AZ) and its IpAddressType. An IPv4 or
    dual-stack endpoint cannot have an IPv6-only subnet, nor an IPv6 one a subnet with IPv4: such
    subnets are left out while another one can take the endpoint."""
    candidates = sorted(subnets)
    wanted = None if azs is None else frozenset(azs)
    ip_type = endpoint_ip_type(snap, one_subnet_per_az(snap, candidates, wanted), offer)
    fits = [s for s in candidates if s in snap.subnets
            and (snap.subnets[s].family == "ipv6") == (ip_type == "ipv6")]
    placed = one_subnet_per_az(snap, fits, wanted)
    if not placed:  # nothing fits: placed as before; EC2's refusal becomes the finding
        placed = one_subnet_per_az(snap, candidates, wanted)
    return placed, endpoint_ip_type(snap, placed, offer)


def rank(e: EndpointInfo) -> tuple[bool, bool, str]:
    """Which endpoint speaks for a service when there are several: private DNS on, then the tool's."""
    return not e.private_dns, not e.owned, e.id


def speaking(endpoints: Sequence[EndpointInfo]) -> EndpointInfo | None:
    return min(endpoints, key=rank) if endpoints else None


def endpoints_of(snap: VpcSnapshot, service: str) -> list[EndpointInfo]:
    """A service's endpoints in the VPC, of any type, but not those on their way out."""
    return [e for e in snap.endpoints if e.service_name == service and not e.gone]


def live_endpoints(snap: VpcSnapshot, service: str, typ: str) -> list[EndpointInfo]:
    """Endpoints that exist for good or are on their way: a second one must not be created beside them."""
    return [e for e in snap.endpoints if e.service_name == service and e.type == typ and e.live]


def az_of(snap: VpcSnapshot, subnet_id: str) -> str:
    subnet = snap.subnets.get(subnet_id)
    return subnet.az if subnet else ""


def cidr_of(snap: VpcSnapshot, subnet_id: str) -> str:
    subnet = snap.subnets.get(subnet_id)
    return subnet.cidr if subnet else ""


def covered_azs(snap: VpcSnapshot, endpoints: Iterable[EndpointInfo]) -> set[str]:
    return {az_of(snap, s) for e in endpoints for s in e.subnet_ids} - {""}


def one_subnet_per_az(snap: VpcSnapshot, subnets: Iterable[str], azs: Iterable[str] | None = None) -> tuple[str, ...]:
    """The first subnet (by id) of each AZ in `azs` (every AZ when None): where an endpoint goes."""
    wanted = None if azs is None else set(azs)
    chosen: dict[str, str] = {}
    for sid in sorted(subnets):
        az = az_of(snap, sid)
        if az and (wanted is None or az in wanted) and az not in chosen:
            chosen[az] = sid
    return tuple(chosen[az] for az in sorted(chosen))


def vpc_dns_problems(snap: VpcSnapshot) -> list[tuple[str, str]]:
    """(problem kind, what is wrong) for each VPC DNS attribute that is off."""
    out = []
    if not snap.dns_support:
        out.append(("vpc-dns-support-off", f"VPC {snap.vpc_id} has enableDnsSupport=false (its resolver is off)"))
    if not snap.dns_hostnames:
        out.append(("vpc-dns-hostnames-off", f"VPC {snap.vpc_id} has enableDnsHostnames=false"))
    return out


def base_params(snap: VpcSnapshot) -> dict[str, Value]:
    return {"region": snap.region, "vpc_id": snap.vpc_id}


def vpc_dns_fix(snap: VpcSnapshot) -> tuple[str, ...]:
    return tuple(c for kind, _ in vpc_dns_problems(snap) for c in fix_commands(kind, base_params(snap)))


def ingress_allows(snap: VpcSnapshot, group_ids: Iterable[str], cidr: str, sources: Iterable[str],
                   port: int = 443) -> bool | None:
    """Whether the target's groups (an endpoint's: 443; a mount target's: 2049) let TCP `port` in
    from `cidr` or from the workload's groups (`sources`); None when one of the groups is not
    readable here (not accused)."""
    wanted = set(sources)
    groups = [snap.security_groups.get(g) for g in group_ids]
    if not groups or any(g is None for g in groups):
        return None
    return any(rule.allows_tcp(port) and (set(rule.group_ids) & wanted or any(cidr_contains(r, cidr) for r in rule.cidrs))
               for g in groups if g is not None for rule in g.ingress)


def ingress_source(snap: VpcSnapshot, workload_groups: Sequence[str], cidrs: Sequence[str],
                   port: int = 443) -> tuple[Json, str]:
    """What a target's group should let in on TCP `port`: the workload's groups, else its subnets' CIDRs."""
    if workload_groups:
        groups = tuple(sorted(workload_groups))
        return tcp_permissions(port, group_ids=groups), "security group " + ", ".join(groups)
    return tcp_permissions(port, cidrs=tuple(cidrs)), ", ".join(cidrs)


@record
class Egress:
    """Whether the workload's groups let TCP out to a target (443, or 2049 to EFS), and how to open it."""

    ok: bool | None  # None: not checked (no group named, or one not readable)
    detail: str
    fix: tuple[str, ...] = ()


def egress_to(snap: VpcSnapshot, workload_groups: Sequence[str], groups: Sequence[str] = (),
              cidrs: Sequence[str] | None = None, gateway: str = "", port: int = 443) -> Egress:
    """The workload's egress on TCP `port` to an interface endpoint or an EFS mount target (its
    `groups`, or its subnets' `cidrs`), or, with `gateway` (a full service name), to a gateway
    service's prefix list."""
    if not workload_groups:
        return Egress(None, "the workload names no security group (its container instances' groups apply): "
                            "not checked")
    read = [snap.security_groups.get(g) for g in workload_groups]
    unread = [g for g, info in zip(workload_groups, read, strict=True) if info is None or info.egress is None]
    if unread:
        return Egress(True, f"egress of {', '.join(unread)} not readable: not accused")
    rules = [r for info in read if info is not None for r in info.egress or () if r.allows_tcp(port)]
    mine = ", ".join(workload_groups)
    params = {**base_params(snap), "security_group": workload_groups[0]}
    if gateway:
        pl = snap.prefix_lists.get(gateway)
        if pl and any(pl.id in r.prefix_list_ids for r in rules):
            return Egress(True, f"egress of {mine} allows TCP 443 to {pl.id}")
        wanted = pl.cidrs if pl and pl.cidrs else ("0.0.0.0/0",)
        closed = [c for c in wanted if not any(cidr_contains(rc, c) for r in rules for rc in r.cidrs)]
        target = pl.id if pl else f"{gateway}'s prefix list"
        if pl is None and any(r.prefix_list_ids for r in rules):
            # A prefix list is allowed but which one is not known here: not accused.
            return Egress(True, f"egress of {mine} allows TCP 443 to prefix list(s) "
                                f"{', '.join(sorted({p for r in rules for p in r.prefix_list_ids}))}")
        permissions: Json | Shell = prefix_list_443({**params, "service": gateway}, pl.id if pl else None)
    else:
        if any(set(r.group_ids) & set(groups) for r in rules):
            return Egress(True, f"egress of {mine} allows TCP {port} to {', '.join(groups)}")
        cidrs = tuple(cidrs or ())
        closed = [c for c in cidrs if not any(cidr_contains(rc, c) for r in rules for rc in r.cidrs)]
        target = ", ".join(groups) or ", ".join(cidrs) or "the endpoint"
        # One rule for every target of the VPC: TCP `port` to the VPC's own blocks (of the families used).
        permissions = tcp_permissions(port, cidrs=vpc_blocks(snap, cidrs))
    if not closed:
        return Egress(True, f"egress of {mine} allows TCP {port} to {target}")
    return Egress(False, f"egress of {mine} allows no TCP {port} to {target}: connections are dropped before they "
                         "leave the task", fix_commands("sg-egress-closed", {**params, "ip_permissions": permissions}))


def dns_name(snap: VpcSnapshot, service: str) -> str:
    offer = snap.offers.get(service)
    return (offer.dns_name if offer and offer.dns_name else "") or default_dns_name(service, snap.region)


def default_dns_name(service: str, region: str) -> str:
    """A service's private DNS name when `DescribeVpcEndpointServices` did not say (moto, AccessDenied)."""
    short, suffix = short_name(service, region), dns_suffix(region)
    special = {"ecr.api": f"api.ecr.{region}.{suffix}", "ecr.dkr": f"*.dkr.ecr.{region}.{suffix}",
               "kinesis-firehose": f"firehose.{region}.{suffix}",
               "kinesis-streams": f"kinesis.{region}.{suffix}"}
    return special.get(short, f"{short}.{region}.{suffix}")


def zone_for(snap: VpcSnapshot, service: str, accounts: Iterable[str] = ()) -> PrivateZone | None:
    """The private hosted zone associated with the VPC (directly or through a Route 53 Profile)
    that answers for the service's names: a centralised endpoint in another VPC serves it."""
    cover = zone_cover(snap, service, accounts)
    return cover.zone if cover is not None and not cover.missing else None


# ---------------------------------------------------------------- centralised endpoints (hub and spoke)


def service_hosts(snap: VpcSnapshot, service: str, accounts: Iterable[str] = ()) -> tuple[str, ...]:
    """The names a workload looks the service up by: its private DNS name, and for a wildcard one
    (`*.dkr.ecr.REGION...`) the registries' own hosts (`ACCOUNT.dkr.ecr.REGION...`) when known."""
    name = dns_name(snap, service).lower()
    registries = sorted(set(accounts))
    if name.startswith("*.") and registries:
        return tuple(a + name[1:] for a in registries)
    return (name,)


def registry_accounts(workloads: Iterable[Workload], region: str) -> tuple[str, ...]:
    """The accounts whose ECR registries in this region the workloads pull from."""
    return tuple(sorted({arn.split(":")[4] for w in workloads for arn in ecr_repositories(w, region)}))


@record
class ZoneCover:
    """How the private hosted zones of the VPC answer for a service's names."""

    zone: PrivateZone  # the zone the service's (first) name resolves in
    missing: tuple[str, ...]  # names no zone holds a record for: they do not resolve at all in the VPC
    unread: bool  # the zone's records were not readable: not accused

    def detail(self) -> str:
        z = self.zone
        return f"private hosted zone {z.name} ({z.id}, {z.source})"


def zone_cover(snap: VpcSnapshot, service: str, accounts: Iterable[str] = ()) -> ZoneCover | None:
    """The zones that take over the service's names in the VPC (each name resolves in the most
    specific zone that covers it), or None when none does. A covered name the zone holds no
    record for resolves nowhere, and so does a name no zone covers beside a covered one."""
    hosts = service_hosts(snap, service, accounts)
    chosen: list[tuple[str, PrivateZone | None]] = []
    for host in hosts:
        covering = [z for z in snap.zones or () if z.covers(host)]
        chosen.append((host, max(covering, key=lambda z: (len(z.name), z.id)) if covering else None))
    zones = [z for _, z in chosen if z is not None]
    if not zones:
        return None
    missing = tuple(h for h, z in chosen if z is None or z.answers(h) is False)
    return ZoneCover(zones[0], missing, any(z.answers(h) is None for h, z in chosen if z is not None))


def missing_records_text(snap: VpcSnapshot, service: str, cover: ZoneCover) -> str:
    """Which records the zone lacks, in the words both doors use."""
    zone = cover.zone
    wildcard = dns_name(snap, service).lower()
    if wildcard.startswith("*."):
        return (f"zone {zone.name or zone.id} holds neither the wildcard record {wildcard} nor "
                f"{', '.join(cover.missing)} (ECR's registry hosts are account-specific)")
    return f"zone {zone.name or zone.id} holds no record for {', '.join(cover.missing)}"


def zone_record_fix(snap: VpcSnapshot, cover: ZoneCover, service: str) -> tuple[str, ...]:
    """Commands that show the zone's records and the hub's endpoint to alias the missing names to."""
    return fix_commands("central-zone-record-missing", {
        **base_params(snap), "zone_id": cover.zone.id, "service": service})


# ---------------------------------------------------------------- S3 through an interface endpoint


def s3_interface_detail(endpoint: EndpointInfo) -> str:
    """What both doors say of an S3 path through an interface endpoint, and which guide they follow."""
    return (f"{endpoint.id} is {endpoint.state} (Interface, private DNS for all resolvers): the VPC's S3 "
            "names, the ECR layer bucket's among them, resolve to it, so S3 traffic takes it and no gateway "
            "endpoint is needed (followed: Amazon S3 User Guide, AWS PrivateLink for Amazon S3, private DNS; "
            "ECR's guide still names only the gateway endpoint for image layers)")


def s3_interface_path(snap: VpcSnapshot, service: str) -> EndpointInfo | None:
    """The S3 interface endpoint that captures the VPC's S3 names (private DNS on and not only for
    inbound resolver endpoints): then the VPC's S3 traffic takes it, not the gateway (Amazon S3
    User Guide, "AWS PrivateLink for Amazon S3", private DNS). None when there is none."""
    candidates = [e for e in snap.endpoints if e.service_name == service and e.type == INTERFACE
                  and e.private_dns and not e.inbound_resolver_only and e.serving]
    return speaking(candidates)


@record
class CrossRegionLeg:
    """One cross-Region interface endpoint a workload problem needs (`WorkloadProblem.cross_region`)."""

    short: str
    region: str  # the Region whose service it reaches
    service: str  # that Region's endpoint service name, as the endpoint in this VPC is named
    endpoint: EndpointInfo | None  # the best live one in the VPC; None: there is none
    wanting: str  # "" when it carries the workload's traffic from every one of its subnets; else why not


@record
class CrossRegionCover:
    legs: tuple[CrossRegionLeg, ...]

    @property
    def served(self) -> bool:
        return bool(self.legs) and not any(leg.wanting for leg in self.legs)

    @property
    def missing(self) -> tuple[CrossRegionLeg, ...]:
        return tuple(leg for leg in self.legs if leg.endpoint is None)

    def text(self) -> str:
        return ", ".join(f"{leg.endpoint.id if leg.endpoint else 'none'} ({leg.service})" for leg in self.legs)

    def wanting(self) -> str:
        return "; ".join(leg.wanting for leg in self.legs if leg.wanting)


def cross_region_cover(snap: VpcSnapshot, w: Workload, problem: WorkloadProblem,
                       subnets: Sequence[str]) -> CrossRegionCover | None:
    """Whether the cross-Region endpoints in the VPC serve what `problem` says no endpoint of this
    Region can (an ECR image, a KMS key, a Firehose stream of another Region): each one live and
    available, private DNS on (cross-Region endpoints answer on Regional names only), S3's for all
    resolvers, and TCP 443 open both ways from `subnets`. None: cross-Region PrivateLink cannot
    serve the problem at all."""
    if not problem.cross_region:
        return None
    legs = []
    for short, region in problem.cross_region:
        service = service_name(short, region, INTERFACE)
        live = [e for e in snap.endpoints if e.service_name == service and e.type == INTERFACE and e.live]
        endpoint = speaking([e for e in live if e.serving]) or speaking(live)
        legs.append(CrossRegionLeg(short, region, service, endpoint, _leg_wanting(snap, w, endpoint, subnets)))
    return CrossRegionCover(tuple(legs))


def _leg_wanting(snap: VpcSnapshot, w: Workload, e: EndpointInfo | None, subnets: Sequence[str]) -> str:
    if e is None:
        return "no cross-Region endpoint"
    if not e.serving:
        return f"{e.id} is {e.state}: it carries traffic once available"
    if not e.private_dns:
        return f"{e.id} has private DNS off: the Regional name still resolves to public addresses"
    if e.inbound_resolver_only:
        return f"{e.id} has private DNS only for inbound resolver endpoints: the VPC's own S3 names resolve publicly"
    closed = [sid for sid in subnets if ingress_allows_all(
        snap, e.group_ids, task_cidrs(snap, sid, e.dns_record_ip_type), w.security_group_ids) is False]
    if closed:
        return f"{e.id}: its security groups ({', '.join(e.group_ids)}) allow no TCP 443 from {', '.join(closed)}"
    shut = [sid for sid in subnets if egress_to(snap, w.security_group_ids, e.group_ids, peer_cidrs(
        snap, sid, e.subnet_ids, e.dns_record_ip_type)).ok is False]
    if shut:
        return f"{e.id}: the workload's groups allow no TCP 443 out to it from {', '.join(shut)}"
    return ""


def cross_region_subnets(snap: VpcSnapshot, subnets: Iterable[str]) -> tuple[str, ...]:
    """Where a cross-Region endpoint may go: one subnet per AZ, none in an AZ AWS does not support."""
    allowed = [s for s in subnets if (info := snap.subnets.get(s)) is None
               or info.az_id not in CROSS_REGION_UNSUPPORTED_AZ_IDS]
    return one_subnet_per_az(snap, allowed)


def cross_region_create_fix(snap: VpcSnapshot, legs: Iterable[CrossRegionLeg], subnets: Sequence[str]) -> Fix:
    """The commands that create the missing cross-Region endpoints with the tool's group."""
    commands: list[str] = []
    malformed: list[str] = []
    for leg in legs:
        fix = fix_for("cross-region-endpoint-missing", {
            **base_params(snap), "service": leg.service, "service_region": leg.region,
            "subnet_ids": tuple(subnets), "security_group": own_group_ref(snap),
            "dns_arg": S3_ALL_RESOLVERS if leg.short == "s3" else NO_ARG})
        commands += fix.commands
        malformed += [m for m in fix.malformed if m not in malformed]
    return Fix(tuple(commands), tuple(malformed))


def ecr_repositories(w: Workload, region: str) -> list[str]:
    """ARNs of the same-region ECR repositories the workload pulls from."""
    out = []
    for c in w.containers:
        ref = parse_image(c.image)
        if ref.kind == "ecr" and ref.region == region:
            repo = c.image.split("/", 1)[1].split("@")[0]
            repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
            if not is_ecr_repository(repo):
                continue  # not an image ECR can serve: no policy statement is written for it
            out.append(f"arn:{partition(region)}:ecr:{ref.region}:{ref.account}:repository/{repo}")
    return sorted(set(out))


def blocked_calls(snap: VpcSnapshot, short: str, policy: str | None, w: Workload,
                  scope: PolicyScope | None = None) -> list[tuple[str, str]]:
    """(action, resource) of the workload's calls through a `short` endpoint that its policy
    refuses: the pull of its own ECR repositories, and for the rest any resource (the exact ARNs
    are not known). With a scope, each call carries the request context the workload's has."""
    actions = CHECKED_ON_FOREIGN_ENDPOINTS.get(short, ())
    repos = ecr_repositories(w, snap.region) if short in ("ecr.api", "ecr.dkr") else []
    if short in ("ecr.api", "ecr.dkr") and not repos:
        return []  # no same-region ECR image: nothing is pulled through these endpoints
    blocked = []
    for action in actions:
        for resource in (repos if action in _REPOSITORY_CALLS else ["*" if short == "ecr.api" else ""]):
            target = resource or None
            ctx = scope.context(resource=resource != "*") if scope is not None else None
            if not policy_allows(policy, action, target, ctx):
                blocked.append((action, resource or "*"))
    return blocked


def checked_calls(short: str) -> tuple[str, ...]:
    return CHECKED_ON_FOREIGN_ENDPOINTS.get(short, ())


def pulls_from_ecr(w: Workload, region: str) -> bool:
    """Whether the workload pulls an image from this region's ECR: then S3 must let the layers through."""
    return bool(ecr_repositories(w, region))


def gateway_for(snap: VpcSnapshot, live: Sequence[EndpointInfo], subnet_id: str) -> tuple[EndpointInfo, bool]:
    """The gateway endpoint that speaks for a subnet, and whether it is on the subnet's route table
    (when none is, the one that would be: the first by rank)."""
    table = snap.route_table_of(subnet_id)
    on_table = [e for e in live if table and table.id in e.route_table_ids]
    return min(on_table or live, key=rank), bool(on_table)


def shared_vpc_detail(snap: VpcSnapshot, service: str) -> str:
    """What a participant of a shared VPC is told about an endpoint it cannot see."""
    return (f"no {service} endpoint visible: VPC {snap.vpc_id} is shared with account {snap.account} by its "
            f"owner, account {snap.owner}, whose endpoints a participant neither sees nor creates")


def shared_vpc_fix(snap: VpcSnapshot) -> tuple[str, ...]:
    """Read-only commands for the VPC's owner: who owns it, and what endpoints it holds."""
    return fix_commands("shared-vpc-participant", base_params(snap))


def endpoint_is_pending(e: EndpointInfo | None) -> bool:
    return e is not None and e.pending


def own_group_ids(snap: VpcSnapshot) -> tuple[str, ...]:
    """The group the tool's endpoints use or will use (the one named like it, until proved)."""
    own = snap.own_security_group or snap.named_security_group
    return (own.id,) if own else ()


def gateway_tables(snap: VpcSnapshot, subnets: Iterable[str]) -> list[str]:
    return sorted({t.id for s in subnets if (t := snap.route_table_of(s))})


def workload_problem_fix(snap: VpcSnapshot, w: Workload, problem: WorkloadProblem,
                         cover: CrossRegionCover | None = None, subnets: Sequence[str] = ()) -> Fix:
    """The fix of something no endpoint in this region can serve (an image, a secret, a log group):
    first the cross-Region endpoints `cover` lacks (placed in `subnets`' AZs), then the problem's own
    commands (replicate it here)."""
    first = cross_region_create_fix(snap, cover.missing, cross_region_subnets(snap, subnets)) \
        if cover is not None and cover.missing else Fix(())
    own = _own_problem_fix(snap, w, problem)
    return Fix(first.commands + own.commands, tuple(dict.fromkeys(first.malformed + own.malformed)))


def _own_problem_fix(snap: VpcSnapshot, w: Workload, problem: WorkloadProblem) -> Fix:
    params: dict[str, Value] = {**base_params(snap), **dict(problem.params)}
    kind = problem.kind
    if kind == "unmirrorable-registry-image":
        params["repository"] = image_repository(problem.param("image"))
    elif kind == "public-registry-image" and problem.param("rule_exists"):
        # The account already mirrors the registry: show the rule (creating it again would fail).
        return render_fix((PULL_THROUGH_RULE_SHOW,), params)
    elif kind == "public-registry-image":
        params["credential_arg"] = shell(PULL_THROUGH_CREDENTIAL, {
            "region": snap.region, "secret_name": "ecr-pullthroughcache/" + problem.param("prefix"),
        }) if problem.param("credentials") else Shell("")
    elif kind == "cross-region-ecr-image":
        repository = image_repository(problem.param("image"))
        params["repository"] = repository
        params["replication_query"] = replication_merge_query(
            snap.region, problem.param("image_account"), repository)
    elif kind in ("cross-region-secret", "cross-region-parameter"):
        resource = problem.param("arn").split(":", 5)[-1]
        rest = resource.split("/", 1)[-1]
        params["parameter"] = "/" + rest if "/" in rest else rest
    elif kind == "cross-region-logs":
        # ECS names a default awslogs group after the task definition family.
        params["log_group"] = problem.param("log_group") or "/ecs/" + w.name.split(":")[0]
    return fix_for(kind, params)


# ---------------------------------------------------------------- EFS volumes (NFS to a mount target)
#
# A task mounts an EFS volume through the file system's DNS name, which resolves to the mount
# target in the task's own AZ only (EFS User Guide, "Managing mount targets"; on Fargate a task in
# an AZ without one stops with ResourceInitializationError: "Failed to resolve fs-...efs..."), over
# NFS, TCP 2049: the mount target's security groups must let it in from the task, and the task's
# let it out (EFS User Guide, "Using VPC security groups"; ECS guide, "Use Amazon EFS volumes").
# TLS mounts use 2049 too. No route and no VPC endpoint is involved: a NAT route changes nothing.

NFS_PORT = 2049


def efs_service(file_system_id: str) -> str:
    """The `service` of an EFS volume's checks and verdicts (one row per file system)."""
    return "efs:" + fs_label(file_system_id)


def fs_label(file_system_id: str) -> str:
    """A file system id as printed: as is when it has the EFS format, escaped otherwise (it came
    from a task definition someone else wrote)."""
    return file_system_id if is_efs_file_system_id(file_system_id) else safe_repr(file_system_id)


@record
class NfsPath(Check):
    """A check of one hop (mount-target or nfs) of one file system from one workload subnet, with the
    file system's own id (its `service` is `efs_service` of it, escaped for printing)."""

    file_system: str = ""


def _path(fs_id: str, sid: str, hop: str, level: Level, detail: str, fix: tuple[str, ...] = (),
          problem: str = "") -> NfsPath:
    return NfsPath(efs_service(fs_id), sid, hop, level, detail, fix, problem, fs_id)


def efs_paths(snap: VpcSnapshot, w: Workload, subnets: Sequence[str]) -> list[NfsPath]:
    """Every EFS volume's file system from each of `subnets`: a mount target live in the subnet's
    AZ (and in this VPC), then TCP 2049 both ways. A file system not read, or not readable, is
    "not checked", never a fault."""
    out: list[NfsPath] = []
    for fs_id in w.efs_file_systems:
        fs = snap.file_systems.get(fs_id)
        for sid in subnets:
            if fs is None or fs.unread:
                why = fs.unread if fs is not None else "not read"
                out.append(_path(fs_id, sid, MOUNT_TARGET, WARN,
                                   f"EFS file system {fs_label(fs_id)}: {why}: not checked"))
                continue
            mount_target = _mount_target_for(snap, fs, sid)
            if mount_target is None:
                out.append(_missing_mount_target(snap, fs, sid))
                continue
            out.append(_path(fs_id, sid, MOUNT_TARGET, PASS,
                               f"{fs_id} has mount target {mount_target.id} in {az_of(snap, sid)} ({mount_target.state})"))
            out.append(_nfs(snap, w, fs_id, sid, mount_target))
    return out


def _mount_target_for(snap: VpcSnapshot, fs: FileSystem, sid: str) -> MountTarget | None:
    az = az_of(snap, sid)
    here = [m for m in fs.mount_targets if m.live and m.az == az and m.vpc_id in ("", snap.vpc_id)]
    return min(here, key=lambda m: m.id) if here else None


def missing_mount_target_text(snap: VpcSnapshot, fs: FileSystem, azs: Sequence[str]) -> str:
    """What both doors say of a file system without a live mount target in `azs` (of this VPC)."""
    live = [m for m in fs.mount_targets if m.live]
    elsewhere = sorted({m.vpc_id for m in live if m.vpc_id and m.vpc_id != snap.vpc_id})
    if live and elsewhere and all(m.vpc_id != snap.vpc_id for m in live):
        return (f"EFS file system {fs.id} has its mount targets in {', '.join(elsewhere)}, not in {snap.vpc_id}: "
                "its DNS name does not resolve here, so tasks fail to mount it (a file system's mount targets are "
                "all in one VPC: mount it from there, or use a file system with mount targets here)")
    where = f"its mount targets are in {', '.join(sorted({m.az for m in live}))}" if live else "it has no mount target"
    return (f"EFS file system {fs.id} has no mount target in {', '.join(azs) or '?'} ({where}): its DNS name "
            "resolves only to the mount target in the task's own AZ, so tasks there fail to start "
            "(ResourceInitializationError)")


def mount_target_fix(snap: VpcSnapshot, fs: FileSystem, sid: str) -> tuple[str, ...]:
    """Show the file system's mount targets, then create one in `sid` with the groups its other
    mount targets have (none in this VPC: only the first, since EFS would refuse the create)."""
    live = [m for m in fs.mount_targets if m.live]
    base = {**base_params(snap), "file_system_id": fs.id, "subnet_id": sid}
    if live and all(m.vpc_id and m.vpc_id != snap.vpc_id for m in live):
        return fix_for("efs-mount-target-missing", base).commands[:1]
    groups = tuple(sorted({g for m in live for g in m.group_ids or ()}))
    return fix_commands("efs-mount-target-missing", {**base, "groups_arg": security_groups_arg(groups)})


def _missing_mount_target(snap: VpcSnapshot, fs: FileSystem, sid: str) -> NfsPath:
    return _path(fs.id, sid, MOUNT_TARGET, FAIL, missing_mount_target_text(snap, fs, [az_of(snap, sid) or "?"]),
                   mount_target_fix(snap, fs, sid), "efs-mount-target-missing")


def _nfs(snap: VpcSnapshot, w: Workload, fs_id: str, sid: str, mt: MountTarget) -> NfsPath:
    if mt.group_ids is None or not mt.group_ids:
        return _path(fs_id, sid, NFS, WARN, f"security groups of mount target {mt.id} not read: not checked")
    cidrs = task_cidrs(snap, sid, "")
    inbound = ingress_allows_all(snap, mt.group_ids, cidrs, w.security_group_ids, NFS_PORT)
    target = (f"{mt.ip}/32",) if mt.ip and ":" not in mt.ip else ()
    outbound = egress_to(snap, w.security_group_ids, mt.group_ids, target, port=NFS_PORT)
    groups = ", ".join(mt.group_ids)
    if inbound is None:
        return _path(fs_id, sid, NFS, WARN, f"security group(s) {groups} of mount target {mt.id} not readable in "
                                              f"{snap.vpc_id}: not checked")
    problems: list[str] = []
    fix: list[str] = []
    if not inbound:
        permissions, source = ingress_source(snap, w.security_group_ids, cidrs, NFS_PORT)
        problems.append(f"security group(s) {groups} of mount target {mt.id} allow no TCP {NFS_PORT} from the "
                        f"task's subnet or security groups; allow it from {source}")
        fix += fix_commands("efs-nfs-closed", {**base_params(snap), "security_group": mt.group_ids[0],
                                               "ip_permissions": permissions})
    if outbound.ok is False:
        problems.append(outbound.detail)
        fix += outbound.fix
    if problems:
        return _path(fs_id, sid, NFS, FAIL, "; ".join(problems) + f": the mount of {fs_id} times out and the "
                                                                    "task fails to start", tuple(fix), "efs-nfs-closed")
    return _path(fs_id, sid, NFS, PASS, f"TCP {NFS_PORT} open from the task to mount target {mt.id} ({groups})")


def efs_resource(snap: VpcSnapshot, file_system_id: str) -> str:
    """A file system's ARN: what an EFS finding is about."""
    return f"arn:{partition(snap.region)}:elasticfilesystem:{snap.region}:{snap.account}:file-system/{file_system_id}"


# ---------------------------------------------------------------- DHCP options: custom DNS servers
#
# Endpoints' private DNS names live in private hosted zones AWS manages for the VPC, and private
# hosted zones are answered by the Route 53 Resolver only (VPC User Guide, "Understanding Amazon
# DNS": the Resolver, "AmazonProvidedDNS", at 169.254.169.253, fd00:ec2::253 and the primary IPv4
# block's base + 2). A DHCP option set that hands out other DNS servers (VPC User Guide, "DHCP
# option sets") keeps those names resolving to the endpoints only if the servers forward the
# service domains to the Resolver (or to an inbound Resolver endpoint). That forwarding is the
# servers' own configuration, which no AWS API shows: the finding says it is not verified.

AMAZON_PROVIDED_DNS = "AmazonProvidedDNS"
_RESOLVER_LINK_LOCAL = ("169.254.169.253", "fd00:ec2::253")


def resolver_addresses(snap: VpcSnapshot) -> tuple[str, ...]:
    """Where the Route 53 Resolver answers in the VPC."""
    primary = snap.primary_cidr or (snap.cidrs[0] if snap.cidrs else "")
    try:
        base = ipaddress.ip_network(primary, strict=False)
    except ValueError:
        return _RESOLVER_LINK_LOCAL
    return _RESOLVER_LINK_LOCAL + (str(base.network_address + 2),)


@record
class CustomDns:
    """The VPC's DHCP options name DNS servers that are not the Route 53 Resolver."""

    option_set: str
    servers: tuple[str, ...]  # the ones that are not the Resolver
    summary: str  # the finding's
    fix: tuple[str, ...]
    detail: str  # the same, shorter, for the dns hop of each service


def custom_dns(snap: VpcSnapshot) -> CustomDns | None:
    """The VPC's custom DNS servers (DHCP options), or None when it resolves through the Route 53
    Resolver, or the option set was not read (not accused). A set that names no DNS server at all
    is not judged: nothing is known to stand in the Resolver's way."""
    dhcp = snap.dhcp
    if dhcp is None or dhcp.unread:
        return None
    resolver = {a.lower() for a in resolver_addresses(snap)} | {AMAZON_PROVIDED_DNS.lower()}
    custom = tuple(s for s in dhcp.dns_servers if s.lower() not in resolver)
    if not custom:
        return None
    also = f" (besides {AMAZON_PROVIDED_DNS}, which a client may or may not try first)" \
        if any(s.lower() == AMAZON_PROVIDED_DNS.lower() for s in dhcp.dns_servers) else ""
    configurations = [{"Key": key, "Values": [AMAZON_PROVIDED_DNS] if key == "domain-name-servers" else list(values)}
                      for key, values in dhcp.configurations if values]
    fix = fix_commands("dhcp-custom-dns", {**base_params(snap), "dhcp_options_id": dhcp.id,
                                           "dhcp_configurations": Json(configurations)})
    resolver_at = " or ".join(a for a in resolver_addresses(snap) if ":" not in a)
    summary = (f"VPC {snap.vpc_id}'s DHCP option set {dhcp.id} sends DNS queries to {', '.join(custom)}{also}: "
               "interface endpoints' private DNS names (and private hosted zones) are answered only by the Route 53 "
               f"Resolver ({resolver_at}), so they resolve to the endpoints only if these servers forward "
               "amazonaws.com (the endpoints' service names) to it or to an inbound Resolver endpoint; whether they "
               f"do cannot be seen from the AWS API, so this is not verified. Either forward those names, or give "
               f"the VPC an option set with {AMAZON_PROVIDED_DNS} (the commands keep every other option)")
    detail = (f"DHCP option set {dhcp.id} sends DNS to {', '.join(custom)}: the name reaches the endpoint only if "
              f"they forward amazonaws.com to the Route 53 Resolver ({resolver_at}), which the API cannot show "
              "(not verified)")
    return CustomDns(dhcp.id, custom, summary, fix, detail)


def resolves_privately(snap: VpcSnapshot, short: str, typ: str) -> bool:
    """Whether a need's traffic finds its endpoint by a private DNS name: every interface service,
    and S3 when an interface endpoint with private DNS for all resolvers is its path."""
    if typ == INTERFACE:
        return True
    return short == "s3" and s3_interface_path(snap, service_name(short, snap.region, GATEWAY)) is not None


def own_group_ref(snap: VpcSnapshot) -> str | Shell:
    """The tool's endpoint group as a command argument: its id, or looked up by name."""
    own = snap.own_security_group or snap.named_security_group
    return own.id if own else own_sg_lookup(base_params(snap))


# ---------------------------------------------------------------- every hop (doctor's view)


def judge(snap: VpcSnapshot, w: Workload, requirements: Requirements,
          scope: PolicyScope | None = None) -> list[Check]:
    """Every hop for every service the workload needs from every one of its subnets."""
    return _Judge(snap, w, requirements, scope).run()


class _Judge:
    def __init__(self, snap: VpcSnapshot, w: Workload, requirements: Requirements, scope: PolicyScope | None) -> None:
        self.snap = snap
        self.w = w
        self.requirements = requirements
        self.scope = scope
        self.base = base_params(snap)
        self.subnets = [s for s in w.subnet_ids if s in snap.subnets]
        self.alt = {s: t.egress_target if (t := alternative_path(snap, s, w.assign_public_ip)) else None
                    for s in self.subnets}
        self.gateways = {n.service for n in requirements.needs if n.type == GATEWAY}
        self.checks: list[Check] = []
        # (ACL, egress, CIDR, ports) -> the rule number this run's fixes give that entry
        self.rule_for: dict[tuple[str, bool, str, tuple[int, int]], int] = {}

    def run(self) -> list[Check]:
        for sid in self.subnets:
            self.route(sid)
        self.sources()
        for need in self.requirements.needs:
            if need.type == INTERFACE:
                self.interface(need.service)
            else:
                self.gateway(need.service)
        self.custom_dns()
        for path in efs_paths(self.snap, self.w, self.subnets):
            self.add(efs_service(path.file_system), path.subnet, path.hop, path.level, path.detail, path.fix,
                     path.problem)
        order = {h: i for i, h in enumerate(HOP_ORDER)}
        services = [ANY_SERVICE] + [n.service for n in self.requirements.needs]
        position = {s: i for i, s in enumerate(services)}
        subnet_pos = {s: i for i, s in enumerate(self.subnets)}
        return sorted(self.checks, key=lambda c: (position.get(c.service, 99), order.get(c.hop, 99),
                                                  subnet_pos.get(c.subnet, 99)))

    def add(self, service: str, subnet: str, hop: str, level: Level, detail: str,
            fix: Iterable[str] = (), problem: str = "") -> None:
        self.checks.append(Check(service, subnet, hop, level, detail, tuple(dict.fromkeys(fix)),
                                 problem if level != PASS else ""))

    def az(self, subnet_id: str) -> str:
        return az_of(self.snap, subnet_id) or "?"

    def alt_for(self, sid: str, short: str = "") -> str | None:
        """The way out of the subnet to a service without its endpoint: 0.0.0.0/0's, or for an
        interface service that takes IPv6, ::/0's (`ipv6_way_out`)."""
        if self.alt[sid] or not short or short == ANY_SERVICE or short in self.gateways:
            return self.alt[sid]
        table = ipv6_way_out(self.snap, sid, service_name(short, self.snap.region, INTERFACE))
        return table.egress6_target if table else None

    def bypass_level(self, sid: str, used: bool = False, fatal: bool = False, short: str = "") -> Level:
        """FAIL, or WARN when traffic does not take this endpoint and an alternative path carries it."""
        if fatal or used or not self.alt_for(sid, short):
            return FAIL
        return WARN

    def custom_dns(self) -> None:
        """Custom DNS servers (DHCP options) on the dns hop of every service found by a private DNS
        name, from every subnet: a warning (it cannot be verified), kept beside what the hop
        already says, never hiding a failure."""
        found = custom_dns(self.snap)
        if found is None:
            return
        shorts = [n.service for n in self.requirements.needs if resolves_privately(self.snap, n.service, n.type)]
        for short in shorts:
            for sid in self.subnets:
                at = next((i for i, c in enumerate(self.checks)
                           if c.service == short and c.subnet == sid and c.hop == DNS), None)
                if at is None:
                    self.add(short, sid, DNS, WARN, found.detail, found.fix, "dhcp-custom-dns")
                    continue
                c = self.checks[at]
                if c.level == PASS:
                    self.checks[at] = Check(short, sid, DNS, WARN, f"{c.detail}, but {found.detail}", found.fix,
                                            "dhcp-custom-dns")
                else:
                    self.checks[at] = replace(c, detail=f"{c.detail}; {found.detail}",
                                              fix=tuple(dict.fromkeys(c.fix + found.fix)))

    # ------------------------------------------------------------ the way out and what no endpoint serves

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
        elif table.egress == "private-nat":
            self.add(ANY_SERVICE, sid, ROUTE, PASS, private_nat_text(replace(table, id=which)))
        elif central_egress(self.snap, sid) is not None:
            self.add(ANY_SERVICE, sid, ROUTE, PASS, central_egress_text(replace(table, id=which)))
        elif table.egress:
            self.add(ANY_SERVICE, sid, ROUTE, PASS,
                     f"{which} sends 0.0.0.0/0 to {egress_name(table.egress)} {table.egress_target}: whether that "
                     "reaches the internet is not visible from this VPC, so the endpoints must work")
        else:
            self.add(ANY_SERVICE, sid, ROUTE, PASS,
                     f"{which} has no route to a NAT or internet gateway: the endpoints are the only way out")

    def sources(self) -> None:
        """Images, secrets and log groups that no endpoint in this region can serve."""
        for problem in self.requirements.problems:
            cover = cross_region_cover(self.snap, self.w, problem, self.subnets)
            if cover is not None and cover.served:
                for sid in self.subnets:
                    self.add(ANY_SERVICE, sid, SOURCE, PASS, f"{problem.summary.split(';', 1)[0]}: served by "
                                                             f"cross-Region endpoints {cover.text()}")
                continue
            fix = workload_problem_fix(self.snap, self.w, problem, cover, self.subnets)
            wanting = f" (cross-Region endpoints: {cover.wanting()})" if cover is not None and \
                len(cover.missing) < len(cover.legs) else ""
            summary = problem.summary + wanting + fix.note()
            for sid in self.subnets:
                alt = self.alt[sid]
                if alt:
                    self.add(ANY_SERVICE, sid, SOURCE, WARN, f"{summary} (reached through {alt} here)", fix.commands,
                             problem.kind)
                else:
                    self.add(ANY_SERVICE, sid, SOURCE, FAIL, summary, fix.commands, problem.kind)

    # ------------------------------------------------------------ interface endpoints

    def interface(self, short: str) -> None:
        service = service_name(short, self.snap.region, INTERFACE)
        mine = endpoints_of(self.snap, service)
        serving = [e for e in mine if e.type == INTERFACE and e.serving]
        endpoint = speaking(serving) or speaking([e for e in mine if e.type == INTERFACE])
        cover = zone_cover(self.snap, service, registry_accounts([self.w], self.snap.region)) \
            if not serving else None
        for sid in self.subnets:
            if endpoint is None or endpoint not in serving:
                if cover is not None and not endpoint_is_pending(endpoint):
                    self.centralised(short, service, sid, cover)
                else:
                    self.missing_interface(short, service, sid, endpoint, mine)
                continue
            self.add(short, sid, ENDPOINT, PASS,
                     f"{endpoint.id} is {endpoint.state} (Interface, subnets in "
                     f"{', '.join(sorted(covered_azs(self.snap, [endpoint]))) or 'no AZ'})")
            resolves = self.dns(short, service, sid, serving)
            self.interface_az(short, service, sid, serving, endpoint)
            self.policy(short, sid, endpoint, resolves)
            peers = tuple(sorted({s for e in serving for s in e.subnet_ids}))
            groups = tuple(sorted({g for e in serving for g in e.group_ids}))
            self.egress(short, sid, resolves, egress_to(
                self.snap, self.w.security_group_ids, groups,
                peer_cidrs(self.snap, sid, peers, endpoint.dns_record_ip_type)))
            self.endpoint_ingress(short, sid, endpoint, resolves)
            self.nacl(short, sid, resolves, [(p, c) for p in peers if (c := cidr_of(self.snap, p))])

    def missing_interface(self, short: str, service: str, sid: str, dead: EndpointInfo | None,
                          mine: list[EndpointInfo]) -> None:
        alt = self.alt_for(sid, short)
        gateway = next((e for e in mine if e.type == GATEWAY), None)
        if dead is not None and dead.pending:
            self.add(short, sid, ENDPOINT, WARN, f"{dead.id} is {dead.state}: it carries traffic once available",
                     problem=ENDPOINT_PENDING)
            self.dns_attributes_only(short, sid)
            return
        if dead is not None:
            what = f"{service} endpoint {dead.id} is {dead.state}: it carries no traffic"
        elif gateway is not None:
            what = (f"{service} has only the Gateway endpoint {gateway.id}; this workload needs an Interface "
                    "endpoint")
        else:
            what = f"no {service} interface endpoint in {self.snap.vpc_id}"
        zones = "" if self.snap.zones_readable else " (private hosted zones not readable, so a centralised " \
                                                    "endpoint would not be seen)"
        level, why = (WARN, f"; traffic goes through {alt} instead") if alt else (FAIL, "")
        if self.snap.shared:
            self.add(short, sid, ENDPOINT, level, shared_vpc_detail(self.snap, service) + why,
                     shared_vpc_fix(self.snap), "shared-vpc-participant")
            self.dns_attributes_only(short, sid)
            return
        placed, fix, problem, records = self.create_interface(service)
        self.add(short, sid, ENDPOINT, level, what + why + zones, fix, problem)
        self.dns_attributes_only(short, sid)
        if placed:
            self.egress(short, sid, False, egress_to(
                self.snap, self.w.security_group_ids, own_group_ids(self.snap),
                peer_cidrs(self.snap, sid, placed, records)))

    def create_interface(self, service: str) -> tuple[tuple[str, ...], tuple[str, ...], str, str]:
        """Where a new endpoint would go (one workload subnet per offered AZ), its commands, the
        problem, and the DNS records it would get."""
        offer = self.snap.offers.get(service)
        offered = offer.azs if offer else None
        if service in self.snap.offers and offer is None:
            offered = frozenset()
        placed, ip_type = placement(self.snap, self.subnets, offered, offer)
        if not placed:
            return (), fix_commands("service-not-offered", {**self.base, "service": service}), \
                "service-not-offered", ""
        own = self.snap.own_security_group or self.snap.named_security_group  # printed, never acted on
        group = own_group_ref(self.snap)
        commands: tuple[str, ...] = ()
        if own is None:
            commands = fix_commands("endpoint-security-group-missing", {
                **self.base, "security_group": group,
                "ip_permissions": ingress_443(cidrs=self.snap.all_cidrs, why="vpce-remediator")})
        records = dns_records_for(ip_type)
        return placed, commands + fix_commands("endpoint-missing", {
            **self.base, "service": service, "subnet_ids": placed, "security_group": group,
            "ip_arg": ip_address_type_arg(ip_type, records)}), "endpoint-missing", records

    def centralised(self, short: str, service: str, sid: str, cover: ZoneCover) -> None:
        """No endpoint here, but a zone of a hub takes the service's names: the hub's endpoint serves
        them when the zone holds their records (its AZs, groups and ACLs are the hub's to check)."""
        zone = cover.zone
        unread = " (its records are not readable here: not checked)" if cover.unread else ""
        if cover.missing:
            self.add(short, sid, ENDPOINT, WARN,
                     f"no endpoint in {self.snap.vpc_id}; {cover.detail()} takes {service}'s names, so a "
                     "centralised endpoint is meant to serve it (an endpoint with private DNS here would "
                     "conflict with the zone)")
        else:
            self.add(short, sid, ENDPOINT, PASS,
                     f"no endpoint in {self.snap.vpc_id}, but {cover.detail()} answers for it: a centralised "
                     "endpoint in another VPC serves it (its AZs, security groups and network ACLs are checked "
                     f"there, not here){unread}")
        problems = vpc_dns_problems(self.snap)
        texts = [t for _, t in problems]
        fix = list(vpc_dns_fix(self.snap))
        kind = problems[0][0] if problems else ""
        if cover.missing:
            texts.append(missing_records_text(self.snap, service, cover)
                         + ": the name does not resolve at all in the VPC, whatever its route out")
            fix += zone_record_fix(self.snap, cover, service)
            kind = kind or "central-zone-record-missing"
        if texts:
            self.add(short, sid, DNS, FAIL, "; ".join(texts) + f" (zone {zone.name or zone.id})", fix, kind)
        else:
            self.add(short, sid, DNS, PASS, f"{dns_name(self.snap, service)} resolves through zone {zone.name}")

    def dns_attributes_only(self, short: str, sid: str) -> None:
        """With no endpoint yet, the VPC attributes still decide whether one could work."""
        problems = vpc_dns_problems(self.snap)
        if problems:
            self.add(short, sid, DNS, self.bypass_level(sid, fatal=not self.snap.dns_support, short=short),
                     "; ".join(t for _, t in problems) + ": an endpoint's private DNS cannot work until it is on",
                     vpc_dns_fix(self.snap), problems[0][0])

    def dns(self, short: str, service: str, sid: str, live: list[EndpointInfo]) -> bool:
        """Whether the service's name resolves to the endpoint; adds the dns hop."""
        name = dns_name(self.snap, service)
        problems = vpc_dns_problems(self.snap)
        fix = list(vpc_dns_fix(self.snap))
        texts = [t for _, t in problems]
        kind = problems[0][0] if problems else ""
        private = next((e for e in live if e.private_dns), None)
        if private is None:
            endpoint = live[0]
            texts.append(f"private DNS is off on {endpoint.id}")
            fix += fix_commands("private-dns-off", {**self.base, "endpoint_id": endpoint.id})
            kind = kind or "private-dns-off"
        if not texts:
            self.add(short, sid, DNS, PASS, f"{name} resolves to the endpoint (private DNS of {private.id if private else '?'})")
            return True
        alt = self.alt_for(sid, short)
        # Without the VPC resolver nothing resolves at all, whatever the route out.
        level = self.bypass_level(sid, fatal=not self.snap.dns_support, short=short)
        effect = (f"{name} does not resolve at all" if not self.snap.dns_support
                  else f"{name} resolves to public addresses, not to the endpoint")
        why = f"; traffic goes through {alt} instead" if level == WARN else ""
        self.add(short, sid, DNS, level, "; ".join(texts) + ": " + effect + why, fix, kind)
        return False

    def interface_az(self, short: str, service: str, sid: str, live: list[EndpointInfo],
                     endpoint: EndpointInfo) -> None:
        az = self.az(sid)
        covered = covered_azs(self.snap, live)
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
                 fix_commands("endpoint-missing-az", {**self.base, "endpoint_id": endpoint.id, "subnet_ids": (sid,)}),
                 "endpoint-missing-az")

    def policy(self, short: str, sid: str, endpoint: EndpointInfo, used: bool) -> None:
        actions = checked_calls(short)
        if not actions or (short in ("ecr.api", "ecr.dkr") and not ecr_repositories(self.w, self.snap.region)):
            return
        blocked = blocked_calls(self.snap, short, endpoint.policy, self.w, self.scope)
        if not blocked:
            self.add(short, sid, POLICY, PASS, f"{endpoint.id}'s policy allows {', '.join(actions)}")
            return
        fix = fix_commands("endpoint-policy-blocks-workload", {
            **self.base, "endpoint_id": endpoint.id, "policy": unblocking_policy(endpoint.policy, blocked)})
        what = ", ".join(f"{a} on {r}" for a, r in blocked)
        self.add(short, sid, POLICY, self.bypass_level(sid, used=used, short=short),
                 f"{endpoint.id}'s endpoint policy does not allow {what}: the workload's calls are refused", fix,
                 "endpoint-policy-blocks-workload")

    def endpoint_ingress(self, short: str, sid: str, endpoint: EndpointInfo, used: bool) -> None:
        cidrs = task_cidrs(self.snap, sid, endpoint.dns_record_ip_type)
        allowed = ingress_allows_all(self.snap, endpoint.group_ids, cidrs, self.w.security_group_ids)
        if allowed is None:
            self.add(short, sid, SG_INGRESS, WARN, f"security groups of {endpoint.id} not readable in "
                                                   f"{self.snap.vpc_id}: not checked")
            return
        if allowed:
            self.add(short, sid, SG_INGRESS, PASS,
                     f"{', '.join(endpoint.group_ids)} on {endpoint.id} allows TCP 443 from the task")
            return
        permissions, source = ingress_source(self.snap, self.w.security_group_ids, cidrs)
        self.add(short, sid, SG_INGRESS, self.bypass_level(sid, used=used, short=short),
                 f"security group(s) {', '.join(endpoint.group_ids)} of {endpoint.id} allow no TCP 443 from the "
                 f"task's subnet or security groups: connections time out; allow it from {source}",
                 fix_commands("endpoint-sg-closed", {**self.base, "security_group": endpoint.group_ids[0],
                                                     "ip_permissions": permissions}), "endpoint-sg-closed")

    # ------------------------------------------------------------ gateway endpoints (S3)

    def gateway(self, short: str) -> None:
        service = service_name(short, self.snap.region, GATEWAY)
        path = s3_interface_path(self.snap, service) if short == "s3" else None
        if path is not None:
            self.s3_interface(short, service, path)
            return
        mine = endpoints_of(self.snap, service)
        live = [e for e in mine if e.type == GATEWAY and e.serving]
        tables = gateway_tables(self.snap, self.subnets)
        for sid in self.subnets:
            alt = self.alt[sid]
            if not live:
                other = next((e for e in mine if e.type != GATEWAY), None)
                dead = next((e for e in mine if e.type == GATEWAY), None)
                if dead is not None and dead.pending:
                    self.add(short, sid, ENDPOINT, WARN, f"{dead.id} is {dead.state}: it carries traffic once "
                                                         "available", problem=ENDPOINT_PENDING)
                    continue
                if dead is not None:
                    what = f"{service} gateway endpoint {dead.id} is {dead.state}: it carries no traffic"
                elif other is not None:
                    what = (f"{service} has only the {other.type} endpoint {other.id}; the workload needs the "
                            "Gateway endpoint on its route table")
                else:
                    what = f"no {service} gateway endpoint in {self.snap.vpc_id}"
                level, why = (WARN, f"; traffic goes through {alt} instead") if alt else (FAIL, "")
                if self.snap.shared:
                    self.add(short, sid, ENDPOINT, level, shared_vpc_detail(self.snap, service) + why,
                             shared_vpc_fix(self.snap), "shared-vpc-participant")
                    continue
                self.add(short, sid, ENDPOINT, level, what + why, fix_commands("gateway-endpoint-missing", {
                    **self.base, "service": service, "route_table_ids": tuple(tables)}), "gateway-endpoint-missing")
                if short == "s3":
                    self.egress(short, sid, False, egress_to(self.snap, self.w.security_group_ids, gateway=service))
                continue
            table = self.snap.route_table_of(sid)
            endpoint, used = gateway_for(self.snap, live, sid)
            self.add(short, sid, ENDPOINT, PASS, f"{endpoint.id} is {endpoint.state} (Gateway)")
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
                             **self.base, "endpoint_id": endpoint.id, "route_table_ids": (table.id,) if table else ()}),
                         "s3-gateway-missing-route-table")
            if short == "s3":
                self.s3_policy(sid, endpoint, used)
                self.egress(short, sid, used, egress_to(self.snap, self.w.security_group_ids, gateway=service))
                pl = self.snap.prefix_lists.get(service)
                self.nacl(short, sid, used, [("S3", c) for c in (pl.cidrs if pl else ()) or ("0.0.0.0/0",)])

    def s3_interface(self, short: str, service: str, endpoint: EndpointInfo) -> None:
        """S3 through an interface endpoint with private DNS for all resolvers: its subnets, groups
        and policy carry the traffic, and no gateway endpoint is demanded."""
        peers = tuple(sorted(endpoint.subnet_ids))
        for sid in self.subnets:
            self.add(short, sid, ENDPOINT, PASS, s3_interface_detail(endpoint))
            resolves = self.dns(short, service, sid, [endpoint])
            self.interface_az(short, service, sid, [endpoint], endpoint)
            self.s3_policy(sid, endpoint, resolves)
            self.egress(short, sid, resolves, egress_to(
                self.snap, self.w.security_group_ids, endpoint.group_ids,
                peer_cidrs(self.snap, sid, peers, endpoint.dns_record_ip_type)))
            self.endpoint_ingress(short, sid, endpoint, resolves)
            self.nacl(short, sid, resolves, [(p, c) for p in peers if (c := cidr_of(self.snap, p))])

    def s3_policy(self, sid: str, endpoint: EndpointInfo, used: bool) -> None:
        if not pulls_from_ecr(self.w, self.snap.region):
            return
        region = self.snap.region
        if policy_allows_ecr_layers(endpoint.policy, region):
            self.add("s3", sid, POLICY, PASS, f"{endpoint.id}'s policy allows s3:GetObject on the ECR layer bucket")
            return
        self.add("s3", sid, POLICY, self.bypass_level(sid, used=used),
                 f"{endpoint.id}'s policy does not allow s3:GetObject on {layer_bucket_arn(region)}, where ECR "
                 "keeps image layers: pulls fail after the manifest",
                 fix_commands("s3-policy-blocks-ecr-layers", {
                     **self.base, "endpoint_id": endpoint.id, "policy": policy_with_ecr_layers(endpoint.policy, region)}),
                 "s3-policy-blocks-ecr-layers")

    # ------------------------------------------------------------ shared: security groups, ACLs

    def egress(self, short: str, sid: str, used: bool, verdict: Egress) -> None:
        if verdict.ok is None:
            self.add(short, sid, SG_EGRESS, WARN, verdict.detail)
        elif verdict.ok:
            self.add(short, sid, SG_EGRESS, PASS, verdict.detail)
        else:
            self.add(short, sid, SG_EGRESS, self.bypass_level(sid, used=used, short=short), verdict.detail, verdict.fix,
                     "sg-egress-closed")

    def nacl(self, short: str, sid: str, used: bool, peers: Sequence[tuple[str, str]]) -> None:
        """Both subnets' network ACLs: 443 out and replies back in from the workload; the mirror at the endpoint."""
        if self.snap.acls is None:
            self.add(short, sid, NACL, WARN, "network ACLs not readable: not checked")
            return
        here = cidr_of(self.snap, sid)
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
            legs = [(self.snap.acl_of(sid), True, peer, 443, 443, f"TCP 443 out of {sid} to {peer}"),
                    (self.snap.acl_of(sid), False, peer, lo, hi, f"replies (TCP {lo}-{hi}) into {sid} from {peer}")]
            if peer_id.startswith("subnet-"):
                legs += [(self.snap.acl_of(peer_id), False, here, 443, 443, f"TCP 443 into {peer_id} from {here}"),
                         (self.snap.acl_of(peer_id), True, here, lo, hi,
                          f"replies (TCP {lo}-{hi}) out of {peer_id} to {here}")]
            for acl, egress, cidr, first, last, what in legs:
                # An IPv6-only subnet has no IPv4 block to judge, and IPv6 ACL entries are not read.
                if acl is None or not cidr or (acl.id, egress, cidr, first) in seen:
                    continue
                seen.add((acl.id, egress, cidr, first))
                allowed, blocker = acl_allows(acl, egress, cidr, first, last)
                if allowed:
                    continue
                by = f"rule {blocker.number} denies it" if blocker else "no rule allows it"
                problems.append(f"{acl.id} blocks {what} ({by})")
                ports = (443, 443) if first == 443 else _EPHEMERAL_FIX
                fix += fix_commands("nacl-closed", {
                    **self.base, "acl_id": acl.id, "rule": self.free_rule(acl, egress, blocker, cidr, ports),
                    "direction": "egress" if egress else "ingress", "from_port": ports[0], "to_port": ports[1],
                    "cidr": cidr})
        if not problems:
            acls = sorted({a.id for a in (self.snap.acl_of(sid), *(self.snap.acl_of(p) for p, _ in peers)) if a})
            self.add(short, sid, NACL, PASS, f"{', '.join(acls)} {'allow' if len(acls) > 1 else 'allows'} "
                                             "TCP 443 and its replies")
            return
        self.add(short, sid, NACL, self.bypass_level(sid, used=used, short=short), "; ".join(problems), fix,
                 "nacl-closed")

    def free_rule(self, acl: NetworkAcl, egress: bool, blocker: AclEntry | None, cidr: str,
                  ports: tuple[int, int]) -> int:
        """A rule number free in the ACL: the same one for the same entry however many hops need it,
        and never one another entry of this run's fixes takes."""
        key = (acl.id, egress, cidr, ports)
        if key not in self.rule_for:
            taken = {n for (a, e, _, _), n in self.rule_for.items() if a == acl.id and e == egress}
            self.rule_for[key] = free_rule(acl, egress, blocker, taken)
        return self.rule_for[key]


def unblocking_policy(policy: str | None, blocked: Sequence[tuple[str, str]]) -> str:
    """The endpoint's policy plus one statement allowing exactly the refused calls: someone else's
    policy keeps everything it says and gains no more than the workload needs."""
    return policy_plus(policy, {"Sid": "AllowWorkloadCalls", "Effect": "Allow", "Principal": "*",
                                "Action": sorted({a for a, _ in blocked}), "Resource": sorted({r for _, r in blocked})})


# ---------------------------------------------------------------- network ACLs (pure)


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
                or not rule_net.overlaps(peer_net):
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


def free_rule(acl: NetworkAcl, egress: bool, blocker: AclEntry | None, taken: Iterable[int] = ()) -> int:
    """A free rule number that is evaluated before the blocking rule (or anywhere before `*`),
    and not one of `taken` (the numbers earlier fixes of the same run use)."""
    used = {e.number for e in acl.entries if e.egress == egress} | set(taken)
    if blocker is not None:
        return next((n for n in range(blocker.number - 1, 0, -1) if n not in used), 1)
    return next(n for n in range(100, 32767, 10) if n not in used)

