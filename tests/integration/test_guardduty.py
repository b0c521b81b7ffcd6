"""GuardDuty Runtime Monitoring on Fargate (issue 14): GuardDuty's agent sidecar is pulled from its
own ECR repository, so a private Fargate task needs the ECR endpoints even when its images come
from Docker Hub. Whether the agent is deployed is read (GuardDuty's detector, then the cluster's
GuardDutyManaged tag) only for such a workload; GuardDuty's own guardduty-data endpoint is never
created or judged. moto implements the detector's Features and ECS cluster tags: no stub.
"""
from __future__ import annotations

from typing import Any

from account import REGION, by_service, container, endpoints, private_vpc, register_task_definition, run, run_task_event

HUB_IMAGE = "docker.io/library/nginx:1.27"
AGENT = [{"Name": "RUNTIME_MONITORING", "Status": "ENABLED",
          "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"}]}]


def _estate(aws: Any, cluster_tags: list[dict[str, str]] | None = None,
            features: list[dict[str, Any]] | None = None, image: str = HUB_IMAGE) -> tuple[dict[str, Any], dict[str, Any]]:
    if features is not None:
        aws.client("guardduty", region_name=REGION).create_detector(Enable=True, Features=features)
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.60.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod", tags=cluster_tags or [])
    td = register_task_definition(ecs, "web", [container("web", image)])
    return net, run_task_event(net, td)


def test_a_docker_hub_task_under_guardduty_agent_management_gets_the_ecr_endpoints(aws: Any) -> None:
    net, event = _estate(aws, features=AGENT)

    r = run(event, "remediate")

    held = by_service(endpoints(aws, net["vpc"]))
    assert {"ecr.api", "ecr.dkr", "s3"} <= set(held)
    assert "guardduty-data" not in held  # GuardDuty's own, never the tool's
    reasons = {e.service.rsplit(".", 2)[-2] + "." + e.service.rsplit(".", 1)[-1]: e.reasons
               for e in r.outcome.required if "ecr.dkr" in e.service}
    assert any("GuardDuty Runtime Monitoring adds its security agent sidecar" in x for x in reasons["ecr.dkr"])
    assert any(f["problem"] == "public-registry-image" for f in r.result["findings"])  # nginx still is
    assert r.clients.calls["guardduty.GetDetector"] == 1


def test_a_cluster_tagged_out_of_guardduty_needs_no_ecr_endpoint(aws: Any) -> None:
    net, event = _estate(aws, cluster_tags=[{"key": "GuardDutyManaged", "value": "false"}], features=AGENT)

    run(event, "remediate")

    assert not {"ecr.api", "ecr.dkr"} & set(by_service(endpoints(aws, net["vpc"])))


def test_manual_management_deploys_the_agent_only_to_clusters_tagged_in(aws: Any) -> None:
    manual = [{"Name": "RUNTIME_MONITORING", "Status": "ENABLED",
               "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "DISABLED"}]}]
    net, event = _estate(aws, cluster_tags=[{"key": "GuardDutyManaged", "value": "true"}], features=manual)

    run(event, "remediate")

    assert {"ecr.api", "ecr.dkr", "s3"} <= set(by_service(endpoints(aws, net["vpc"])))


def test_without_guardduty_nothing_of_ecr_is_needed(aws: Any) -> None:
    net, event = _estate(aws)

    r = run(event, "remediate")

    assert not {"ecr.api", "ecr.dkr"} & set(by_service(endpoints(aws, net["vpc"])))
    assert r.clients.calls["guardduty.ListDetectors"] == 1 and not r.clients.calls["guardduty.GetDetector"]


def test_an_ecr_image_task_reads_nothing_of_guardduty(aws: Any) -> None:
    # Its own image needs the ECR endpoints already: GuardDuty's agent would change nothing.
    _, event = _estate(aws, features=AGENT, image=f"123456789012.dkr.ecr.{REGION}.amazonaws.com/web:1")

    r = run(event, "report")

    assert not [c for c in r.clients.calls if c.startswith("guardduty.")]
