"""What a workload needs from the VPC: one table row per documented fact (DESIGN.md §3).

`NEED_RULES` maps a workload feature to the endpoint services it needs; `PROBLEM_RULES` finds what
no endpoint in the workload's region can serve; `NOTE_RULES` adds advice that changes nothing.
Each matcher is a pure function of the `Workload` that yields one reason per place the feature
appears, so a finding can say which container and which setting asked for the endpoint.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Final

from rules.partitions import dns_suffix, serves_across_regions
from rules.records import record
from rules.refs import parse_arn, parse_image, pull_through_upstream
from rules.workload import EC2, FARGATE, MANAGED_INSTANCES, ContainerSpec, EndpointType, LogConfig, Workload

INTERFACE: Final = "Interface"
GATEWAY: Final = "Gateway"

# Regions opened on or after 23 Dec 2023 route ECS traffic to public endpoints unless the three ECS
# interface endpoints exist. Source: ECS developer guide, "Amazon ECS interface VPC endpoints" >
# "Considerations for endpoints in Regions introduced starting on December 23, 2023"
# (docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html, whose example is
# ca-west-1); the Regions by name as DESIGN.md §3 and issue 13 list them, as of 2026-12-02. Each
# row carries the Region's name in botocore's partitions.json, which the contract test
# (tests/contract/test_partition_data.py) checks, so a Region misspelt here fails there.
REGIONS_OPENED_AFTER_2023_12_23: tuple[tuple[str, str], ...] = (
    ("ca-west-1", "Canada West (Calgary)"),
    ("ap-southeast-5", "Asia Pacific (Malaysia)"),
    ("ap-southeast-7", "Asia Pacific (Thailand)"),
    ("mx-central-1", "Mexico (Central)"),
    ("ap-east-2", "Asia Pacific (Taipei)"),
    ("ap-southeast-6", "Asia Pacific (New Zealand)"),
    ("me-west-1", "Middle East (Saudi Arabia)"),
    ("sa-west-1", "South America (Chile)"),
    ("eusc-de-east-1", "AWS European Sovereign Cloud (Germany)"),
)
REGIONS_NEEDING_ECS_ENDPOINTS = frozenset(region for region, _ in REGIONS_OPENED_AFTER_2023_12_23)

# Fargate platform versions before 1.4.0 pull through ecr.dkr and S3 only (no ecr.api).
_LEGACY_FARGATE = frozenset({"1.0.0", "1.1.0", "1.2.0", "1.3.0"})

# FireLens output plugin -> endpoint service it sends to. Fluent Bit names it in the `Name` option
# (its Go plugins cloudwatch, firehose, kinesis; its C plugins cloudwatch_logs, kinesis_firehose,
# kinesis_streams, s3), Fluentd in `@type` (fluent-plugin-cloudwatch-logs: cloudwatch_logs;
# aws-fluent-plugin-kinesis: kinesis_firehose, kinesis_streams, kinesis_streams_aggregated;
# fluent-plugin-s3: s3). ECS developer guide, "Send Amazon ECS logs to an AWS service or AWS Partner"
# (using_firelens.html), and the aws-samples/amazon-ecs-firelens-examples Fluentd task definition.
_FIRELENS_OUTPUTS: dict[str, tuple[str, EndpointType]] = {
    "cloudwatch": ("logs", INTERFACE),
    "cloudwatch_logs": ("logs", INTERFACE),
    "firehose": ("kinesis-firehose", INTERFACE),
    "kinesis_firehose": ("kinesis-firehose", INTERFACE),
    "kinesis": ("kinesis-streams", INTERFACE),
    "kinesis_streams": ("kinesis-streams", INTERFACE),
    "kinesis_streams_aggregated": ("kinesis-streams", INTERFACE),
    "s3": ("s3", GATEWAY),
}
# The option naming the output's Region: Fluent Bit's plugins and Fluentd's CloudWatch and Kinesis
# plugins take `region`, fluent-plugin-s3 takes `s3_region`.
_FIRELENS_REGION_OPTIONS = ("region", "s3_region")
# The IAM role an output assumes to deliver to another account: Fluent Bit's `role_arn`,
# fluent-plugin-cloudwatch-logs' `aws_sts_role_arn`. Fluent Bit asks STS of the output's Region
# (its STS provider builds `sts.REGION.amazonaws.com` unless `sts_endpoint` names another).
_FIRELENS_ROLE_OPTIONS = ("role_arn", "aws_sts_role_arn")

_XRAY_IMAGES = ("aws-xray-daemon", "xray-daemon", "aws-otel-collector", "aws-observability/aws-otel")
_ADOT_IMAGES = ("aws-otel-collector", "aws-observability/aws-otel")
# amazon/cloudwatch-agent (Docker Hub), public.ecr.aws/cloudwatch-agent/cloudwatch-agent, mirrors of them.
_CLOUDWATCH_AGENT_IMAGES = ("cloudwatch-agent",)

# The ADOT collector's built-in ECS configurations (`command: ["--config=/etc/ecs/..."]`) -> where
# their metrics go: CloudWatch through EMF log events (`awsemf` exporter: logs) or Amazon Managed
# Service for Prometheus (`prometheusremotewrite` with SigV4: aps-workspaces). Traces go to X-Ray
# (the `xray` row). Source: aws-observability/aws-otel-collector, config/ecs/*.yaml, as shipped
# under /etc/ecs/ in the image; the image's own default (`CMD --config=/etc/otel-config.yaml`, its
# config.yaml) exports metrics with `awsemf`, as ecs-default-config.yaml does.
_ADOT_CONFIG_METRICS: dict[str, tuple[str, ...]] = {
    "/etc/otel-config.yaml": ("logs",),
    "/etc/ecs/ecs-default-config.yaml": ("logs",),
    "/etc/ecs/ecs-cloudwatch.yaml": ("logs",),
    "/etc/ecs/ecs-cloudwatch-xray.yaml": ("logs",),
    "/etc/ecs/otel-instance-metrics-config.yaml": ("logs",),
    "/etc/ecs/container-insights/otel-task-metrics-config.yaml": ("logs",),
    "/etc/ecs/ecs-xray.yaml": (),
    "/etc/ecs/ecs-amp.yaml": ("aps-workspaces",),
    "/etc/ecs/ecs-amp-xray.yaml": ("aps-workspaces",),
    "/etc/ecs/ecs-amp-prometheus.yaml": ("aps-workspaces",),
    "/etc/ecs/ecs-amp-xray-prometheus.yaml": ("aps-workspaces",),
}
_ADOT_DEFAULT_CONFIG = "/etc/otel-config.yaml"
_SERVICE_CONNECT_PROXY = "Service Connect proxy"


@record
class EndpointNeed:
    """One endpoint service a workload needs, and every reason it needs it."""

    service: str  # short name: "ecr.dkr", "s3", "logs"
    type: EndpointType
    reasons: tuple[str, ...]


@record
class WorkloadProblem:
    """Something no endpoint in the workload's VPC and region can serve."""

    kind: str
    summary: str
    params: tuple[tuple[str, str], ...] = ()  # filled into the fix commands
    # The cross-Region interface endpoints, (short name, the Region whose service it is), that
    # together serve what no endpoint of the workload's own Region can: when every one of them is in
    # the VPC and reachable, the problem is solved. () when cross-Region PrivateLink cannot serve it.
    cross_region: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str:
        return dict(self.params).get(name, "")


@record
class Requirements:
    needs: tuple[EndpointNeed, ...]
    problems: tuple[WorkloadProblem, ...]
    notes: tuple[str, ...]

    def need(self, service: str) -> EndpointNeed | None:
        return next((n for n in self.needs if n.service == service), None)


@record
class NeedRule:
    """A workload feature and the endpoint services it requires."""

    id: str
    services: tuple[tuple[str, EndpointType], ...]
    match: Callable[[Workload], Iterable[str]]  # yields reasons
    source: str  # where AWS documents it
    # Made by the ECS agent and Docker on an EC2 container instance (image pulls, secrets, awslogs,
    # files from S3), not by the task: from the instance's subnets and groups (`placed_requirements`).
    by_agent: bool = False


@record
class ProblemRule:
    id: str
    match: Callable[[Workload], Iterable[WorkloadProblem]]
    by_agent: bool = False  # as NeedRule.by_agent


@record
class NoteRule:
    id: str
    match: Callable[[Workload], Iterable[str]]


# ---------------------------------------------------------------- matchers


def _legacy_pull(w: Workload) -> bool:
    """Fargate before platform 1.4.0: images are pulled through ecr.dkr and S3 only."""
    # Windows Fargate numbers its platform versions separately (its current one is 1.0.0).
    return (w.launch_type == FARGATE and (w.platform_version or "") in _LEGACY_FARGATE
            and not (w.os_family or "").upper().startswith("WINDOWS"))


def _ecr_images(w: Workload, legacy: bool) -> Iterator[str]:
    if _legacy_pull(w) != legacy:
        return
    for c in w.containers:
        ref = parse_image(c.image)
        if ref.kind == "ecr" and ref.region == w.region:
            yield f"container {c.name}: image {c.image}"


def _guardduty_agent(w: Workload) -> Iterator[str]:
    # The agent runs on Linux Fargate tasks from platform 1.4.0 only (GuardDuty's prerequisites).
    if w.guardduty_agent and w.launch_type == FARGATE and not _legacy_pull(w) and \
            not (w.os_family or "").upper().startswith("WINDOWS"):
        yield (f"{w.kind} {w.name}: GuardDuty Runtime Monitoring adds its security agent sidecar, pulled "
               "from GuardDuty's ECR repository (layers in S3)")


def _guardduty_data(w: Workload) -> Iterator[str]:
    if any(True for _ in _guardduty_agent(w)):
        yield (f"{w.kind} {w.name}: GuardDuty creates and manages its own guardduty-data endpoint and its "
               "security group for the agent: not created or judged here")


def _ecs_agent_on_instances(w: Workload) -> Iterator[str]:
    if w.launch_type == EC2:
        yield f"{w.kind} {w.name}: EC2 launch type (the ECS agent on the container instances)"
    elif w.launch_type == MANAGED_INSTANCES:
        yield f"{w.kind} {w.name}: ECS Managed Instances (the ECS agent runs on the instance)"


def _service_connect(w: Workload) -> Iterator[str]:
    if w.service_connect:
        yield f"{w.kind} {w.name}: Service Connect (Envoy gets its configuration from ecs-agent)"


def _log_option_region(w: Workload, region: str | None) -> bool:
    return region in (None, "", w.region)


def _log_configs(w: Workload) -> Iterator[tuple[str, str, LogConfig]]:
    """(who, container name, log configuration) of every log configuration ECS starts: each
    container's, and the Service Connect proxy's (`serviceConnectConfiguration.logConfiguration`)."""
    for c in w.containers:
        if c.log is not None:
            yield f"container {c.name}", c.name, c.log
    if w.service_connect and w.service_connect_log is not None:
        yield (f"{w.kind} {w.name}: {_SERVICE_CONNECT_PROXY} (serviceConnectConfiguration.logConfiguration)",
               _SERVICE_CONNECT_PROXY, w.service_connect_log)


def _firelens_plugin(log: LogConfig) -> str:
    """The FireLens output plugin: Fluent Bit's `Name` or Fluentd's `@type` ("" for other drivers)."""
    if log.driver != "awsfirelens":
        return ""
    return (log.option("Name") or log.option("@type") or "").lower()


def _firelens_region(log: LogConfig) -> str | None:
    return next((v for o in _FIRELENS_REGION_OPTIONS if (v := log.option(o))), None)


def _firelens_role(log: LogConfig) -> str | None:
    return next((v for o in _FIRELENS_ROLE_OPTIONS if (v := log.option(o))), None)


def _firelens_service(log: LogConfig) -> str:
    """The endpoint service a FireLens output sends to ("" for non-AWS outputs and other drivers)."""
    return _FIRELENS_OUTPUTS.get(_firelens_plugin(log), ("",))[0]


def _awslogs(w: Workload) -> Iterator[str]:
    for who, _, log in _log_configs(w):
        if log.driver == "awslogs" and _log_option_region(w, log.option("awslogs-region")):
            group = log.option("awslogs-group") or "(default group)"
            yield f"{who}: awslogs log driver to {group}"


def _firelens_output(service: str) -> Callable[[Workload], Iterator[str]]:
    def match(w: Workload) -> Iterator[str]:
        for who, _, log in _log_configs(w):
            if _firelens_service(log) == service and _log_option_region(w, _firelens_region(log)):
                yield f"{who}: FireLens output {_firelens_plugin(log)}"

    return match


def _firelens_sts(w: Workload) -> Iterator[str]:
    for who, _, log in _log_configs(w):
        role = _firelens_role(log)
        if role and _firelens_service(log) and _log_option_region(w, _firelens_region(log)):
            yield (f"{who}: FireLens output {_firelens_plugin(log)} assumes {role} (role_arn: "
                   "cross-account delivery) through STS of this Region")


def _log_secrets(service: str) -> Callable[[Workload], Iterator[str]]:
    def match(w: Workload) -> Iterator[str]:
        for who, _, log in _log_configs(w):
            for name, value in log.secret_options:
                if _secret_service(value) == service and _secret_region(w, value) == w.region:
                    yield f"{who}: logConfiguration.secretOptions {name} from {value}"

    return match


def _s3_files(w: Workload) -> Iterator[str]:
    for c in w.containers:
        if c.firelens_config_s3:
            yield f"container {c.name}: FireLens configuration file in S3"
        for arn in c.environment_files_s3:
            yield f"container {c.name}: environment file {arn}"


def _secrets(service: str) -> Callable[[Workload], Iterator[str]]:
    def match(w: Workload) -> Iterator[str]:
        for c in w.containers:
            for value in c.secrets:
                is_creds = value == c.repository_credentials
                if _secret_service(value, is_creds) == service and _secret_region(w, value) == w.region:
                    what = "repository credentials" if is_creds else "secret"
                    yield f"container {c.name}: {what} {value}"

    return match


def _secret_service(value: str, repository_credentials: bool = False) -> str:
    arn = parse_arn(value)
    if arn is None:
        # A bare name is a same-region SSM parameter for `secrets`, but a Secrets Manager secret
        # for `repositoryCredentials.credentialsParameter`.
        return "secretsmanager" if repository_credentials else "ssm"
    return "secretsmanager" if arn.service == "secretsmanager" else "ssm"


def _secret_region(w: Workload, value: str) -> str:
    arn = parse_arn(value)
    return arn.region if arn and arn.region else w.region


def _credential_specs(w: Workload) -> Iterator[tuple[ContainerSpec, bool, str]]:
    """(container, domainless, location) of every `credentialSpecs` entry in one of ECS's two forms."""
    for c in w.containers:
        for spec in c.credential_specs:
            form, _, location = spec.partition(":")
            if form.lower() in ("credentialspec", "credentialspecdomainless"):
                yield c, form.lower() == "credentialspecdomainless", location


def _credspec_store(service: str) -> Callable[[Workload], Iterator[str]]:
    """The CredSpec file's store: an SSM parameter ARN (ssm) or an S3 object ARN (the s3 gateway)."""
    def match(w: Workload) -> Iterator[str]:
        for c, _, location in _credential_specs(w):
            arn = parse_arn(location)
            if arn is None or arn.service != service:
                continue
            if service == "s3":
                # An S3 ARN names no Region: the bucket is taken to be in the task's own.
                yield (f"container {c.name}: credentialSpecs (gMSA) CredSpec file {location} in S3 "
                       "(its bucket assumed in this Region: an S3 ARN names none)")
            elif _secret_region(w, location) == w.region:
                yield f"container {c.name}: credentialSpecs (gMSA) CredSpec in SSM parameter {location}"

    return match


def _credspec_secret(w: Workload) -> Iterator[str]:
    for c, domainless, location in _credential_specs(w):
        arn = parse_arn(location)
        if arn is not None and arn.service == "secretsmanager":
            if _secret_region(w, location) == w.region:
                yield f"container {c.name}: credentialSpecs (gMSA) {location} in Secrets Manager"
        elif domainless:
            # The secret's ARN is inside the CredSpec file, which is not read.
            yield (f"container {c.name}: credentialSpecs domainless gMSA ({location}): its CredSpec names "
                   "a Secrets Manager secret with the domain credentials (the file is not read: a secret "
                   "in this Region assumed)")


def _adot_configs(c: ContainerSpec) -> tuple[list[str], str]:
    """The configuration files an ADOT collector container runs (`--config=` of its command, else the
    image's default), and what is assumed of them ("" when every one is a known built-in)."""
    if "AOT_CONFIG_CONTENT" in c.variable_names:
        return [_ADOT_DEFAULT_CONFIG], ("its configuration is in AOT_CONFIG_CONTENT, which is not read: "
                                        "the image's default (awsemf, awsxray) assumed")
    words = [word for part in c.command for word in part.split()]
    paths = [word.split("=", 1)[1] for word in words if word.startswith("--config=")]
    paths += [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--config"]
    paths = [p.removeprefix("file:") for p in paths]
    if not paths:
        return [_ADOT_DEFAULT_CONFIG], ""
    unknown = [p for p in paths if p not in _ADOT_CONFIG_METRICS]
    if unknown:
        return [p for p in paths if p in _ADOT_CONFIG_METRICS] + [_ADOT_DEFAULT_CONFIG], (
            f"{', '.join(unknown)} is not a built-in configuration and is not read: the image's default "
            "(awsemf, awsxray) assumed")
    return paths, ""


def _adot_metrics(service: str) -> Callable[[Workload], Iterator[str]]:
    what, note = {"logs": ("as CloudWatch embedded metric format (EMF) log events", ""),
                  "aps-workspaces": ("to Amazon Managed Service for Prometheus",
                                     "; a workspace of this Region assumed (AWS_PROMETHEUS_ENDPOINT is not read)"),
                  }[service]

    def match(w: Workload) -> Iterator[str]:
        for c in w.containers:
            if not any(marker in c.image for marker in _ADOT_IMAGES):
                continue
            paths, assumed = _adot_configs(c)
            sending = [p for p in paths if service in _ADOT_CONFIG_METRICS[p]]
            if sending:
                yield (f"container {c.name}: ADOT collector {c.image} exports metrics {what} "
                       f"({assumed or 'configuration ' + ', '.join(sending)}){note}")

    return match


def _cloudwatch_agent(w: Workload) -> Iterator[str]:
    for c in w.containers:
        if any(marker in c.image for marker in _CLOUDWATCH_AGENT_IMAGES):
            # Its configuration comes from CW_CONFIG_CONTENT (an SSM parameter in AWS's ECS examples),
            # which is not read; the image ships none of its own.
            yield (f"container {c.name}: CloudWatch agent sidecar {c.image}: metrics to CloudWatch "
                   "(PutMetricData) and EMF log events assumed, as AWS's ECS sidecar examples send them "
                   "(its configuration, CW_CONFIG_CONTENT, is not read; a traces section would need xray too)")


def _exec(w: Workload) -> Iterator[str]:
    if w.execute_command is not None:
        yield f"{w.kind} {w.name}: ECS Exec (enableExecuteCommand)"


def _exec_kms(w: Workload) -> Iterator[str]:
    if w.execute_command is not None and w.execute_command.kms_key_id and \
            _key_region(w, w.execute_command.kms_key_id) == w.region:
        yield f"{w.kind} {w.name}: ECS Exec sessions encrypted with {w.execute_command.kms_key_id}"


def _exec_s3(w: Workload) -> Iterator[str]:
    if w.execute_command is not None and w.execute_command.log_to_s3_bucket:
        yield f"{w.kind} {w.name}: ECS Exec session logs to s3://{w.execute_command.log_to_s3_bucket}"


def _exec_logs(w: Workload) -> Iterator[str]:
    if w.execute_command is not None and w.execute_command.log_to_cloudwatch_group:
        group = w.execute_command.log_to_cloudwatch_group
        yield f"{w.kind} {w.name}: ECS Exec session logs to {group}"


def _xray(w: Workload) -> Iterator[str]:
    for c in w.containers:
        if any(marker in c.image for marker in _XRAY_IMAGES):
            yield f"container {c.name}: X-Ray / ADOT sidecar {c.image}"


# ---------------------------------------------------------------- problems (findings)


def _unreachable_images(w: Workload) -> Iterator[WorkloadProblem]:
    for c in w.containers:
        ref = parse_image(c.image)
        upstream_of = pull_through_upstream(ref.registry) if ref.kind == "public" else None
        if upstream_of is not None:
            prefix, upstream, needs_creds = upstream_of
            existing = next((p for p, u in w.pull_through if u == upstream), None) if prefix else None
            advice = (f"the account's pull-through cache rule {existing} mirrors {upstream}: point the task "
                      f"definition at the image under {w.account}.dkr.ecr.{w.region}.{dns_suffix(w.region)}/"
                      f"{existing}/ (its first pull of each image still needs internet egress)") if existing else (
                      "use an ECR pull-through cache rule (its first pull of each image still needs internet "
                      "egress) or a NAT gateway")
            yield WorkloadProblem(
                "public-registry-image" if prefix else "unmirrorable-registry-image",
                f"container {c.name}: image {c.image} comes from {ref.registry}, which no VPC "
                f"endpoint serves; {advice}",
                (("container", c.name), ("image", c.image), ("registry", ref.registry),
                 ("prefix", existing or prefix), ("upstream", upstream),
                 ("credentials", "yes" if needs_creds else ""), ("rule_exists", "yes" if existing else "")),
            )
        elif ref.kind == "ecr" and ref.region and ref.region != w.region:
            # The pull asks the image's Region: its ecr.api for the token (not before Fargate
            # 1.4.0), its ecr.dkr for the manifest, its S3 for the layers (a gateway endpoint
            # serves only buckets of its own Region, so S3 too must be an interface endpoint there).
            pull = (("ecr.dkr",), ("s3",)) if _legacy_pull(w) else (("ecr.api",), ("ecr.dkr",), ("s3",))
            across = tuple((short, ref.region) for (short,) in pull)
            yield WorkloadProblem(
                "cross-region-ecr-image",
                f"container {c.name}: image {c.image} is in ECR in {ref.region}; endpoints for "
                f"{w.region} cannot serve it: cross-Region endpoints for {ref.region} "
                f"({', '.join(s for s, _ in across)}) can, or replicating the repository to {w.region} "
                f"(run as account {ref.account}; replication copies only images pushed after the rule "
                f"exists, so push the image again, then point the task definition at "
                f"{ref.account}.dkr.ecr.{w.region}.{dns_suffix(w.region)})",
                (("container", c.name), ("image", c.image), ("image_region", ref.region),
                 ("image_account", ref.account or "")),
                across if all(serves_across_regions(s, w.region, r) for s, r in across) else (),
            )


def _fetched_secrets(w: Workload) -> Iterator[tuple[str, str, str, str]]:
    """(who, container, value, store) of every secret or parameter ECS fetches to start the task:
    `secrets`, `repositoryCredentials`, `logConfiguration.secretOptions` (each container's and the
    Service Connect proxy's), and `credentialSpecs` kept in SSM or Secrets Manager."""
    for c in w.containers:
        for value in c.secrets:
            yield f"container {c.name}", c.name, value, _secret_service(value, value == c.repository_credentials)
    for who, name, log in _log_configs(w):
        for option, value in log.secret_options:
            yield f"{who}: logConfiguration.secretOptions {option}", name, value, _secret_service(value)
    for c, _, location in _credential_specs(w):
        arn = parse_arn(location)
        if arn is not None and arn.service in ("ssm", "secretsmanager"):
            yield f"container {c.name}: credentialSpecs", c.name, location, arn.service


def _cross_region_secrets(w: Workload) -> Iterator[WorkloadProblem]:
    for who, container, value, service in _fetched_secrets(w):
        region = _secret_region(w, value)
        if region != w.region:
            yield WorkloadProblem(
                "cross-region-secret" if service == "secretsmanager" else "cross-region-parameter",
                f"{who}: {value} is in {region}; {service} is not served "
                f"across Regions by endpoints in {w.region}",
                (("container", container), ("arn", value), ("secret_region", region),
                 ("service", service)),
            )


def _key_region(w: Workload, key: str) -> str:
    """A KMS key's Region: its ARN's, or the workload's for a key id or alias."""
    arn = parse_arn(key)
    return arn.region if arn and arn.region else w.region


def _cross_region_kms(w: Workload) -> Iterator[WorkloadProblem]:
    key = w.execute_command.kms_key_id if w.execute_command is not None else None
    region = _key_region(w, key) if key else w.region
    if key and region != w.region:
        across = (("kms", region),) if serves_across_regions("kms", w.region, region) else ()
        yield WorkloadProblem(
            "cross-region-kms-key",
            f"{w.kind} {w.name}: ECS Exec sessions are encrypted with {key}, a key in {region}; a kms "
            f"endpoint for {w.region} cannot serve it: a cross-Region kms endpoint for {region} can",
            (("key_arn", key), ("key_region", region)), across)


# FireLens outputs to another Region, by endpoint service: (problem kind, what it sends to, the
# Region and resource placeholders of its fix, the options that name the resource).
_CROSS_REGION_OUTPUTS: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "kinesis-firehose": ("cross-region-firehose", "Data Firehose", "stream_region", "stream",
                         ("delivery_stream", "delivery-stream", "delivery_stream_name")),
    "kinesis-streams": ("cross-region-kinesis-stream", "Kinesis Data Streams", "stream_region", "stream",
                        ("stream", "stream_name")),
    "s3": ("cross-region-s3-output", "S3", "bucket_region", "bucket", ("bucket", "s3_bucket")),
}


def _cross_region_firelens(service: str) -> Callable[[Workload], Iterator[WorkloadProblem]]:
    """A FireLens output (Firehose, Kinesis Data Streams, S3) of another Region: no endpoint of this
    Region serves it. A cross-Region endpoint of that Region does for the cross-Region enabled
    services (Firehose, S3: as an interface endpoint, a gateway serving only its own Region), unless
    the output assumes a role: STS, which it then calls in that Region, is not cross-Region enabled."""
    kind, what, region_key, resource_key, options = _CROSS_REGION_OUTPUTS[service]

    def match(w: Workload) -> Iterator[WorkloadProblem]:
        for who, container, log in _log_configs(w):
            region = _firelens_region(log)
            if _firelens_service(log) != service or not region or region == w.region:
                continue
            role = _firelens_role(log)
            enabled = serves_across_regions(service, w.region, region)
            across = ((service, region),) if enabled and not role else ()
            if across:
                fix = f"a cross-Region {service} interface endpoint for {region} can"
            else:
                why = ([] if enabled else [f"{service} is not served across Regions"]) + (
                    [f"its role_arn {role} is assumed through STS of {region}, which is not served across Regions"]
                    if role else [])
                fix = (f"{'; '.join(why)}: send to {what} in {w.region} (point the output's region there), "
                       "or give the subnets egress")
            resource = next((v for o in options if (v := log.option(o))), "")
            yield WorkloadProblem(
                kind, f"{who}: FireLens sends to {what} in {region}; no {service} endpoint for {w.region} "
                      f"can serve it: {fix}",
                (("container", container), (region_key, region), (resource_key, resource)),
                across)

    return match


def _cross_region_logs(w: Workload) -> Iterator[WorkloadProblem]:
    for who, container, log in _log_configs(w):
        region = None
        if log.driver == "awslogs":
            region = log.option("awslogs-region")
        elif _firelens_service(log) == "logs":
            region = _firelens_region(log)
        if region and region != w.region:
            yield WorkloadProblem(
                "cross-region-logs",
                f"{who}: logs go to CloudWatch Logs in {region}; CloudWatch Logs "
                f"is not served across Regions by endpoints in {w.region}",
                (("container", container), ("log_region", region),
                 ("log_group", log.option("awslogs-group") or log.option("log_group_name") or "")),
            )


# ---------------------------------------------------------------- notes (advice only)


def _other_registries(w: Workload) -> Iterator[str]:
    for c in w.containers:
        ref = parse_image(c.image)
        if ref.kind == "other":
            yield (f"container {c.name}: image {c.image} comes from {ref.registry}; no AWS "
                   "endpoint serves it, so the subnet must reach that registry some other way")


def _pull_through_first_pull(w: Workload) -> Iterator[str]:
    for c in w.containers:
        ref = parse_image(c.image)
        if ref.kind != "ecr" or ref.region != w.region or ref.account != w.account:
            continue
        head = c.image.split("/", 1)[-1].split("/", 1)[0]
        for prefix, upstream in w.pull_through:
            if head == prefix:
                yield (f"container {c.name}: image {c.image} is under the pull-through cache rule {prefix} "
                       f"(upstream {upstream}): the ECR endpoints serve it once cached, but ECR's first pull of "
                       "each image through interface endpoints needs a NAT gateway route out of the VPC (ECR "
                       "guide, VPC endpoint considerations): pull it once that way, or keep a NAT route until "
                       "it is cached")


def _fargate_new_region(w: Workload) -> Iterator[str]:
    if w.launch_type == FARGATE and w.region in REGIONS_NEEDING_ECS_ENDPOINTS:
        yield (f"{w.region} opened after 23 Dec 2023: the ECS guide asks for the ecs, ecs-agent "
               "and ecs-telemetry endpoints there; for Fargate it is ambiguous, so check tasks start")


def _efs(w: Workload) -> Iterator[str]:
    if w.efs_volumes:
        yield (f"{w.kind} {w.name}: EFS volumes mount over NFS and need no endpoint; each task needs a "
               "mount target of the file system in its AZ and TCP 2049 to it, which are checked")


def _windows(w: Workload) -> Iterator[str]:
    if (w.os_family or "").upper().startswith("WINDOWS"):
        yield (f"{w.kind} {w.name}: Windows images may carry foreign layers pulled from "
               "Microsoft's registry; push them as non-distributable artifacts to ECR")


# ---------------------------------------------------------------- the tables

_ECR_SET: tuple[tuple[str, EndpointType], ...] = (("ecr.api", INTERFACE), ("ecr.dkr", INTERFACE), ("s3", GATEWAY))
_ECS_SET: tuple[tuple[str, EndpointType], ...] = (
    ("ecs", INTERFACE), ("ecs-agent", INTERFACE), ("ecs-telemetry", INTERFACE))

_SECRETS_LOGCONFIG = ("ECS developer guide, \"Pass secrets for Amazon ECS logging configuration\" "
                      "(secrets-logconfig.html): secretOptions of a logConfiguration, \"store the secret in "
                      "Secrets Manager or Systems Manager\"; the Service Connect proxy's logConfiguration "
                      "(ServiceConnectConfiguration API reference) takes the same shape")
_GMSA = ("ECS API reference, ContainerDefinition credentialSpecs (\"ARNs in SSM or Amazon S3 to a "
         "credential spec (CredSpec) file\"; credentialspecdomainless: \"the credspec must provide a ARN "
         "in Secrets Manager for a secret containing the username, password, and the domain\"); ECS "
         "developer guide, gMSA for Linux containers on Fargate / EC2 and for Windows containers")

NEED_RULES: tuple[NeedRule, ...] = (
    NeedRule("ecr-image", _ECR_SET, lambda w: _ecr_images(w, legacy=False),
             "ECR: interface VPC endpoints (AWS PrivateLink); layers come from S3", by_agent=True),
    NeedRule("ecr-image-fargate-legacy", (("ecr.dkr", INTERFACE), ("s3", GATEWAY)),
             lambda w: _ecr_images(w, legacy=True),
             "ECR: Fargate platform 1.3.0 and earlier need only ecr.dkr and S3", by_agent=True),
    NeedRule("guardduty-runtime-agent", _ECR_SET, _guardduty_agent,
             "ECS: Runtime Monitoring prerequisites, connecting to the ECR repository of the GuardDuty agent", by_agent=True),
    NeedRule("ecs-container-instances", _ECS_SET, _ecs_agent_on_instances,
             "ECS: interface VPC endpoints; Fargate tasks do not need them", by_agent=True),
    NeedRule("service-connect", (("ecs-agent", INTERFACE),), _service_connect,
             "ECS: Service Connect needs the ecs-agent endpoint"),
    NeedRule("awslogs", (("logs", INTERFACE),), _awslogs, "CloudWatch Logs: interface endpoints", by_agent=True),
    NeedRule("firelens-cloudwatch", (("logs", INTERFACE),), _firelens_output("logs"),
             "FireLens to CloudWatch Logs"),
    NeedRule("firelens-firehose", (("kinesis-firehose", INTERFACE),), _firelens_output("kinesis-firehose"),
             "FireLens to Kinesis Data Firehose"),
    NeedRule("firelens-kinesis", (("kinesis-streams", INTERFACE),), _firelens_output("kinesis-streams"),
             "FireLens to Kinesis Data Streams"),
    NeedRule("firelens-s3-output", (("s3", GATEWAY),), _firelens_output("s3"), "FireLens to S3"),
    NeedRule("firelens-role-arn", (("sts", INTERFACE),), _firelens_sts,
             "FireLens outputs' role_arn (Fluent Bit's cloudwatch_logs, kinesis_firehose, kinesis_streams, "
             "s3 plugins: \"ARN of an IAM role to assume (for cross account access)\"; Fluentd "
             "cloudwatch_logs: aws_sts_role_arn): an STS AssumeRole in the output's Region"),
    NeedRule("s3-files", (("s3", GATEWAY),), _s3_files,
             "FireLens config file / environment files stored in S3", by_agent=True),
    NeedRule("secretsmanager-secret", (("secretsmanager", INTERFACE),), _secrets("secretsmanager"),
             "ECS: secrets and repositoryCredentials from Secrets Manager", by_agent=True),
    NeedRule("ssm-parameter", (("ssm", INTERFACE),), _secrets("ssm"),
             "ECS: secrets from SSM Parameter Store", by_agent=True),
    NeedRule("log-secret-secretsmanager", (("secretsmanager", INTERFACE),), _log_secrets("secretsmanager"),
             _SECRETS_LOGCONFIG, by_agent=True),
    NeedRule("log-secret-ssm", (("ssm", INTERFACE),), _log_secrets("ssm"), _SECRETS_LOGCONFIG, by_agent=True),
    NeedRule("gmsa-credspec-ssm", (("ssm", INTERFACE),), _credspec_store("ssm"), _GMSA, by_agent=True),
    NeedRule("gmsa-credspec-s3", (("s3", GATEWAY),), _credspec_store("s3"), _GMSA, by_agent=True),
    NeedRule("gmsa-domainless-secret", (("secretsmanager", INTERFACE),), _credspec_secret, _GMSA, by_agent=True),
    NeedRule("ecs-exec", (("ssmmessages", INTERFACE),), _exec,
             "ECS Exec needs ssmmessages (not ssm, not ec2messages)"),
    NeedRule("ecs-exec-kms", (("kms", INTERFACE),), _exec_kms, "ECS Exec with a KMS key"),
    NeedRule("ecs-exec-s3-logging", (("s3", GATEWAY),), _exec_s3, "ECS Exec session logs to S3"),
    NeedRule("ecs-exec-cloudwatch-logging", (("logs", INTERFACE),), _exec_logs,
             "ECS Exec session logs to CloudWatch Logs"),
    NeedRule("xray", (("xray", INTERFACE),), _xray, "X-Ray daemon / ADOT collector sidecar"),
    NeedRule("adot-emf", (("logs", INTERFACE),), _adot_metrics("logs"),
             "ADOT collector: its default and CloudWatch configurations export metrics with awsemf, EMF "
             "log events to CloudWatch Logs (aws-observability/aws-otel-collector config.yaml, "
             "config/ecs/ecs-default-config.yaml; ECS developer guide, trace-data-containerdefinitions)"),
    NeedRule("adot-amp", (("aps-workspaces", INTERFACE),), _adot_metrics("aps-workspaces"),
             "ADOT collector: config/ecs/ecs-amp*.yaml remote-write metrics to Amazon Managed Service for "
             "Prometheus with SigV4 (aps-workspaces.REGION.amazonaws.com: AMP user guide, interface VPC "
             "endpoints)"),
    NeedRule("cloudwatch-agent", (("monitoring", INTERFACE), ("logs", INTERFACE)), _cloudwatch_agent,
             "CloudWatch agent sidecar: its metrics section calls PutMetricData (monitoring), its logs "
             "section and EMF go to CloudWatch Logs (CloudWatch user guide, \"Deploying other CloudWatch "
             "agent features in your containers\": EMF, StatsD; aws/amazon-cloudwatch-agent ECS sidecar "
             "task definitions, configuration in CW_CONFIG_CONTENT)"),
)

PROBLEM_RULES: tuple[ProblemRule, ...] = (
    ProblemRule("unreachable-image", _unreachable_images, by_agent=True),
    ProblemRule("cross-region-secret", _cross_region_secrets, by_agent=True),
    # Task side though awslogs is the agent's: one rule judges awslogs and FireLens alike, and its
    # finding (no endpoint of this Region serves it) does not depend on the subnet.
    ProblemRule("cross-region-logs", _cross_region_logs),
    ProblemRule("cross-region-kms-key", _cross_region_kms),
    ProblemRule("cross-region-firehose", _cross_region_firelens("kinesis-firehose")),
    ProblemRule("cross-region-kinesis-stream", _cross_region_firelens("kinesis-streams")),
    ProblemRule("cross-region-s3-output", _cross_region_firelens("s3")),
)

NOTE_RULES: tuple[NoteRule, ...] = (
    NoteRule("other-registry", _other_registries),
    NoteRule("pull-through-first-pull", _pull_through_first_pull),
    NoteRule("fargate-new-region", _fargate_new_region),
    NoteRule("efs", _efs),
    NoteRule("guardduty-data-endpoint", _guardduty_data),
    NoteRule("windows-foreign-layers", _windows),
)


def required_endpoints(workload: Workload) -> Requirements:
    """Every endpoint service the workload needs with its reasons, plus what no endpoint serves."""
    return _requirements(workload, None)


def placed_requirements(workload: Workload) -> tuple[tuple[Workload, Requirements], ...]:
    """The workload's needs by the network that makes the calls. An EC2 launch type task with its
    own network interface (awsvpc) whose container instances are known is two: the task, from its
    subnets and groups, and its container instances, from theirs, for what the ECS agent and Docker
    do on the host (image pulls, secrets, awslogs, files from S3, the ECS endpoints: the
    `by_agent` rules). Any other workload is itself with all its needs."""
    instances = workload.on_instances()
    if instances is None:
        return ((workload, required_endpoints(workload)),)
    return ((workload, _requirements(workload, False)), (instances, _requirements(workload, True)))


def _requirements(workload: Workload, by_agent: bool | None) -> Requirements:
    """The needs of the rules on one side (`by_agent`; None: both): the agent's reasons say so."""
    reasons: dict[tuple[str, EndpointType], list[str]] = {}
    for rule in NEED_RULES:
        if by_agent is not None and rule.by_agent != by_agent:
            continue
        found = list(rule.match(workload))
        if not found:
            continue
        if by_agent:
            found = [r if "container instances" in r else f"{r}, from its container instances" for r in found]
        for service in rule.services:
            bucket = reasons.setdefault(service, [])
            bucket.extend(r for r in found if r not in bucket)
    # What an enclosing scope already asks for (a new subnet inherits the VPC's endpoints), kept
    # whatever the service, so an endpoint made under an older table is still covered.
    for svc, typ, reason in workload.inherited if by_agent is not True else ():
        bucket = reasons.setdefault((svc, typ), [])
        if reason not in bucket:
            bucket.append(reason)
    needs = tuple(EndpointNeed(svc, typ, tuple(rs)) for (svc, typ), rs in sorted(reasons.items()))
    problems = tuple(p for rule in PROBLEM_RULES if by_agent is None or rule.by_agent == by_agent
                     for p in rule.match(workload))
    # Notes change nothing: said once, with the task.
    notes = tuple(dict.fromkeys(n for rule in NOTE_RULES for n in rule.match(workload))) if by_agent is not True else ()
    return Requirements(needs, problems, notes)
