"""CrossRegionEndpoints in the template (issue 13 point 4): `vpce:AllowMultiRegion`, and creates of
another Region's service names, are granted only to a remediating stack with the setting on, and
only for the cross-Region capable services the rules can ask for."""
from __future__ import annotations

from typing import Any

from iam_eval import load_template

from rules.needs import PROBLEM_RULES
from rules.partitions import CROSS_REGION_SERVICES
from vpce_remediator.act import CROSS_REGION_PERMISSION


def _statements_granting(action: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, r in load_template()["Resources"].items():
        if r["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::Role"):
            continue
        docs = [r["Properties"]["PolicyDocument"]] if r["Type"] == "AWS::IAM::Policy" else \
            [p["PolicyDocument"] for p in r["Properties"].get("Policies", [])]
        for doc in docs:
            for s in doc["Statement"]:
                actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                if action in actions and s["Effect"] == "Allow":
                    out.append((name, s))
    return out


def test_allow_multi_region_is_granted_only_when_cross_region_endpoints_are_on() -> None:
    template = load_template()
    granting = _statements_granting(CROSS_REGION_PERMISSION)

    assert [name for name, _ in granting] == ["CrossRegionEndpointsPolicy"]
    assert template["Resources"]["CrossRegionEndpointsPolicy"]["Condition"] == "CreatesCrossRegionEndpoints"
    condition = template["Conditions"]["CreatesCrossRegionEndpoints"]["Fn::And"]
    assert {"Condition": "CanRemediate"} in condition
    assert {"Fn::Equals": [{"Ref": "CrossRegionEndpoints"}, "true"]} in condition
    assert template["Parameters"]["CrossRegionEndpoints"]["Default"] == "false"


def test_cross_region_creates_name_only_the_services_the_rules_send_across_regions() -> None:
    # Every cross-Region service a problem rule can name, and nothing else, in the default prefix.
    from rules.workload import ContainerSpec, ExecConfig, LogConfig, Workload

    w = Workload("task", "arn:aws:ecs:us-east-1:111122223333:task/c/1", "t", "us-east-1", "111122223333",
                 "FARGATE", containers=(
                     ContainerSpec("a", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/a:1"),
                     ContainerSpec("b", "x", log=LogConfig("awsfirelens", (("Name", "firehose"), ("region", "eu-west-1"))))),
                 execute_command=ExecConfig(kms_key_id="arn:aws:kms:eu-west-1:111122223333:key/k"),
                 platform_version="1.4.0")
    asked = {short for rule in PROBLEM_RULES for p in rule.match(w) for short, _ in p.cross_region}
    [(_, statement)] = [g for g in _statements_granting("ec2:CreateVpcEndpoint")
                        if g[0] == "CrossRegionEndpointsPolicy"]
    names = [n for n in statement["Condition"]["StringLike"]["ec2:VpceServiceName"] if isinstance(n, str)]

    assert asked <= CROSS_REGION_SERVICES
    assert {n.removeprefix("com.amazonaws.*.") for n in names} == asked
    assert statement["Condition"]["StringEquals"]["aws:RequestTag/managed-by"] == "vpce-remediator"
