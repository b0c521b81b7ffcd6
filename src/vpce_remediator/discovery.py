"""Discovery: ECS services and tasks, read from the ECS, EC2 and Auto Scaling APIs, as the rules' `Workload`.

Two layers. The building blocks describe one API item as a workload: `TaskDefinitions`,
`service_workload`, `build_workload`, `launch_type_of`, `default_launch_type`, `cluster_config`,
`cluster_instance_subnets`, `provider_subnets`, `instance_network`, `assigns_public_ip` and
`exec_config`. Every door
uses them (`resolve` for an event, `scan` for a region, `doctor` for one service), so every door sees
the same workload: one launch-type rule, one ECS Exec rule, one subnet fallback. Change them here
and every door follows; their signatures are an API inside the package, kept stable for those callers.

On them, `discover` finds every ECS service and running standalone task of a region (or those
touching some subnets: `workloads_in`, for a drift or a new subnet), and `discover_service` one
service, with batched reads: `ListServices`/`ListTasks` pages, `DescribeServices` 10 services a
call, `DescribeTasks` 100 tasks a call, task definitions read once per ARN.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from rules import ContainerSpec, ExecConfig, LogConfig, Workload
from rules.records import field, mutable_record, record
from rules.workload import EC2, FARGATE, UNKNOWN_LAUNCH, WorkloadKind, as_launch_type
from vpce_remediator.aws import Clients, error_code, paginate
from vpce_remediator.triggers import Trigger

FARGATE_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})
_SERVICES_PER_DESCRIBE = 10  # DescribeServices limit
_TASKS_PER_DESCRIBE = 100  # DescribeTasks limit
_FILTER_VALUES = 200  # EC2 filter values per call
_PAGE = {"PageSize": 100}  # ECS list calls return 10 a page unless asked for their maximum, 100

Progress = Callable[[int, int, str], None]  # (done, total, what) -> None


# ---------------------------------------------------------------- building blocks (public: see the module docstring)


class TaskDefinitions:
    """Task definitions by ARN, read once per invocation (they are immutable per revision).

    One instance per run is shared by every workload it describes: a scan of a hundred services
    on two task definitions makes two `DescribeTaskDefinition` calls.
    """

    def __init__(self, ecs: Any) -> None:
        self.ecs = ecs
        self.cache: dict[str, dict[str, Any]] = {}
        # The run's reads of container instances (`instance_network`), by cluster and instances
        # named: a scan of many EC2 services in one cluster reads its instances once.
        self.instances: dict[tuple[str, tuple[str, ...]], InstanceNetwork] = {}

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


@record
class InstanceNetwork:
    """Where a cluster's EC2 container instances are: their subnets and security groups, and
    whether every one of them has a public IP (None: not known)."""

    subnets: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    public_ip: bool | None = None


_INSTANCES_PER_DESCRIBE = 100  # DescribeContainerInstances limit


def instance_network(clients: Clients, tds: TaskDefinitions, cluster: str | None,
                     instance_arns: Iterable[str] = ()) -> InstanceNetwork:
    """The network of the container instances an EC2 launch type awsvpc workload runs on: those
    named (a task's `containerInstanceArn`), else every ACTIVE one of its cluster (a service's
    tasks may be placed on any), read from ECS and EC2 (`DescribeInstances`: subnet, groups,
    public IP). With none registered, the cluster's Auto Scaling capacity providers' subnets
    (groups not known). Read for EC2 awsvpc workloads only, once per cluster in a run."""
    name = cluster or "default"
    key = (name, tuple(sorted(instance_arns)))
    if key in tds.instances:
        return tds.instances[key]
    ecs = clients.ecs
    try:
        arns = list(key[1]) or [a for page in paginate(ecs, "list_container_instances", cluster=name, status="ACTIVE",
                                                       PaginationConfig=_PAGE)
                                for a in page.get("containerInstanceArns", [])]
        ids = [str(ci["ec2InstanceId"]) for chunk in _chunks(arns, _INSTANCES_PER_DESCRIBE)
               for ci in ecs.describe_container_instances(cluster=name, containerInstances=chunk).get(
                   "containerInstances", []) if ci.get("ec2InstanceId")]
    except ClientError as e:
        if error_code(e) != "ClusterNotFoundException":
            raise
        ids = []
    instances = [i for chunk in _chunks(sorted(set(ids)), _FILTER_VALUES)
                 for page in paginate(clients.ec2, "describe_instances",
                                      Filters=[{"Name": "instance-id", "Values": chunk}])
                 for r in page.get("Reservations", []) for i in r.get("Instances", [])
                 if (i.get("State") or {}).get("Name") not in ("terminated", "shutting-down")]
    if instances:
        found = InstanceNetwork(
            tuple(dict.fromkeys(str(i["SubnetId"]) for i in instances if i.get("SubnetId"))),
            tuple(dict.fromkeys(str(g["GroupId"]) for i in instances for g in i.get("SecurityGroups", []))),
            all(bool(i.get("PublicIpAddress")) for i in instances))
    else:
        found = InstanceNetwork(cluster_instance_subnets(clients, cluster_config(clients, name)))
    tds.instances[key] = found
    return found


EXTERNAL = "EXTERNAL"
# ECS Anywhere's workloads run on the customer's own servers: their container instances' network
# is not a VPC of this account, and the cluster's Auto Scaling subnets (if any) are not theirs.
EXTERNAL_WHY = "ECS Anywhere (EXTERNAL) runs on your own servers, outside any VPC: no VPC endpoint serves it"


def service_workload(s: Mapping[str, Any], region: str, account: str, clients: Clients,
                     tds: TaskDefinitions, t: Trigger | None = None) -> Workload | None:
    """A described ECS service (`DescribeServices` item) as a workload; None when its task definition
    cannot be read. `t`, the trigger, fills in what moto's DescribeServices omits (ECS Exec, Service
    Connect); the API's own value always wins."""
    td = tds.get(s["taskDefinition"])
    if td is None:
        return None
    primary: Mapping[str, Any] = next((d for d in s.get("deployments", []) if d.get("status") == "PRIMARY"), {})
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
    if not subnets and launch != EXTERNAL:
        subnets = cluster_instance_subnets(clients, cluster or cluster_config(clients, s["clusterArn"]))
    instances = instance_network(clients, tds, s["clusterArn"]) if launch == EC2 and net.get("subnets") else None
    connect = primary.get("serviceConnectConfiguration") or s.get("serviceConnectConfiguration") or (
        {"enabled": bool(t and t.service_connect)})
    return build_workload("service", s["serviceArn"], s["serviceName"], region, account, launch, td,
                          subnets=subnets, groups=tuple(net.get("securityGroups", [])),
                          public_ip=assigns_public_ip(net.get("assignPublicIp"), launch, net.get("subnets")),
                          platform=primary.get("platformVersion") or s.get("platformVersion"),
                          exec_=exec_config(exec_on, cluster), service_connect=bool(connect.get("enabled")),
                          service_connect_log=_log_config(connect.get("logConfiguration")), instances=instances)


def launch_type_of(launch_type: str | None, providers: Iterable[str]) -> str | None:
    """FARGATE or EC2 from an explicit launch type, else from capacity providers (any non-Fargate
    provider means EC2 capacity); None when neither says, so the cluster's default decides."""
    if launch_type:
        return launch_type.upper()
    names = list(providers)
    if names:
        return FARGATE if all(n in FARGATE_PROVIDERS for n in names) else EC2
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
    return dict(found[0]) if found else None


def cluster_instance_subnets(clients: Clients, cluster: dict[str, Any] | None) -> tuple[str, ...]:
    """Where a cluster's container instances run (bridge and host networking have no task subnet):
    the subnets of its EC2 capacity providers' Auto Scaling groups or managed instances."""
    providers = [p for p in (cluster or {}).get("capacityProviders", []) if p not in FARGATE_PROVIDERS]
    return provider_subnets(clients, providers) if providers else ()


def provider_subnets(clients: Clients, providers: list[str]) -> tuple[str, ...]:
    found = clients.ecs.describe_capacity_providers(capacityProviders=providers).get("capacityProviders", [])
    subnets: list[str] = []
    groups: list[str] = []
    for p in found:
        provider: Mapping[str, Any] = p  # newer ECS fields (managed instances) than the stubs know
        managed = (provider.get("managedInstancesProvider") or {}).get("instanceLaunchTemplate", {})
        subnets.extend(managed.get("networkConfiguration", {}).get("subnets", []))
        asg = (provider.get("autoScalingGroupProvider") or {}).get("autoScalingGroupArn", "")
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


def build_workload(kind: WorkloadKind, arn: str, name: str, region: str, account: str, launch: str,
                   td: dict[str, Any], *, subnets: Iterable[str], groups: Iterable[str],
                   public_ip: bool | None, platform: str | None, exec_: ExecConfig | None,
                   service_connect: bool = False, service_connect_log: LogConfig | None = None,
                   instances: InstanceNetwork | None = None) -> Workload:
    """The rules' `Workload` from a described task definition and the network it runs in (and, for
    an EC2 launch type awsvpc task, its container instances')."""
    on = instances or InstanceNetwork()
    return Workload(
        kind=kind, arn=arn, name=name, region=region, account=account, launch_type=as_launch_type(launch),
        containers=tuple(_container(c) for c in td.get("containerDefinitions", [])),
        platform_version=None if (platform or "").upper() == "LATEST" else platform,
        os_family=(td.get("runtimePlatform") or {}).get("operatingSystemFamily"),
        execute_command=exec_, service_connect=service_connect,
        service_connect_log=service_connect_log if service_connect else None,
        efs_volumes=any("efsVolumeConfiguration" in v for v in td.get("volumes", [])),
        efs_file_systems=_efs_file_systems(td),
        subnet_ids=tuple(subnets), security_group_ids=tuple(groups), assign_public_ip=public_ip,
        instance_subnet_ids=on.subnets, instance_security_group_ids=on.groups, instance_public_ip=on.public_ip,
        task_definition_arn=td["taskDefinitionArn"],
    )


def _log_config(log: Mapping[str, Any] | None) -> LogConfig | None:
    """A `logConfiguration` (a container's or Service Connect's) with its options and `secretOptions`;
    None when it names no driver."""
    if not log or not log.get("logDriver"):
        return None
    secret_options = tuple((str(o.get("name", "")), str(o["valueFrom"]))
                           for o in log.get("secretOptions") or [] if o.get("valueFrom"))
    return LogConfig(str(log["logDriver"]), tuple(sorted((str(k), str(v)) for k, v in (log.get("options") or {}).items())),
                     secret_options)


def _efs_file_systems(td: Mapping[str, Any]) -> tuple[str, ...]:
    """The file system ids the task definition's EFS volumes name, each once."""
    ids = (str((v.get("efsVolumeConfiguration") or {}).get("fileSystemId") or "") for v in td.get("volumes") or [])
    return tuple(dict.fromkeys(i for i in ids if i))


def _container(c: dict[str, Any]) -> ContainerSpec:
    creds = (c.get("repositoryCredentials") or {}).get("credentialsParameter")
    secrets = tuple(s["valueFrom"] for s in c.get("secrets", []) if s.get("valueFrom"))
    firelens = c.get("firelensConfiguration") or {}
    variables = [v.get("name") for v in [*(c.get("environment") or []), *(c.get("secrets") or [])]]
    return ContainerSpec(
        name=c.get("name", "?"), image=c.get("image", ""),
        log=_log_config(c.get("logConfiguration")),
        secrets=secrets + ((creds,) if creds else ()), repository_credentials=creds,
        firelens_config_s3=(firelens.get("options") or {}).get("config-file-type") == "s3",
        environment_files_s3=tuple(f["value"] for f in c.get("environmentFiles", []) if f.get("type") == "s3"),
        credential_specs=tuple(str(v) for v in c.get("credentialSpecs") or []),
        command=tuple(str(v) for v in c.get("command") or []),
        variable_names=tuple(str(n) for n in variables if n),
    )


# ---------------------------------------------------------------- every workload of a region


@mutable_record
class Discovery:
    """What `discover` found: workloads with their cluster's name, and those it could not read."""

    workloads: list[tuple[Workload, str]] = field(default_factory=list)  # (workload, cluster name)
    unreadable: list[tuple[Workload, str, str]] = field(default_factory=list)  # (workload, cluster, why)
    clusters: int = 0


def discover(clients: Clients, progress: Progress, subnet_ids: set[str] | None = None,
             placed: Callable[[list[tuple[str, ...]]], None] | None = None,
             built: Callable[[Workload | None, str], None] | None = None) -> Discovery:
    """Every ECS service and running standalone task of the region as engine workloads, with the
    name of its cluster. With `subnet_ids`, an awsvpc workload in none of them is passed over
    before its task definition is read; one without awsvpc subnets (bridge or host networking) is
    kept only when its cluster's instances run in them: a workload placed nowhere belongs to no
    VPC, not to every one (an unscoped scan lists it once, as not placed).

    Two passes: the ECS reads that find the workloads and their awsvpc subnets, then the task
    definitions that make them workloads. Between the two, `placed(subnets of each)` hears where
    they run (the awsvpc subnets of each service, then of each task, in the order they are made
    workloads), so that a scan can start reading those VPCs while the task definitions are read;
    `built(workload or None, cluster)` then hears of each in that order (None: not made one). With
    a client that reads ahead (a scan's), the describe and task definition reads of a pass are all
    started at once and taken in order, so the result is the same as one after another."""
    ecs = clients.ecs
    region = clients.region
    tds = TaskDefinitions(ecs)
    clusters = [a for page in paginate(ecs, "list_clusters", PaginationConfig=_PAGE) for a in page.get("clusterArns", [])]
    found = Discovery(clusters=len(clusters))
    services: list[tuple[str, Mapping[str, Any]]] = []  # (cluster name, DescribeServices item)
    tasks: list[Mapping[str, Any]] = []
    for i, cluster in enumerate(clusters, start=1):
        arns = [a for page in paginate(ecs, "list_services", cluster=cluster, PaginationConfig=_PAGE)
                for a in page.get("serviceArns", [])]
        services += [(cluster.rsplit("/", 1)[-1], s) for s in _described_services(ecs, cluster, arns)
                     if s.get("status") != "INACTIVE" and _in_scope(_service_subnets(s), subnet_ids)]
        arns = [a for page in paginate(ecs, "list_tasks", cluster=cluster, desiredStatus="RUNNING",
                                       PaginationConfig=_PAGE) for a in page.get("taskArns", [])]
        chunks = list(_chunks(arns, _TASKS_PER_DESCRIBE))
        _read_ahead(ecs, "describe_tasks", [{"cluster": cluster, "tasks": chunk} for chunk in chunks])
        for chunk in chunks:
            # A service's tasks are the service's business: it is evaluated as one workload.
            tasks += [t for t in ecs.describe_tasks(cluster=cluster, tasks=chunk).get("tasks", [])
                      if not str(t.get("group", "")).startswith("service:")
                      and not str(t.get("startedBy", "")).startswith("ecs-svc/")
                      and _in_scope(_task_subnets(t), subnet_ids)]
        progress(i, len(clusters), "clusters")
    enis = _task_interfaces(clients.ec2, tasks)
    if placed is not None:
        placed([tuple(_service_subnets(s)) for _, s in services] + [tuple(_task_subnets(t)) for t in tasks])
    refs = dict.fromkeys([str(s.get("taskDefinition", "")) for _, s in services]
                         + [str(t.get("taskDefinitionArn", "")) for t in tasks])
    _read_ahead(ecs, "describe_task_definition", [{"taskDefinition": ref} for ref in refs if ref])
    for name, s in services:
        made = _add_service(clients, name, s, tds, found, subnet_ids)
        if built is not None:
            built(made, name)
    for t in tasks:
        w = _task_workload(t, clients, tds, enis)
        cluster = t["clusterArn"].rsplit("/", 1)[-1]
        if w is None:
            found.unreadable.append(_unreadable(t["taskArn"], t.get("taskDefinitionArn", "?").rsplit("/", 1)[-1],
                                                "task", region, t.get("taskDefinitionArn", ""), cluster))
        elif _placed_in(w, subnet_ids):
            found.workloads.append((w, cluster))
        if built is not None:
            built(w if w is not None and _placed_in(w, subnet_ids) else None, cluster)
    return found


def _read_ahead(client: Any, operation: str, calls: list[dict[str, Any]]) -> None:
    """Start these reads now when the client reads ahead (a scan's: `scan.ReadAhead`); the code
    that follows makes the same calls and gets their answers. Any other client: nothing."""
    start = getattr(client, "read_ahead", None)
    if start is not None and len(calls) > 1:
        for kwargs in calls:
            start(operation, **kwargs)


def _described_services(ecs: Any, cluster: str, arns: list[str]) -> list[Mapping[str, Any]]:
    chunks = list(_chunks(arns, _SERVICES_PER_DESCRIBE))
    _read_ahead(ecs, "describe_services", [{"cluster": cluster, "services": chunk} for chunk in chunks])
    return [s for chunk in chunks for s in ecs.describe_services(cluster=cluster, services=chunk).get("services", [])]


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
    for s in _described_services(clients.ecs, cluster, arns):
        if s.get("status") != "INACTIVE" and _in_scope(_service_subnets(s), subnet_ids):
            _add_service(clients, name, s, tds, found, subnet_ids)


def _add_service(clients: Clients, cluster: str, s: Mapping[str, Any], tds: TaskDefinitions, found: Discovery,
                 subnet_ids: set[str] | None) -> Workload | None:
    """The service as a workload, added to `found` (or as unreadable); returned when added."""
    w = service_workload(s, clients.region, _account(s["serviceArn"]), clients, tds)
    if w is None:
        found.unreadable.append(_unreadable(s["serviceArn"], s.get("serviceName", "?"), "service",
                                            clients.region, s.get("taskDefinition", ""), cluster))
    elif _placed_in(w, subnet_ids):
        found.workloads.append((w, cluster))
        return w
    return None


def _service_subnets(service: Mapping[str, Any]) -> list[str]:
    """A service's awsvpc subnets, where `resolve.service_workload` reads them."""
    primary: Mapping[str, Any] = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    net = service.get("networkConfiguration") or primary.get("networkConfiguration") or {}
    return list(net.get("awsvpcConfiguration", {}).get("subnets", []))


def _task_subnets(task: Mapping[str, Any]) -> list[str]:
    return [d["value"] for a in task.get("attachments", []) if a.get("type") == "ElasticNetworkInterface"
            for d in a.get("details", []) if d.get("name") == "subnetId" and d.get("value")]


def _in_scope(subnets: list[str], scope: set[str] | None) -> bool:
    """Before a workload is built: may it run in `scope`? Without awsvpc subnets it may (its
    cluster's instances decide, known once it is built: `_placed_in`)."""
    return scope is None or not subnets or bool(scope.intersection(subnets))


def _placed_in(w: Workload, scope: set[str] | None) -> bool:
    """Once built: does it run in `scope`, by its own subnets (awsvpc, or its cluster's instances')?"""
    return scope is None or bool(scope.intersection(w.subnet_ids))


def vpc_subnet_ids(ec2: Any, vpc_ids: Iterable[str]) -> set[str]:
    """The ids of every subnet of the VPCs (a scan of a few VPCs reads only the workloads in them)."""
    out: set[str] = set()
    for chunk in _chunks(sorted(vpc_ids), _FILTER_VALUES):
        for page in paginate(ec2, "describe_subnets", Filters=[{"Name": "vpc-id", "Values": chunk}]):
            out.update(n["SubnetId"] for n in page.get("Subnets", []))
    return out


def _task_workload(task: Mapping[str, Any], clients: Clients, tds: TaskDefinitions,
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
    instances = None
    if details.get("subnetId"):
        subnets: tuple[str, ...] = (details["subnetId"],)
        public_ip: bool | None = bool((eni.get("Association") or {}).get("PublicIp"))
        if launch == EC2:
            instances = instance_network(clients, tds, task["clusterArn"],
                                         [task["containerInstanceArn"]] if task.get("containerInstanceArn") else [])
    elif launch == EXTERNAL:
        subnets, public_ip = (), None  # on the customer's own servers: in no VPC
    else:  # bridge or host networking: the container instances' subnets
        subnets = cluster_instance_subnets(clients, cluster or cluster_config(clients, task["clusterArn"]))
        public_ip = None
    return build_workload("task", task["taskArn"], f"{td['family']}:{td['revision']}", clients.region,
                          _account(task["taskArn"]), launch, td, subnets=subnets,
                          groups=tuple(g["GroupId"] for g in eni.get("Groups", [])), public_ip=public_ip,
                          platform=task.get("platformVersion"), exec_=exec_config(exec_on, cluster),
                          instances=instances)


def _task_interfaces(ec2: Any, tasks: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
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


def describe_vpcs(ec2: Any, vpc_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The VPCs that still exist of `vpc_ids`, described, by id (a filter: a gone one is absent)."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(vpc_ids), _FILTER_VALUES):
        for page in paginate(ec2, "describe_vpcs", Filters=[{"Name": "vpc-id", "Values": chunk}]):
            out.update({v["VpcId"]: v for v in page.get("Vpcs", [])})
    return out


def workloads_in(clients: Clients, subnet_ids: set[str]) -> list[Workload]:
    """Every ECS service and running standalone task whose subnets touch `subnet_ids` (awsvpc
    subnets, or for bridge and host networking its cluster's instances'), found as `discover` finds
    them. A drift or a new subnet must account for what a batch job running now needs too."""
    return [w for w, _ in discover(clients, lambda done, total, what: None, subnet_ids).workloads]


def _unreadable(arn: str, name: str, kind: WorkloadKind, region: str, task_definition: str,
                cluster: str) -> tuple[Workload, str, str]:
    """A workload whose task definition cannot be read: still listed, with the reason."""
    w = Workload(kind=kind, arn=arn, name=name, region=region, account=_account(arn), launch_type=UNKNOWN_LAUNCH,
                 task_definition_arn=task_definition or None)
    return w, cluster, f"task definition {task_definition or '?'} cannot be read (deregistered and deleted?)"


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]

