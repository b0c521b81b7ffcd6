"""GuardDuty Runtime Monitoring on Fargate (ECS): when GuardDuty deploys its security agent into a
workload's tasks, and where the agent's image comes from. Pure data and one decision.

The agent is a sidecar container GuardDuty adds to new Fargate tasks (Linux, platform 1.4.0 or
later) of the clusters it monitors; its image is pulled from GuardDuty's own ECR repository in
the task's Region, with layers in S3, so a private task needs the ECR endpoints even when its own
images are elsewhere (ECS developer guide, "Turning on Runtime Monitoring for Amazon ECS",
prerequisites: "Connecting to the Amazon ECR repository"). GuardDuty creates and manages its own
`guardduty-data` endpoint and its security group for the agent's events: not the tool's to create
or judge.

Which clusters: with automated agent management on for Fargate (the detector's RUNTIME_MONITORING
feature, additional configuration ECS_FARGATE_AGENT_MANAGEMENT), every cluster but those tagged
`GuardDutyManaged=false`; with it off, only those tagged `GuardDutyManaged=true` (GuardDuty user
guide, "Managing automated security agent for AWS Fargate (Amazon ECS only)" and the manual
variant). Runtime Monitoring off: none.
"""
from __future__ import annotations

from typing import Final

MANAGED_TAG: Final = "GuardDutyManaged"
AGENT_REPOSITORY: Final = "aws-guardduty-agent-fargate"

# Region -> the account whose ECR repository `aws-guardduty-agent-fargate` hosts the Fargate agent.
# Source: GuardDuty user guide, "ECR Repository for GuardDuty agent on AWS Fargate (Amazon ECS
# only)" (docs.aws.amazon.com/guardduty/latest/ug/ecs-runtime-agent-ecr-image-uri.html), as of
# 2026-12-03. A Region not listed: the agent's repository is not known, so no endpoint policy
# statement names it (the need for the ECR endpoints stands).
AGENT_REGISTRY_ACCOUNTS: Final[dict[str, str]] = {
    "af-south-1": "197869348890",
    "ap-east-1": "258348409381",
    "ap-east-2": "259886477082",
    "ap-northeast-1": "533107202818",
    "ap-northeast-2": "914738172881",
    "ap-northeast-3": "273192626886",
    "ap-south-1": "251508486986",
    "ap-south-2": "950823858135",
    "ap-southeast-1": "174946120834",
    "ap-southeast-2": "005257825471",
    "ap-southeast-3": "510637619217",
    "ap-southeast-4": "251357961535",
    "ap-southeast-5": "156041399949",
    "ap-southeast-7": "054037130133",
    "ca-central-1": "354763396469",
    "ca-west-1": "339712888787",
    "eu-central-1": "323658145986",
    "eu-central-2": "529164026651",
    "eu-north-1": "591436053604",
    "eu-south-1": "266869475730",
    "eu-south-2": "919611009337",
    "eu-west-1": "694911143906",
    "eu-west-2": "892757235363",
    "eu-west-3": "665651866788",
    "il-central-1": "870907303882",
    "me-central-1": "000014521398",
    "me-south-1": "536382113932",
    "mx-central-1": "311141559934",
    "sa-east-1": "758426053663",
    "us-east-1": "593207742271",
    "us-east-2": "307168627858",
    "us-west-1": "684579721401",
    "us-west-2": "733349766148",
}


def agent_repository_arn(partition: str, region: str) -> str | None:
    """The ARN of GuardDuty's agent repository in `region`; None where AWS lists none."""
    account = AGENT_REGISTRY_ACCOUNTS.get(region)
    return f"arn:{partition}:ecr:{region}:{account}:repository/{AGENT_REPOSITORY}" if account else None


def agent_deployed(runtime_monitoring: bool, automated: bool, cluster_tag: str | None) -> bool:
    """Whether GuardDuty adds its agent to the cluster's new Fargate tasks: Runtime Monitoring on,
    and automated management on unless the cluster opts out, or off unless the cluster opts in.
    The tag's value is compared as GuardDuty documents it, `true` / `false`."""
    if not runtime_monitoring:
        return False
    tag = (cluster_tag or "").strip().lower()
    return tag != "false" if automated else tag == "true"
