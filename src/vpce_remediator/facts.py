"""Facts: a VPC as read, in pure types. Every door judges from these and nothing else.

The readers fill them: `snapshot.read_vpc(s)` (the event path and scan, a fixed handful of
Describe calls per VPC), `engine` (offers and hosted zones, read only when a plan asks for them)
and `doctor.read_facts` (network ACLs, the S3 prefix list). A field a reader did not fill says
so (None), and the rules then do not accuse what they cannot see. No I/O and no boto3 here.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Literal

from rules.records import field, record, replace

OWNER_TAG = ("managed-by", "vpce-remediator")
MODE_TAG = "vpce-remediator:mode"
OWN_SG_NAME = "vpce-remediator-endpoints"
# Name and description are fixed when a group is created: an existing group can never acquire
# them by tagging, which is what makes them part of the proof that a group is the tool's (trust.py).
OWN_SG_DESCRIPTION = "HTTPS from the VPC to its interface endpoints (vpce-remediator)"
# States in which an endpoint exists for good or is on its way: never create a second one beside it.
LIVE_STATES = frozenset({"available", "pending", "pendingacceptance", "modifying"})
# States in which an endpoint carries traffic.
SERVING_STATES = frozenset({"available", "modifying"})
# States of an endpoint on its way to carrying traffic: reported as pending, not as missing.
PENDING_STATES = frozenset({"pending", "pendingacceptance"})
# Listed for a while after deletion: as if absent.
GONE_STATES = frozenset({"deleting", "deleted", "expired"})


IpFamily = Literal["ipv4", "dualstack", "ipv6"]  # a subnet's address families, in EC2's own words


@record
class SubnetInfo:
    id: str
    vpc_id: str
    az: str
    cidr: str  # its IPv4 block; "" in an IPv6-only subnet
    ipv6_cidrs: tuple[str, ...] = ()  # its associated IPv6 blocks (Ipv6CidrBlockAssociationSet)
    az_id: str = ""  # AvailabilityZoneId (use1-az1): the same zone in every account, unlike `az`

    @property
    def family(self) -> IpFamily:
        """Which addresses a task's network interface gets here: the addresses its traffic comes from."""
        if self.ipv6_cidrs:
            return "dualstack" if self.cidr else "ipv6"
        return "ipv4"


@record
class RouteTableInfo:
    id: str
    main: bool
    egress: str | None  # where 0.0.0.0/0 goes: "nat", "igw", "tgw", ... or None (private)
    egress_target: str | None
    subnet_ids: tuple[str, ...]
    egress6: str | None = None  # where ::/0 goes: "eigw", "igw", "tgw", ... or None
    egress6_target: str | None = None


@record
class SgRule:
    """One security group rule, ingress or egress, as the rules need it."""

    protocol: str  # "tcp", "udp", "icmp", "-1"
    from_port: int
    to_port: int
    cidrs: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    prefix_list_ids: tuple[str, ...] = ()

    def allows_tcp(self, port: int) -> bool:
        """Whether the rule lets TCP `port` through (its protocol and range; the peer is the caller's)."""
        return self.protocol == "-1" or (self.protocol == "tcp" and self.from_port <= port <= self.to_port)

    def allows_https(self) -> bool:
        return self.allows_tcp(443)


@record
class SecurityGroupInfo:
    id: str
    name: str
    ingress: tuple[SgRule, ...]
    owned: bool  # the tool's own, by its records or proof (trust.py), never by a tag
    description: str = ""
    tagged: bool = False  # carries the owner tag: a claim anyone can write, not proof
    egress: tuple[SgRule, ...] | None = None  # None: not read (not accused)


@record
class EndpointInfo:
    id: str
    service_name: str
    type: str  # Interface / Gateway / GatewayLoadBalancer
    state: str
    subnet_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    private_dns: bool
    route_table_ids: tuple[str, ...]
    policy: str | None
    owned: bool  # created (or adopted) by the tool, by its records (trust.py), never by a tag
    tagged: bool = False  # carries the owner tag: a claim anyone can write, not proof
    ip_address_type: str = ""  # IpAddressType: ipv4, dualstack, ipv6 ("" when not said: ipv4)
    dns_record_ip_type: str = ""  # DnsOptions.DnsRecordIpType: ipv4, dualstack, ipv6, service-defined
    # DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint (S3 interface endpoints): True sends the
    # VPC's own S3 traffic to the gateway endpoint; False (private DNS for all resolvers) captures it.
    inbound_resolver_only: bool = False
    # ServiceRegion: the Region whose service it reaches (cross-Region PrivateLink); "" when not
    # said, which is the VPC's own Region. Its service name already names that Region.
    service_region: str = ""

    @property
    def live(self) -> bool:
        return self.state.lower() in LIVE_STATES

    @property
    def serving(self) -> bool:
        return self.state.lower() in SERVING_STATES

    @property
    def pending(self) -> bool:
        return self.state.lower() in PENDING_STATES

    @property
    def gone(self) -> bool:
        return self.state.lower() in GONE_STATES


@record
class ServiceOffer:
    """What `DescribeVpcEndpointServices` says about one service in this region."""

    name: str
    types: tuple[str, ...]
    azs: frozenset[str]
    policy_supported: bool = True  # VpcEndpointPolicySupported
    dns_name: str = ""  # PrivateDnsName of its interface endpoints ("" when not said)
    service_region: str = ""  # ServiceRegion: the Region that serves it ("" when not said)
    # SupportedIpAddressTypes ("ipv4", "ipv6"); empty when not said (moto), which is taken as IPv4 only.
    ip_types: frozenset[str] = frozenset()

    @property
    def ipv6(self) -> bool:
        return "ipv6" in self.ip_types


@record
class AclEntry:
    number: int
    egress: bool
    protocol: str  # "-1" (all), "6" (tcp), ...
    allow: bool
    cidr: str  # IPv4 only; IPv6 entries are not read
    from_port: int = 0
    to_port: int = 65535


@record
class NetworkAcl:
    id: str
    subnet_ids: tuple[str, ...]
    entries: tuple[AclEntry, ...]


@record
class PrivateZone:
    """A private hosted zone associated with the VPC, directly or through a Route 53 Profile."""

    id: str
    name: str  # lower case, without the trailing dot ("" when its name could not be read)
    # Names of its A, AAAA and CNAME records (lower case, no trailing dot, "*" for a wildcard label);
    # None: not read (only zones that could serve a missing service are read), or not readable.
    records: frozenset[str] | None = None
    profile: str = ""  # the Route 53 Profile that carries it; "": associated with the VPC itself

    def covers(self, host: str) -> bool:
        """Whether the zone is authoritative for `host` in the VPC (its apex or below)."""
        host = host.lower()
        return bool(self.name) and (host == self.name or host.endswith("." + self.name))

    def answers(self, host: str) -> bool | None:
        """Whether the zone holds a record for `host` (a `*.` host wants the wildcard record
        itself); a wildcard one label above also answers. None: its records were not read."""
        if self.records is None:
            return None
        host = host.lower()
        return host in self.records or (not host.startswith("*.") and "." in host
                                         and "*." + host.split(".", 1)[1] in self.records)

    @property
    def source(self) -> str:
        """How the zone reaches the VPC, for a reader."""
        return f"through Route 53 Profile {self.profile}" if self.profile else "associated directly"


# Mount target lifecycle states in which it is there for good or on its way (EFS API reference,
# MountTargetDescription.LifeCycleState: creating, available, updating, deleting, deleted, error).
MOUNT_TARGET_LIVE_STATES = frozenset({"creating", "available", "updating"})


@record
class MountTarget:
    """One EFS mount target as `DescribeMountTargets` and `DescribeMountTargetSecurityGroups` say."""

    id: str
    subnet_id: str
    az: str
    vpc_id: str
    state: str
    # Its security groups; None: not read (outside the workloads' AZs, where no task of theirs
    # mounts through it, or the read was refused): not accused.
    group_ids: tuple[str, ...] | None = None
    ip: str = ""  # IpAddress: where a task's NFS connection goes

    @property
    def live(self) -> bool:
        return self.state.lower() in MOUNT_TARGET_LIVE_STATES


@record
class FileSystem:
    """An EFS file system a workload's volumes name, and its mount targets."""

    id: str
    mount_targets: tuple[MountTarget, ...] = ()
    # Why its mount targets could not be read ("" when they were): refused, or not found in this
    # account and Region. Then nothing is judged about it, and the result says so.
    unread: str = ""


@record
class DhcpOptions:
    """The VPC's DHCP option set (`DescribeDhcpOptions`), as far as name resolution goes."""

    id: str
    # Each DhcpConfiguration: (Key, its values), in the order AWS gave them.
    configurations: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unread: str = ""  # why the set could not be read ("" when it was): then nothing is judged

    @property
    def dns_servers(self) -> tuple[str, ...]:
        """`domain-name-servers`: `AmazonProvidedDNS`, or the addresses of other DNS servers."""
        return next((values for key, values in self.configurations if key == "domain-name-servers"), ())


@record
class PrefixList:
    id: str
    cidrs: tuple[str, ...]  # empty when the API did not say (moto)


# The endpoint quotas (Service Quotas service code vpc): code and AWS's default. Interface endpoints
# per VPC (a quota Gateway Load Balancer endpoints share, per the PrivateLink quotas page), and
# gateway endpoints per Region.
INTERFACE_ENDPOINTS_QUOTA = ("L-29B6F2EB", 50)
GATEWAY_ENDPOINTS_QUOTA = ("L-1B52E74A", 20)
# The endpoint types that count against the interface quota.
INTERFACE_QUOTA_TYPES = frozenset({"Interface", "GatewayLoadBalancer"})


@record
class EndpointQuota:
    """The quota the VPC's interface endpoints count against, as Service Quotas applies it."""

    code: str  # the Service Quotas quota code (service code vpc)
    value: int
    # "" when Service Quotas answered; otherwise why it did not (refused, not known there), and
    # `value` is then AWS's documented default.
    unread: str = ""


@record
class VpcSnapshot:
    vpc_id: str
    region: str
    account: str
    cidrs: tuple[str, ...]  # its IPv4 blocks
    tags: Mapping[str, str]
    dns_support: bool
    dns_hostnames: bool
    subnets: Mapping[str, SubnetInfo]  # workload subnets and endpoint subnets
    route_tables: Mapping[str, RouteTableInfo]
    endpoints: tuple[EndpointInfo, ...]
    security_groups: Mapping[str, SecurityGroupInfo]
    offers: Mapping[str, ServiceOffer | None] = field(default_factory=dict)  # None: not offered
    # Private hosted zones associated with the VPC (how centralised endpoints are reached);
    # None: not read (yet), or not readable.
    zones: tuple[PrivateZone, ...] | None = None
    zones_readable: bool = True  # False: the read was refused, so a centralised endpoint is not seen
    # The VPC's owner (OwnerId; "" when not said). `account` is the account judging it: when they
    # differ the VPC is shared with `account`, which sees none of the owner's endpoints and may
    # create none (a participant).
    owner: str = ""
    acls: tuple[NetworkAcl, ...] | None = None  # None: not read (only doctor reads them)
    prefix_lists: Mapping[str, PrefixList | None] = field(default_factory=dict)  # gateway service -> its list
    ipv6_cidrs: tuple[str, ...] = ()  # its associated IPv6 blocks
    # The applied quota of interface endpoints per VPC; None: not read (it is read only when a
    # create is planned).
    interface_quota: EndpointQuota | None = None
    # The EFS file systems the workloads' volumes name, by id; one absent is not read (they are
    # read only for workloads with EFS volumes).
    file_systems: Mapping[str, FileSystem] = field(default_factory=dict)
    # The VPC's DhcpOptionsId ("" when not said; "default" means no option set) and the set as
    # read; None: not read (the event path reads it only when a plan has something to report).
    dhcp_options_id: str = ""
    dhcp: DhcpOptions | None = None
    primary_cidr: str = ""  # the VPC's primary IPv4 block: its base + 2 is the Route 53 Resolver

    @property
    def all_cidrs(self) -> tuple[str, ...]:
        """Every block of the VPC, IPv4 then IPv6: where the tool's endpoint group lets 443 in from."""
        return self.cidrs + self.ipv6_cidrs

    def route_table_of(self, subnet_id: str) -> RouteTableInfo | None:
        """The table a subnet uses: its explicit association, else the VPC's main table."""
        main = None
        for table in self.route_tables.values():
            if subnet_id in table.subnet_ids:
                return table
            if table.main:
                main = table
        return main

    @property
    def shared(self) -> bool:
        """This account is a participant of a VPC another account owns."""
        return bool(self.owner and self.account and self.owner != self.account)

    def acl_of(self, subnet_id: str) -> NetworkAcl | None:
        return next((a for a in self.acls or () if subnet_id in a.subnet_ids), None)

    @property
    def own_security_group(self) -> SecurityGroupInfo | None:
        """The tool's endpoint group: only one its records or proof made `owned` (see `owning`)."""
        owned = [g for g in self.security_groups.values() if g.owned]
        return min(owned, key=lambda g: g.id) if owned else None

    @property
    def named_security_group(self) -> SecurityGroupInfo | None:
        """The group called `OWN_SG_NAME` (names are unique per VPC), whoever made it."""
        named = [g for g in self.security_groups.values() if g.name == OWN_SG_NAME]
        return min(named, key=lambda g: g.id) if named else None

    def owning(self, endpoint_ids: Iterable[str], group_id: str | None) -> VpcSnapshot:
        """This snapshot with ownership decided by the caller's proof: exactly these endpoints and
        this group are the tool's; every other one is foreign, whatever its tags say."""
        mine = frozenset(endpoint_ids)
        return replace(
            self,
            endpoints=tuple(replace(e, owned=e.id in mine) for e in self.endpoints),
            security_groups={k: replace(g, owned=g.id == group_id) for k, g in self.security_groups.items()})

    def with_offers(self, offers: Mapping[str, ServiceOffer | None]) -> VpcSnapshot:
        return replace(self, offers={**self.offers, **offers})

    def with_reads(self, earlier: VpcSnapshot) -> VpcSnapshot:
        """This (fresh) snapshot with what an earlier plan had read besides: offers, zones, the quota."""
        return replace(self, offers={**earlier.offers, **self.offers}, zones=earlier.zones,
                       zones_readable=earlier.zones_readable, interface_quota=earlier.interface_quota,
                       file_systems={**earlier.file_systems, **self.file_systems},
                       dhcp=self.dhcp or (earlier.dhcp if earlier.dhcp_options_id == self.dhcp_options_id else None))

    def with_file_systems(self, file_systems: Iterable[FileSystem]) -> VpcSnapshot:
        return replace(self, file_systems={**self.file_systems, **{f.id: f for f in file_systems}})

    def with_dhcp(self, dhcp: DhcpOptions) -> VpcSnapshot:
        return replace(self, dhcp=dhcp)

    def with_quota(self, quota: EndpointQuota) -> VpcSnapshot:
        return replace(self, interface_quota=quota)

    def with_zones(self, zones: Iterable[PrivateZone] | None, readable: bool = True) -> VpcSnapshot:
        """With the private hosted zones read; None: the read was refused. `readable` False: part
        of it was (the Profiles, say), so a centralised endpoint may not be seen."""
        if zones is None:
            return replace(self, zones=(), zones_readable=False)
        return replace(self, zones=tuple(zones), zones_readable=readable)


@lru_cache(maxsize=4096)
def cidr_contains(outer: str, inner: str) -> bool:
    """Whether every address of `inner` is in `outer` (False for malformed blocks or mixed IP versions).

    Cached: the planner asks the same pairs (each route and rule against each subnet) for every
    service of every workload, and parsing a network is most of a scan's CPU time otherwise."""
    try:
        a, b = ipaddress.ip_network(outer, strict=False), ipaddress.ip_network(inner, strict=False)
    except ValueError:
        return False
    return a.version == b.version and b.subnet_of(a)  # type: ignore[arg-type]

