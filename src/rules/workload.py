"""The facts about an ECS workload that decide which VPC endpoints it needs.

Plain frozen data, built by the engine from what the ECS API returns (never from the event body
alone) and read by the rules. Nothing here talks to AWS.
"""
from __future__ import annotations

from typing import Final, Literal, cast, get_args

from rules.records import field, record, replace

# ECS's launch types. EXTERNAL (ECS Anywhere) runs outside the VPC, so no rule asks anything of it.
# "?": not known (a workload whose task definition cannot be read, or a launch type ECS added since).
LaunchType = Literal["FARGATE", "EC2", "EXTERNAL", "MANAGED_INSTANCES", "?"]
FARGATE: Final = "FARGATE"
EC2: Final = "EC2"
MANAGED_INSTANCES: Final = "MANAGED_INSTANCES"

UNKNOWN_LAUNCH: Final = "?"
LAUNCH_TYPES: Final[tuple[str, ...]] = get_args(LaunchType)


def as_launch_type(value: str) -> LaunchType:
    """An ECS launch type as the rules know it; one they do not know is "?" (no rule matches it)."""
    return cast(LaunchType, value) if value in LAUNCH_TYPES else UNKNOWN_LAUNCH


WorkloadKind = Literal["task", "service", "cluster", "subnet"]
EndpointType = Literal["Interface", "Gateway"]


@record
class LogConfig:
    """A `logConfiguration` (a container's, or a service's Service Connect proxy's): the driver, its
    options, and its `secretOptions` as (option name, `valueFrom`) pairs."""

    driver: str
    options: tuple[tuple[str, str], ...] = ()
    secret_options: tuple[tuple[str, str], ...] = ()

    def option(self, name: str) -> str | None:
        for key, value in self.options:
            if key.lower() == name.lower():
                return value
        return None


@record
class ContainerSpec:
    """One container definition, reduced to what touches the network path."""

    name: str
    image: str
    log: LogConfig | None = None
    secrets: tuple[str, ...] = ()  # every `valueFrom`, from `secrets` and `repositoryCredentials`
    repository_credentials: str | None = None
    firelens_config_s3: bool = False  # FireLens `config-file-type` = s3
    environment_files_s3: tuple[str, ...] = ()  # S3 ARNs of `environmentFiles`
    # `credentialSpecs` (gMSA) as written: `credentialspec:ARN` or `credentialspecdomainless:ARN`.
    credential_specs: tuple[str, ...] = ()
    command: tuple[str, ...] = ()  # `command`: which built-in configuration a sidecar runs
    # Names (never values) of its `environment` and `secrets`: says a sidecar's configuration is
    # given in a variable (ADOT's AOT_CONFIG_CONTENT, the CloudWatch agent's CW_CONFIG_CONTENT).
    variable_names: tuple[str, ...] = ()


@record
class ExecConfig:
    """ECS Exec as configured on the task and its cluster."""

    kms_key_id: str | None = None
    log_to_s3_bucket: str | None = None
    log_to_cloudwatch_group: str | None = None


@record
class Workload:
    """An ECS task, service or cluster's container instances, with the network it runs in."""

    kind: WorkloadKind
    arn: str
    name: str
    region: str
    account: str
    launch_type: LaunchType
    containers: tuple[ContainerSpec, ...] = ()
    platform_version: str | None = None
    os_family: str | None = None  # runtimePlatform.operatingSystemFamily
    execute_command: ExecConfig | None = None  # None: ECS Exec off
    service_connect: bool = False
    # The Service Connect proxy's own `logConfiguration` (serviceConnectConfiguration.logConfiguration).
    service_connect_log: LogConfig | None = None
    efs_volumes: bool = False
    # The EFS file systems its volumes name (`volumes[].efsVolumeConfiguration.fileSystemId`), each
    # once, in the task definition's order: their mount targets and NFS rules are checked.
    efs_file_systems: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    assign_public_ip: bool | None = None  # None: unknown (EC2 instances, bridge networking)
    # An EC2 launch type awsvpc task's container instances: their subnets, security groups and
    # whether every one of them has a public IP. The ECS agent and Docker on the instance pull the
    # images, fetch the secrets and ship awslogs from there, not from the task's interface (ECS
    # developer guide: "Amazon ECS interface VPC endpoints"; task networking for EC2). () when not
    # known (no instance registered, or not read) or not apart from the task's own network.
    instance_subnet_ids: tuple[str, ...] = ()
    instance_security_group_ids: tuple[str, ...] = ()
    instance_public_ip: bool | None = None
    task_definition_arn: str | None = None
    # Whether GuardDuty Runtime Monitoring adds its agent sidecar to the tasks (rules/guardduty.py):
    # None when not known (not read: it changes nothing for a workload that needs ECR anyway).
    guardduty_agent: bool | None = None
    # The account's ECR pull-through cache rules, (repository prefix, upstream registry URL), when
    # read (only for a workload that could use one: vpce_remediator/registries.py).
    pull_through: tuple[tuple[str, str], ...] = ()
    # Services an enclosing scope already asks for (a new subnet inherits the VPC's endpoints).
    inherited: tuple[tuple[str, EndpointType, str], ...] = field(default=())  # (service, type, reason)

    def on_instances(self) -> Workload | None:
        """The same workload seen from its container instances' network (`instance_subnet_ids`), for
        what the agent does on the host; None when the task's network is the only one known."""
        if self.launch_type != EC2 or not self.instance_subnet_ids or not self.subnet_ids:
            return None
        return replace(self, name=f"{self.name} (container instances)", subnet_ids=self.instance_subnet_ids,
                       security_group_ids=self.instance_security_group_ids, assign_public_ip=self.instance_public_ip,
                       instance_subnet_ids=(), instance_security_group_ids=(), instance_public_ip=None, inherited=())

    @property
    def cluster(self) -> str:
        """Its cluster's name, from its ARN (`...:task/CLUSTER/ID`, `...:service/CLUSTER/NAME`,
        `...:cluster/NAME`); "" when the ARN does not say (an old-format task ARN)."""
        parts = self.arn.split(":", 5)[-1].split("/")
        if parts[0] == "cluster" and len(parts) == 2:
            return parts[1]
        return parts[1] if parts[0] in ("task", "service") and len(parts) >= 3 else ""
