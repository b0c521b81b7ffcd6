"""ECR pull-through cache rules (issue 14): an image under a cache prefix is an image of the
account's own ECR, served by the ECR endpoints, but ECR's first pull of each image through
interface endpoints needs a NAT route out (ECR guide, VPC endpoint considerations): a note says so.
The rules are read only for an image under a conventional cache prefix, once per container.

moto has no pull-through cache rules (DescribePullThroughCacheRules: NotImplementedError in process,
500 from moto_server; DESIGN.md §7): the call is played with `botocore.stub.Stubber` on the ECR
client, the rest of the account is moto's.
"""
from __future__ import annotations

from typing import Any

from account import REGION, container, private_vpc, register_task_definition, run_task_event
from botocore.stub import Stubber

from vpce_remediator.aws import Clients
from vpce_remediator.engine import Settings, evaluate_event

ACCOUNT = "123456789012"
CACHED = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/docker-hub/library/nginx:1.27"


def _event(aws: Any, image: str) -> dict[str, Any]:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.70.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    return run_task_event(net, register_task_definition(ecs, "web", [container("web", image)]))


def _stubbed(clients: Clients, rules: list[dict[str, str]]) -> Stubber:
    stub = Stubber(clients.ecr)
    stub.add_response("describe_pull_through_cache_rules", {"pullThroughCacheRules": rules}, {})
    stub.activate()
    return stub


def test_an_image_under_a_cache_rule_gets_the_ecr_endpoints_and_a_first_pull_note(aws: Any) -> None:
    event = _event(aws, CACHED)
    clients = Clients(region=REGION)
    stub = _stubbed(clients, [{"ecrRepositoryPrefix": "docker-hub", "upstreamRegistryUrl": "registry-1.docker.io"}])

    outcome = evaluate_event(event, clients, Settings(mode="report"))

    stub.assert_no_pending_responses()
    services = {r.service.split(f"{REGION}.", 1)[1] for r in outcome.required}
    assert {"ecr.api", "ecr.dkr", "s3"} <= services
    notes = outcome.notes
    assert any("pull-through cache rule docker-hub (upstream registry-1.docker.io)" in n and "NAT gateway" in n
               for n in notes), notes


def test_an_image_under_a_conventional_prefix_no_rule_has_gets_no_note(aws: Any) -> None:
    event = _event(aws, f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/quay/prometheus/node-exporter:1")
    clients = Clients(region=REGION)
    stub = _stubbed(clients, [{"ecrRepositoryPrefix": "docker-hub", "upstreamRegistryUrl": "registry-1.docker.io"}])

    outcome = evaluate_event(event, clients, Settings(mode="report"))

    stub.assert_no_pending_responses()
    assert "pull-through" not in str(outcome.to_dict())


def test_a_team_namespace_reads_no_rule(aws: Any) -> None:
    # team/web: a path, but not a conventional cache prefix: the cold event keeps its call budget.
    clients = Clients(region=REGION)

    evaluate_event(_event(aws, f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/web:1"), clients,
                   Settings(mode="report"))

    assert not clients.calls["ecr.DescribePullThroughCacheRules"]


def test_an_image_without_a_repository_path_reads_no_rule(aws: Any) -> None:
    clients = Clients(region=REGION)

    evaluate_event(_event(aws, f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:1"), clients, Settings(mode="report"))

    assert not clients.calls["ecr.DescribePullThroughCacheRules"]


def test_unreadable_rules_leave_the_image_a_plain_ecr_image(aws: Any) -> None:
    # In process moto raises NotImplementedError for the call: judged without the rules, no failure.
    clients = Clients(region=REGION)

    outcome = evaluate_event(_event(aws, CACHED), clients, Settings(mode="report"))

    assert clients.calls["ecr.DescribePullThroughCacheRules"] == 1
    assert {"ecr.api", "ecr.dkr", "s3"} <= {r.service.split(f"{REGION}.", 1)[1] for r in outcome.required}
