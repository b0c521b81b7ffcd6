"""The EC2 reader: one read of everything in a VPC that decides whether a workload reaches its services.

It fills the pure `facts.VpcSnapshot`; `read_vpc(s)` make a fixed handful of Describe calls per
VPC whatever the number of workloads (DESIGN.md §6: the EC2 Describe bucket is shared with every
other tool in the account).
"""
from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from rules.formats import is_efs_file_system_id
from rules.records import replace
from vpce_remediator.aws import error_code, paginate
from vpce_remediator.facts import (
    INTERFACE_ENDPOINTS_QUOTA,
    OWNER_TAG,
    DhcpOptions,
    EndpointInfo,
    EndpointQuota,
    FileSystem,
    MountTarget,
    PrefixList,
    PrivateZone,
    RouteTableInfo,
    SecurityGroupInfo,
    ServiceOffer,
    SgRule,
    SubnetInfo,
    VpcSnapshot,
)

log = logging.getLogger("vpce-remediator")


def tags_of(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """An EC2 `Tags` list as a dict."""
    return {t["Key"]: t.get("Value", "") for t in items or ()}


def sg_rules(permissions: Iterable[Mapping[str, Any]]) -> tuple[SgRule, ...]:
    """EC2 `IpPermissions` (or `IpPermissionsEgress`) as rules: IPv4 and IPv6 ranges, groups, prefix lists."""
    return tuple(
        SgRule(protocol=str(p.get("IpProtocol", "-1")), from_port=int(p.get("FromPort", 0)),
               to_port=int(p.get("ToPort", 65535)),
               cidrs=tuple([r["CidrIp"] for r in p.get("IpRanges", []) if "CidrIp" in r]
                           + [r["CidrIpv6"] for r in p.get("Ipv6Ranges", []) if "CidrIpv6" in r]),
               group_ids=tuple(u["GroupId"] for u in p.get("UserIdGroupPairs", []) if "GroupId" in u),
               prefix_list_ids=tuple(x["PrefixListId"] for x in p.get("PrefixListIds", []) if "PrefixListId" in x))
        for p in permissions)


def _owned(tags: Mapping[str, str]) -> bool:
    return tags.get(OWNER_TAG[0]) == OWNER_TAG[1]


# EC2 takes at most 200 values per filter.
FILTER_VALUES = 200


def describe_subnets(ec2: Any, subnet_ids: Iterable[str]) -> dict[str, SubnetInfo]:
    """Subnets by id, through a `subnet-id` filter: a deleted subnet is simply absent from the answer,
    where `SubnetIds=` would fail the whole call (one stale id must not stop an evaluation or a scan)."""
    ids = sorted(set(subnet_ids))
    out: dict[str, SubnetInfo] = {}
    for i in range(0, len(ids), FILTER_VALUES):
        for page in paginate(ec2, "describe_subnets", Filters=[{"Name": "subnet-id", "Values": ids[i:i + FILTER_VALUES]}]):
            for s in page.get("Subnets", []):
                out[s["SubnetId"]] = subnet_info(s)
    return out


# Block association states in which a block no longer (or not yet successfully) belongs to its
# subnet or VPC. Anything else counts as associated: moto 5.2.5 reports a subnet's IPv6 block
# state as the text of a dict ("{'State': 'associated'}"), so "associated" cannot be required.
_NOT_ASSOCIATED = frozenset({"disassociating", "disassociated", "failing", "failed"})


def _ipv6_blocks(associations: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(a["Ipv6CidrBlock"] for a in associations
                 if a.get("Ipv6CidrBlock") and str(a.get("Ipv6CidrBlockState", {}).get("State", "")) not in _NOT_ASSOCIATED)


def subnet_info(s: Mapping[str, Any]) -> SubnetInfo:
    """A `DescribeSubnets` subnet as the rules need it: its AZ, its IPv4 block ("" in an IPv6-only
    subnet) and its IPv6 blocks."""
    return SubnetInfo(s["SubnetId"], s["VpcId"], s["AvailabilityZone"], s.get("CidrBlock") or "",
                      _ipv6_blocks(s.get("Ipv6CidrBlockAssociationSet", [])), str(s.get("AvailabilityZoneId") or ""))


def _egress(routes: Iterable[dict[str, Any]]) -> tuple[str | None, str | None]:
    """Where 0.0.0.0/0 goes. A Gateway Load Balancer endpoint, and a Network Firewall endpoint
    (a firewall's endpoints are GWLB endpoints AWS manages), is a `vpce-` id, in `VpcEndpointId`
    (CreateRoute: "Supported for Gateway Load Balancer endpoints only") or in `GatewayId` as
    DescribeRouteTables may report it: "gwlbe". A gateway endpoint's routes never get here: their
    destination is its prefix list, not 0.0.0.0/0. A NAT gateway is "nat" until `_private_nats`
    knows its ConnectivityType."""
    for r in routes:
        if r.get("DestinationCidrBlock") != "0.0.0.0/0" or r.get("State") == "blackhole":
            continue
        for key, kind in (("NatGatewayId", "nat"), ("TransitGatewayId", "tgw"),
                          ("VpcPeeringConnectionId", "peering"), ("NetworkInterfaceId", "eni"),
                          ("InstanceId", "instance"), ("CoreNetworkArn", "cloudwan"), ("VpcEndpointId", "gwlbe")):
            if r.get(key):
                return kind, r[key]
        gateway = r.get("GatewayId", "")
        if gateway.startswith("igw-"):
            return "igw", gateway
        if gateway.startswith("vpce-"):
            return "gwlbe", gateway
        if gateway.startswith("vgw-"):
            return "vgw", gateway
    return None, None


def _egress6(routes: Iterable[dict[str, Any]]) -> tuple[str | None, str | None]:
    """Where ::/0 goes: an egress-only internet gateway ("eigw") or an internet gateway carry IPv6 out."""
    for r in routes:
        if r.get("DestinationIpv6CidrBlock") != "::/0" or r.get("State") == "blackhole":
            continue
        for key, kind in (("EgressOnlyInternetGatewayId", "eigw"), ("TransitGatewayId", "tgw"),
                          ("NatGatewayId", "nat"), ("VpcPeeringConnectionId", "peering"),
                          ("NetworkInterfaceId", "eni"), ("InstanceId", "instance"), ("CoreNetworkArn", "cloudwan")):
            if r.get(key):
                return kind, r[key]
        gateway = r.get("GatewayId", "")
        if gateway.startswith("igw-"):
            return "igw", gateway
        if gateway.startswith("vgw-"):
            return "vgw", gateway
    return None, None


def _private_nats(ec2: Any, nat_ids: Iterable[str]) -> set[str]:
    """The NAT gateways among `nat_ids` whose ConnectivityType is "private". A private NAT gateway
    reaches only other VPCs and on-premises networks (through a transit gateway or a virtual
    private gateway); an internet gateway drops what it sends (Amazon VPC User Guide, "NAT
    gateways"): it is no way out to AWS's public endpoints. Read with a filter, not
    `NatGatewayIds=`, so one deleted gateway does not fail the read; a gateway not described stays
    public (the way out it was taken for before this read existed)."""
    ids = sorted(set(nat_ids))
    private: set[str] = set()
    for i in range(0, len(ids), FILTER_VALUES):
        for page in paginate(ec2, "describe_nat_gateways",
                             Filters=[{"Name": "nat-gateway-id", "Values": ids[i:i + FILTER_VALUES]}]):
            private.update(g["NatGatewayId"] for g in page.get("NatGateways", [])
                           if g.get("ConnectivityType") == "private")
    return private


def read_vpc(ec2: Any, vpc: Mapping[str, Any], region: str, account: str,
             known_subnets: Mapping[str, SubnetInfo]) -> VpcSnapshot:
    """Read the rest of a described VPC once: attributes, endpoints, route tables, security groups."""
    return read_vpcs(ec2, [vpc], region, account, known_subnets)[vpc["VpcId"]]


# The two VPC attributes private DNS needs, one `DescribeVpcAttribute` each (a scan starts them early).
DNS_ATTRIBUTES = ("enableDnsSupport", "enableDnsHostnames")
# EC2 takes up to 200 values per filter; fewer keeps each page's answer, and the memory, modest.
VPCS_PER_READ = 50


def read_dns(ec2: Any, vpc_id: str) -> tuple[bool, bool]:
    """The VPC's enableDnsSupport and enableDnsHostnames: one `DescribeVpcAttribute` each."""
    support, hostnames = DNS_ATTRIBUTES
    return (bool(ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=support)["EnableDnsSupport"]["Value"]),
            bool(ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=hostnames)["EnableDnsHostnames"]["Value"]))


def read_vpcs(ec2: Any, vpcs: Iterable[Mapping[str, Any]], region: str, account: str,
              known_subnets: Mapping[str, SubnetInfo],
              dns: Callable[[str], tuple[bool, bool]] | None = None) -> dict[str, VpcSnapshot]:
    """Snapshots of several described VPCs, read together: the endpoint, route-table and
    security-group reads are filtered on the whole set (one paginated call each per
    `VPCS_PER_READ` VPCs), so a scan's calls grow with pages, not with VPCs. Only the two DNS
    attributes are read per VPC: `DescribeVpcAttribute` takes one VPC and one attribute. `dns`
    gives them instead (a scan's provisional snapshots, before the attributes are in).
    """
    described = {v["VpcId"]: v for v in vpcs}
    ids = sorted(described)
    out: dict[str, VpcSnapshot] = {}
    for i in range(0, len(ids), VPCS_PER_READ):
        chunk = ids[i:i + VPCS_PER_READ]
        out.update(_read_chunk(ec2, [described[v] for v in chunk], region, account, known_subnets,
                               dns or (lambda v: read_dns(ec2, v))))
    return out


def _read_chunk(ec2: Any, vpcs: list[Mapping[str, Any]], region: str, account: str,
                known_subnets: Mapping[str, SubnetInfo],
                dns_of: Callable[[str], tuple[bool, bool]]) -> dict[str, VpcSnapshot]:
    ids = [v["VpcId"] for v in vpcs]
    vpc_filter = [{"Name": "vpc-id", "Values": ids}]

    def owner(item: Mapping[str, Any]) -> str:
        return str(item.get("VpcId") or (ids[0] if len(ids) == 1 else ""))

    dns = {v: dns_of(v) for v in ids}
    endpoints: dict[str, list[EndpointInfo]] = {v: [] for v in ids}
    for page in paginate(ec2, "describe_vpc_endpoints", Filters=vpc_filter):
        for e in page.get("VpcEndpoints", []):
            endpoints.setdefault(owner(e), []).append(EndpointInfo(
                id=e["VpcEndpointId"], service_name=e["ServiceName"],
                type=e.get("VpcEndpointType", "Interface"), state=e.get("State", "available"),
                subnet_ids=tuple(e.get("SubnetIds", [])),
                group_ids=tuple(g["GroupId"] for g in e.get("Groups", [])),
                private_dns=bool(e.get("PrivateDnsEnabled")),
                route_table_ids=tuple(e.get("RouteTableIds", [])),
                policy=e.get("PolicyDocument"), owned=False, tagged=_owned(tags_of(e.get("Tags"))),
                ip_address_type=str(e.get("IpAddressType") or ""),
                dns_record_ip_type=str((e.get("DnsOptions") or {}).get("DnsRecordIpType") or ""),
                inbound_resolver_only=bool(e.get("DnsOptions", {}).get("PrivateDnsOnlyForInboundResolverEndpoint")),
                service_region=str(e.get("ServiceRegion") or ""),
            ))
    subnets = dict(known_subnets)
    # Endpoint subnets tell which AZs an endpoint covers; only the ones not yet known are read.
    unknown = {s for eps in endpoints.values() for e in eps if e.live for s in e.subnet_ids} - set(subnets)
    subnets.update(describe_subnets(ec2, unknown))

    tables: dict[str, dict[str, RouteTableInfo]] = {v: {} for v in ids}
    # A gateway endpoint's routes name its service's prefix list: known without another call.
    prefix_routes: dict[str, str] = {}  # endpoint id -> prefix list id
    nats: set[str] = set()  # NAT gateways the default routes name: their ConnectivityType is read once
    for page in paginate(ec2, "describe_route_tables", Filters=vpc_filter):
        for t in page.get("RouteTables", []):
            for r in t.get("Routes", []):
                if r.get("DestinationPrefixListId") and str(r.get("GatewayId", "")).startswith("vpce-"):
                    prefix_routes[r["GatewayId"]] = r["DestinationPrefixListId"]
            assocs = t.get("Associations", [])
            egress, target = _egress(t.get("Routes", []))
            egress6, target6 = _egress6(t.get("Routes", []))
            if egress == "nat" and target:
                nats.add(target)
            if egress6 == "nat" and target6:
                nats.add(target6)
            tables.setdefault(owner(t), {})[t["RouteTableId"]] = RouteTableInfo(
                id=t["RouteTableId"], main=any(a.get("Main") for a in assocs),
                egress=egress, egress_target=target,
                subnet_ids=tuple(a["SubnetId"] for a in assocs if a.get("SubnetId")),
                egress6=egress6, egress6_target=target6,
            )

    # Only when a default route names a NAT gateway: one read for the chunk's VPCs.
    private = _private_nats(ec2, nats) if nats else set()
    if private:
        for by_id in tables.values():
            for tid, info in by_id.items():
                by_id[tid] = replace(
                    info, egress="private-nat" if info.egress == "nat" and info.egress_target in private else info.egress,
                    egress6="private-nat" if info.egress6 == "nat" and info.egress6_target in private else info.egress6)

    groups: dict[str, dict[str, SecurityGroupInfo]] = {v: {} for v in ids}
    for page in paginate(ec2, "describe_security_groups", Filters=vpc_filter):
        for g in page.get("SecurityGroups", []):
            # Nothing is owned as read: ownership is the caller's to prove (trust.py, `owning`).
            groups.setdefault(owner(g), {})[g["GroupId"]] = SecurityGroupInfo(
                g["GroupId"], g.get("GroupName", ""), sg_rules(g.get("IpPermissions", [])), False,
                g.get("Description", ""), _owned(tags_of(g.get("Tags"))),
                egress=sg_rules(g.get("IpPermissionsEgress", [])))

    out = {}
    for vpc in vpcs:
        vpc_id = vpc["VpcId"]
        cidrs = tuple(a["CidrBlock"] for a in vpc.get("CidrBlockAssociationSet", [])
                      if a.get("CidrBlockState", {}).get("State", "associated") == "associated")
        out[vpc_id] = VpcSnapshot(
            vpc_id=vpc_id, region=region, account=account, owner=str(vpc.get("OwnerId", "")),
            cidrs=cidrs or (vpc["CidrBlock"],),
            tags=tags_of(vpc.get("Tags")), dns_support=bool(dns[vpc_id][0]), dns_hostnames=bool(dns[vpc_id][1]),
            subnets=kept_subnets(subnets, vpc_id, alone=len(vpcs) == 1),
            route_tables=tables[vpc_id], endpoints=tuple(endpoints[vpc_id]), security_groups=groups[vpc_id],
            prefix_lists={e.service_name: PrefixList(prefix_routes[e.id], ())
                          for e in endpoints[vpc_id] if e.id in prefix_routes},
            ipv6_cidrs=_ipv6_blocks(vpc.get("Ipv6CidrBlockAssociationSet", [])),
            dhcp_options_id=str(vpc.get("DhcpOptionsId") or ""), primary_cidr=str(vpc.get("CidrBlock") or ""),
        )
    return out


def kept_subnets(subnets: Mapping[str, SubnetInfo], vpc_id: str, alone: bool) -> dict[str, SubnetInfo]:
    """The subnets a snapshot keeps: read alone, every one it was given (the event path's); read
    with other VPCs, its own."""
    return dict(subnets) if alone else {k: v for k, v in subnets.items() if v.vpc_id == vpc_id}


def describe_endpoint_services(ec2: Any, service_names: Iterable[str]) -> list[dict[str, Any]]:
    """`DescribeVpcEndpointServices` details of the services this region offers among `service_names`.

    One call for all of them. A name the region does not offer fails that whole call with
    `InvalidServiceName`, so only then is each name asked for on its own; the unoffered ones are
    left out (and logged), the others answered as usual.
    """
    names = sorted(set(service_names))
    if not names:
        return []
    try:
        return list(ec2.describe_vpc_endpoint_services(ServiceNames=names).get("ServiceDetails", []))
    except ClientError as e:
        if error_code(e) != "InvalidServiceName":
            raise
        if len(names) == 1:
            log.info("%s is not offered in %s", names[0], ec2.meta.region_name)
            return []
    details: list[dict[str, Any]] = []
    for name in names:
        details += describe_endpoint_services(ec2, [name])
    return details


def offers_from(service_names: Iterable[str], details: Iterable[Mapping[str, Any]]) -> dict[str, ServiceOffer | None]:
    """Each named service's offer from `DescribeVpcEndpointServices` details; None where none came back
    (the region does not offer it)."""
    found: dict[str, ServiceOffer | None] = {n: None for n in sorted(set(service_names))}
    for d in details:
        name = d["ServiceName"]
        if name not in found:
            continue
        previous = found[name]
        types = tuple(t["ServiceType"] for t in d.get("ServiceType", []))
        azs = frozenset(d.get("AvailabilityZones", []))
        if previous is not None:  # S3 is listed twice, once per endpoint type
            types, azs = previous.types + types, previous.azs | azs
        dns_name = d.get("PrivateDnsName", "") if "Interface" in types else ""
        ip_types = frozenset(str(t).lower() for t in d.get("SupportedIpAddressTypes", []))
        found[name] = ServiceOffer(name, types, azs, bool(d.get("VpcEndpointPolicySupported", True)),
                                   dns_name or (previous.dns_name if previous else ""),
                                   d.get("ServiceRegion", "") or (previous.service_region if previous else ""),
                                   ip_types | (previous.ip_types if previous else frozenset()))
    return found


def read_offers(ec2: Any, service_names: Iterable[str]) -> dict[str, ServiceOffer | None]:
    """Which AZs offer each service (`None` for a service this region does not offer): one call,
    or one per name when some name is not offered (see `describe_endpoint_services`)."""
    names = sorted(set(service_names))
    return offers_from(names, describe_endpoint_services(ec2, names)) if names else {}


def read_zones(route53: Any, vpc_id: str, region: str) -> tuple[PrivateZone, ...]:
    """Private hosted zones associated with the VPC: how centralised endpoints are reached."""
    zones: list[PrivateZone] = []
    kwargs: dict[str, Any] = {"VPCId": vpc_id, "VPCRegion": region}
    while True:  # botocore has no paginator for this call
        page = route53.list_hosted_zones_by_vpc(**kwargs)
        zones += [PrivateZone(z["HostedZoneId"], z["Name"].rstrip(".").lower())
                  for z in page.get("HostedZoneSummaries", [])]
        if not page.get("NextToken"):
            return tuple(zones)
        kwargs["NextToken"] = page["NextToken"]


# What refusing a read looks like: Route 53 says AccessDenied, Route 53 Profiles AccessDeniedException.
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
# What an endpoint that does not implement an API answers (moto: 404 "Not yet implemented" in process,
# a bare 500 from moto_server).
_UNANSWERED = ("404", "500", "NotImplemented", "UnknownOperationException")
# Route 53 Profiles clients whose endpoint answered that it does not implement the API.
_UNANSWERING: weakref.WeakSet[Any] = weakref.WeakSet()
# The ARN of a hosted zone (`arn:PARTITION:route53:::hostedzone/ID`), as a Profile names its resources.
_ZONE_ARN = ":route53:::hostedzone/"
# The record types a client's lookup of a service's name is answered from (aliases are A/AAAA).
_ADDRESS_TYPES = frozenset({"A", "AAAA", "CNAME"})


def read_interface_quota(servicequotas: Any, vpc_id: str) -> EndpointQuota:
    """The applied quota of interface endpoints per VPC: one `GetServiceQuota` (service code vpc).
    Refused, not known to Service Quotas, or not answered (an emulator): AWS's documented default,
    with why, so the finding can say the applied value was not seen (never a crash)."""
    code, default = INTERFACE_ENDPOINTS_QUOTA
    try:
        value = servicequotas.get_service_quota(ServiceCode="vpc", QuotaCode=code).get("Quota", {}).get("Value")
    except ClientError as e:
        err = error_code(e)
        if err not in _DENIED + _UNANSWERED + ("NoSuchResourceException", "ServiceException",
                                               "TooManyRequestsException"):
            raise
        log.warning("servicequotas:GetServiceQuota %s for %s (%s): AWS's default %d is used", code, vpc_id, err,
                    default)
        return EndpointQuota(code, default, f"GetServiceQuota answered {err}")
    if not isinstance(value, (int, float)):
        return EndpointQuota(code, default, "GetServiceQuota gave no value")
    return EndpointQuota(code, int(value))


def read_central_zones(route53: Any, profiles: Any | None, vpc_id: str, region: str,
                       hosts: Iterable[str]) -> tuple[tuple[PrivateZone, ...], bool]:
    """The private hosted zones that reach the VPC, directly (`ListHostedZonesByVPC`) or through
    its Route 53 Profile (`ListProfileAssociations` -> `ListProfileResourceAssociations`, which
    ListHostedZonesByVPC does not show), and the records of those that cover one of `hosts` (the
    DNS names of the services that would otherwise be missing): one `ListResourceRecordSets`
    each, no more. Returns the zones and whether every read was allowed (False: a refused one,
    so a centralised endpoint may not be seen)."""
    readable = True

    def allowed(read: Any, what: str) -> Any:
        nonlocal readable
        try:
            return read()
        except ClientError as e:
            code = error_code(e)
            if code in _UNANSWERED and what.startswith("route53profiles:"):
                # An endpoint that does not implement Route 53 Profiles (moto, an emulator): not seen,
                # and not asked again through this client (a scan asks once, not once per VPC).
                log.info("%s not answered (%s) for %s: Route 53 Profiles not read", what, code, vpc_id)
                _UNANSWERING.add(profiles)
                readable = False
                return None
            if code not in _DENIED:
                raise
            log.warning("%s refused for %s: a centralised endpoint would not be seen", what, vpc_id)
            readable = False
            return None

    direct = allowed(lambda: read_zones(route53, vpc_id, region), "route53:ListHostedZonesByVPC") or ()
    zones = {z.id: z for z in direct}
    if profiles is not None and profiles in _UNANSWERING:
        readable = False
    elif profiles is not None:
        carried = allowed(lambda: profile_zone_ids(profiles, vpc_id), "route53profiles:ListProfile*Associations")
        unnamed = {zid: pid for zid, pid in (carried or {}).items() if zid not in zones}
        # A Profile names a zone only by its ARN; zones of this account are named by ListHostedZones,
        # zones shared from another account stay unnamed (their owner can read them, we cannot).
        names = allowed(lambda: account_zone_names(route53), "route53:ListHostedZones") if unnamed else {}
        for zid, pid in sorted(unnamed.items()):
            zones[zid] = PrivateZone(zid, (names or {}).get(zid, ""), profile=pid)
    wanted = [h.lower() for h in hosts]
    out = []
    for z in zones.values():
        if any(z.covers(h.removeprefix("*.")) or z.covers(h) for h in wanted):
            records = allowed(lambda z=z: zone_records(route53, z.id), "route53:ListResourceRecordSets")
            z = replace(z, records=records)
        out.append(z)
    return tuple(sorted(out, key=lambda z: (z.name, z.id))), readable


def profile_zone_ids(profiles: Any, vpc_id: str) -> dict[str, str]:
    """Hosted zone id -> the Profile that carries it, for the Profiles associated with the VPC
    (a VPC has at most one, but the API pages)."""
    out: dict[str, str] = {}
    for page in paginate(profiles, "list_profile_associations", ResourceId=vpc_id):
        for a in page.get("ProfileAssociations", []):
            if a.get("ResourceId") != vpc_id or str(a.get("Status", "COMPLETE")).upper() != "COMPLETE":
                continue
            pid = a["ProfileId"]
            for rpage in paginate(profiles, "list_profile_resource_associations", ProfileId=pid):
                for r in rpage.get("ProfileResourceAssociations", []):
                    arn = str(r.get("ResourceArn", ""))
                    if _ZONE_ARN in arn and str(r.get("Status", "COMPLETE")).upper() == "COMPLETE":
                        out.setdefault(arn.rsplit("/", 1)[1], pid)
    return out


def account_zone_names(route53: Any) -> dict[str, str]:
    """This account's hosted zones: id -> name (lower case, no trailing dot)."""
    out = {}
    for page in paginate(route53, "list_hosted_zones"):
        for z in page.get("HostedZones", []):
            out[str(z["Id"]).rsplit("/", 1)[-1]] = str(z["Name"]).rstrip(".").lower()
    return out


def zone_records(route53: Any, zone_id: str) -> frozenset[str]:
    """The names of a zone's A, AAAA and CNAME records. Route 53 returns a `*` label as `\\052`."""
    names = set()
    for page in paginate(route53, "list_resource_record_sets", HostedZoneId=zone_id):
        for r in page.get("ResourceRecordSets", []):
            if r.get("Type") in _ADDRESS_TYPES:
                names.add(str(r["Name"]).replace("\\052", "*").rstrip(".").lower())
    return frozenset(names)


# ---------------------------------------------------------------- EFS and DHCP options (read when a rule asks)

# What EFS answers for a file system this account cannot read: refused, not in this account and
# Region, or not an id at all (EFS API reference, DescribeMountTargets errors).
_EFS_UNREADABLE = _DENIED + ("FileSystemNotFound", "AccessPointNotFound", "BadRequest", "ValidationException")
# A mount target whose groups EFS will not give: gone, or not (yet) in a state that has them.
_MOUNT_TARGET_UNREADABLE = _DENIED + ("MountTargetNotFound", "IncorrectMountTargetState", "BadRequest")


def read_file_systems(efs: Any, file_system_ids: Iterable[str], azs: Iterable[str]) -> list[FileSystem]:
    """Each file system's mount targets (`DescribeMountTargets`, one paginated call each) and the
    security groups of those a task in one of `azs` mounts through (`DescribeMountTargetSecurityGroups`,
    one call per mount target: the mount target description carries no groups). When a file system
    lacks a mount target in one of `azs`, one other mount target's groups are read as well, for the
    create command to copy. A file system the account cannot read is returned with why (`unread`)."""
    wanted = frozenset(azs)
    out = []
    for fs_id in sorted(set(file_system_ids)):
        if not is_efs_file_system_id(fs_id):  # from a task definition: never sent as it is
            out.append(FileSystem(fs_id, unread="not an EFS file system id"))
            continue
        try:
            described = [m for page in paginate(efs, "describe_mount_targets", FileSystemId=fs_id)
                         for m in page.get("MountTargets", [])]
        except ClientError as e:
            code = error_code(e)
            if code not in _EFS_UNREADABLE:
                raise
            log.warning("efs:DescribeMountTargets %s for %s: not checked", code, fs_id)
            out.append(FileSystem(fs_id, unread=f"DescribeMountTargets answered {code}"))
            continue
        targets = [MountTarget(str(m["MountTargetId"]), str(m.get("SubnetId", "")),
                               str(m.get("AvailabilityZoneName", "")), str(m.get("VpcId", "")),
                               str(m.get("LifeCycleState", "available")), ip=str(m.get("IpAddress", "")))
                   for m in described]
        live = [m for m in targets if m.live]
        read = {m.id for m in live if m.az in wanted}
        if {a for a in wanted} - {m.az for m in live if m.az in wanted}:
            read |= {m.id for m in sorted(live, key=lambda m: m.id)[:1]}
        out.append(FileSystem(fs_id, tuple(replace(m, group_ids=_mount_target_groups(efs, m.id)) if m.id in read
                                           else m for m in targets)))
    return out


def _mount_target_groups(efs: Any, mount_target_id: str) -> tuple[str, ...] | None:
    try:
        return tuple(efs.describe_mount_target_security_groups(MountTargetId=mount_target_id).get("SecurityGroups")
                     or ())
    except ClientError as e:
        code = error_code(e)
        if code not in _MOUNT_TARGET_UNREADABLE:
            raise
        log.warning("efs:DescribeMountTargetSecurityGroups %s for %s: not checked", code, mount_target_id)
        return None


def read_dhcp_options(ec2: Any, option_set_ids: Iterable[str]) -> dict[str, DhcpOptions]:
    """The DHCP option sets by id, in one `DescribeDhcpOptions` (filtered by id, so one deleted set
    does not fail the read). A set not returned, or a refused read, comes back with why (`unread`)."""
    ids = sorted({i for i in option_set_ids if i.startswith("dopt-")})
    if not ids:
        return {}
    found: dict[str, DhcpOptions] = {}
    try:
        for i in range(0, len(ids), FILTER_VALUES):
            for page in paginate(ec2, "describe_dhcp_options",
                                 Filters=[{"Name": "dhcp-options-id", "Values": ids[i:i + FILTER_VALUES]}]):
                for d in page.get("DhcpOptions", []):
                    found[d["DhcpOptionsId"]] = DhcpOptions(d["DhcpOptionsId"], tuple(
                        (str(c.get("Key", "")), tuple(str(v.get("Value", "")) for v in c.get("Values", [])))
                        for c in d.get("DhcpConfigurations", [])))
    except ClientError as e:
        code = error_code(e)
        if code not in _DENIED:
            raise
        log.warning("ec2:DescribeDhcpOptions %s: custom DNS servers not checked", code)
        return {i: DhcpOptions(i, unread=f"DescribeDhcpOptions answered {code}") for i in ids}
    return {i: found.get(i) or DhcpOptions(i, unread="not found") for i in ids}
