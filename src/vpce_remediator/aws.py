"""AWS clients, made when first used (never at import) and counted per operation.

Every door builds one `Clients` and hands it to the engine, so tests and the CLI can point all
clients at moto or a `moto_server` with one argument.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

# Every read the engine can make, as IAM actions. The template grants exactly these plus the write
# actions in `act.PERMISSIONS` and the lock's in `lock.LOCK_ACTIONS` (tests/contract checks both ways).
READ_ACTIONS: tuple[str, ...] = (
    "ecs:DescribeTaskDefinition", "ecs:DescribeServices", "ecs:DescribeClusters",
    "ecs:DescribeCapacityProviders", "ecs:ListClusters", "ecs:ListServices",
    # running standalone tasks, found by scan, a drift or a new subnet (their ENIs give the subnet)
    "ecs:ListTasks", "ecs:DescribeTasks", "ec2:DescribeNetworkInterfaces",
    "autoscaling:DescribeAutoScalingGroups",
    "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeSubnets", "ec2:DescribeRouteTables",
    "ec2:DescribeSecurityGroups", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcEndpointServices",
)

# botocore's "standard" mode retries throttles (RequestLimitExceeded, ThrottlingException) with
# exponential backoff and jitter; the queue behind the Lambda retries what is left.
_RETRIES = {"mode": "standard", "max_attempts": 6}


class Clients:
    """A boto3 session's clients for one region, with a count of the calls they made."""

    def __init__(self, region: str | None = None, profile: str | None = None,
                 endpoint_url: str | None = None, session: Any = None, pace: bool = False) -> None:
        self.session = session or _session(profile, region)
        self.region = region or self.session.region_name
        self.endpoint_url = endpoint_url
        self.calls: Counter[str] = Counter()
        # Pace endpoint writes against a real account (the Lambda, the CLI without --endpoint-url);
        # an emulator has no bucket to respect.
        self.pace = pace

    def client(self, name: str) -> Any:
        from botocore.config import Config

        client = self.session.client(name, region_name=self.region, endpoint_url=self.endpoint_url,
                                     config=Config(retries=_RETRIES, user_agent_extra="vpce-remediator"))
        client.meta.events.register("before-call", self._count)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    @cached_property
    def ec2(self) -> Any:
        return self.client("ec2")

    @cached_property
    def ecs(self) -> Any:
        return self.client("ecs")

    @cached_property
    def autoscaling(self) -> Any:
        return self.client("autoscaling")

    @cached_property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @cached_property
    def config(self) -> Any:
        return self.client("config")

    @cached_property
    def securityhub(self) -> Any:
        return self.client("securityhub")

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def write_calls(self) -> list[str]:
        return sorted(op for op in self.calls
                      if op.split(".")[1].startswith(("Create", "Modify", "Authorize", "Delete", "Put")))


@lru_cache(maxsize=8)
def _session(profile: str | None, region: str | None) -> Any:
    """One session per profile and region per process: its loader caches the service models, which
    otherwise cost ~0.3 s of JSON parsing per client (warm Lambda invocations reuse it)."""
    import boto3  # deferred: importing boto3 is most of a cold start

    return boto3.session.Session(profile_name=profile, region_name=region)


def paginate(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Pages of a Describe/List call, through botocore's paginator when it has one."""
    if client.can_paginate(operation):
        yield from client.get_paginator(operation).paginate(**kwargs)
    else:
        yield getattr(client, operation)(**kwargs)


def error_code(e: ClientError) -> str:
    """The AWS error code of a refused call (`InvalidGroup.Duplicate`), or "" when it carries none."""
    return str(e.response.get("Error", {}).get("Code", ""))


def error_message(e: ClientError) -> str:
    """AWS's message for a refused call, as it sent it ("" when it sent none)."""
    return str(e.response.get("Error", {}).get("Message", ""))
