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
import yaml

from vpce_remediator.samples import EVENTS_DIR, load_event, set_path
from vpce_remediator.triggers import DETAIL_TYPE, TRIGGERS

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
FILES = sorted(p.name for p in EVENTS_DIR.iterdir())
SAMPLES = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
FILE_NAME = re.compile(r"^(?P<service>[a-z][a-z0-9]*)-(?P<event>[A-Z][A-Za-z0-9]*)(?:-(?P<variant>[a-z0-9]+(?:-[a-z0-9]+)*))?"
                       r"\.json$")
OWN_ROLE_PATH = "detail.userIdentity.sessionContext.sessionIssuer.arn"


# --- template.yaml ---------------------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags (!Ref, !GetAtt, !Sub...) as their long form."""


def _cfn_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CfnLoader)


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


# --- a matcher for the subset of EventBridge pattern syntax the template uses -----------------------------------

_ABSENT = object()


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """EventBridge semantics: every key of the pattern must match; a list of conditions matches if any does."""
    for key, rule in pattern.items():
        value = event.get(key, _ABSENT) if isinstance(event, Mapping) else _ABSENT
        if isinstance(rule, Mapping):
            if not isinstance(value, Mapping) or not matches(rule, value):
                return False
        elif isinstance(rule, list):
            if not any(_condition(condition, value) for condition in rule):
                return False
        else:
            raise ValueError(f"pattern value for {key!r} must be a list or an object, got {rule!r}")
    return True


def _condition(condition: Any, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]  # an array in the event matches if any element does
    if isinstance(condition, Mapping):
        if len(condition) != 1:
            raise ValueError(f"one operator per condition, got {condition!r}")
        ((operator, argument),) = condition.items()
        if operator == "exists":
            return (value is not _ABSENT) == argument
        if operator == "anything-but":
            if isinstance(argument, Mapping):
                raise NotImplementedError(f"anything-but with {argument!r}")
            excluded = argument if isinstance(argument, list) else [argument]
            return value is not _ABSENT and any(_leaf(v) and v not in excluded for v in values)
        raise NotImplementedError(f"pattern operator {operator!r}")
    return value is not _ABSENT and any(_leaf(v) and type(v) is type(condition) and v == condition for v in values)


def _leaf(value: Any) -> bool:
    return not isinstance(value, Mapping | list)


def matched_by_template(event: Any) -> list[str]:
    return [name for name, pattern in PATTERNS.items() if matches(pattern, event)]


def is_failed(sample: str) -> bool:
    return "errorCode" in load_event(sample)["detail"]


FAILED_SAMPLES = [s for s in SAMPLES if is_failed(s)]
OK_SAMPLES = [s for s in SAMPLES if not is_failed(s)]


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


@pytest.mark.parametrize("excluded, expected", [
    ("arn:aws:iam::123456789012:role/Deployer", False),
    (["arn:aws:iam::123456789012:role/vpce-remediator", "arn:aws:iam::123456789012:role/Deployer"], False),
    ("arn:aws:iam::123456789012:role/vpce-remediator", True),
])
def test_matcher_anything_but(excluded: str | list[str], expected: bool) -> None:
    pattern = _template_pattern()
    set_path(pattern, OWN_ROLE_PATH, [{"anything-but": excluded}])
    assert matches(pattern, load_event("ecs-RunTask")) is expected


def test_matcher_anything_but_needs_the_field() -> None:
    pattern = _template_pattern()
    set_path(pattern, OWN_ROLE_PATH, [{"anything-but": "arn:aws:iam::123456789012:role/vpce-remediator"}])
    event = load_event("ecs-RunTask")
    del event["detail"]["userIdentity"]["sessionContext"]
    assert not matches(pattern, event)


def test_matcher_exists_true() -> None:
    pattern = {"detail": {"requestParameters": {"cluster": [{"exists": True}]}}}
    assert matches(pattern, load_event("ecs-RunTask"))
    assert not matches(pattern, load_event("ec2-CreateSubnet"))


def test_matcher_rejects_operators_it_does_not_know() -> None:
    with pytest.raises(NotImplementedError):
        matches({"source": [{"prefix": "aws."}]}, load_event("ecs-RunTask"))


def test_template_loader_reads_cloudformation_tags() -> None:
    function = load_template()["Resources"]["EventFunction"]["Properties"]
    assert function["Environment"]["Variables"]["MODE"] == {"Ref": "Mode"}
    assert load_template()["Outputs"]["EventFunctionArn"]["Value"] == {"Fn::GetAtt": ["EventFunction", "Arn"]}
