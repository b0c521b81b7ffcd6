"""Resolve: a trigger -> the workloads it concerns, re-read from the ECS, EC2 and Auto Scaling APIs.

The event body only says which ids to read: CloudTrail truncates large request parameters, and an
UpdateService record usually holds just the fields that changed. The workloads are described by
`discovery`'s building blocks, as every other door describes them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from botocore.exceptions import ClientError

from rules import Workload
from rules.records import field, mutable_record
from rules.workload import EC2
from vpce_remediator.aws import Clients, error_code, paginate
from vpce_remediator.discovery import (
    EXTERNAL,
    EXTERNAL_WHY,
    FARGATE_PROVIDERS,
    TaskDefinitions,
    assigns_public_ip,
    build_workload,
    cluster_config,
    cluster_instance_subnets,
    default_launch_type,
    describe_vpcs,
    exec_config,
    instance_network,
    launch_type_of,
    provider_subnets,
    service_workload,
    workloads_in,
)
from vpce_remediator.facts import SubnetInfo
from vpce_remediator.lock import VpcLock
from vpce_remediator.snapshot import describe_subnets, subnet_info
from vpce_remediator.triggers import Trigger


@mutable_record
class Resolved:
    """The workloads behind a trigger, and the subnets they run in."""

    workloads: list[Workload] = field(default_factory=list)
    subnets: dict[str, SubnetInfo] = field(default_factory=dict)
    ignored: str | None = None
    new_subnet: SubnetInfo | None = None  # CreateSubnet only
    vpc_scope: tuple[str, ...] = ()  # drift: the VPCs to evaluate whole


def resolve(trigger: Trigger, clients: Clients, lock: VpcLock | None = None) -> Resolved:
    """Read what the trigger points at and describe it as workloads.

    `lock` (the stack's state table) knows the VPC of endpoints this tool made, once EC2 forgets them.
    """
    if trigger.kind == "drift":
        resolved = _resolve_drift(trigger, clients, TaskDefinitions(clients.ecs), lock)
    else:
        handler = {"task": _resolve_task, "service": _resolve_service, "cluster": _resolve_cluster,
                   "subnet": _resolve_subnet}[trigger.kind]
        resolved = handler(trigger, clients, TaskDefinitions(clients.ecs))
    if resolved.ignored is None and not resolved.subnets:
        ids = {s for w in resolved.workloads for s in (*w.subnet_ids, *w.instance_subnet_ids)}
        resolved.subnets = describe_subnets(clients.ec2, ids)
        if ids and not resolved.subnets:
            # Deleted since the call (CloudTrail delivers minutes later): nothing left to wire.
            resolved.ignored = f"none of its subnets ({', '.join(sorted(ids))}) exists any more"
    return resolved


# ---------------------------------------------------------------- tasks and services


# A container instance as a record names it (an ARN or its id): anything else is not sent to ECS.
# Compiled (and cached by `re`) at the first EC2 launch type task, not at every cold start.
_CONTAINER_INSTANCE = r"^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:container-instance/)?[A-Za-z0-9_/-]{1,255}$"


def _resolve_task(t: Trigger, clients: Clients, tds: TaskDefinitions) -> Resolved:
    if not t.task_definition:
        return Resolved(ignored=f"{t.name} names no task definition")
    td = tds.get(t.task_definition)
    if td is None:
        return Resolved(ignored=f"task definition {t.task_definition} not found")
    launch = "EC2" if t.name == "StartTask" else launch_type_of(t.launch_type, t.capacity_providers)
    cluster = cluster_config(clients, t.cluster) if (launch is None or t.execute_command) else None
    if launch is None:
        launch = default_launch_type(cluster, td)
    arn = t.task_arns[0] if t.task_arns else td["taskDefinitionArn"]
    name = f"{td['family']}:{td['revision']}"
    if launch == EXTERNAL:
        return Resolved(ignored=f"task {name}: {EXTERNAL_WHY}")
    subnets = t.subnets
    if not subnets:
        subnets = cluster_instance_subnets(clients, cluster or cluster_config(clients, t.cluster))
        if not subnets:
            return Resolved(ignored=f"task {name} has no awsvpc subnets and its cluster no Auto Scaling "
                                    "capacity provider: no subnet to evaluate")
    # An EC2 awsvpc task: the agent pulls, fetches secrets and ships awslogs from its instance.
    instances = instance_network(clients, tds, t.cluster, [a for a in t.container_instances
                                                           if re.match(_CONTAINER_INSTANCE, a)]) \
        if launch == EC2 and t.subnets else None
    workload = build_workload("task", arn, name, t.region, t.account, launch, td, subnets=subnets,
                              groups=t.security_groups,
                              public_ip=assigns_public_ip(t.assign_public_ip, launch, t.subnets),
                              platform=t.platform_version, exec_=exec_config(t.execute_command, cluster),
                              instances=instances)
    return Resolved([workload])


def _resolve_service(t: Trigger, clients: Clients, tds: TaskDefinitions) -> Resolved:
    if not t.service or not t.cluster:
        return Resolved(ignored=f"{t.name} names no service and cluster")
    try:
        described = clients.ecs.describe_services(cluster=t.cluster, services=[t.service])
    except ClientError as e:
        if error_code(e) != "ClusterNotFoundException":
            raise
        # Deleted since the call (CloudTrail delivers minutes later): the record ends here.
        return Resolved(ignored=f"cluster {t.cluster} not found (deleted?)")
    services = [s for s in described.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        return Resolved(ignored=f"service {t.service} not found in cluster {t.cluster} (deleted?)")
    workloads = [w for s in services if (w := service_workload(s, t.region, t.account, clients, tds, t))]
    if workloads and all(w.launch_type == EXTERNAL for w in workloads):
        return Resolved(ignored=f"service {t.service}: {EXTERNAL_WHY}")
    return Resolved([w for w in workloads if w.launch_type != EXTERNAL])

# ---------------------------------------------------------------- clusters and subnets


def _resolve_cluster(t: Trigger, clients: Clients, tds: TaskDefinitions) -> Resolved:
    providers = [p for p in t.capacity_providers if p not in FARGATE_PROVIDERS]
    name = (t.cluster or "").rsplit("/", 1)[-1]
    if not providers:
        # CreateCluster before its providers are put, or PutClusterCapacityProviders with Fargate only.
        return Resolved(ignored=f"cluster {name} has no EC2 capacity providers, so no network to "
                                "evaluate; its tasks and services are evaluated when they start")
    subnets = provider_subnets(clients, providers)
    if not subnets:
        return Resolved(ignored=f"cluster {name}: its capacity providers name no subnets")
    arn = t.cluster if t.cluster and t.cluster.startswith("arn:") else (
        f"arn:aws:ecs:{t.region}:{t.account}:cluster/{name}")
    workload = Workload(kind="cluster", arn=arn, name=name, region=t.region, account=t.account,
                        launch_type=EC2, subnet_ids=subnets)
    return Resolved([workload])


def _resolve_subnet(t: Trigger, clients: Clients, tds: TaskDefinitions) -> Resolved:
    if not t.subnet_id:
        return Resolved(ignored="CreateSubnet record carries no subnet id")
    found = describe_subnets(clients.ec2, [t.subnet_id])
    new = found.get(t.subnet_id)
    if new is None:
        return Resolved(ignored=f"subnet {t.subnet_id} no longer exists")
    vpc_subnets = {s["SubnetId"]: subnet_info(s)
                   for p in paginate(clients.ec2, "describe_subnets",
                                     Filters=[{"Name": "vpc-id", "Values": [new.vpc_id]}])
                   for s in p.get("Subnets", [])}
    vpc_subnets[new.id] = new
    return Resolved(workloads_in(clients, set(vpc_subnets)), vpc_subnets, new_subnet=new)


def _resolve_drift(t: Trigger, clients: Clients, tds: TaskDefinitions, lock: VpcLock | None = None) -> Resolved:
    """Someone changed the wiring: evaluate each VPC it touched, with every ECS service in it."""
    vpcs = vpcs_of(clients, t.resource_ids, lock)
    if t.group_name and not any(i.startswith("sg-") for i in t.resource_ids):
        named = vpcs_of_group_name(clients, t.group_name)
        if not named and not vpcs:
            return Resolved(ignored=f"{t.name}: security group {t.group_name!r} is named by name only (so it is "
                                    "in the default VPC), and the default VPC holds no group of that name any "
                                    "more (deleted since the call?)")
        vpcs |= named
    if not vpcs:
        if not t.resource_ids:
            return Resolved(ignored=f"{t.name} names no VPC, subnet, security group, route table or endpoint "
                                    "id: nothing to evaluate")
        return Resolved(ignored=f"{t.name}: none of {', '.join(t.resource_ids)} exists any more (deleted "
                                "since the call?), so no VPC to evaluate")
    subnets: dict[str, SubnetInfo] = {}
    for vpc_id in sorted(vpcs):
        for p in paginate(clients.ec2, "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]):
            for s in p.get("Subnets", []):
                subnets[s["SubnetId"]] = subnet_info(s)
    # A VPC id taken from the record is not proof the VPC exists: one without subnets may be gone
    # (only then is it described, so a drift in a live VPC costs no extra call).
    bare = vpcs - {s.vpc_id for s in subnets.values()}
    gone = bare - set(describe_vpcs(clients.ec2, bare)) if bare else set()
    vpcs -= gone
    if not vpcs:
        return Resolved(ignored=f"{t.name}: VPC {', '.join(sorted(gone))} no longer exists (deleted since the "
                                "call?): nothing left to evaluate")
    workloads = workloads_in(clients, set(subnets))
    if not workloads:
        return Resolved(ignored=f"{t.name} touched {', '.join(sorted(vpcs))}, which hosts no ECS service "
                                "and no running standalone task")
    return Resolved(workloads, subnets, vpc_scope=tuple(sorted(vpcs)))


def vpcs_of_group_name(clients: Clients, name: str) -> set[str]:
    """The VPC of the security group a call named by `groupName` alone. The EC2 API takes a name
    instead of an id for the default VPC only, so when groups of that name live in several VPCs,
    the default VPC's is the one (one more read, made only then)."""
    ec2 = clients.ec2
    vpcs = {g["VpcId"] for p in paginate(ec2, "describe_security_groups",
                                         Filters=[{"Name": "group-name", "Values": [name]}])
            for g in p.get("SecurityGroups", []) if g.get("VpcId")}
    if len(vpcs) > 1:
        default = {v["VpcId"] for p in paginate(ec2, "describe_vpcs", Filters=[{"Name": "is-default", "Values": ["true"]}])
                   for v in p.get("Vpcs", [])}
        vpcs &= default
    return vpcs


def vpcs_of(clients: Clients, ids: Iterable[str], lock: VpcLock | None = None) -> set[str]:
    """The VPCs that EC2 resource ids belong to (a deleted endpoint stays visible for a while)."""
    ec2 = clients.ec2
    ids = list(ids)
    vpcs = {i for i in ids if i.startswith("vpc-")}
    by_filter = (("sg-", "describe_security_groups", "group-id", "SecurityGroups"),
                 ("rtb-", "describe_route_tables", "route-table-id", "RouteTables"),
                 ("rtbassoc-", "describe_route_tables", "association.route-table-association-id", "RouteTables"),
                 ("subnet-", "describe_subnets", "subnet-id", "Subnets"))
    for prefix, operation, name, key in by_filter:
        wanted = [i for i in ids if i.startswith(prefix) and not (prefix == "rtb-" and i.startswith("rtbassoc-"))]
        if wanted:
            # Filters, not ids: an id that no longer exists is simply absent instead of an error.
            for page in paginate(ec2, operation, Filters=[{"Name": name, "Values": wanted}]):
                vpcs.update(r["VpcId"] for r in page.get(key, []) if r.get("VpcId"))
    for endpoint in (i for i in ids if i.startswith("vpce-")):
        try:
            found = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint]).get("VpcEndpoints", [])
        except ClientError as e:
            if error_code(e) != "InvalidVpcEndpointId.NotFound":
                raise
            found = []
        vpcs.update(e["VpcId"] for e in found)
        if not found and lock is not None and (remembered := lock.vpc_of(endpoint)):
            vpcs.add(remembered)
    return vpcs

