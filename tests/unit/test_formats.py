"""The AWS formats a value must have before it goes into a fix command (rules/formats.py)."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from rules import formats as f

GOOD: list[tuple[Callable[[str], bool], str]] = [
    (f.is_region, "us-east-1"), (f.is_region, "us-gov-west-1"), (f.is_region, "cn-northwest-1"),
    (f.is_region, "eu-isoe-west-1"), (f.is_region, "ap-southeast-5"),
    (f.is_arn, "arn:aws:iam::123456789012:role/vpce"), (f.is_arn, "arn:aws-cn:s3:::bucket/*"),
    (f.is_secret_arn, "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf"),
    (f.is_secret_arn, "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf:password::"),
    (f.is_parameter_arn, "arn:aws:ssm:us-west-2:123456789012:parameter/prod/db"),
    (f.is_parameter_name, "/prod/db/password"), (f.is_parameter_name, "plain_name.v2"),
    (f.is_secret_name, "ecr-pullthroughcache/docker-hub"), (f.is_log_group, "/ecs/web#1"),
    (f.is_log_group, "/aws/ecs/containerinsights/prod/performance"),
    (f.is_ecr_repository, "dotnet/runtime"), (f.is_ecr_repository, "a_b.c-d/e"),
    (f.is_ecr_prefix, "docker-hub"), (f.is_upstream_registry, "registry-1.docker.io"),
    (f.is_endpoint_service, "com.amazonaws.us-east-1.ecr.dkr"), (f.is_endpoint_service, "cn.com.amazonaws.cn-north-1.s3"),
    (f.is_iam_action, "ec2:CreateVpcEndpoint"), (f.is_cidr, "10.0.0.0/16"), (f.is_account, "123456789012"),
    (f.ec2_id("vpc"), "vpc-0a1b2c3d"), (f.ec2_id("subnet"), "subnet-0123456789abcdef0"),
    (f.ec2_id("vpce"), "vpce-0123456789abcdef0"), (f.ec2_id("sg"), "sg-0ddd4444"), (f.ec2_id("rtb"), "rtb-0ccc3333"),
    (f.is_stream_name, "checkout-logs_v2.1"), (f.is_bucket_name, "checkout-logs.eu"), (f.is_bucket_name, "abc"),
    (f.is_ecr_prefix, "azure-acme"), (f.is_upstream_registry, "acme.azurecr.io"),
]
BAD: list[tuple[Callable[[str], bool], str]] = [
    (f.is_region, "us-east-1;id"), (f.is_region, "us-east-1\n"), (f.is_region, "US-EAST-1"), (f.is_region, ""),
    (f.is_arn, "arn:aws:iam::1:role/x y"), (f.is_arn, "arn:aws:iam"), (f.is_arn, "nope:aws:iam::123456789012:x"),
    (f.is_secret_arn, "arn:aws:secretsmanager:us-west-2:123456789012:secret:db'$(id)"),
    (f.is_secret_arn, "arn:aws:ssm:us-west-2:123456789012:parameter/db"),
    (f.is_parameter_name, "/prod db"), (f.is_parameter_name, "/a//b"), (f.is_parameter_name, "x" * 2049),
    (f.is_log_group, "/ecs/app;$(touch${IFS}PWNED)"), (f.is_log_group, "x" * 513), (f.is_log_group, ""),
    (f.is_ecr_repository, "Dotnet/runtime"), (f.is_ecr_repository, "a"), (f.is_ecr_repository, "a//b"),
    (f.is_ecr_repository, "a-/b"), (f.is_ecr_prefix, "x" * 31), (f.is_upstream_registry, "https://quay.io"),
    (f.is_upstream_registry, "quay.io/x"), (f.is_cidr, "10.0.0.0"), (f.is_cidr, "10.0.0.0/33"),
    (f.is_account, "12345678901"), (f.ec2_id("vpc"), "vpc-1"), (f.ec2_id("vpc"), "subnet-0a1b2c3d"),
    (f.ec2_id("sg"), "sg-0A1B2C3D"), (f.ec2_id("vpce"), "vpce-ecr.api"), (f.ec2_id("subnet"), "subnet-0a1b2c3d\n"),
    (f.is_stream_name, "logs;$(id)"), (f.is_stream_name, "x" * 129), (f.is_stream_name, ""),
    (f.is_bucket_name, "Checkout-Logs"), (f.is_bucket_name, "ab"), (f.is_bucket_name, "a..b"),
    (f.is_bucket_name, "-logs"), (f.is_bucket_name, "logs'$(id)"),
]


@pytest.mark.parametrize("check, value", GOOD)
def test_values_in_the_aws_format_pass(check: Callable[[str], bool], value: str) -> None:
    assert check(value)


@pytest.mark.parametrize("check, value", BAD)
def test_values_outside_the_aws_format_fail(check: Callable[[str], bool], value: str) -> None:
    assert not check(value)


def test_a_value_is_quoted_safely_in_a_message() -> None:
    assert f.safe_repr("a\nb'c") == "\"a\\nb'c\""
    assert f.safe_repr("x" * 100, limit=5) == "'xxxxx'..."
