"""A participant of a shared VPC: it sees none of the owner's endpoints and may create none.

moto has no VPC sharing (RAM): the VPC is made by moto's account (123456789012) and the event
says it comes from another one, so the engine judges as a participant would: the VPC's OwnerId
is not its account. What a participant cannot see (the owner's endpoints) moto would show; the
engine must not depend on seeing them, and must write nothing either way.
"""
from __future__ import annotations

import shlex
from typing import Any

from account import ECR, REGION, container, endpoints, private_vpc, register_task_definition, run, run_task_event

PARTICIPANT = "111122223333"
OWNER = "123456789012"


def _participant_launch(aws: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "shared", "10.40.0.0/16", "ab")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1.4")])
    return net, run_task_event(net, td, **{"detail.recipientAccountId": PARTICIPANT, "account": PARTICIPANT})


def test_a_participant_in_remediate_mode_writes_nothing_and_tells_the_owner(aws: Any) -> None:
    net, event = _participant_launch(aws)

    result = run(event, "remediate")

    assert result.writes == [] and endpoints(aws, net["vpc"]) == []
    assert result.result["status"] == "non_compliant"
    (finding,) = [f for f in result.result["findings"] if f["problem"] == "shared-vpc-participant"]
    assert f"account {OWNER}" in finding["summary"] and f"account {PARTICIPANT}" in finding["summary"]
    assert "ecr.api" in finding["summary"] and "logs" in finding["summary"]
    # Read-only commands for the owner: nothing pasted from a participant's finding changes a VPC.
    assert finding["fix"] and all(shlex.split(c)[:3] in (["aws", "ec2", "describe-vpcs"],
                                                        ["aws", "ec2", "describe-vpc-endpoints"])
                                  for c in finding["fix"])
    assert {r["status"] for r in result.result["required"]} == {"not-visible"}
    # No create, no security group, and no endpoint finding the participant could not act on.
    assert not {f["problem"] for f in result.result["findings"]} & {"endpoint-missing", "gateway-endpoint-missing",
                                                                    "endpoint-security-group-missing"}


def test_the_owner_itself_is_not_a_participant(aws: Any) -> None:
    net, event = _participant_launch(aws)
    event["detail"]["recipientAccountId"] = event["account"] = OWNER

    result = run(event, "remediate")

    assert result.result["status"] == "remediated" and len(endpoints(aws, net["vpc"])) == 4
