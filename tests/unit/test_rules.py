"""The rules table (DESIGN.md §3): which endpoint services an ECS workload needs, and why.

Plain data in, plain data out: no AWS, no moto. Every test states the exact set of endpoint
services (with their type) a platform engineer would create, so a rule that asks for too much
fails as loudly as one that asks for too little.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import rules
from rules import (
    GATEWAY,
    INTERFACE,
    ContainerSpec,
    ExecConfig,
    LogConfig,
    Requirements,
    Workload,
    WorkloadProblem,
    required_endpoints,
)
from rules.needs import (
    NEED_RULES,
    NOTE_RULES,
    PROBLEM_RULES,
    REGIONS_NEEDING_ECS_ENDPOINTS,
    NeedRule,
)
from rules.records import replace

IF, GW = INTERFACE, GATEWAY
REGION = "us-east-1"
ACCOUNT = "111122223333"

ECR_SET: dict[str, str] = {"ecr.api": IF, "ecr.dkr": IF, "s3": GW}
ECR_LEGACY_SET: dict[str, str] = {"ecr.dkr": IF, "s3": GW}
ECS_SET: dict[str, str] = {"ecs": IF, "ecs-agent": IF, "ecs-telemetry": IF}

SM_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-AbCdEf"
SSM_ARN = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/prod/db/password"


# ---------------------------------------------------------------- builders


def ecr(name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    """An image reference in private ECR (default: same account and region as the task)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}/{name}"


def ctr(
    name: str = "web",
    image: str | None = None,
    *,
    log: LogConfig | None = None,
    secrets: tuple[str, ...] = (),
    repository_credentials: str | None = None,
    firelens_config_s3: bool = False,
    environment_files_s3: tuple[str, ...] = (),
    credential_specs: tuple[str, ...] = (),
    command: tuple[str, ...] = (),
    variable_names: tuple[str, ...] = (),
) -> ContainerSpec:
    """A container; like the resolver, `secrets` also carries the repositoryCredentials value."""
    return ContainerSpec(
        name=name,
        image=image if image is not None else ecr(f"{name}:1.0"),
        log=log,
        secrets=secrets + ((repository_credentials,) if repository_credentials else ()),
        repository_credentials=repository_credentials,
        firelens_config_s3=firelens_config_s3,
        environment_files_s3=environment_files_s3,
        credential_specs=credential_specs,
        command=command,
        variable_names=variable_names,
    )


def task(
    *containers: ContainerSpec,
    launch: str = "FARGATE",
    region: str = REGION,
    name: str = "checkout",
    kind: str = "task",
    platform: str | None = None,
    os_family: str | None = None,
    exec_: ExecConfig | None = None,
    service_connect: bool = False,
    service_connect_log: LogConfig | None = None,
    efs: bool = False,
    inherited: tuple[tuple[str, str, str], ...] = (),
) -> Workload:
    return Workload(
        kind=kind,
        arn=f"arn:aws:ecs:{region}:{ACCOUNT}:{kind}/prod/{name}",
        name=name,
        region=region,
        account=ACCOUNT,
        launch_type=launch,
        containers=containers,
        platform_version=platform,
        os_family=os_family,
        execute_command=exec_,
        service_connect=service_connect,
        service_connect_log=service_connect_log,
        efs_volumes=efs,
        subnet_ids=("subnet-0a1b2c3d",),
        security_group_ids=("sg-0a1b2c3d",),
        inherited=inherited,
    )


def awslogs(group: str = "/ecs/checkout", region: str | None = None) -> LogConfig:
    options = (("awslogs-group", group), ("awslogs-stream-prefix", "ecs"))
    if region is not None:
        options += (("awslogs-region", region),)
    return LogConfig("awslogs", options)


def firelens(plugin: str, **options: str) -> LogConfig:
    return LogConfig("awsfirelens", (("Name", plugin), *options.items()))


def fluentd(plugin: str, **options: str) -> LogConfig:
    """A FireLens log configuration for a Fluentd router: the output plugin is `@type`."""
    return LogConfig("awsfirelens", (("@type", plugin), *options.items()))


def splunk(*secret_options: tuple[str, str]) -> LogConfig:
    """The splunk log driver with its token from `secretOptions` (the ECS guide's example)."""
    return LogConfig("splunk", (("splunk-url", "https://splunk.example.com:8088"),), secret_options)


# ---------------------------------------------------------------- views on the result


def needs_of(req: Requirements) -> dict[str, str]:
    """service -> type, the shape an engineer compares against the endpoints in the VPC."""
    return {n.service: n.type for n in req.needs}


def reasons(req: Requirements, service: str) -> tuple[str, ...]:
    need = req.need(service)
    assert need is not None, f"{service} not needed; needs are {needs_of(req)}"
    return need.reasons


def kinds(req: Requirements) -> list[str]:
    return [p.kind for p in req.problems]


def only_problem(req: Requirements, kind: str) -> WorkloadProblem:
    assert kinds(req) == [kind], req.problems
    return req.problems[0]


def clean(req: Requirements) -> bool:
    return not req.problems and not req.notes


# ---------------------------------------------------------------- ECR images


def test_ecr_image_same_region_needs_ecr_api_ecr_dkr_and_s3_gateway_and_nothing_else() -> None:
    image = ecr("checkout:2.3.1")
    req = required_endpoints(task(ctr("web", image)))

    assert needs_of(req) == ECR_SET
    for service in ECR_SET:
        (why,) = reasons(req, service)
        assert "web" in why and image in why
    assert clean(req)


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(f"{ACCOUNT}.dkr.ecr-fips.{REGION}.amazonaws.com/checkout:1", id="fips"),
        pytest.param(f"{ACCOUNT}.dkr-ecr.{REGION}.on.aws/checkout:1", id="dual-stack"),
        pytest.param(f"{ACCOUNT}.dkr-ecr-fips.{REGION}.on.aws/checkout:1", id="dual-stack-fips"),
        pytest.param(f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/checkout@sha256:{'a' * 64}", id="digest"),
        pytest.param(f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com:443/checkout:1", id="explicit-port"),
    ],
)
def test_ecr_hostname_variants_are_private_ecr_in_the_task_region(image: str) -> None:
    req = required_endpoints(task(ctr("web", image)))

    assert needs_of(req) == ECR_SET
    assert all(image in r for n in req.needs for r in n.reasons)
    assert clean(req)


def test_ecr_in_china_region_is_served_by_the_same_three_endpoints() -> None:
    image = ecr("checkout:1", region="cn-north-1")
    assert image.endswith(".amazonaws.com.cn/checkout:1")
    req = required_endpoints(task(ctr("web", image), region="cn-north-1"))

    assert needs_of(req) == ECR_SET
    assert clean(req)


@pytest.mark.parametrize("platform", ["1.0.0", "1.1.0", "1.2.0", "1.3.0"])
def test_fargate_platform_up_to_1_3_0_pulls_through_ecr_dkr_and_s3_only(platform: str) -> None:
    image = ecr("checkout:1")
    req = required_endpoints(task(ctr("web", image), platform=platform))

    assert needs_of(req) == ECR_LEGACY_SET
    assert req.need("ecr.api") is None
    assert all("web" in r and image in r for n in req.needs for r in n.reasons)
    assert clean(req)


@pytest.mark.parametrize("platform", ["1.4.0", None, "LATEST"])
def test_fargate_platform_1_4_0_or_latest_needs_the_full_ecr_set(platform: str | None) -> None:
    req = required_endpoints(task(ctr("web"), platform=platform))

    assert needs_of(req) == ECR_SET


def test_platform_version_means_nothing_on_ec2() -> None:
    req = required_endpoints(task(ctr("web"), launch="EC2", platform="1.3.0"))

    assert needs_of(req) == ECR_SET | ECS_SET


def test_windows_fargate_platform_1_0_0_is_not_the_legacy_linux_platform() -> None:
    req = required_endpoints(task(ctr("web"), platform="1.0.0", os_family="WINDOWS_SERVER_2022_CORE"))

    assert needs_of(req) == ECR_SET


def test_two_ecr_containers_share_one_need_per_service_with_a_reason_each() -> None:
    app, proxy = ecr("checkout:1"), ecr("envoy:1.31")
    req = required_endpoints(task(ctr("web", app), ctr("proxy", proxy)))

    assert needs_of(req) == ECR_SET
    for service in ECR_SET:
        first, second = reasons(req, service)
        assert "web" in first and app in first
        assert "proxy" in second and proxy in second


# ---------------------------------------------------------------- ECS endpoints by launch type


@pytest.mark.parametrize("launch", ["EC2", "MANAGED_INSTANCES"])
def test_instances_running_the_ecs_agent_need_ecs_ecs_agent_and_ecs_telemetry(launch: str) -> None:
    req = required_endpoints(task(launch=launch, name="orders", kind="service"))

    assert needs_of(req) == ECS_SET
    for service in ECS_SET:
        (why,) = reasons(req, service)
        assert "orders" in why
    setting = "EC2 launch type" if launch == "EC2" else "Managed Instances"
    assert all(setting in r for s in ECS_SET for r in reasons(req, s))
    assert clean(req)


def test_ec2_launch_type_with_an_ecr_image_needs_the_ecs_and_the_ecr_sets() -> None:
    req = required_endpoints(task(ctr("web"), launch="EC2"))

    assert needs_of(req) == ECS_SET | ECR_SET


def test_fargate_needs_no_ecs_endpoints() -> None:
    req = required_endpoints(task(ctr("web")))

    assert needs_of(req) == ECR_SET
    assert not set(needs_of(req)) & set(ECS_SET)


def test_fargate_with_nothing_configured_needs_nothing() -> None:
    req = required_endpoints(task())

    assert req == Requirements((), (), ())


def test_ecs_anywhere_external_instances_need_no_ecs_endpoints_in_the_vpc() -> None:
    assert needs_of(required_endpoints(task(launch="EXTERNAL"))) == {}


@pytest.mark.parametrize("launch", ["FARGATE", "EC2", "MANAGED_INSTANCES"])
def test_service_connect_needs_ecs_agent_on_any_launch_type(launch: str) -> None:
    req = required_endpoints(task(launch=launch, name="orders", kind="service", service_connect=True))

    expected = {"ecs-agent": IF} if launch == "FARGATE" else ECS_SET
    assert needs_of(req) == expected
    assert any("orders" in r and "Service Connect" in r for r in reasons(req, "ecs-agent"))


def test_service_connect_on_ec2_gives_ecs_agent_two_reasons() -> None:
    req = required_endpoints(task(launch="EC2", service_connect=True))

    launch_reason, sc_reason = reasons(req, "ecs-agent")
    assert "EC2 launch type" in launch_reason
    assert "Service Connect" in sc_reason
    assert len(reasons(req, "ecs")) == 1


# ---------------------------------------------------------------- logs


def test_awslogs_needs_logs_naming_the_container_and_log_group() -> None:
    req = required_endpoints(task(ctr("web", log=awslogs("/ecs/checkout"))))

    assert needs_of(req) == ECR_SET | {"logs": IF}
    (why,) = reasons(req, "logs")
    assert "web" in why and "awslogs" in why and "/ecs/checkout" in why
    assert clean(req)


def test_awslogs_with_the_task_region_spelled_out_still_needs_logs() -> None:
    req = required_endpoints(task(ctr("web", log=awslogs(region=REGION))))

    assert needs_of(req) == ECR_SET | {"logs": IF}
    assert clean(req)


def test_awslogs_to_another_region_needs_no_logs_endpoint_but_is_a_problem() -> None:
    req = required_endpoints(task(ctr("web", log=awslogs("/ecs/checkout", region="eu-west-1"))))

    assert needs_of(req) == ECR_SET
    problem = only_problem(req, "cross-region-logs")
    assert problem.param("container") == "web"
    assert problem.param("log_region") == "eu-west-1"
    assert problem.param("log_group") == "/ecs/checkout"
    assert "web" in problem.summary and "eu-west-1" in problem.summary


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        ("cloudwatch", {"logs": IF}),
        ("cloudwatch_logs", {"logs": IF}),
        ("CloudWatch_Logs", {"logs": IF}),
        ("firehose", {"kinesis-firehose": IF}),
        ("kinesis_firehose", {"kinesis-firehose": IF}),
        ("kinesis", {"kinesis-streams": IF}),
        ("kinesis_streams", {"kinesis-streams": IF}),
        ("s3", {"s3": GW}),
    ],
    ids=lambda v: v if isinstance(v, str) else "->" + ",".join(v),
)
def test_firelens_output_plugin_decides_the_endpoint(plugin: str, expected: dict[str, str]) -> None:
    app = ctr("web", "registry.internal.example.com/checkout:1", log=firelens(plugin, region=REGION))
    req = required_endpoints(task(app))

    assert needs_of(req) == expected
    (service,) = expected
    (why,) = reasons(req, service)
    assert "web" in why and "FireLens" in why and plugin.lower() in why
    assert not req.problems


@pytest.mark.parametrize("plugin", ["firehose", "kinesis_firehose"])
def test_firelens_to_firehose_needs_one_interface_endpoint_naming_the_container(plugin: str) -> None:
    req = required_endpoints(task(ctr("web", log=firelens(plugin, delivery_stream="checkout-logs"))))

    extra = {s: t for s, t in needs_of(req).items() if s not in ECR_SET}
    assert list(extra.values()) == [IF]
    (service,) = extra
    assert service in ("firehose", "kinesis-firehose")
    (why,) = reasons(req, service)
    assert "web" in why and f"FireLens output {plugin}" in why


@pytest.mark.parametrize("plugin", ["datadog", "http", "es", "null", ""])
def test_firelens_to_a_non_aws_output_needs_no_aws_endpoint(plugin: str) -> None:
    req = required_endpoints(task(ctr("web", log=firelens(plugin))))

    assert needs_of(req) == ECR_SET


def test_firelens_option_name_is_case_insensitive() -> None:
    log = LogConfig("awsfirelens", (("name", "cloudwatch_logs"), ("log_group_name", "/ecs/checkout")))
    req = required_endpoints(task(ctr("web", log=log)))

    assert needs_of(req) == ECR_SET | {"logs": IF}


def test_firelens_to_cloudwatch_in_another_region_is_a_cross_region_logs_problem() -> None:
    log = firelens("cloudwatch_logs", region="eu-central-1", log_group_name="/ecs/checkout")
    req = required_endpoints(task(ctr("web", log=log)))

    assert needs_of(req) == ECR_SET
    problem = only_problem(req, "cross-region-logs")
    assert problem.param("log_region") == "eu-central-1"
    assert problem.param("log_group") == "/ecs/checkout"


def test_firelens_router_and_app_container_with_cloudwatch_output() -> None:
    router = ctr("log-router", ecr("aws-for-fluent-bit:stable"))
    app = ctr("web", log=firelens("cloudwatch", region=REGION, log_group_name="/ecs/checkout"))
    req = required_endpoints(task(router, app))

    assert needs_of(req) == ECR_SET | {"logs": IF}
    (why,) = reasons(req, "logs")
    assert why.startswith("container web:")
    assert len(reasons(req, "ecr.dkr")) == 2


def test_firelens_config_file_in_s3_needs_the_s3_gateway() -> None:
    router = ctr("log-router", "registry.internal.example.com/fluent-bit:3",
                 firelens_config_s3=True)
    req = required_endpoints(task(router))

    assert needs_of(req) == {"s3": GW}
    (why,) = reasons(req, "s3")
    assert "log-router" in why and "FireLens configuration file in S3" in why


def test_environment_files_in_s3_need_the_s3_gateway_with_one_reason_per_file() -> None:
    files = ("arn:aws:s3:::checkout-config/prod.env", "arn:aws:s3:::checkout-config/common.env")
    req = required_endpoints(task(ctr("web", "registry.internal.example.com/checkout:1", environment_files_s3=files)))

    assert needs_of(req) == {"s3": GW}
    assert [f for f in files if any(f in r and "web" in r for r in reasons(req, "s3"))] == list(files)
    assert len(reasons(req, "s3")) == 2


def test_s3_gateway_reasons_merge_ecr_layers_and_environment_files() -> None:
    env = "arn:aws:s3:::checkout-config/prod.env"
    req = required_endpoints(task(ctr("web", environment_files_s3=(env,))))

    assert needs_of(req) == ECR_SET
    layers, envfile = reasons(req, "s3")
    assert "image" in layers and env in envfile


# ---------------------------------------------------------------- secrets


def test_secrets_manager_secret_needs_secretsmanager_not_ssm() -> None:
    req = required_endpoints(task(ctr("web", secrets=(SM_ARN,))))

    assert needs_of(req) == ECR_SET | {"secretsmanager": IF}
    (why,) = reasons(req, "secretsmanager")
    assert "web" in why and "secret" in why and SM_ARN in why
    assert clean(req)


def test_secrets_manager_secret_with_json_key_and_version_suffix() -> None:
    value = f"{SM_ARN}:password:AWSCURRENT:"
    req = required_endpoints(task(ctr("web", secrets=(value,))))

    assert needs_of(req) == ECR_SET | {"secretsmanager": IF}


@pytest.mark.parametrize("value", [SSM_ARN, "/prod/db/password", "db-password"], ids=["arn", "path", "name"])
def test_ssm_parameter_needs_ssm_not_secretsmanager(value: str) -> None:
    req = required_endpoints(task(ctr("web", secrets=(value,))))

    assert needs_of(req) == ECR_SET | {"ssm": IF}
    (why,) = reasons(req, "ssm")
    assert "web" in why and value in why
    assert clean(req)


def test_repository_credentials_need_secretsmanager_for_a_private_registry_image() -> None:
    image = "registry.internal.example.com/checkout:1"
    req = required_endpoints(task(ctr("web", image, repository_credentials=SM_ARN)))

    assert needs_of(req) == {"secretsmanager": IF}
    (why,) = reasons(req, "secretsmanager")
    assert "web" in why and "repository credentials" in why and SM_ARN in why
    assert not req.problems
    (note,) = req.notes
    assert "registry.internal.example.com" in note


def test_repository_credentials_with_a_docker_hub_image_still_cannot_pull_privately() -> None:
    req = required_endpoints(task(ctr("web", "acme/checkout:1", repository_credentials=SM_ARN)))

    assert needs_of(req) == {"secretsmanager": IF}
    assert only_problem(req, "public-registry-image").param("registry") == "docker.io"


def test_repository_credentials_given_by_secret_name_need_secretsmanager() -> None:
    req = required_endpoints(
        task(ctr("web", "registry.internal.example.com/checkout:1", repository_credentials="prod/registry-creds"))
    )

    assert needs_of(req) == {"secretsmanager": IF}


@pytest.mark.parametrize(
    ("value", "service", "kind"),
    [
        (f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:prod/db-AbCdEf", "secretsmanager",
         "cross-region-secret"),
        (f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/prod/db/password", "ssm", "cross-region-parameter"),
    ],
)
def test_secret_in_another_region_is_a_problem_and_no_need(value: str, service: str, kind: str) -> None:
    req = required_endpoints(task(ctr("web", secrets=(value,))))

    assert needs_of(req) == ECR_SET
    problem = only_problem(req, kind)
    assert problem.param("container") == "web"
    assert problem.param("arn") == value
    assert problem.param("secret_region") == "eu-west-1"
    assert problem.param("service") == service
    assert value in problem.summary


def test_secrets_from_both_stores_need_both_endpoints() -> None:
    req = required_endpoints(task(ctr("web", secrets=(SM_ARN, SSM_ARN)), ctr("worker", secrets=(SSM_ARN,))))

    assert needs_of(req) == ECR_SET | {"secretsmanager": IF, "ssm": IF}
    assert [r.split(":")[0] for r in reasons(req, "ssm")] == ["container web", "container worker"]


# ---------------------------------------------------------------- ECS Exec


def test_ecs_exec_needs_ssmmessages_only_not_ssm_not_ec2messages() -> None:
    req = required_endpoints(task(ctr("web"), exec_=ExecConfig()))

    assert needs_of(req) == ECR_SET | {"ssmmessages": IF}
    assert req.need("ssm") is None
    assert req.need("ec2messages") is None
    (why,) = reasons(req, "ssmmessages")
    assert "checkout" in why and "enableExecuteCommand" in why


def test_ecs_exec_with_kms_key_needs_kms() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    req = required_endpoints(task(exec_=ExecConfig(kms_key_id=key)))

    assert needs_of(req) == {"ssmmessages": IF, "kms": IF}
    assert key in reasons(req, "kms")[0]


def test_ecs_exec_session_logs_to_s3_need_the_s3_gateway() -> None:
    req = required_endpoints(task(exec_=ExecConfig(log_to_s3_bucket="exec-audit")))

    assert needs_of(req) == {"ssmmessages": IF, "s3": GW}
    assert "s3://exec-audit" in reasons(req, "s3")[0]


def test_ecs_exec_session_logs_to_cloudwatch_need_logs() -> None:
    req = required_endpoints(task(exec_=ExecConfig(log_to_cloudwatch_group="/ecs/exec-audit")))

    assert needs_of(req) == {"ssmmessages": IF, "logs": IF}
    assert "/ecs/exec-audit" in reasons(req, "logs")[0]


def test_ecs_exec_fully_configured_on_ec2() -> None:
    cfg = ExecConfig(kms_key_id="alias/exec", log_to_s3_bucket="exec-audit", log_to_cloudwatch_group="/ecs/exec")
    req = required_endpoints(task(exec_=cfg, launch="EC2"))

    assert needs_of(req) == ECS_SET | {"ssmmessages": IF, "kms": IF, "s3": GW, "logs": IF}
    assert req.need("ssm") is None and req.need("ec2messages") is None


def test_ecs_exec_off_needs_nothing_for_exec() -> None:
    assert needs_of(required_endpoints(task(ctr("web"), exec_=None))) == ECR_SET


# ---------------------------------------------------------------- X-Ray / ADOT


@pytest.mark.parametrize(
    "image",
    [
        ecr("aws-xray-daemon:3.3.13"),
        ecr("xray-daemon:latest"),
        ecr("aws-otel-collector:v0.41.0"),
        "amazon/aws-xray-daemon:3.x",
        "public.ecr.aws/xray/aws-xray-daemon:latest",
        "public.ecr.aws/aws-observability/aws-otel-collector:latest",
    ],
)
def test_xray_daemon_or_adot_collector_needs_xray(image: str) -> None:
    req = required_endpoints(task(ctr("web"), ctr("xray", image)))

    # The ADOT collector's default configuration also exports metrics as EMF log events.
    emf = {"logs": IF} if "otel" in image else {}
    assert needs_of(req) == ECR_SET | {"xray": IF} | emf
    (why,) = reasons(req, "xray")
    assert why.startswith("container xray:") and image in why


def test_ecr_hosted_xray_sidecar_exact_requirements() -> None:
    req = required_endpoints(task(ctr("web"), ctr("tracer", ecr("aws-xray-daemon:3.3.13"))))

    assert needs_of(req) == ECR_SET | {"xray": IF}
    assert clean(req)


def test_plain_application_image_needs_no_xray() -> None:
    assert required_endpoints(task(ctr("web"))).need("xray") is None


# ---------------------------------------------------------------- images no endpoint serves


@pytest.mark.parametrize(
    ("image", "registry", "prefix", "upstream", "credentials"),
    [
        ("nginx:1.27", "docker.io", "docker-hub", "registry-1.docker.io", "yes"),
        ("bitnami/redis:7.4", "docker.io", "docker-hub", "registry-1.docker.io", "yes"),
        ("docker.io/library/nginx:1.27", "docker.io", "docker-hub", "registry-1.docker.io", "yes"),
        ("public.ecr.aws/nginx/nginx:1.27", "public.ecr.aws", "ecr-public", "public.ecr.aws", ""),
        ("ghcr.io/acme/checkout:1", "ghcr.io", "github", "ghcr.io", "yes"),
        ("quay.io/prometheus/node-exporter:v1.8.2", "quay.io", "quay", "quay.io", ""),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io", "kubernetes", "registry.k8s.io", ""),
        ("acme.azurecr.io/team/checkout:1", "acme.azurecr.io", "azure-acme", "acme.azurecr.io", "yes"),
    ],
)
def test_public_registry_image_is_a_problem_with_pull_through_cache_params(
    image: str, registry: str, prefix: str, upstream: str, credentials: str
) -> None:
    req = required_endpoints(task(ctr("web", image)))

    assert needs_of(req) == {}
    problem = only_problem(req, "public-registry-image")
    assert problem.param("container") == "web"
    assert problem.param("image") == image
    assert problem.param("registry") == registry
    assert problem.param("prefix") == prefix
    assert problem.param("upstream") == upstream
    assert problem.param("credentials") == credentials
    assert "web" in problem.summary and image in problem.summary and "pull-through cache" in problem.summary
    assert not req.notes


def test_public_image_beside_an_ecr_image_only_flags_the_public_one() -> None:
    req = required_endpoints(task(ctr("web"), ctr("proxy", "envoyproxy/envoy:v1.31")))

    assert needs_of(req) == ECR_SET
    assert all("proxy" not in r for n in req.needs for r in n.reasons)
    assert only_problem(req, "public-registry-image").param("container") == "proxy"


def test_ecr_image_in_another_region_is_a_problem_and_no_ecr_need() -> None:
    image = ecr("checkout:1", region="eu-west-1", account="444455556666")
    req = required_endpoints(task(ctr("web", image)))

    assert needs_of(req) == {}
    problem = only_problem(req, "cross-region-ecr-image")
    assert problem.param("container") == "web"
    assert problem.param("image") == image
    assert problem.param("image_region") == "eu-west-1"
    assert problem.param("image_account") == "444455556666"
    assert "eu-west-1" in problem.summary and REGION in problem.summary


def test_cross_region_ecr_image_on_legacy_fargate_is_still_a_problem() -> None:
    req = required_endpoints(task(ctr("web", ecr("checkout:1", region="us-west-2")), platform="1.3.0"))

    assert needs_of(req) == {}
    assert kinds(req) == ["cross-region-ecr-image"]


# ---------------------------------------------------------------- notes (advice only)


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("registry.internal.example.com/app:1", "registry.internal.example.com"),
        ("localhost:5000/app:1", "localhost:5000"),
        ("azurecr.io/app:1", "azurecr.io"),
    ],
)
def test_other_registry_image_is_a_note_not_a_need_or_problem(image: str, registry: str) -> None:
    req = required_endpoints(task(ctr("web", image)))

    assert needs_of(req) == {}
    assert not req.problems
    (note,) = req.notes
    assert "web" in note and image in note and registry in note


@pytest.mark.parametrize("region", sorted(REGIONS_NEEDING_ECS_ENDPOINTS))
def test_fargate_in_a_region_opened_after_2023_gets_a_warning_not_ecs_needs(region: str) -> None:
    req = required_endpoints(task(ctr("web", ecr("checkout:1", region=region)), region=region))

    assert needs_of(req) == ECR_SET
    (note,) = req.notes
    assert region in note and "ecs-agent" in note and "ecs-telemetry" in note
    assert not req.problems


def test_ca_west_1_is_one_of_the_post_2023_regions() -> None:
    assert "ca-west-1" in REGIONS_NEEDING_ECS_ENDPOINTS


def test_fargate_in_an_older_region_gets_no_warning() -> None:
    assert required_endpoints(task(ctr("web"), region=REGION)).notes == ()


def test_ec2_in_a_post_2023_region_needs_ecs_endpoints_and_gets_no_fargate_warning() -> None:
    req = required_endpoints(task(launch="EC2", region="ca-west-1"))

    assert needs_of(req) == ECS_SET
    assert req.notes == ()


def test_efs_volumes_are_a_note_and_need_no_endpoint() -> None:
    req = required_endpoints(task(ctr("web"), efs=True))

    assert needs_of(req) == ECR_SET
    assert req.need("elasticfilesystem") is None
    (note,) = req.notes
    assert "checkout" in note and "EFS" in note and "NFS" in note


@pytest.mark.parametrize("family", ["WINDOWS_SERVER_2019_CORE", "WINDOWS_SERVER_2022_FULL", "windows_server_2025_core"])
def test_windows_task_gets_a_foreign_layers_note(family: str) -> None:
    req = required_endpoints(task(ctr("web"), launch="EC2", os_family=family))

    assert needs_of(req) == ECR_SET | ECS_SET
    (note,) = req.notes
    assert "checkout" in note and "foreign layers" in note and "non-distributable" in note


@pytest.mark.parametrize("family", ["LINUX", None])
def test_linux_task_gets_no_windows_note(family: str | None) -> None:
    assert required_endpoints(task(ctr("web"), os_family=family)).notes == ()


# ---------------------------------------------------------------- merging, ordering, inheritance


def test_two_containers_both_logging_give_one_logs_need_with_two_reasons() -> None:
    req = required_endpoints(
        task(ctr("web", log=awslogs("/ecs/web")), ctr("worker", log=awslogs("/ecs/worker")))
    )

    assert [n.service for n in req.needs].count("logs") == 1
    web, worker = reasons(req, "logs")
    assert "web" in web and "/ecs/web" in web
    assert "worker" in worker and "/ecs/worker" in worker


def test_logs_reasons_merge_across_awslogs_firelens_and_exec_logging() -> None:
    req = required_endpoints(
        task(
            ctr("web", log=awslogs()),
            ctr("worker", log=firelens("cloudwatch_logs", region=REGION)),
            exec_=ExecConfig(log_to_cloudwatch_group="/ecs/exec"),
        )
    )

    assert needs_of(req) == ECR_SET | {"logs": IF, "ssmmessages": IF}
    awslogs_why, firelens_why, exec_why = reasons(req, "logs")
    assert "awslogs" in awslogs_why and "FireLens" in firelens_why and "ECS Exec" in exec_why


def kitchen_sink() -> Workload:
    return task(
        ctr("web", log=awslogs(), secrets=(SM_ARN, SSM_ARN), environment_files_s3=("arn:aws:s3:::cfg/a.env",)),
        ctr("worker", log=awslogs("/ecs/worker"), secrets=(SSM_ARN,)),
        ctr("log-router", ecr("aws-for-fluent-bit:stable"), firelens_config_s3=True),
        ctr("tracer", ecr("aws-otel-collector:v0.41.0"), log=firelens("kinesis_streams")),
        launch="EC2",
        service_connect=True,
        exec_=ExecConfig(kms_key_id="alias/exec", log_to_s3_bucket="exec-audit", log_to_cloudwatch_group="/ecs/x"),
    )


def test_needs_are_unique_and_sorted_by_service() -> None:
    req = required_endpoints(kitchen_sink())

    keys = [(n.service, n.type) for n in req.needs]
    assert keys == sorted(set(keys))
    assert needs_of(req) == ECR_SET | ECS_SET | {
        "logs": IF, "secretsmanager": IF, "ssm": IF, "ssmmessages": IF, "kms": IF, "xray": IF, "kinesis-streams": IF,
    }
    for need in req.needs:
        assert need.reasons, need
        assert len(need.reasons) == len(set(need.reasons)), need


def test_the_rules_are_deterministic() -> None:
    assert required_endpoints(kitchen_sink()) == required_endpoints(kitchen_sink())


def test_inherited_services_appear_with_the_given_reason() -> None:
    inherited = (
        ("ecr.api", IF, "new subnet subnet-0new (us-east-1c): VPC's ECS workload checkout needs it"),
        ("ecr.dkr", IF, "new subnet subnet-0new (us-east-1c): VPC's ECS workload checkout needs it"),
        ("s3", GW, "new subnet subnet-0new (us-east-1c): endpoint vpce-0s3 this tool keeps in the VPC"),
        ("logs", IF, "new subnet subnet-0new (us-east-1c): endpoint vpce-0logs this tool keeps in the VPC"),
    )
    req = required_endpoints(task(kind="subnet", name="subnet-0new", inherited=inherited))

    assert needs_of(req) == {"ecr.api": IF, "ecr.dkr": IF, "s3": GW, "logs": IF}
    for service, _typ, why in inherited:
        assert reasons(req, service) == (why,)
    assert clean(req)


def test_inherited_reason_joins_the_workloads_own_reasons() -> None:
    inherited = (("logs", IF, "endpoint vpce-0logs this tool keeps in the VPC"),)
    req = required_endpoints(task(ctr("web", log=awslogs()), inherited=inherited))

    own, kept = reasons(req, "logs")
    assert "awslogs" in own and kept == inherited[0][2]


def test_inherited_service_is_matched_on_its_type_too() -> None:
    req = required_endpoints(task(inherited=(("s3", GW, "kept"),)))

    assert needs_of(req) == {"s3": GW}


# ---------------------------------------------------------------- contract: every rule has a case


@dataclass(frozen=True)
class Case:
    rule_id: str
    workload: Workload
    needs: Mapping[str, str] = field(default_factory=dict)  # the exact needs
    problems: tuple[str, ...] = ()  # the exact problem kinds, in order
    notes: int = 0  # how many notes


INTERNAL = "registry.internal.example.com/checkout:1"
ROLE = "arn:aws:iam::444455556666:role/central-log-delivery"
CREDSPEC_SSM = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/gmsa/webapp-credspec"
CREDSPEC_S3 = "arn:aws:s3:::gmsa-credspecs/webapp.json"

CASES: list[Case | tuple[Case, pytest.MarkDecorator]] = [
    Case("ecr-image", task(ctr("web")), ECR_SET),
    Case("ecr-image-fargate-legacy", task(ctr("web"), platform="1.3.0"), ECR_LEGACY_SET),
    Case("ecs-container-instances", task(launch="EC2"), ECS_SET),
    Case("service-connect", task(service_connect=True), {"ecs-agent": IF}),
    Case("awslogs", task(ctr("web", INTERNAL, log=awslogs())), {"logs": IF}, notes=1),
    Case("firelens-cloudwatch", task(ctr("web", INTERNAL, log=firelens("cloudwatch"))), {"logs": IF}, notes=1),
    Case("firelens-firehose", task(ctr("web", INTERNAL, log=firelens("firehose"))), {"kinesis-firehose": IF},
         notes=1),
    Case("firelens-kinesis", task(ctr("web", INTERNAL, log=firelens("kinesis_streams"))), {"kinesis-streams": IF},
         notes=1),
    Case("firelens-s3-output", task(ctr("web", INTERNAL, log=firelens("s3"))), {"s3": GW}, notes=1),
    Case("s3-files", task(ctr("web", INTERNAL, firelens_config_s3=True)), {"s3": GW}, notes=1),
    Case("secretsmanager-secret", task(ctr("web", INTERNAL, repository_credentials=SM_ARN)),
         {"secretsmanager": IF}, notes=1),
    Case("ssm-parameter", task(ctr("web", INTERNAL, secrets=("/prod/db",))), {"ssm": IF}, notes=1),
    Case("ecs-exec", task(exec_=ExecConfig()), {"ssmmessages": IF}),
    Case("ecs-exec-kms", task(exec_=ExecConfig(kms_key_id="alias/exec")), {"ssmmessages": IF, "kms": IF}),
    Case("ecs-exec-s3-logging", task(exec_=ExecConfig(log_to_s3_bucket="audit")), {"ssmmessages": IF, "s3": GW}),
    Case("ecs-exec-cloudwatch-logging", task(exec_=ExecConfig(log_to_cloudwatch_group="/x")),
         {"ssmmessages": IF, "logs": IF}),
    Case("xray", task(ctr("tracer", ecr("aws-xray-daemon:3"))), ECR_SET | {"xray": IF}),
    Case("guardduty-runtime-agent", replace(task(ctr("web", "nginx:1.27")), guardduty_agent=True),
         ECR_SET, problems=("public-registry-image",), notes=1),
    Case("guardduty-data-endpoint", replace(task(ctr("web", "nginx:1.27")), guardduty_agent=True),
         ECR_SET, problems=("public-registry-image",), notes=1),
    Case("pull-through-first-pull", replace(task(ctr("web", ecr("docker-hub/library/nginx:1.27"))),
                                            pull_through=(("docker-hub", "registry-1.docker.io"),)),
         ECR_SET, notes=1),
    Case("unreachable-image", task(ctr("web", "nginx:1.27"), ctr("api", ecr("api:1", region="eu-west-1"))),
         problems=("public-registry-image", "cross-region-ecr-image")),
    Case("cross-region-secret", task(ctr("web", INTERNAL, secrets=(SM_ARN.replace(REGION, "eu-west-1"),))),
         problems=("cross-region-secret",), notes=1),
    Case("cross-region-logs", task(ctr("web", INTERNAL, log=awslogs(region="eu-west-1"))),
         problems=("cross-region-logs",), notes=1),
    Case("cross-region-kms-key", task(exec_=ExecConfig(kms_key_id=f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k1")),
         {"ssmmessages": IF}, problems=("cross-region-kms-key",)),
    Case("cross-region-firehose", task(ctr("web", INTERNAL, log=firelens("firehose", region="eu-west-1"))),
         problems=("cross-region-firehose",), notes=1),
    Case("cross-region-kinesis-stream", task(ctr("web", INTERNAL, log=fluentd("kinesis_streams", region="eu-west-1"))),
         problems=("cross-region-kinesis-stream",), notes=1),
    Case("cross-region-s3-output", task(ctr("web", INTERNAL, log=firelens("s3", region="eu-west-1"))),
         problems=("cross-region-s3-output",), notes=1),
    Case("firelens-role-arn", task(ctr("web", INTERNAL, log=firelens("cloudwatch_logs", role_arn=ROLE))),
         {"logs": IF, "sts": IF}, notes=1),
    Case("log-secret-secretsmanager", task(ctr("web", INTERNAL, log=splunk(("splunk-token", SM_ARN)))),
         {"secretsmanager": IF}, notes=1),
    Case("log-secret-ssm", task(ctr("web", INTERNAL, log=splunk(("splunk-token", SSM_ARN)))), {"ssm": IF}, notes=1),
    Case("gmsa-credspec-ssm", task(ctr("web", INTERNAL, credential_specs=(f"credentialspec:{CREDSPEC_SSM}",))),
         {"ssm": IF}, notes=1),
    Case("gmsa-credspec-s3", task(ctr("web", INTERNAL, credential_specs=(f"credentialspec:{CREDSPEC_S3}",))),
         {"s3": GW}, notes=1),
    Case("gmsa-domainless-secret",
         task(ctr("web", INTERNAL, credential_specs=(f"credentialspecdomainless:{CREDSPEC_S3}",))),
         {"s3": GW, "secretsmanager": IF}, notes=1),
    Case("adot-emf", task(ctr("otel", ecr("aws-otel-collector:v0.41.0"))), ECR_SET | {"xray": IF, "logs": IF}),
    Case("adot-amp", task(ctr("otel", ecr("aws-otel-collector:v0.41.0"), command=("--config=/etc/ecs/ecs-amp.yaml",))),
         ECR_SET | {"xray": IF, "aps-workspaces": IF}),
    Case("cloudwatch-agent", task(ctr("cwagent", ecr("cloudwatch-agent:latest"))),
         ECR_SET | {"monitoring": IF, "logs": IF}),
    Case("other-registry", task(ctr("web", INTERNAL)), notes=1),
    Case("fargate-new-region", task(region="ca-west-1"), notes=1),
    Case("efs", task(efs=True), notes=1),
    Case("windows-foreign-layers", task(os_family="WINDOWS_SERVER_2022_CORE"), notes=1),
]


def _case(item: Case | tuple[Case, pytest.MarkDecorator]) -> Case:
    return item[0] if isinstance(item, tuple) else item


def _params(items: Iterable[Case | tuple[Case, pytest.MarkDecorator]]) -> list[object]:
    out: list[object] = []
    for item in items:
        case, marks = (item[0], [item[1]]) if isinstance(item, tuple) else (item, [])
        out.append(pytest.param(case, marks=marks, id=case.rule_id))
    return out


RULE_MATCHERS: dict[str, Callable[[Workload], Iterable[object]]] = {
    r.id: r.match for r in (*NEED_RULES, *PROBLEM_RULES, *NOTE_RULES)
}


def test_rule_ids_are_unique() -> None:
    ids = [r.id for r in (*NEED_RULES, *PROBLEM_RULES, *NOTE_RULES)]
    assert len(ids) == len(set(ids))


def test_every_rule_in_the_tables_has_a_case() -> None:
    covered = [_case(item).rule_id for item in CASES]
    assert len(covered) == len(set(covered)), "one case per rule id"
    assert set(covered) == set(RULE_MATCHERS)


@pytest.mark.parametrize("case", _params(CASES))
def test_rule_case(case: Case) -> None:
    assert list(RULE_MATCHERS[case.rule_id](case.workload)), f"rule {case.rule_id} did not fire"
    req = required_endpoints(case.workload)

    assert needs_of(req) == dict(case.needs)
    assert kinds(req) == list(case.problems)
    assert len(req.notes) == case.notes


@pytest.mark.parametrize("rule", NEED_RULES, ids=lambda r: r.id)
def test_need_rule_reasons_reach_every_service_it_declares(rule: NeedRule) -> None:
    case = next(_case(item) for item in CASES if _case(item).rule_id == rule.id)
    found = list(rule.match(case.workload))
    req = required_endpoints(case.workload)

    for service, typ in rule.services:
        need = req.need(service)
        assert need is not None and need.type == typ
        assert set(found) <= set(need.reasons)


_INHERITABLE = sorted({s for rule in NEED_RULES for s in rule.services} | {("s3", IF), ("sts", IF)})


@pytest.mark.parametrize("service, typ", _INHERITABLE, ids=lambda v: str(v))
def test_every_service_can_be_inherited(service: str, typ: str) -> None:
    req = required_endpoints(task(kind="subnet", inherited=((service, typ, f"kept: {service}"),)))

    assert needs_of(req) == {service: typ}
    assert reasons(req, service) == (f"kept: {service}",)


# ---------------------------------------------------------------- contract: no AWS SDK in the rules

RULES_DIR = Path(rules.__file__).parent
FORBIDDEN = {"boto3", "botocore", "aiobotocore", "aioboto3", "moto", "s3transfer"}


def _imported_modules(source: str) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            mods.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module)
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
              and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("__import__", "import_module")
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            mods.add(node.args[0].value)
    return mods


@pytest.mark.parametrize("path", sorted(RULES_DIR.rglob("*.py")), ids=lambda p: p.name)
def test_rules_module_imports_no_aws_sdk(path: Path) -> None:
    top_level = {m.split(".")[0] for m in _imported_modules(path.read_text(encoding="utf-8"))}

    assert not top_level & FORBIDDEN, f"{path.name} imports {sorted(top_level & FORBIDDEN)}"
    assert not top_level & {"vpce_remediator", "handlers"}, f"{path.name} reaches into the I/O layers"


def test_all_rules_modules_were_checked() -> None:
    assert {p.name for p in RULES_DIR.rglob("*.py")} >= {"__init__.py", "needs.py", "refs.py", "workload.py"}


def test_importing_rules_loads_no_aws_sdk() -> None:
    code = "import sys, rules; print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=RULES_DIR.parent,
    )
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- cross-Region PrivateLink


def _problem(req: Requirements, kind: str) -> WorkloadProblem:
    return next(p for p in req.problems if p.kind == kind)


def test_a_cross_region_ecr_image_names_the_three_cross_region_endpoints_of_its_region() -> None:
    req = required_endpoints(task(ctr("api", ecr("api:1", region="eu-west-1"))))

    assert needs_of(req) == {}  # nothing of this Region serves the pull: no local ECR endpoints
    assert _problem(req, "cross-region-ecr-image").cross_region == (
        ("ecr.api", "eu-west-1"), ("ecr.dkr", "eu-west-1"), ("s3", "eu-west-1"))


def test_fargate_before_1_4_pulls_a_cross_region_image_without_ecr_api() -> None:
    req = required_endpoints(task(ctr("api", ecr("api:1", region="eu-west-1")), platform="1.3.0"))

    assert _problem(req, "cross-region-ecr-image").cross_region == (("ecr.dkr", "eu-west-1"), ("s3", "eu-west-1"))


def test_no_cross_region_endpoint_crosses_a_partition() -> None:
    # AWS connects no partition to another: an image in us-east-1 from cn-north-1 has only replication.
    req = required_endpoints(task(ctr("api", ecr("api:1", region="us-east-1")), region="cn-north-1"))

    assert _problem(req, "cross-region-ecr-image").cross_region == ()


def test_a_kms_key_of_another_region_is_a_problem_not_a_local_kms_need() -> None:
    req = required_endpoints(task(exec_=ExecConfig(kms_key_id=f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/k1")))

    assert "kms" not in needs_of(req)
    assert _problem(req, "cross-region-kms-key").cross_region == (("kms", "eu-west-1"),)


def test_secrets_and_logs_of_another_region_have_no_cross_region_endpoint() -> None:
    # Secrets Manager, SSM and CloudWatch Logs are not among the cross-Region enabled services.
    req = required_endpoints(task(ctr("web", INTERNAL, log=awslogs(region="eu-west-1"),
                                      secrets=(SM_ARN.replace(REGION, "eu-west-1"),))))

    assert [p.cross_region for p in req.problems] == [(), ()]


# ---------------------------------------------------------------- GuardDuty Runtime Monitoring


def test_guardduty_agent_needs_ecr_only_on_linux_fargate_from_platform_1_4() -> None:
    hub = ctr("web", "nginx:1.27")

    assert needs_of(required_endpoints(replace(task(hub), guardduty_agent=True))) == ECR_SET
    assert needs_of(required_endpoints(replace(task(hub), guardduty_agent=False))) == {}
    assert needs_of(required_endpoints(replace(task(hub, platform="1.3.0"), guardduty_agent=True))) == {}
    assert needs_of(required_endpoints(replace(task(hub, launch="EC2"), guardduty_agent=True))) == ECS_SET
    assert needs_of(required_endpoints(replace(task(hub, os_family="WINDOWS_SERVER_2022_CORE"),
                                               guardduty_agent=True))) == {}


def test_which_clusters_get_the_agent() -> None:
    from rules.guardduty import agent_deployed

    assert agent_deployed(True, automated=True, cluster_tag="") is True
    assert agent_deployed(True, automated=True, cluster_tag="false") is False  # the cluster opts out
    assert agent_deployed(True, automated=False, cluster_tag="") is False
    assert agent_deployed(True, automated=False, cluster_tag="true") is True  # the cluster opts in
    assert agent_deployed(False, automated=True, cluster_tag="true") is False


# ---------------------------------------------------------------- secretOptions of a log configuration


@pytest.mark.parametrize(("value", "service"), [(SM_ARN, "secretsmanager"), (SSM_ARN, "ssm"),
                                                ("/logs/splunk-token", "ssm")], ids=["secretsmanager", "ssm", "name"])
def test_log_secret_options_need_the_store_they_name(value: str, service: str) -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, log=splunk(("splunk-token", value)))))

    assert needs_of(req) == {service: IF}
    (why,) = reasons(req, service)
    assert why == f"container web: logConfiguration.secretOptions splunk-token from {value}"
    assert not req.problems


def test_log_secret_options_and_secrets_of_one_container_give_one_need_with_both_reasons() -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, secrets=(SM_ARN,), log=splunk(("splunk-token", SM_ARN)))))

    secret, log_secret = reasons(req, "secretsmanager")
    assert secret == f"container web: secret {SM_ARN}"
    assert "secretOptions splunk-token" in log_secret


@pytest.mark.parametrize(("value", "kind"), [
    (SM_ARN.replace(REGION, "eu-west-1"), "cross-region-secret"),
    (SSM_ARN.replace(REGION, "eu-west-1"), "cross-region-parameter"),
])
def test_a_log_secret_option_of_another_region_is_the_cross_region_problem(value: str, kind: str) -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, log=splunk(("splunk-token", value)))))

    assert needs_of(req) == {}
    problem = only_problem(req, kind)
    assert problem.param("container") == "web" and problem.param("arn") == value
    assert problem.param("secret_region") == "eu-west-1"
    assert problem.summary.startswith("container web: logConfiguration.secretOptions splunk-token:")


# ---------------------------------------------------------------- Service Connect's own log configuration


def test_service_connect_proxy_logs_and_their_secret_options_are_needs_naming_the_field() -> None:
    proxy = LogConfig("awslogs", (("awslogs-group", "/ecs/orders-proxy"),), (("splunk-token", SSM_ARN),))
    req = required_endpoints(task(kind="service", name="orders", service_connect=True, service_connect_log=proxy))

    assert needs_of(req) == {"ecs-agent": IF, "logs": IF, "ssm": IF}
    (logs,) = reasons(req, "logs")
    assert logs == ("service orders: Service Connect proxy (serviceConnectConfiguration.logConfiguration): "
                    "awslogs log driver to /ecs/orders-proxy")
    (ssm,) = reasons(req, "ssm")
    assert "Service Connect proxy" in ssm and "secretOptions splunk-token" in ssm and SSM_ARN in ssm


def test_service_connect_proxy_logs_to_another_region_are_a_cross_region_logs_problem() -> None:
    proxy = LogConfig("awslogs", (("awslogs-group", "/ecs/proxy"), ("awslogs-region", "eu-west-1")),
                      (("token", SM_ARN.replace(REGION, "eu-west-1")),))
    req = required_endpoints(task(kind="service", name="orders", service_connect=True, service_connect_log=proxy))

    assert needs_of(req) == {"ecs-agent": IF}
    assert kinds(req) == ["cross-region-secret", "cross-region-logs"]
    assert all(p.param("container") == "Service Connect proxy" for p in req.problems)


def test_a_service_connect_log_configuration_counts_only_while_service_connect_is_on() -> None:
    proxy = LogConfig("awslogs", (("awslogs-group", "/ecs/proxy"),))

    assert needs_of(required_endpoints(task(service_connect=False, service_connect_log=proxy))) == {}


# ---------------------------------------------------------------- FireLens: Fluentd, other Regions, role_arn


@pytest.mark.parametrize(("plugin", "expected"), [
    ("cloudwatch_logs", {"logs": IF}), ("kinesis_firehose", {"kinesis-firehose": IF}),
    ("kinesis_streams", {"kinesis-streams": IF}), ("kinesis_streams_aggregated", {"kinesis-streams": IF}),
    ("s3", {"s3": GW}),
])
def test_fluentd_type_decides_the_endpoint_as_fluent_bit_name_does(plugin: str, expected: dict[str, str]) -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, log=fluentd(plugin, region=REGION))))

    extra = {s: t for s, t in needs_of(req).items()}
    assert extra == expected
    (service,) = expected
    (why,) = reasons(req, service)
    assert why == f"container web: FireLens output {plugin}"


def test_the_aws_sample_fluentd_cloudwatch_task_needs_logs() -> None:
    # aws-samples/amazon-ecs-firelens-examples, examples/fluentd/multiline-logs/task-definition.json
    log = LogConfig("awsfirelens", (("log_group_name", "my-log-group"), ("log_stream_name", "my-log-stream"),
                                    ("@type", "cloudwatch_logs"), ("region", REGION)))
    req = required_endpoints(task(ctr("app", log=log)))

    assert needs_of(req) == ECR_SET | {"logs": IF}


def test_fluentd_s3_region_option_of_another_region_is_a_cross_region_s3_problem() -> None:
    log = fluentd("s3", s3_region="eu-west-1", s3_bucket="checkout-logs")
    req = required_endpoints(task(ctr("web", INTERNAL, log=log)))

    assert needs_of(req) == {}
    problem = only_problem(req, "cross-region-s3-output")
    assert problem.param("bucket") == "checkout-logs" and problem.param("bucket_region") == "eu-west-1"
    assert problem.cross_region == (("s3", "eu-west-1"),)


def test_kinesis_streams_of_another_region_is_a_problem_no_cross_region_endpoint_solves() -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, log=firelens("kinesis_streams", region="eu-west-1",
                                                                     stream="checkout-logs"))))

    assert needs_of(req) == {}
    problem = only_problem(req, "cross-region-kinesis-stream")
    assert problem.cross_region == ()
    assert problem.param("stream") == "checkout-logs" and problem.param("stream_region") == "eu-west-1"
    assert "not served across Regions" in problem.summary and "eu-west-1" in problem.summary


def test_a_firehose_output_of_another_region_assuming_a_role_needs_sts_there_and_has_no_cross_region_cover() -> None:
    log = firelens("kinesis_firehose", region="eu-west-1", delivery_stream="logs", role_arn=ROLE)
    req = required_endpoints(task(ctr("web", INTERNAL, log=log)))

    assert needs_of(req) == {}  # the STS call goes to eu-west-1 as well
    problem = only_problem(req, "cross-region-firehose")
    assert problem.cross_region == ()
    assert ROLE in problem.summary and "STS" in problem.summary


@pytest.mark.parametrize("log", [
    firelens("kinesis_firehose", region=REGION, delivery_stream="logs", role_arn=ROLE),
    fluentd("cloudwatch_logs", region=REGION, log_group_name="/ecs/web", aws_use_sts="true", aws_sts_role_arn=ROLE),
], ids=["fluent-bit-role_arn", "fluentd-aws_sts_role_arn"])
def test_a_firelens_output_assuming_a_role_needs_sts(log: LogConfig) -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, log=log)))

    assert needs_of(req).get("sts") == IF
    (why,) = reasons(req, "sts")
    assert why.startswith("container web: FireLens output") and ROLE in why and "cross-account" in why


def test_role_arn_on_a_non_aws_output_needs_no_sts() -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, log=firelens("datadog", role_arn=ROLE))))

    assert needs_of(req) == {}


# ---------------------------------------------------------------- credentialSpecs (gMSA)


@pytest.mark.parametrize(("spec", "expected"), [
    (f"credentialspec:{CREDSPEC_SSM}", {"ssm": IF}),
    (f"credentialspec:{CREDSPEC_S3}", {"s3": GW}),
    (f"credentialspecdomainless:{CREDSPEC_SSM}", {"ssm": IF, "secretsmanager": IF}),
    (f"credentialspecdomainless:{CREDSPEC_S3}", {"s3": GW, "secretsmanager": IF}),
    (f"credentialspec:{SM_ARN}", {"secretsmanager": IF}),
], ids=["ssm", "s3", "domainless-ssm", "domainless-s3", "secretsmanager"])
def test_credential_specs_need_the_store_of_the_credspec_and_the_domainless_secret(
        spec: str, expected: dict[str, str]) -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, credential_specs=(spec,))))

    assert needs_of(req) == expected
    location = spec.split(":", 1)[1]
    assert all(why.startswith("container web: credentialSpecs") for n in req.needs for why in n.reasons)
    assert all(location in why for n in req.needs for why in n.reasons)
    assert not req.problems


def test_a_domainless_credspec_says_the_secret_is_assumed_in_this_region() -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, credential_specs=(f"credentialspecdomainless:{CREDSPEC_S3}",))))

    (why,) = reasons(req, "secretsmanager")
    assert "not read" in why and "assumed" in why


def test_a_credspec_parameter_of_another_region_is_a_cross_region_parameter_problem() -> None:
    other = CREDSPEC_SSM.replace(REGION, "eu-west-1")
    req = required_endpoints(task(ctr("web", INTERNAL, credential_specs=(f"credentialspec:{other}",))))

    assert needs_of(req) == {}
    problem = only_problem(req, "cross-region-parameter")
    assert problem.param("arn") == other and problem.summary.startswith("container web: credentialSpecs:")


def test_a_credential_spec_in_no_known_form_asks_for_nothing() -> None:
    req = required_endpoints(task(ctr("web", INTERNAL, credential_specs=("credentialspec:file://webapp.json",))))

    assert needs_of(req) == {}


# ---------------------------------------------------------------- ADOT collector and CloudWatch agent sidecars

ADOT = "public.ecr.aws/aws-observability/aws-otel-collector:v0.41.0"


@pytest.mark.parametrize(("command", "metrics"), [
    ((), {"logs": IF}),
    (("--config=/etc/ecs/ecs-default-config.yaml",), {"logs": IF}),
    (("--config=/etc/ecs/ecs-cloudwatch-xray.yaml",), {"logs": IF}),
    (("--config", "/etc/ecs/container-insights/otel-task-metrics-config.yaml"), {"logs": IF}),
    (("--config=/etc/ecs/ecs-amp.yaml",), {"aps-workspaces": IF}),
    (("--config=/etc/ecs/ecs-amp-xray-prometheus.yaml",), {"aps-workspaces": IF}),
    (("--config=/etc/ecs/ecs-xray.yaml",), {}),
], ids=["image-default", "ecs-default", "cloudwatch-xray", "task-metrics", "amp", "amp-xray-prometheus", "xray-only"])
def test_adot_collector_metrics_go_where_its_built_in_configuration_sends_them(
        command: tuple[str, ...], metrics: dict[str, str]) -> None:
    req = required_endpoints(task(ctr("otel", ADOT, command=command)))

    assert needs_of(req) == {"xray": IF} | metrics
    for service in metrics:
        (why,) = reasons(req, service)
        assert why.startswith(f"container otel: ADOT collector {ADOT} exports metrics")
        assert f"configuration {command[-1].removeprefix('--config=') if command else '/etc/otel-config.yaml'}" in why


@pytest.mark.parametrize(("container", "unread"), [
    (ctr("otel", ADOT, variable_names=("AOT_CONFIG_CONTENT",)), "AOT_CONFIG_CONTENT"),
    (ctr("otel", ADOT, command=("--config=s3://cfg.s3.us-east-1.amazonaws.com/otel.yaml",)), "s3://cfg"),
], ids=["aot-config-content", "custom-config-file"])
def test_an_adot_configuration_that_cannot_be_read_assumes_the_image_default(container: ContainerSpec,
                                                                            unread: str) -> None:
    req = required_endpoints(task(container))

    assert needs_of(req) == {"xray": IF, "logs": IF}
    (why,) = reasons(req, "logs")
    assert unread in why and "not read" in why and "assumed" in why


@pytest.mark.parametrize("image", ["amazon/cloudwatch-agent:latest", "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.3",
                                   ecr("cloudwatch-agent:latest")])
def test_a_cloudwatch_agent_sidecar_needs_monitoring_and_logs_saying_what_is_assumed(image: str) -> None:
    req = required_endpoints(task(ctr("cwagent", image, secrets=(SSM_ARN,), variable_names=("CW_CONFIG_CONTENT",))))

    assert {"monitoring": IF, "logs": IF}.items() <= needs_of(req).items()
    assert "xray" not in needs_of(req)
    for service in ("monitoring", "logs"):
        (why,) = reasons(req, service)
        assert why.startswith(f"container cwagent: CloudWatch agent sidecar {image}")
        assert "CW_CONFIG_CONTENT" in why and "not read" in why and "assumed" in why


def test_an_azure_registry_with_a_long_name_gets_a_prefix_ecr_accepts() -> None:
    host = "contosoproductionregistry2026westeurope.azurecr.io"
    req = required_endpoints(task(ctr("web", f"{host}/app:1")))

    problem = only_problem(req, "public-registry-image")
    assert problem.param("upstream") == host and problem.param("credentials") == "yes"
    prefix = problem.param("prefix")
    assert prefix.startswith("azure-contoso") and 2 <= len(prefix) <= 30 and not prefix.endswith("-")


# ---------------------------------------------------------------- EC2 awsvpc: the agent's calls are the host's


def _ec2_awsvpc(**kw: object) -> Workload:
    xray = ctr("xray-daemon", "public.ecr.aws/xray/aws-xray-daemon:3.3")
    app = ctr("web", log=LogConfig("awslogs", (("awslogs-group", "/ecs/web"),)), secrets=(SM_ARN, SSM_ARN),
              environment_files_s3=("arn:aws:s3:::cfg/web.env",))
    base = Workload(kind="service", arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/web", name="web",
                    region=REGION, account=ACCOUNT, launch_type="EC2", containers=(app, xray),
                    execute_command=ExecConfig(), subnet_ids=("subnet-task",), security_group_ids=("sg-task",),
                    instance_subnet_ids=("subnet-host",), instance_security_group_ids=("sg-host",))
    return replace(base, **kw)  # type: ignore[arg-type]


def test_an_ec2_awsvpc_task_is_judged_from_two_networks() -> None:
    [(task, task_needs), (hosts, host_needs)] = rules.placed_requirements(_ec2_awsvpc())

    assert (task.subnet_ids, task.security_group_ids) == (("subnet-task",), ("sg-task",))
    assert (hosts.subnet_ids, hosts.security_group_ids) == (("subnet-host",), ("sg-host",))
    assert {n.service for n in task_needs.needs} == {"ssmmessages", "xray"}
    assert {n.service for n in host_needs.needs} == {*ECR_SET, *ECS_SET, "logs", "secretsmanager", "ssm"}
    assert all(r.endswith("from its container instances") or "container instances" in r
               for n in host_needs.needs for r in n.reasons)
    # Together they are what the workload needs from one network, no more, no less.
    whole = required_endpoints(_ec2_awsvpc())
    assert {(n.service, n.type) for n in whole.needs} == \
        {(n.service, n.type) for r in (task_needs, host_needs) for n in r.needs}
    assert host_needs.notes == () and task_needs.notes == whole.notes


@pytest.mark.parametrize("change", [
    {"instance_subnet_ids": ()},  # the instances are not known: one network, as before
    {"launch_type": "FARGATE"},  # Fargate's agent shares the task's interface
    {"subnet_ids": ()},  # bridge or host networking: the subnets are the instances' already
])
def test_only_a_known_ec2_awsvpc_host_splits_the_needs(change: dict[str, object]) -> None:
    w = _ec2_awsvpc(**change)
    [(view, needs)] = rules.placed_requirements(w)
    assert view == w and needs == required_endpoints(w)


def test_each_agent_side_rule_is_the_ecs_agents_or_dockers_work() -> None:
    agent = {r.id for r in NEED_RULES if r.by_agent} | {r.id for r in PROBLEM_RULES if r.by_agent}
    assert agent == {
        "ecr-image", "ecr-image-fargate-legacy", "guardduty-runtime-agent", "ecs-container-instances", "awslogs",
        "s3-files", "secretsmanager-secret", "ssm-parameter", "log-secret-secretsmanager", "log-secret-ssm",
        "gmsa-credspec-ssm", "gmsa-credspec-s3", "gmsa-domainless-secret", "unreachable-image",
        "cross-region-secret"}
