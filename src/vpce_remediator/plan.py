"""Plan: (what workloads need, what the VPC has, settings) -> actions and findings. Pure.

The planner never calls AWS and is deterministic: the same inputs give the same plan, and a plan
applied to the VPC then planned again gives no actions. When it needs to know which AZs offer a
service it has not been told about, it says so in `needs_offers` and the engine asks AWS and plans
again, so a compliant VPC costs no `DescribeVpcEndpointServices` call.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rules import GATEWAY, INTERFACE, Requirements, Workload, WorkloadProblem
from rules.calls import CHECKED_ON_FOREIGN_ENDPOINTS, FEATURE_CALLS
from vpce_remediator import prices
from vpce_remediator.endpoint_policies import AWS_DEFAULT, PolicyScope, arn, same_policy
from vpce_remediator.fixes import (
    NO_ARG,
    PULL_THROUGH_CREDENTIAL,
    Json,
    Shell,
    Value,
    fix_commands,
    fix_for,
    ingress_443,
    own_sg_lookup,
    shell,
)
from vpce_remediator.policies import (
    ecr_layer_fix_note,
    layer_bucket_arn,
    policy_allows,
    policy_allows_ecr_layers,
    policy_with_ecr_layers,
)
from vpce_remediator.snapshot import OWN_SG_NAME, EndpointInfo, VpcSnapshot, cidr_contains, service_prefix

CREATE_SECURITY_GROUP = "create-security-group"
AUTHORIZE_INGRESS = "authorize-security-group-ingress"
CREATE_INTERFACE = "create-interface-endpoint"
CREATE_GATEWAY = "create-gateway-endpoint"
ADD_SUBNETS = "add-endpoint-subnets"
ADD_ROUTE_TABLES = "add-endpoint-route-tables"
ADD_SECURITY_GROUP = "add-endpoint-security-group"
ENABLE_PRIVATE_DNS = "enable-private-dns"
SET_ENDPOINT_POLICY = "set-endpoint-policy"

_NOT_READ = object()  # an offer the engine has not read yet


@dataclass(frozen=True)
class WorkloadNeeds:
    workload: Workload
    requirements: Requirements


@dataclass(frozen=True)
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
    cidrs: tuple[str, ...] = ()
    policy: str | None = None  # the endpoint policy to create with or set; None: none / reset


@dataclass(frozen=True)
class Finding:
    resource_type: str
    resource_id: str
    problem: str
    summary: str
    fix: tuple[str, ...]
    service: str = ""


@dataclass(frozen=True)
class ServiceState:
    service: str
    type: str
    reasons: tuple[str, ...]
    status: str  # present, missing, incomplete, not-enforced, unavailable
    endpoint_id: str = ""


@dataclass(frozen=True)
class Plan:
    vpc_id: str
    services: tuple[ServiceState, ...]
    actions: tuple[Action, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    needs_offers: frozenset[str] = frozenset()


@dataclass
class _Need:
    reasons: list[str] = field(default_factory=list)
    subnets: set[str] = field(default_factory=set)  # enforced workload subnets
    groups: set[str] = field(default_factory=set)  # workload security groups
    not_enforced: bool = False


def plan_remediation(needs: Sequence[WorkloadNeeds], snap: VpcSnapshot,
                     enforce_on_nat_routed: bool = False, max_endpoints_per_vpc: int | None = None,
                     policy: PolicyScope | None = None) -> Plan:
    """Decide what to create or change, and what to report, for the workloads in one VPC.

    `max_endpoints_per_vpc` caps the interface endpoints the tool keeps in the VPC (its live ones
    plus those it would create now); creates past it become one `endpoint-cap-reached` finding.
    `policy`: the scope of the endpoint policies the tool creates and keeps; None leaves endpoint
    policies alone (no policy on what it creates, nothing checked but the S3 layer bucket).
    """
    b = _Builder(snap, max_endpoints_per_vpc, policy)
    aggregated: dict[tuple[str, str], _Need] = {}
    nat_subnets: dict[str, str] = {}
    for wn in needs:
        enforced = b.enforced_subnets(wn.workload, enforce_on_nat_routed, nat_subnets)
        for need in wn.requirements.needs:
            agg = aggregated.setdefault((need.service, need.type), _Need())
            agg.reasons.extend(r for r in need.reasons if r not in agg.reasons)
            agg.subnets.update(enforced)
            agg.groups.update(wn.workload.security_group_ids)
            agg.not_enforced = agg.not_enforced or not enforced
        if enforced:
            for problem in wn.requirements.problems:
                b.workload_problem(wn.workload, problem, sorted(enforced))
        b.notes.extend(n for n in wn.requirements.notes if n not in b.notes)

    if any(t == INTERFACE and a.subnets for (_, t), a in aggregated.items()):
        b.check_vpc_dns()
    # Interface endpoints first so the security group they share is planned before them.
    for (short, typ), agg in sorted(aggregated.items(), key=lambda kv: (kv[0][1] != INTERFACE, kv[0])):
        if typ == GATEWAY:
            b.plan_gateway(short, agg)
        else:
            b.plan_interface(short, agg)
    b.plan_own_security_group()
    b.cap_finding()
    if nat_subnets:
        b.nat_note(nat_subnets, aggregated)
    return b.build()


class _Builder:
    def __init__(self, snap: VpcSnapshot, cap: int | None = None, policy: PolicyScope | None = None) -> None:
        self.snap = snap
        self.cap = cap
        self.owned_interfaces = sum(1 for e in snap.endpoints if e.owned and e.live and e.type == INTERFACE)
        self.capped: list[Action] = []  # creates the cap held back
        self.scope = policy
        self.prefix = service_prefix(snap.region)
        self.actions: list[Action] = []
        self.findings: list[Finding] = []
        self.notes: list[str] = []
        self.states: list[ServiceState] = []
        self.needs_offers: set[str] = set()
        self.own = snap.own_security_group
        self.uses_own_sg = False
        self.sg_for_findings = False  # reported endpoint creates name the own group (VPC DNS off)
        self.dns_ok = snap.dns_support and snap.dns_hostnames
        self.base: dict[str, Value] = {"region": snap.region, "vpc_id": snap.vpc_id}

    # ------------------------------------------------------------ scope

    def enforced_subnets(self, w: Workload, enforce_nat: bool, nat_subnets: dict[str, str]) -> list[str]:
        """Workload subnets in this VPC that have no other way out to AWS services."""
        out = []
        for sid in w.subnet_ids:
            subnet = self.snap.subnets.get(sid)
            if subnet is None or subnet.vpc_id != self.snap.vpc_id:
                continue
            table = self.snap.route_table_of(sid)
            egress = table.egress if table else None
            # An internet gateway only carries traffic from addresses with a public IP.
            if egress == "igw" and w.assign_public_ip is False:
                egress = None
            if egress in ("nat", "igw") and not enforce_nat:
                nat_subnets[sid] = f"{egress} {table.egress_target}" if table else egress
                continue
            out.append(sid)
        return out

    def az(self, subnet_id: str) -> str:
        subnet = self.snap.subnets.get(subnet_id)
        return subnet.az if subnet else ""

    def one_subnet_per_az(self, subnets: Iterable[str], azs: Iterable[str]) -> tuple[str, ...]:
        wanted = set(azs)
        chosen: dict[str, str] = {}
        for sid in sorted(subnets):
            az = self.az(sid)
            if az in wanted and az not in chosen:
                chosen[az] = sid
        return tuple(chosen[az] for az in sorted(chosen))

    # ------------------------------------------------------------ VPC

    def check_vpc_dns(self) -> None:
        for ok, attr, kind in ((self.snap.dns_support, "enableDnsSupport", "vpc-dns-support-off"),
                               (self.snap.dns_hostnames, "enableDnsHostnames", "vpc-dns-hostnames-off")):
            if not ok:
                self.findings.append(Finding(
                    "AWS::EC2::VPC", self.snap.vpc_id, kind,
                    f"VPC {self.snap.vpc_id} has {attr}=false: private DNS of interface endpoints "
                    "cannot work, so tasks resolve AWS services to public addresses they cannot reach",
                    fix_commands(kind, self.base)))

    # ------------------------------------------------------------ interface endpoints

    def plan_interface(self, short: str, need: _Need) -> None:
        service = self.prefix + short
        reasons = tuple(need.reasons)
        if not need.subnets:
            self.states.append(ServiceState(service, INTERFACE, reasons, "not-enforced"))
            return
        live = self.live_endpoints(service, INTERFACE)
        azs = {self.az(s) for s in need.subnets}
        offer = self.snap.offers.get(service, _NOT_READ) if service in self.snap.offers else _NOT_READ
        if not live:
            self.plan_new_interface(service, reasons, need, azs, offer)
            return
        endpoint = min(live, key=lambda e: (not e.private_dns, not e.owned, e.id))
        before = len(self.actions) + len(self.findings)
        covered = {self.az(s) for e in live for s in e.subnet_ids}
        missing_azs = azs - covered
        if missing_azs:
            if offer is _NOT_READ:
                self.needs_offers.add(service)
            else:
                offered = missing_azs & (offer.azs if offer else frozenset())  # type: ignore[union-attr]
                self.note_unoffered(service, missing_azs - offered)
                subnets = self.one_subnet_per_az(need.subnets, offered)
                if subnets:
                    params = {**self.base, "endpoint_id": endpoint.id, "subnet_ids": subnets}
                    summary = (f"{service} endpoint {endpoint.id} has no subnet in "
                               f"{', '.join(sorted(self.az(s) for s in subnets))}, where the workload runs")
                    self.change_endpoint(endpoint, ADD_SUBNETS, "endpoint-missing-az", service, summary,
                                         params, subnet_ids=subnets)
        if not any(e.private_dns for e in live):
            summary = (f"{service} endpoint {endpoint.id} has private DNS off: the default "
                       f"hostname still resolves to public addresses")
            if not endpoint.owned or self.dns_ok:
                self.change_endpoint(endpoint, ENABLE_PRIVATE_DNS, "private-dns-off", service, summary,
                                     {**self.base, "endpoint_id": endpoint.id})
        if endpoint.owned:
            self.uses_own_sg = True
            if self.own is None or self.own.id not in endpoint.group_ids:
                params = {**self.base, "endpoint_id": endpoint.id, "security_group": self.own_sg_ref()}
                self.actions.append(Action(
                    ADD_SECURITY_GROUP, service, endpoint.id, "endpoint-security-group-detached",
                    f"{service} endpoint {endpoint.id} lacks the remediator's security group",
                    fix_commands("endpoint-security-group-detached", params)))
        else:
            self.check_foreign_security_groups(service, endpoint, need)
        self.check_policy(service, endpoint, offer)
        status = "present" if len(self.actions) + len(self.findings) == before else "incomplete"
        self.states.append(ServiceState(service, INTERFACE, reasons, status, endpoint.id))

    def plan_new_interface(self, service: str, reasons: tuple[str, ...], need: _Need,
                           azs: set[str], offer: object) -> None:
        if offer is _NOT_READ:
            self.needs_offers.add(service)
            self.states.append(ServiceState(service, INTERFACE, reasons, "missing"))
            return
        offered = azs & (offer.azs if offer else frozenset())  # type: ignore[attr-defined]
        subnets = self.one_subnet_per_az(need.subnets, offered)
        if not subnets:
            # None: DescribeVpcEndpointServices does not know the service in this region at all.
            where = f"this region ({self.snap.region})" if offer is None else ", ".join(sorted(azs))
            self.findings.append(Finding(
                "AWS::EC2::VPC", self.snap.vpc_id, "service-not-offered",
                f"{service} is not offered in {where}: no endpoint can serve it there; needed by "
                f"{_first(reasons)}",
                fix_commands("service-not-offered", {**self.base, "service": service}), service))
            self.states.append(ServiceState(service, INTERFACE, reasons, "unavailable"))
            return
        self.note_unoffered(service, azs - offered)
        policy = self.expected_policy(service, offer)
        params = {**self.base, "service": service, "subnet_ids": subnets,
                  "security_group": self.own_sg_ref(), "policy_arg": _policy_arg(policy)}
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
                            policy=policy)
            if self.cap is not None and self.owned_interfaces + self.creates() >= self.cap:
                self.capped.append(create)
            else:
                self.uses_own_sg = True
                self.actions.append(create)
        self.states.append(ServiceState(service, INTERFACE, reasons, "missing"))

    def check_foreign_security_groups(self, service: str, endpoint: EndpointInfo, need: _Need) -> None:
        closed = sorted(s for s in need.subnets
                        if not self.sg_allows(endpoint.group_ids, self.snap.subnets[s].cidr, need.groups))
        if not closed or not endpoint.group_ids:
            return
        group = endpoint.group_ids[0]
        if need.groups:
            permissions = ingress_443(group_ids=tuple(sorted(need.groups)))
            source = "security group " + ", ".join(sorted(need.groups))
        else:
            cidrs = tuple(self.snap.subnets[s].cidr for s in closed)
            permissions = ingress_443(cidrs=cidrs)
            source = ", ".join(cidrs)
        params = {**self.base, "security_group": group, "ip_permissions": permissions}
        self.findings.append(Finding(
            "AWS::EC2::SecurityGroup", group, "endpoint-sg-closed",
            f"{service} endpoint {endpoint.id}: its security groups ({', '.join(endpoint.group_ids)}) "
            f"allow no TCP 443 from {', '.join(closed)}; allow it from {source}",
            fix_commands("endpoint-sg-closed", params), service))

    def sg_allows(self, group_ids: Iterable[str], cidr: str, sources: set[str]) -> bool:
        for gid in group_ids:
            group = self.snap.security_groups.get(gid)
            if group is None:
                return True  # not readable here: do not accuse what we cannot see
            for rule in group.ingress:
                if rule.allows_https() and (set(rule.group_ids) & sources
                                            or any(cidr_contains(r, cidr) for r in rule.cidrs)):
                    return True
        return False

    def note_unoffered(self, service: str, azs: set[str]) -> None:
        if azs:
            self.notes.append(f"{service} is not offered in {', '.join(sorted(azs))}: tasks there "
                              "reach it through an endpoint in another AZ")

    # ------------------------------------------------------------ gateway endpoints

    def plan_gateway(self, short: str, need: _Need) -> None:
        service = self.prefix + short
        reasons = tuple(need.reasons)
        if not need.subnets:
            self.states.append(ServiceState(service, GATEWAY, reasons, "not-enforced"))
            return
        tables = sorted({t.id for s in need.subnets if (t := self.snap.route_table_of(s))})
        live = self.live_endpoints(service, GATEWAY)
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
            self.states.append(ServiceState(service, GATEWAY, reasons, "missing"))
            return
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
        if short == "s3":
            for e in live:
                if self.scope is not None and e.owned:
                    continue  # the tool's own: restored to its policy below
                if not policy_allows_ecr_layers(e.policy, self.snap.region):
                    self.findings.append(Finding(
                        "AWS::EC2::VPCEndpoint", e.id, "s3-policy-blocks-ecr-layers",
                        f"{service} gateway endpoint {e.id}: its policy does not allow s3:GetObject on "
                        f"{layer_bucket_arn(self.snap.region)}, where ECR keeps image layers"
                        + ecr_layer_fix_note(e.policy, self.snap.region),
                        fix_commands("s3-policy-blocks-ecr-layers",
                                     {**self.base, "endpoint_id": e.id,
                                      "policy": policy_with_ecr_layers(e.policy, self.snap.region)}),
                        service))
        if endpoint.owned:
            self.check_policy(service, endpoint, self.snap.offers.get(service))
        status = "present" if len(self.actions) + len(self.findings) == before else "incomplete"
        self.states.append(ServiceState(service, GATEWAY, reasons, status, endpoint.id))

    # ------------------------------------------------------------ endpoint policies

    def expected_policy(self, service: str, offer: object) -> str | None:
        """The policy the tool puts on an endpoint of `service` (None: none)."""
        if self.scope is None or (offer is not None and not getattr(offer, "policy_supported", True)):
            return None
        return self.scope.policy(service.removeprefix(self.prefix), self.snap.region)

    def blocked_calls(self, short: str, policy: str | None, own: bool) -> list[str]:
        """The workload's calls through a `short` endpoint that its policy refuses."""
        assert self.scope is not None
        if own:
            calls = {(c.action, c.resource, c.by_aws) for rule in FEATURE_CALLS.values() for c in rule
                     if c.service == short}
        else:  # any resource: the exact ARNs are not known here
            calls = {(a, "", False) for a in CHECKED_ON_FOREIGN_ENDPOINTS.get(short, ())}
        blocked = []
        for action, resource, by_aws in sorted(calls, key=lambda c: (c[0], c[1] or "")):
            # None: an action without a resource ("*"); "": a resource not known here (any)
            target = arn(resource, self.snap.region, self.snap.account) if resource else \
                "*" if resource is None else None
            ctx = self.scope.context(resource=resource is not None, by_aws=by_aws)
            if not policy_allows(policy, action, target, ctx):
                blocked.append(action)
        return sorted(set(blocked))

    def check_policy(self, service: str, endpoint: EndpointInfo, offer: object) -> None:
        """The tool's own endpoint keeps the tool's policy; another's must not block the workload."""
        if self.scope is None:
            return
        short = service.removeprefix(self.prefix)
        params = {**self.base, "endpoint_id": endpoint.id}
        if endpoint.owned:
            expected = self.expected_policy(service, offer)
            blocked = self.blocked_calls(short, endpoint.policy, own=True)
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
        blocked = self.blocked_calls(short, endpoint.policy, own=False)
        if blocked:
            suggested = self.scope.policy(short, self.snap.region) or "{}"
            self.findings.append(Finding(
                "AWS::EC2::VPCEndpoint", endpoint.id, "endpoint-policy-blocks-workload",
                f"{service} endpoint {endpoint.id}: its policy refuses {', '.join(blocked)}, which the "
                "workload calls (not created by this tool: fix it yourself)",
                fix_commands("endpoint-policy-blocks-workload", {**params, "policy": suggested}), service))

    # ------------------------------------------------------------ shared

    def live_endpoints(self, service: str, typ: str) -> list[EndpointInfo]:
        return [e for e in self.snap.endpoints if e.service_name == service and e.type == typ and e.live]

    def change_endpoint(self, endpoint: EndpointInfo, kind: str, problem: str, service: str,
                        summary: str, params: Mapping[str, Value], **extra: tuple[str, ...]) -> None:
        """A change to an endpoint: an action when the tool owns it, a finding otherwise."""
        fix = fix_commands(problem, params)
        if endpoint.owned:
            self.actions.append(Action(kind, service, endpoint.id, problem, summary, fix, **extra))
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
        services = ", ".join(a.service.removeprefix(self.prefix) for a in self.capped)
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

    def own_sg_ref(self) -> str | Shell:
        return self.own.id if self.own else own_sg_lookup(self.base)

    def plan_own_security_group(self) -> None:
        if not self.uses_own_sg:
            if self.sg_for_findings:
                self.own_security_group_findings()
            return
        cidrs = self.snap.cidrs
        squatter = self.snap.named_security_group if self.own is None else None
        if squatter is not None:
            self.squatted(squatter.id)
            return
        if self.own is None:
            params = {**self.base, "security_group": self.own_sg_ref(),
                      "ip_permissions": ingress_443(cidrs=cidrs, why="vpce-remediator")}
            self.actions.insert(0, Action(
                CREATE_SECURITY_GROUP, "", "", "endpoint-security-group-missing",
                f"no security group for the remediator's endpoints in {self.snap.vpc_id} "
                f"(TCP 443 from {', '.join(cidrs)})",
                fix_commands("endpoint-security-group-missing", params), cidrs=cidrs))
            return
        missing = tuple(c for c in cidrs if not self.sg_allows((self.own.id,), c, set()))
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

    def workload_problem(self, w: Workload, problem: WorkloadProblem, subnets: list[str]) -> None:
        params: dict[str, Value] = {**self.base, **dict(problem.params)}
        kind = problem.kind
        if kind == "unmirrorable-registry-image":
            params["repository"] = problem.param("image").split("/", 1)[-1].split(":")[0].split("@")[0]
        elif kind == "public-registry-image":
            params["credential_arg"] = shell(PULL_THROUGH_CREDENTIAL, {
                "region": self.snap.region, "secret_name": "ecr-pullthroughcache/" + problem.param("prefix"),
            }) if problem.param("credentials") else Shell("")
        elif kind == "cross-region-ecr-image":
            params["replication"] = Json({"rules": [{"destinations": [
                {"region": self.snap.region, "registryId": problem.param("image_account")}]}]})
        elif kind in ("cross-region-secret", "cross-region-parameter"):
            resource = problem.param("arn").split(":", 5)[-1]
            rest = resource.split("/", 1)[-1]
            params["parameter"] = "/" + rest if "/" in rest else rest
        elif kind == "cross-region-logs":
            # ECS names a default awslogs group after the task definition family.
            params["log_group"] = problem.param("log_group") or "/ecs/" + w.name.split(":")[0]
        fix = fix_for(kind, params)
        resource_type, resource_id = _workload_resource(w)
        self.findings.append(Finding(resource_type, resource_id, kind, problem.summary + fix.note(), fix.commands))

    def nat_note(self, nat_subnets: dict[str, str], aggregated: dict[tuple[str, str], _Need]) -> None:
        interface_services = sum(1 for (_, t) in aggregated if t == INTERFACE)
        azs = {self.az(s) for s in nat_subnets}
        routes = ", ".join(f"{s} ({target})" for s, target in sorted(nat_subnets.items()))
        self.notes.append(
            f"not enforced: {routes} route 0.0.0.0/0 to a NAT or internet gateway, so the workload "
            f"reaches AWS services without endpoints (set EnforceOnNatRoutedSubnets to enforce). "
            + prices.cost_comparison(interface_services * len(azs), len(azs)))

    def build(self) -> Plan:
        return Plan(self.snap.vpc_id, tuple(self.states), tuple(self.actions), tuple(self.findings),
                    tuple(self.notes), frozenset(self.needs_offers))


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
