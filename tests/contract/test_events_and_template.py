"""events/ <-> TRIGGERS <-> template.yaml: every sample is well named, every handled event has a sample, and the
EventBridge rule in the template lets exactly the right samples through.
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from iam_eval import load_template  # tools/ is on pytest's path

from vpce_remediator.samples import EVENTS_DIR, load_event
from vpce_remediator.triggers import DETAIL_TYPE, TRIGGERS

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
FILES = sorted(p.name for p in EVENTS_DIR.iterdir() if p.is_file())
SAMPLES = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
FILE_NAME = re.compile(r"^(?P<service>[a-z][a-z0-9]*)-(?P<event>[A-Z][A-Za-z0-9]*)(?:-(?P<variant>[a-z0-9]+(?:-[a-z0-9]+)*))?"
                       r"\.json$")
OWN_ROLE_PATH = "detail.userIdentity.sessionContext.sessionIssuer.arn"


# --- template.yaml ---------------------------------------------------------------------------------------------


# One reader of the template's short tags (!Ref, !GetAtt, !Sub...), shared with the IAM evaluator.


def rule_patterns(template: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every EventBridge pattern in the template: SAM EventBridgeRule events and plain AWS::Events::Rule."""
    patterns: dict[str, dict[str, Any]] = {}
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Events::Rule" and "EventPattern" in props:
            patterns[name] = props["EventPattern"]
        for event_name, event in (props.get("Events") or {}).items():
            if event.get("Type") == "EventBridgeRule":
                patterns[f"{name}.{event_name}"] = event["Properties"]["Pattern"]
    return patterns


PATTERNS = rule_patterns(load_template())


# --- EventBridge's matching, as moto routes put_events (its test_event_pattern API is a stub) -----------------

OWN_ROLE = "arn:aws:iam::123456789012:role/vpce-remediator-FunctionRole-1A2B3C"


def _resolve(node: Any) -> Any:
    """The pattern as deployed: the function role's ARN in place of its !GetAtt."""
    if node == {"Fn::GetAtt": ["FunctionRole", "Arn"]}:
        return OWN_ROLE
    if isinstance(node, dict):
        return {k: _resolve(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v) for v in node]
    return node


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    from moto.events.models import EventPattern

    return bool(EventPattern.load(json.dumps(_resolve(pattern))).matches_event(event))


def matched_by_template(event: Any) -> list[str]:
    return [name for name, pattern in PATTERNS.items() if matches(pattern, event)]


def is_failed(sample: str) -> bool:
    return "errorCode" in load_event(sample)["detail"]


FAILED_SAMPLES = [s for s in SAMPLES if is_failed(s)]
OWN_SAMPLES = [s for s in SAMPLES if s.endswith("-own")]
OK_SAMPLES = [s for s in SAMPLES if not is_failed(s) and s not in OWN_SAMPLES]


# --- events/ ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", FILES)
def test_sample_file_is_valid_json_named_after_its_event(file_name: str) -> None:
    named = FILE_NAME.match(file_name)
    assert named, f"{file_name} is not named <service>-<EventName>[-variant].json"
    event = json.loads((EVENTS_DIR / file_name).read_text())
    assert isinstance(event, dict)
    assert event["detail-type"] == DETAIL_TYPE
    assert event["source"] == f"aws.{named['service']}"
    assert event["detail"]["eventSource"] == f"{named['service']}.amazonaws.com"
    assert event["detail"]["eventName"] == named["event"]


def test_there_are_samples_of_both_kinds() -> None:
    assert OK_SAMPLES
    assert "ecs-RunTask-failed" in FAILED_SAMPLES


@pytest.mark.parametrize("source, name", sorted(TRIGGERS))
def test_every_handled_event_has_a_sample_the_rule_lets_through(source: str, name: str) -> None:
    samples = [s for s in OK_SAMPLES
               if (load_event(s)["detail"]["eventSource"], load_event(s)["detail"]["eventName"]) == (source, name)]
    assert samples, f"no successful sample in events/ for {source} {name}"
    for sample in samples:
        assert matched_by_template(load_event(sample)), f"template's rule drops {sample}"


def test_every_event_in_the_rule_is_handled() -> None:
    handled_sources = {source for source, _ in TRIGGERS}
    handled_names = {name for _, name in TRIGGERS}
    assert PATTERNS
    for name, pattern in PATTERNS.items():
        assert pattern["detail-type"] == [DETAIL_TYPE], name
        assert set(pattern["detail"]["eventSource"]) == handled_sources, name
        assert set(pattern["detail"]["eventName"]) == handled_names, name
        assert set(pattern["source"]) == {"aws." + s.removesuffix(".amazonaws.com") for s in handled_sources}, name


@pytest.mark.parametrize("sample", ["ecs-PutClusterCapacityProviders", "ec2-ModifySecurityGroupRules"])
def test_capacity_providers_put_and_rules_modified_are_routed(sample: str) -> None:
    """Once ignored (PutClusterCapacityProviders) or unseen (ModifySecurityGroupRules): the rule now
    lets them through, from anyone but the function's role, and only when they succeeded."""
    assert matched_by_template(load_event(sample)) == list(PATTERNS)
    assert matched_by_template(load_event(sample, {OWN_ROLE_PATH: OWN_ROLE})) == []
    assert matched_by_template(load_event(sample, {"detail.errorCode": "InvalidParameterException"})) == []
    assert matched_by_template(load_event(sample, {"source": "aws.eks"})) == []


README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_events_table_names_exactly_the_handled_events() -> None:
    text = README.read_text()
    section = re.search(r"^### Events it acts on\n(.*?)^\*\*", text, re.DOTALL | re.MULTILINE)
    assert section, "README: the 'Events it acts on' section is gone"
    rows = [line for line in section.group(1).splitlines() if line.startswith("| `")]
    named: list[tuple[str, str]] = []
    for row in rows:
        first = row.split(" | ")[0]
        source = re.search(r"\((ecs|ec2)\b", first)
        assert source, f"README events row names no source: {first}"
        named += [(f"{source.group(1)}.amazonaws.com", n) for n in re.findall(r"`([A-Za-z]+)`", first)]
    assert len(named) == len(set(named)), "an event is listed twice"
    assert sorted(named) == sorted(TRIGGERS)


@pytest.mark.parametrize("sample", OK_SAMPLES)
def test_successful_sample_matches_the_rule(sample: str) -> None:
    assert matched_by_template(load_event(sample)) == list(PATTERNS)


@pytest.mark.parametrize("sample", FAILED_SAMPLES)
def test_failed_sample_does_not_match_the_rule(sample: str) -> None:
    event = load_event(sample)
    assert matched_by_template(event) == []
    del event["detail"]["errorCode"]
    assert matched_by_template(event) == list(PATTERNS), "only errorCode should keep a failed call out"


# --- the matcher itself, so that the checks above can fail -------------------------------------------------------


def _template_pattern() -> dict[str, Any]:
    return copy.deepcopy(next(iter(PATTERNS.values())))


@pytest.mark.parametrize("override, expected", [
    ({}, True),
    ({"detail-type": "ECS Task State Change"}, False),
    ({"source": "aws.eks"}, False),
    ({"detail.eventName": "StopTask"}, False),
    ({"detail.eventSource": "apprunner.amazonaws.com"}, False),
    ({"detail.errorCode": "AccessDeniedException"}, False),
    ({"detail": "RunTask"}, False),
    ({"detail.eventName": ["StopTask", "RunTask"]}, True),
])
def test_matcher_on_the_template_pattern(override: dict[str, Any], expected: bool) -> None:
    assert matches(_template_pattern(), load_event("ecs-RunTask", override)) is expected


def test_the_remediators_own_calls_are_kept_out_and_iam_users_are_not() -> None:
    pattern = _template_pattern()
    own = load_event("ecs-RunTask", {OWN_ROLE_PATH: OWN_ROLE})
    other = load_event("ecs-RunTask")
    iam_user = load_event("ecs-RunTask")
    del iam_user["detail"]["userIdentity"]["sessionContext"]

    assert not matches(pattern, own)
    assert matches(pattern, other)
    assert matches(pattern, iam_user)  # anything-but alone would drop callers without a session issuer


def test_matcher_exists_true() -> None:
    pattern = {"detail": {"requestParameters": {"cluster": [{"exists": True}]}}}
    assert matches(pattern, load_event("ecs-RunTask"))
    assert not matches(pattern, load_event("ec2-CreateSubnet"))


def test_template_loader_reads_cloudformation_tags() -> None:
    function = load_template()["Resources"]["EventFunction"]["Properties"]
    assert function["Environment"]["Variables"]["MODE"] == {"Ref": "Mode"}
    assert load_template()["Outputs"]["EventFunctionArn"]["Value"] == {"Fn::GetAtt": ["EventFunction", "Arn"]}


@pytest.mark.parametrize("sample", OWN_SAMPLES)
def test_the_remediators_own_calls_do_not_match_the_rule(sample: str) -> None:
    event = load_event(sample)
    assert event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == OWN_ROLE
    assert matched_by_template(event) == []
