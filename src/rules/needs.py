"""What a workload needs from the VPC: one table row per documented fact (DESIGN.md §3).

`NEED_RULES` maps a workload feature to the endpoint services it needs; `PROBLEM_RULES` finds what
no endpoint in the workload's region can serve; `NOTE_RULES` adds advice that changes nothing.
Each matcher is a pure function of the `Workload` that yields one reason per place the feature
appears, so a finding can say which container and which setting asked for the endpoint.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from rules.partitions import dns_suffix, serves_across_regions
from rules.refs import PUBLIC_REGISTRIES, parse_arn, parse_image
from rules.workload import EC2, FARGATE, MANAGED_INSTANCES, EndpointType, Workload

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

# FireLens output plugin name -> endpoint service it sends to.
_FIRELENS_OUTPUTS: dict[str, tuple[str, EndpointType]] = {
    "cloudwatch": ("logs", INTERFACE),
    "cloudwatch_logs": ("logs", INTERFACE),
    "firehose": ("kinesis-firehose", INTERFACE),
    "kinesis_firehose": ("kinesis-firehose", INTERFACE),
    "kinesis": ("kinesis-streams", INTERFACE),
    "kinesis_streams": ("kinesis-streams", INTERFACE),
    "s3": ("s3", GATEWAY),
}

_XRAY_IMAGES = ("aws-xray-daemon", "xray-daemon", "aws-otel-collector", "aws-observability/aws-otel")


@dataclass(frozen=True)
class EndpointNeed:
    """One endpoint service a workload needs, and every reason it needs it."""

    service: str  # short name: "ecr.dkr", "s3", "logs"
    type: EndpointType
    reasons: tuple[str, ...]


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Requirements:
    needs: tuple[EndpointNeed, ...]
    problems: tuple[WorkloadProblem, ...]
    notes: tuple[str, ...]

    def need(self, service: str) -> EndpointNeed | None:
        return next((n for n in self.needs if n.service == service), None)


@dataclass(frozen=True)
class NeedRule:
    """A workload feature and the endpoint services it requires."""

    id: str
    services: tuple[tuple[str, EndpointType], ...]
    match: Callable[[Workload], Iterable[str]]  # yields reasons
    source: str  # where AWS documents it


@dataclass(frozen=True)
class ProblemRule:
    id: str
    match: Callable[[Workload], Iterable[WorkloadProblem]]


@dataclass(frozen=True)
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


def _awslogs(w: Workload) -> Iterator[str]:
    for c in w.containers:
        if c.log and c.log.driver == "awslogs" and _log_option_region(w, c.log.option("awslogs-region")):
            group = c.log.option("awslogs-group") or "(default group)"
            yield f"container {c.name}: awslogs log driver to {group}"


def _firelens_output(service: str) -> Callable[[Workload], Iterator[str]]:
    def match(w: Workload) -> Iterator[str]:
        for c in w.containers:
            if not c.log or c.log.driver != "awsfirelens":
                continue
            plugin = (c.log.option("Name") or "").lower()
            if _FIRELENS_OUTPUTS.get(plugin, ("",))[0] == service and _log_option_region(
                w, c.log.option("region")
            ):
                yield f"container {c.name}: FireLens output {plugin}"

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
        if ref.kind == "public":
            prefix, upstream, needs_creds = PUBLIC_REGISTRIES[ref.registry]
            yield WorkloadProblem(
                "public-registry-image" if prefix else "unmirrorable-registry-image",
                f"container {c.name}: image {c.image} comes from {ref.registry}, which no VPC "
                "endpoint serves; use an ECR pull-through cache rule (its first pull of each "
                "image still needs internet egress) or a NAT gateway",
                (("container", c.name), ("image", c.image), ("registry", ref.registry),
                 ("prefix", prefix), ("upstream", upstream), ("credentials", "yes" if needs_creds else "")),
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


def _cross_region_secrets(w: Workload) -> Iterator[WorkloadProblem]:
    for c in w.containers:
        for value in c.secrets:
            region = _secret_region(w, value)
            if region != w.region:
                service = _secret_service(value, value == c.repository_credentials)
                yield WorkloadProblem(
                    "cross-region-secret" if service == "secretsmanager" else "cross-region-parameter",
                    f"container {c.name}: {value} is in {region}; {service} is not served "
                    f"across Regions by endpoints in {w.region}",
                    (("container", c.name), ("arn", value), ("secret_region", region),
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


def _cross_region_firehose(w: Workload) -> Iterator[WorkloadProblem]:
    for c in w.containers:
        if not c.log or c.log.driver != "awsfirelens":
            continue
        plugin = (c.log.option("Name") or "").lower()
        region = c.log.option("region")
        if _FIRELENS_OUTPUTS.get(plugin, ("",))[0] != "kinesis-firehose" or not region or region == w.region:
            continue
        across = (("kinesis-firehose", region),) \
            if serves_across_regions("kinesis-firehose", w.region, region) else ()
        yield WorkloadProblem(
            "cross-region-firehose",
            f"container {c.name}: FireLens sends to Data Firehose in {region}; a kinesis-firehose "
            f"endpoint for {w.region} cannot serve it: a cross-Region one for {region} can",
            (("container", c.name), ("stream_region", region),
             ("stream", c.log.option("delivery_stream") or c.log.option("delivery-stream") or "")),
            across)


def _cross_region_logs(w: Workload) -> Iterator[WorkloadProblem]:
    for c in w.containers:
        if not c.log:
            continue
        region = None
        if c.log.driver == "awslogs":
            region = c.log.option("awslogs-region")
        elif c.log.driver == "awsfirelens" and (c.log.option("Name") or "").lower() in (
            "cloudwatch", "cloudwatch_logs"):
            region = c.log.option("region")
        if region and region != w.region:
            yield WorkloadProblem(
                "cross-region-logs",
                f"container {c.name}: logs go to CloudWatch Logs in {region}; CloudWatch Logs "
                f"is not served across Regions by endpoints in {w.region}",
                (("container", c.name), ("log_region", region),
                 ("log_group", c.log.option("awslogs-group") or c.log.option("log_group_name") or "")),
            )


# ---------------------------------------------------------------- notes (advice only)


def _other_registries(w: Workload) -> Iterator[str]:
    for c in w.containers:
        ref = parse_image(c.image)
        if ref.kind == "other":
            yield (f"container {c.name}: image {c.image} comes from {ref.registry}; no AWS "
                   "endpoint serves it, so the subnet must reach that registry some other way")


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

NEED_RULES: tuple[NeedRule, ...] = (
    NeedRule("ecr-image", _ECR_SET, lambda w: _ecr_images(w, legacy=False),
             "ECR: interface VPC endpoints (AWS PrivateLink); layers come from S3"),
    NeedRule("ecr-image-fargate-legacy", (("ecr.dkr", INTERFACE), ("s3", GATEWAY)),
             lambda w: _ecr_images(w, legacy=True),
             "ECR: Fargate platform 1.3.0 and earlier need only ecr.dkr and S3"),
    NeedRule("ecs-container-instances", _ECS_SET, _ecs_agent_on_instances,
             "ECS: interface VPC endpoints; Fargate tasks do not need them"),
    NeedRule("service-connect", (("ecs-agent", INTERFACE),), _service_connect,
             "ECS: Service Connect needs the ecs-agent endpoint"),
    NeedRule("awslogs", (("logs", INTERFACE),), _awslogs, "CloudWatch Logs: interface endpoints"),
    NeedRule("firelens-cloudwatch", (("logs", INTERFACE),), _firelens_output("logs"),
             "FireLens to CloudWatch Logs"),
    NeedRule("firelens-firehose", (("kinesis-firehose", INTERFACE),), _firelens_output("kinesis-firehose"),
             "FireLens to Kinesis Data Firehose"),
    NeedRule("firelens-kinesis", (("kinesis-streams", INTERFACE),), _firelens_output("kinesis-streams"),
             "FireLens to Kinesis Data Streams"),
    NeedRule("firelens-s3-output", (("s3", GATEWAY),), _firelens_output("s3"), "FireLens to S3"),
    NeedRule("s3-files", (("s3", GATEWAY),), _s3_files,
             "FireLens config file / environment files stored in S3"),
    NeedRule("secretsmanager-secret", (("secretsmanager", INTERFACE),), _secrets("secretsmanager"),
             "ECS: secrets and repositoryCredentials from Secrets Manager"),
    NeedRule("ssm-parameter", (("ssm", INTERFACE),), _secrets("ssm"),
             "ECS: secrets from SSM Parameter Store"),
    NeedRule("ecs-exec", (("ssmmessages", INTERFACE),), _exec,
             "ECS Exec needs ssmmessages (not ssm, not ec2messages)"),
    NeedRule("ecs-exec-kms", (("kms", INTERFACE),), _exec_kms, "ECS Exec with a KMS key"),
    NeedRule("ecs-exec-s3-logging", (("s3", GATEWAY),), _exec_s3, "ECS Exec session logs to S3"),
    NeedRule("ecs-exec-cloudwatch-logging", (("logs", INTERFACE),), _exec_logs,
             "ECS Exec session logs to CloudWatch Logs"),
    NeedRule("xray", (("xray", INTERFACE),), _xray, "X-Ray daemon / ADOT collector sidecar"),
)

PROBLEM_RULES: tuple[ProblemRule, ...] = (
    ProblemRule("unreachable-image", _unreachable_images),
    ProblemRule("cross-region-secret", _cross_region_secrets),
    ProblemRule("cross-region-logs", _cross_region_logs),
    ProblemRule("cross-region-kms-key", _cross_region_kms),
    ProblemRule("cross-region-firehose", _cross_region_firehose),
)

NOTE_RULES: tuple[NoteRule, ...] = (
    NoteRule("other-registry", _other_registries),
    NoteRule("fargate-new-region", _fargate_new_region),
    NoteRule("efs", _efs),
    NoteRule("windows-foreign-layers", _windows),
)


def required_endpoints(workload: Workload) -> Requirements:
    """Every endpoint service the workload needs with its reasons, plus what no endpoint serves."""
    reasons: dict[tuple[str, EndpointType], list[str]] = {}
    for rule in NEED_RULES:
        found = list(rule.match(workload))
        if not found:
            continue
        for service in rule.services:
            bucket = reasons.setdefault(service, [])
            bucket.extend(r for r in found if r not in bucket)
    # What an enclosing scope already asks for (a new subnet inherits the VPC's endpoints), kept
    # whatever the service, so an endpoint made under an older table is still covered.
    for svc, typ, reason in workload.inherited:
        bucket = reasons.setdefault((svc, typ), [])
        if reason not in bucket:
            bucket.append(reason)
    needs = tuple(EndpointNeed(svc, typ, tuple(rs)) for (svc, typ), rs in sorted(reasons.items()))
    problems = tuple(p for rule in PROBLEM_RULES for p in rule.match(workload))
    notes = tuple(dict.fromkeys(n for rule in NOTE_RULES for n in rule.match(workload)))
    return Requirements(needs, problems, notes)

