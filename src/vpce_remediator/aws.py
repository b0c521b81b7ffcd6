"""AWS clients, made when first used (never at import) and counted per operation.

Every door builds one `Clients` and hands it to the engine, so tests and the CLI can point all
clients at moto or a `moto_server` with one argument.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # the stubs are a dev dependency only: the Lambda package does not ship them
    from boto3.session import Session
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_config import ConfigServiceClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_efs import EFSClient
    from mypy_boto3_guardduty import GuardDutyClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_route53profiles import Route53ProfilesClient
    from mypy_boto3_securityhub import SecurityHubClient
    from mypy_boto3_service_quotas import ServiceQuotasClient
    from mypy_boto3_sts import STSClient

# Every read the engine can make, as IAM actions. The template grants exactly these plus the write
# actions in `act.PERMISSIONS` and the lock's in `lock.LOCK_ACTIONS` (tests/contract checks both ways).
READ_ACTIONS: tuple[str, ...] = (
    "ecs:DescribeTaskDefinition", "ecs:DescribeServices", "ecs:DescribeClusters",
    "ecs:DescribeCapacityProviders", "ecs:ListClusters", "ecs:ListServices",
    # running standalone tasks, found by scan, a drift or a new subnet (their ENIs give the subnet)
    "ecs:ListTasks", "ecs:DescribeTasks", "ec2:DescribeNetworkInterfaces",
    "autoscaling:DescribeAutoScalingGroups",
    "ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeSubnets", "ec2:DescribeRouteTables",
    # the ConnectivityType of the NAT gateways default routes name: read only when a route names one
    "ec2:DescribeNatGateways",
    "ec2:DescribeSecurityGroups", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcEndpointServices",
    # the private hosted zones a centralised endpoint is reached by, directly or through the VPC's
    # Route 53 Profile, and the records of those covering a service: read only before a create
    "route53:ListHostedZonesByVPC", "route53:ListHostedZones", "route53:ListResourceRecordSets",
    "route53profiles:ListProfileAssociations", "route53profiles:ListProfileResourceAssociations",
    # the applied quota of interface endpoints per VPC: read only when a create is planned
    "servicequotas:GetServiceQuota",
    # whether GuardDuty adds its agent (pulled from ECR) to Fargate tasks: read only for a workload
    # whose own images need no ECR endpoint, once per account and Region in a container
    "guardduty:ListDetectors", "guardduty:GetDetector",
    # the account's ECR pull-through cache rules: read only for an image that could be under one
    # (own ECR with a repository path, or a public registry a rule could mirror), once per container
    "ecr:DescribePullThroughCacheRules",
    # EFS volumes' mount targets and their groups, read only for workloads with EFS volumes; the EFS
    # API reference says DescribeMountTargetSecurityGroups also needs ec2:DescribeNetworkInterfaceAttribute
    # on the mount target's network interface
    "elasticfilesystem:DescribeMountTargets", "elasticfilesystem:DescribeMountTargetSecurityGroups",
    "ec2:DescribeNetworkInterfaceAttribute",
    # the VPC's DHCP option set (custom DNS servers): read only when a plan has something to say
    "ec2:DescribeDhcpOptions",
    # an EC2 launch type awsvpc workload's container instances (the agent pulls, fetches secrets and
    # ships awslogs from their subnets and groups): read only for such a workload, once per cluster
    "ecs:ListContainerInstances", "ecs:DescribeContainerInstances", "ec2:DescribeInstances",
)


class Clients:
    """A boto3 session's clients for one region, with a count of the calls they made."""

    def __init__(self, region: str | None = None, profile: str | None = None,
                 endpoint_url: str | None = None, session: Session | None = None, pace: bool = False) -> None:
        self.session: Session = session or _session(profile, region)
        self.region: str = region or self.session.region_name
        self.endpoint_url = endpoint_url
        self.calls: Counter[str] = Counter()
        # Pace endpoint writes against a real account (the Lambda, the CLI without --endpoint-url);
        # an emulator has no bucket to respect.
        self.pace = pace

    def client(self, name: str) -> Any:
        """Any service's client, counted (the properties below are the typed ones)."""
        from botocore.config import Config

        make: Callable[..., BaseClient] = self.session.client  # typed per literal service name; this is any
        # botocore's "standard" mode retries throttles (RequestLimitExceeded, ThrottlingException)
        # with exponential backoff and jitter; the queue behind the Lambda retries what is left.
        client = make(name, region_name=self.region, endpoint_url=self.endpoint_url,
                      config=Config(retries={"mode": "standard", "max_attempts": 6},
                                    user_agent_extra="vpce-remediator"))
        client.meta.events.register("before-call", self._count)
        if self.pace:
            client.meta.events.register("before-call", self._wait_for_token)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _wait_for_token(self, model: Any, **_: Any) -> None:
        """Reads keep to their bucket's refill (`pacing`): a concurrent scan would otherwise run
        a bucket dry in a second and spend the rest in botocore's backoff."""
        from vpce_remediator.pacing import read_pacer

        pacer = read_pacer(self._identity, self.region, model.service_model.service_name, model.name)
        if pacer is not None:
            pacer.take()

    @cached_property
    def _identity(self) -> str:
        # The buckets are the account's; the access key stands for it (one per account and process:
        # the member sessions are cached per account, the Lambda's role has one).
        credentials = self.session.get_credentials()
        return str(getattr(credentials, "access_key", "") or "")

    @cached_property
    def ec2(self) -> EC2Client:
        return cast("EC2Client", self.client("ec2"))

    @cached_property
    def ecs(self) -> ECSClient:
        return cast("ECSClient", self.client("ecs"))

    @cached_property
    def autoscaling(self) -> AutoScalingClient:
        return cast("AutoScalingClient", self.client("autoscaling"))

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return cast("DynamoDBClient", self.client("dynamodb"))

    @cached_property
    def route53(self) -> Route53Client:
        return cast("Route53Client", self.client("route53"))

    @cached_property
    def route53profiles(self) -> Route53ProfilesClient:
        client = self.client("route53profiles")
        # Registered first, so its False stops botocore's own handler from retrying such an answer.
        client.meta.events.register_first("needs-retry.route53profiles", _not_retried_unless_from_aws)
        return cast("Route53ProfilesClient", client)

    @cached_property
    def servicequotas(self) -> ServiceQuotasClient:
        return cast("ServiceQuotasClient", self.client("service-quotas"))

    @cached_property
    def ecr(self) -> ECRClient:
        return cast("ECRClient", self.client("ecr"))

    @cached_property
    def guardduty(self) -> GuardDutyClient:
        return cast("GuardDutyClient", self.client("guardduty"))

    @cached_property
    def efs(self) -> EFSClient:
        return cast("EFSClient", self.client("efs"))

    @cached_property
    def config(self) -> ConfigServiceClient:
        return cast("ConfigServiceClient", self.client("config"))

    @cached_property
    def securityhub(self) -> SecurityHubClient:
        return cast("SecurityHubClient", self.client("securityhub"))

    @cached_property
    def organizations(self) -> OrganizationsClient:
        return cast("OrganizationsClient", self.client("organizations"))

    @cached_property
    def sts(self) -> STSClient:
        """The central account's STS: it assumes the member roles (`accounts.MemberAccounts`)."""
        return cast("STSClient", self.client("sts"))

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def write_calls(self) -> list[str]:
        return sorted(op for op in self.calls
                      if op.split(".")[1].startswith(("Create", "Modify", "Authorize", "Delete", "Put")))


@lru_cache(maxsize=8)
def _session(profile: str | None, region: str | None) -> Session:
    """One session per profile and region per process: its loader caches the service models, which
    otherwise cost ~0.3 s of JSON parsing per client (warm Lambda invocations reuse it)."""
    import boto3  # deferred: importing boto3 is most of a cold start

    return boto3.session.Session(profile_name=profile, region_name=region)


def _not_retried_unless_from_aws(response: tuple[Any, Any] | None = None, **_: Any) -> bool | None:
    """False (do not retry) for a 5xx answer that carries no AWS request id: not AWS's but an
    emulator's or a proxy's error page (moto_server answers Route 53 Profiles, which it lacks, with
    an HTML 500), which a retry cannot change; botocore's "standard" mode would otherwise sleep
    through five backoffs (~1.5 s) per call. None leaves the decision to botocore."""
    if response is None:
        return None
    http = response[0]
    headers = {k.lower() for k in getattr(http, "headers", {}) or {}}
    if getattr(http, "status_code", 0) >= 500 and not headers & {"x-amzn-requestid", "x-amz-request-id"}:
        return False
    return None


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
