"""Resolve: a trigger -> the workloads it concerns, re-read from the ECS, EC2 and Auto Scaling APIs.

The event body only says which ids to read: CloudTrail truncates large request parameters, and an
UpdateService record usually holds just the fields that changed.

Public building blocks: `TaskDefinitions`, `service_workload`, `build_workload`, `launch_type_of`,
`default_launch_type`, `cluster_config`, `cluster_instance_subnets`, `assigns_public_ip` and
`exec_config`. `scan` (services and standalone tasks of a region, and through it the Config rule's
runs) and `doctor` describe workloads with them, so every door sees the same workload the event
path sees: one launch-type rule, one ECS Exec rule, one subnet fallback. Change them here and
every door follows; their signatures are an API inside the package, kept stable for those callers.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from rules import ContainerSpec, ExecConfig, LogConfig, Workload
from rules.workload import EC2, FARGATE
from vpce_remediator.aws import Clients, error_code, paginate
from vpce_remediator.snapshot import SubnetInfo, describe_subnets
from vpce_remediator.triggers import Trigger

_FARGATE_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})


@dataclass
class Resolved:
    """The workloads behind a trigger, and the subnets they run in."""

    workloads: list[Workload] = field(default_factory=list)
    subnets: dict[str, SubnetInfo] = field(default_factory=dict)
    ignored: str | None = None
    new_subnet: SubnetInfo | None = None  # CreateSubnet only
    vpc_scope: tuple[str, ...] = ()  # drift: the VPCs to evaluate whole


class TaskDefinitions:
    """Task definitions by ARN, read once per invocation (they are immutable per revision).

    One instance per run is shared by every workload it describes: a scan of a hundred services
    on two task definitions makes two `DescribeTaskDefinition` calls.
    """

    def __init__(self, ecs: Any) -> None:
        self.ecs = ecs
        self.cache: dict[str, dict[str, Any]] = {}

    def get(self, ref: str) -> dict[str, Any] | None:
        """The task definition `ref` names (ARN or family[:revision]), or None when ECS has none."""
        if ref not in self.cache:
            try:
                td = self.ecs.describe_task_definition(taskDefinition=ref)["taskDefinition"]
            except ClientError as e:
                if error_code(e) in ("ClientException", "InvalidParameterException"):
                    return None
                raise
            self.cache[ref] = self.cache[td["taskDefinitionArn"]] = td
        return self.cache[ref]


def resolve(trigger: Trigger, clients: Clients, ledger: Any = None) -> Resolved:
    """Read what the trigger points at and describe it as workloads.

    `ledger` (the VPC lock's table) knows the VPC of endpoints this tool made, once EC2 forgets them.
    """
    if trigger.kind == "drift":
        resolved = _resolve_drift(trigger, clients, TaskDefinitions(clients.ecs), ledger)
    else:
        handler = {"task": _resolve_task, "service": _resolve_service, "cluster": _resolve_cluster,
                   "subnet": _resolve_subnet}[trigger.kind]
        resolved = handler(trigger, clients, TaskDefinitions(clients.ecs))
    if resolved.ignored is None and not resolved.subnets:
        ids = {s for w in resolved.workloads for s in w.subnet_ids}
        resolved.subnets = describe_subnets(clients.ec2, ids)
        if ids and not resolved.subnets:
            # Deleted since the call (CloudTrail delivers minutes later): nothing left to wire.
            resolved.ignored = f"none of its subnets ({', '.join(sorted(ids))}) exists any more"
    return resolved


# ---------------------------------------------------------------- tasks and services


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
    subnets = t.subnets
    if not subnets:
        subnets = cluster_instance_subnets(clients, cluster or cluster_config(clients, t.cluster))
        if not subnets:
            return Resolved(ignored=f"task {name} has no awsvpc subnets and its cluster no Auto Scaling "
                                    "capacity provider: no subnet to evaluate")
    workload = build_workload("task", arn, name, t.region, t.account, launch, td, subnets=subnets,
                              groups=t.security_groups,
                              public_ip=assigns_public_ip(t.assign_public_ip, launch, t.subnets),
                              platform=t.platform_version, exec_=exec_config(t.execute_command, cluster))
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
    return Resolved([w for s in services if (w := service_workload(s, t.region, t.account, clients, tds, t))])


def service_workload(s: dict[str, Any], region: str, account: str, clients: Clients,
                     tds: TaskDefinitions, t: Trigger | None = None) -> Workload | None:
    """A described ECS service (`DescribeServices` item) as a workload; None when its task definition
    cannot be read. `t`, the trigger, fills in what moto's DescribeServices omits (ECS Exec, Service
    Connect); the API's own value always wins."""
    td = tds.get(s["taskDefinition"])
    if td is None:
        return None
    primary = next((d for d in s.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    strategy = [p["capacityProvider"] for p in s.get("capacityProviderStrategy", [])
                or primary.get("capacityProviderStrategy", [])]
    launch = launch_type_of(s.get("launchType") or primary.get("launchType"), strategy)
    # Real DescribeServices always returns enableExecuteCommand; moto 5 omits it (and Service
    # Connect), so the event's own value is the fallback, never the first choice.
    exec_on = bool(s.get("enableExecuteCommand", t and t.execute_command))
    cluster = cluster_config(clients, s["clusterArn"]) if (launch is None or exec_on) else None
    if launch is None:
        launch = default_launch_type(cluster, td)
    net = (s.get("networkConfiguration") or primary.get("networkConfiguration") or {}).get(
        "awsvpcConfiguration", {})
    subnets = tuple(net.get("subnets", []))
    if not subnets:
        subnets = cluster_instance_subnets(clients, cluster or cluster_config(clients, s["clusterArn"]))
    connect = primary.get("serviceConnectConfiguration") or s.get("serviceConnectConfiguration") or (
        {"enabled": bool(t and t.service_connect)})
    return build_workload("service", s["serviceArn"], s["serviceName"], region, account, launch, td,
                          subnets=subnets, groups=tuple(net.get("securityGroups", [])),
                          public_ip=assigns_public_ip(net.get("assignPublicIp"), launch, net.get("subnets")),
                          platform=primary.get("platformVersion") or s.get("platformVersion"),
                          exec_=exec_config(exec_on, cluster), service_connect=bool(connect.get("enabled")))


def workloads_in(clients: Clients, subnet_ids: set[str]) -> list[Workload]:
    """Every ECS service and running standalone task whose awsvpc subnets touch `subnet_ids`
    (and those without awsvpc subnets: their cluster's instances decide), found as `scan` finds
    them. A drift or a new subnet must account for what a batch job running now needs too."""
    from vpce_remediator.scan import discover  # scan builds on this module: imported when used

    return [w for w, _ in discover(clients, lambda done, total, what: None, subnet_ids).workloads]


# ---------------------------------------------------------------- clusters and subnets


def _resolve_cluster(t: Trigger, clients: Clients, tds: TaskDefinitions) -> Resolved:
    providers = [p for p in t.capacity_providers if p not in _FARGATE_PROVIDERS]
    name = (t.cluster or "").rsplit("/", 1)[-1]
    if not providers:
        return Resolved(ignored=f"cluster {name} has no EC2 capacity providers yet, so no network to "
                                "evaluate; its tasks and services are evaluated when they start")
    subnets = _provider_subnets(clients, providers)
    if not subnets:
        return Resolved(ignored=f"cluster {name}: its capacity providers name no subnets")
    arn = t.cluster if (t.cluster or "").startswith("arn:") else (
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
    vpc_subnets = {s["SubnetId"]: SubnetInfo(s["SubnetId"], s["VpcId"], s["AvailabilityZone"],
                                             s.get("CidrBlock", ""))
                   for p in paginate(clients.ec2, "describe_subnets",
                                     Filters=[{"Name": "vpc-id", "Values": [new.vpc_id]}])
                   for s in p.get("Subnets", [])}
    vpc_subnets[new.id] = new
    return Resolved(workloads_in(clients, set(vpc_subnets)), vpc_subnets, new_subnet=new)


def _resolve_drift(t: Trigger, clients: Clients, tds: TaskDefinitions, ledger: Any = None) -> Resolved:
    """Someone changed the wiring: evaluate each VPC it touched, with every ECS service in it."""
    vpcs = vpcs_of(clients, t.resource_ids, ledger)
    if not vpcs:
        return Resolved(ignored=f"{t.name}: none of {', '.join(t.resource_ids) or 'its ids'} is in a VPC "
                                "that still exists")
    subnets: dict[str, SubnetInfo] = {}
    for vpc_id in sorted(vpcs):
        for p in paginate(clients.ec2, "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]):
            for s in p.get("Subnets", []):
                subnets[s["SubnetId"]] = SubnetInfo(s["SubnetId"], s["VpcId"], s["AvailabilityZone"],
                                                    s.get("CidrBlock", ""))
    workloads = workloads_in(clients, set(subnets))
    if not workloads:
        return Resolved(ignored=f"{t.name} touched {', '.join(sorted(vpcs))}, which hosts no ECS service "
                                "and no running standalone task")
    return Resolved(workloads, subnets, vpc_scope=tuple(sorted(vpcs)))


def vpcs_of(clients: Clients, ids: Iterable[str], ledger: Any = None) -> set[str]:
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
        if not found and ledger is not None and (remembered := ledger.vpc_of(endpoint)):
            vpcs.add(remembered)
    return vpcs


# ---------------------------------------------------------------- building blocks (public: see the module docstring)


def launch_type_of(launch_type: str | None, providers: Iterable[str]) -> str | None:
    """FARGATE or EC2 from an explicit launch type, else from capacity providers (any non-Fargate
    provider means EC2 capacity); None when neither says, so the cluster's default decides."""
    if launch_type:
        return launch_type.upper()
    names = list(providers)
    if names:
        return FARGATE if all(n in _FARGATE_PROVIDERS for n in names) else EC2
    return None


def default_launch_type(cluster: dict[str, Any] | None, td: dict[str, Any]) -> str:
    """The launch type ECS picks when the caller named none: the cluster's default capacity provider
    strategy, else FARGATE only for a task definition compatible with Fargate alone."""
    strategy = [p["capacityProvider"] for p in (cluster or {}).get("defaultCapacityProviderStrategy", [])]
    launch = launch_type_of(None, strategy)
    if launch:
        return launch
    compat = td.get("requiresCompatibilities") or td.get("compatibilities") or []
    return FARGATE if compat == [FARGATE] else EC2


def cluster_config(clients: Clients, cluster: str | None) -> dict[str, Any] | None:
    """The described cluster (with its ECS Exec configuration), or None when it is unnamed or gone."""
    if not cluster:
        return None
    found = clients.ecs.describe_clusters(clusters=[cluster], include=["CONFIGURATIONS"]).get("clusters", [])
    return found[0] if found else None


def cluster_instance_subnets(clients: Clients, cluster: dict[str, Any] | None) -> tuple[str, ...]:
    """Where a cluster's container instances run (bridge and host networking have no task subnet):
    the subnets of its EC2 capacity providers' Auto Scaling groups or managed instances."""
    providers = [p for p in (cluster or {}).get("capacityProviders", []) if p not in _FARGATE_PROVIDERS]
    return _provider_subnets(clients, providers) if providers else ()


def _provider_subnets(clients: Clients, providers: list[str]) -> tuple[str, ...]:
    found = clients.ecs.describe_capacity_providers(capacityProviders=providers).get("capacityProviders", [])
    subnets: list[str] = []
    groups: list[str] = []
    for p in found:
        managed = (p.get("managedInstancesProvider") or {}).get("instanceLaunchTemplate", {})
        subnets.extend(managed.get("networkConfiguration", {}).get("subnets", []))
        asg = (p.get("autoScalingGroupProvider") or {}).get("autoScalingGroupArn", "")
        if asg:
            groups.append(asg.split("autoScalingGroupName/")[-1])
    if groups:
        for page in paginate(clients.autoscaling, "describe_auto_scaling_groups", AutoScalingGroupNames=groups):
            for g in page.get("AutoScalingGroups", []):
                subnets.extend(s for s in g.get("VPCZoneIdentifier", "").split(",") if s)
    return tuple(dict.fromkeys(subnets))


def assigns_public_ip(value: str | None, launch: str, awsvpc_subnets: Iterable[str] | None) -> bool | None:
    """Whether the task gets a public IP (awsvpc's assignPublicIp); None for container instances."""
    if launch == FARGATE or awsvpc_subnets:
        return (value or "DISABLED").upper() == "ENABLED"
    return None  # container instances: their own addressing decides


def exec_config(enabled: bool | None, cluster: dict[str, Any] | None) -> ExecConfig | None:
    """ECS Exec's settings (KMS key, session logs) from the cluster, or None when Exec is off."""
    if not enabled:
        return None
    conf = ((cluster or {}).get("configuration") or {}).get("executeCommandConfiguration") or {}
    logs = conf.get("logConfiguration") or {}
    logging = conf.get("logging", "DEFAULT")
    return ExecConfig(
        kms_key_id=conf.get("kmsKeyId"),
        log_to_s3_bucket=logs.get("s3BucketName") if logging == "OVERRIDE" else None,
        log_to_cloudwatch_group=logs.get("cloudWatchLogGroupName") if logging == "OVERRIDE" else None,
    )


def build_workload(kind: str, arn: str, name: str, region: str, account: str, launch: str,
                   td: dict[str, Any], *, subnets: Iterable[str], groups: Iterable[str],
                   public_ip: bool | None, platform: str | None, exec_: ExecConfig | None,
                   service_connect: bool = False) -> Workload:
    """The rules' `Workload` from a described task definition and the network it runs in."""
    return Workload(
        kind=kind, arn=arn, name=name, region=region, account=account, launch_type=launch,
        containers=tuple(_container(c) for c in td.get("containerDefinitions", [])),
        platform_version=None if (platform or "").upper() == "LATEST" else platform,
        os_family=(td.get("runtimePlatform") or {}).get("operatingSystemFamily"),
        execute_command=exec_, service_connect=service_connect,
        efs_volumes=any("efsVolumeConfiguration" in v for v in td.get("volumes", [])),
        subnet_ids=tuple(subnets), security_group_ids=tuple(groups), assign_public_ip=public_ip,
        task_definition_arn=td["taskDefinitionArn"],
    )


def _container(c: dict[str, Any]) -> ContainerSpec:
    log = c.get("logConfiguration")
    creds = (c.get("repositoryCredentials") or {}).get("credentialsParameter")
    secrets = tuple(s["valueFrom"] for s in c.get("secrets", []) if s.get("valueFrom"))
    firelens = c.get("firelensConfiguration") or {}
    return ContainerSpec(
        name=c.get("name", "?"), image=c.get("image", ""),
        log=LogConfig(log["logDriver"], tuple(sorted((log.get("options") or {}).items())))
        if log and log.get("logDriver") else None,
        secrets=secrets + ((creds,) if creds else ()), repository_credentials=creds,
        firelens_config_s3=(firelens.get("options") or {}).get("config-file-type") == "s3",
        environment_files_s3=tuple(f["value"] for f in c.get("environmentFiles", []) if f.get("type") == "s3"),
    )
