"""The AWS Config samples of events/config/ with a moto estate's ids, and what moto cannot answer.

moto gaps (moto 5.2.5, DESIGN.md §7), each answered for one operation only, everything else
reaching moto:
- `GetComplianceDetailsByConfigRule` is not implemented (NotImplementedError in process).
- `GetResourceConfigHistory` models no EC2 or ECS type: it answers ResourceNotDiscoveredException
  for every item this rule evaluates, so an item that is in the history is answered here.
- `PutEvaluations` works in test mode only (NotImplementedError otherwise): `TokensChecked` answers
  a call with any other token as AWS answers a token that is not the invocation's.
"""
from __future__ import annotations

import json
from typing import Any

from account import ECR, REGION, container, create_service, private_vpc, register_task_definition
from botocore.stub import Stubber

from vpce_remediator.aws import Clients
from vpce_remediator.samples import EVENTS_DIR

CONFIG_DIR = EVENTS_DIR / "config"
SAMPLES = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
# The ids the samples are written with (a moto account's own replace them).
SAMPLE_VPC = "vpc-0a1b2c3d4e5f60001"
SAMPLE_SUBNETS = ("subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012")
SAMPLE_SG = "sg-0a1b2c3d4e5f60021"
WEB = f"arn:aws:ecs:{REGION}:123456789012:service/prod/web"  # moto's account: the same ARN


def build_estate(aws: Any) -> dict[str, Any]:
    """A private VPC with a Fargate service (prod/web, the samples' service) and an EC2 one, no endpoints."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.20.0.0/16", "ab", dns_hostnames=True)
    ecs.create_cluster(clusterName="prod")
    net["web"] = create_service(ecs, "prod", "web", register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")]),
                                net, "FARGATE")
    net["api"] = create_service(ecs, "prod", "api", register_task_definition(
        ecs, "api", [container("api", f"{ECR}/api:1")], "EC2"), net, "EC2")
    assert net["web"] == WEB
    return net


def sample_text(name: str, net: dict[str, Any]) -> str:
    """events/config/<name>.json as text, the estate's ids in place of the sample's."""
    text = (CONFIG_DIR / f"{name}.json").read_text()
    for old, new in ((SAMPLE_VPC, net["vpc"]), (SAMPLE_SG, net["sg"]), *zip(SAMPLE_SUBNETS, net["subnets"], strict=False)):
        text = text.replace(old, new)
    return text


def sample(name: str, net: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(sample_text(name, net))
    return event


def invoking(event: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(event["invokingEvent"])
    return decoded


def handler_sessions() -> list[Any]:
    """The boto3 sessions the doors build their clients on: the Lambda's (no Region given) and the
    CLI's (the event's Region). Hooks registered on them reach every client made afterwards."""
    return [Clients().session, Clients(region=REGION).session]


class AnswerOnly(Stubber):
    """botocore's Stubber for one operation moto cannot answer; every other call goes to moto.

    `Stubber.activate` takes over every operation of one client. This one registers its checks
    (expected parameters, responses valid for the operation's output shape) on that operation
    alone, on the client's or the sessions' event hooks (so clients the code makes later use it too).
    """

    def __init__(self, service: str, operation: str, sessions: list[Any] | None = None) -> None:
        session = (sessions or handler_sessions())[0]
        super().__init__(session.client(service, region_name=REGION))
        self.emitters = [s.events for s in (sessions or handler_sessions())]
        self.names = (f"before-parameter-build.{service}.{operation}", f"before-call.{service}.{operation}")

    def activate(self) -> None:
        for events in self.emitters:
            events.register_first(self.names[0], self._assert_expected_params, unique_id=f"{id(self)}-params")
            events.register(self.names[1], self._get_response_handler, unique_id=f"{id(self)}-call")

    def deactivate(self) -> None:
        for events in self.emitters:
            events.unregister(self.names[0], self._assert_expected_params, unique_id=f"{id(self)}-params")
            events.unregister(self.names[1], self._get_response_handler, unique_id=f"{id(self)}-call")


class PutEvaluations:
    """Every PutEvaluations request the doors send (what AWS Config would record), as a hook."""

    def __init__(self, sessions: list[Any] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.sessions = sessions or handler_sessions()

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(params)

    def __enter__(self) -> PutEvaluations:
        for s in self.sessions:
            s.events.register("provide-client-params.config.PutEvaluations", self._record, unique_id=f"{id(self)}")
        return self

    def __exit__(self, *_: Any) -> None:
        for s in self.sessions:
            s.events.unregister("provide-client-params.config.PutEvaluations", self._record, unique_id=f"{id(self)}")

    @property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {e["ComplianceResourceId"]: e for r in self.requests for e in r["Evaluations"]}


class TokensChecked:
    """PutEvaluations with a real (not TESTMODE) token answered InvalidResultTokenException, as AWS
    answers a token that is not a current invocation's; test-mode calls still go to moto."""

    def __init__(self, sessions: list[Any] | None = None) -> None:
        self.sessions = sessions or handler_sessions()
        self.refused = 0

    def _answer(self, params: dict[str, Any], **_: Any) -> Any:
        if json.loads(params.get("body") or b"{}").get("TestMode"):  # the serialised request (JSON protocol)
            return None
        from botocore.awsrequest import AWSResponse

        self.refused += 1
        return AWSResponse("", 400, {}, None), {
            "Error": {"Code": "InvalidResultTokenException", "Message": "The resultToken provided is invalid"},
            "ResponseMetadata": {"HTTPStatusCode": 400}}

    def __enter__(self) -> TokensChecked:
        for s in self.sessions:
            s.events.register("before-call.config.PutEvaluations", self._answer, unique_id=f"{id(self)}")
        return self

    def __exit__(self, *_: Any) -> None:
        for s in self.sessions:
            s.events.unregister("before-call.config.PutEvaluations", self._answer, unique_id=f"{id(self)}")
