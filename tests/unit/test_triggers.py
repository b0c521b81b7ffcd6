"""parse_event: every sample in events/ becomes the right Trigger or Ignored; malformed input is one BadInput line.

No AWS here. Events come from events/ through `load_event`, changed with overrides, never retyped.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutation import value_paths

from vpce_remediator.errors import BadInput
from vpce_remediator.samples import EVENTS_DIR, load_event
from vpce_remediator.triggers import DETAIL_TYPE, TRIGGERS, Ignored, Trigger, parse_event, workload_key

SAMPLES = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
FAILED_SAMPLES = [s for s in SAMPLES if "errorCode" in load_event(s)["detail"]]
OWN_SAMPLES = [s for s in SAMPLES if s.endswith("-own")]  # the remediator's own calls coming back
OK_SAMPLES = [s for s in SAMPLES if s not in FAILED_SAMPLES and s not in OWN_SAMPLES]
OWN_ROLE = "arn:aws:iam::123456789012:role/vpce-remediator-FunctionRole-1A2B3C"

ACCOUNT = "123456789012"
REGION = "us-east-1"
DEPLOYER = "arn:aws:iam::123456789012:role/Deployer"
ECS, EC2 = "ecs.amazonaws.com", "ec2.amazonaws.com"
CLUSTER_ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
SUBNETS = ("subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012")
SGS = ("sg-0a1b2c3d4e5f60021",)
WEB_TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/prod/"
NET = "detail.requestParameters.networkConfiguration.awsvpcConfiguration"

# sample -> (eventSource, eventName, kind, the fields parse must fill); every other Trigger field stays at its default.
EXPECTED: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "ecs-RunTask": (ECS, "RunTask", "task", {
        "cluster": "prod", "task_definition": WEB_TD, "subnets": SUBNETS, "security_groups": SGS,
        "assign_public_ip": "DISABLED", "launch_type": "FARGATE", "platform_version": "1.4.0",
        "execute_command": False, "task_arns": (TASK_ARN + "9439e5a6c8695e3999b628359ae4aa43",),
    }),
    "ecs-StartTask": (ECS, "StartTask", "task", {
        "cluster": "prod", "task_definition": WEB_TD, "subnets": SUBNETS, "security_groups": SGS,
        "assign_public_ip": "DISABLED", "launch_type": "EC2", "execute_command": False,
        "task_arns": (TASK_ARN + "2ab428eff474558394c468962e9007de", TASK_ARN + "2c7541c7afaf5a02b8150a0f03d96aa2"),
        # The instances the record placed the tasks on: their network is where the agent pulls from.
        "container_instances": ("arn:aws:ecs:us-east-1:123456789012:container-instance/prod/8e7c32447b1d5fbc8f20bfc8de096496",
                                "arn:aws:ecs:us-east-1:123456789012:container-instance/prod/a9f3dfc23d165f0299ba4739204d42e6"),
    }),
    # Services carry only what finds them: resolve re-reads task definition and network from DescribeServices.
    "ecs-CreateService": (ECS, "CreateService", "service", {
        "cluster": CLUSTER_ARN, "service": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        "execute_command": False,
    }),
    "ecs-CreateService-ec2-exec": (ECS, "CreateService", "service", {
        "cluster": CLUSTER_ARN, "service": "arn:aws:ecs:us-east-1:123456789012:service/prod/api",
        "execute_command": True,
    }),
    "ecs-UpdateService": (ECS, "UpdateService", "service", {
        "cluster": CLUSTER_ARN, "service": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
        "execute_command": False,
    }),
    "ecs-CreateCluster": (ECS, "CreateCluster", "cluster", {"cluster": CLUSTER_ARN}),
    "ecs-CreateCluster-capacity-providers": (ECS, "CreateCluster", "cluster", {
        "cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/prod-ec2", "capacity_providers": ("prod-ec2-asg",),
    }),
    # Capacity providers attached after the cluster was made: the same row shape as CreateCluster.
    "ecs-PutClusterCapacityProviders": (ECS, "PutClusterCapacityProviders", "cluster", {
        "cluster": CLUSTER_ARN, "capacity_providers": ("prod-ec2-asg", "FARGATE"),
    }),
    "ec2-CreateSubnet": (EC2, "CreateSubnet", "subnet", {
        "subnet_id": "subnet-0a1b2c3d4e5f60013", "vpc_id": "vpc-0a1b2c3d4e5f60001",
    }),
    # Drift: every EC2 id the record names, whatever its XML-derived shape.
    "ec2-DeleteVpcEndpoints": (EC2, "DeleteVpcEndpoints", "drift", {"resource_ids": ("vpce-0a1b2c3d4e5f60041",)}),
    "ec2-ModifyVpcEndpoint": (EC2, "ModifyVpcEndpoint", "drift", {"resource_ids": (
        "sg-0a1b2c3d4e5f60031", "subnet-0a1b2c3d4e5f60012", "vpce-0a1b2c3d4e5f60041")}),
    "ec2-ModifyVpcAttribute": (EC2, "ModifyVpcAttribute", "drift", {"resource_ids": ("vpc-0a1b2c3d4e5f60001",)}),
    "ec2-RevokeSecurityGroupIngress": (EC2, "RevokeSecurityGroupIngress", "drift", {
        "resource_ids": ("sg-0a1b2c3d4e5f60031",)}),
    # The wrapped request: the group, never the rule's sgr- id.
    "ec2-ModifySecurityGroupRules": (EC2, "ModifySecurityGroupRules", "drift", {
        "resource_ids": ("sg-0a1b2c3d4e5f60031",)}),
    "ec2-AssociateRouteTable": (EC2, "AssociateRouteTable", "drift", {"resource_ids": (
        "rtb-0a1b2c3d4e5f60052", "rtbassoc-0a1b2c3d4e5f60061", "subnet-0a1b2c3d4e5f60012")}),
    "ec2-ReplaceRouteTableAssociation": (EC2, "ReplaceRouteTableAssociation", "drift", {"resource_ids": (
        "rtb-0a1b2c3d4e5f60052", "rtbassoc-0a1b2c3d4e5f60061", "rtbassoc-0a1b2c3d4e5f60062")}),
    "ec2-CreateRouteTable": (EC2, "CreateRouteTable", "drift", {"resource_ids": (
        "rtb-0a1b2c3d4e5f60052", "vpc-0a1b2c3d4e5f60001")}),
}


def expected_trigger(event: dict[str, Any], source: str, name: str, kind: str, **fields: Any) -> Trigger:
    return Trigger(event_id=event["detail"]["eventID"], source=source, name=name, kind=kind, account=ACCOUNT,
                   region=REGION, actor=DEPLOYER, **fields)


def without(event: dict[str, Any], *paths: str) -> dict[str, Any]:
    """The event with the keys at these dotted paths removed (load_event can only set keys)."""
    for path in paths:
        *parents, last = path.split(".")
        obj: Any = event
        for key in parents:
            obj = obj[key]
        del obj[last]
    return event


def bad_input(event: Any, *names: str) -> str:
    """parse_event raises BadInput, on one line, naming each of `names`; returns the message."""
    with pytest.raises(BadInput) as caught:
        parse_event(event)
    message = str(caught.value)
    assert "\n" not in message
    for name in names:
        assert name in message, f"{name!r} not named in {message!r}"
    return message


# --- the samples ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", OWN_SAMPLES)
def test_the_remediators_own_calls_are_ignored(sample: str) -> None:
    ignored = parse_event(load_event(sample), own_role_arn=OWN_ROLE)
    assert isinstance(ignored, Ignored)
    assert "own role" in ignored.reason or "not an event this tool handles" in ignored.reason


def test_every_sample_has_an_expectation() -> None:
    assert "ecs-RunTask-failed" in FAILED_SAMPLES
    assert set(EXPECTED) == set(OK_SAMPLES)
    assert {(source, name) for source, name, _, _ in EXPECTED.values()} == set(TRIGGERS)


@pytest.mark.parametrize("sample", OK_SAMPLES)
def test_sample_parses_into_its_trigger(sample: str) -> None:
    source, name, kind, fields = EXPECTED[sample]
    event = load_event(sample)
    trigger = parse_event(event)
    assert trigger == expected_trigger(event, source, name, kind, **fields)
    assert trigger.kind == TRIGGERS[(source, name)].kind


@pytest.mark.parametrize("sample", OK_SAMPLES)
def test_another_role_than_our_own_still_triggers(sample: str) -> None:
    trigger = parse_event(load_event(sample), own_role_arn="arn:aws:iam::123456789012:role/vpce-remediator")
    assert isinstance(trigger, Trigger)


def test_failed_call_is_ignored_naming_its_error_code() -> None:
    event = load_event("ecs-RunTask-failed")
    ignored = parse_event(event)
    assert isinstance(ignored, Ignored)
    assert "AccessDeniedException" in ignored.reason
    assert (ignored.name, ignored.event_id) == ("RunTask", event["detail"]["eventID"])


@pytest.mark.parametrize("sample", OK_SAMPLES)
def test_error_code_on_any_handled_event_is_ignored(sample: str) -> None:
    ignored = parse_event(load_event(sample, {"detail.errorCode": "ThrottlingException",
                                              "detail.errorMessage": "Rate exceeded"}))
    assert isinstance(ignored, Ignored)
    assert "ThrottlingException" in ignored.reason


# --- ignored with a reason ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample, event_name", [
    ("ecs-RunTask", "StopTask"),
    ("ecs-CreateService", "DeleteService"),
    ("ecs-CreateCluster", "DeleteCapacityProvider"),
    ("ec2-ModifySecurityGroupRules", "UpdateSecurityGroupRuleDescriptionsIngress"),
    ("ec2-CreateSubnet", "DeleteVpc"),
    ("ec2-CreateSubnet", "runTask"),
])
def test_unknown_event_name_is_ignored(sample: str, event_name: str) -> None:
    ignored = parse_event(load_event(sample, {"detail.eventName": event_name}))
    assert isinstance(ignored, Ignored)
    assert event_name in ignored.reason
    assert ignored.name == event_name


@pytest.mark.parametrize("sample, event_source", [
    ("ecs-RunTask", "ec2.amazonaws.com"),
    ("ecs-CreateService", "apprunner.amazonaws.com"),
    ("ecs-CreateCluster", "eks.amazonaws.com"),
    ("ecs-CreateCluster", "redshift.amazonaws.com"),
    ("ecs-CreateCluster", "cloudhsm.amazonaws.com"),
    ("ec2-CreateSubnet", "ecs.amazonaws.com"),
])
def test_known_event_name_from_another_service_is_ignored(sample: str, event_source: str) -> None:
    event = load_event(sample, {"detail.eventSource": event_source})
    ignored = parse_event(event)
    assert isinstance(ignored, Ignored)
    assert event_source in ignored.reason
    assert event["detail"]["eventName"] in ignored.reason


@pytest.mark.parametrize("detail_type", ["ECS Task State Change", "AWS Service Event via CloudTrail", ""])
def test_other_detail_type_is_ignored(detail_type: str) -> None:
    ignored = parse_event(load_event("ecs-RunTask", {"detail-type": detail_type}))
    assert isinstance(ignored, Ignored)
    assert repr(detail_type) in ignored.reason


def test_other_detail_type_is_ignored_whatever_its_detail() -> None:
    ignored = parse_event(load_event("ecs-RunTask", {"detail-type": "Scheduled Event", "detail": []}))
    assert isinstance(ignored, Ignored)
    assert "Scheduled Event" in ignored.reason


@pytest.mark.parametrize("sample", OK_SAMPLES)
def test_own_role_is_ignored(sample: str) -> None:
    event = load_event(sample)
    own = event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
    ignored = parse_event(event, own_role_arn=own)
    assert isinstance(ignored, Ignored)
    assert "own role" in ignored.reason
    assert (ignored.name, ignored.event_id) == (event["detail"]["eventName"], event["detail"]["eventID"])


def test_own_role_is_not_matched_on_the_session_arn() -> None:
    event = load_event("ecs-RunTask")
    assert isinstance(parse_event(event, own_role_arn=event["detail"]["userIdentity"]["arn"]), Trigger)


# --- fallbacks and other shapes -------------------------------------------------------------------------------


def test_create_subnet_in_the_wrapped_shape() -> None:
    event = load_event("ec2-CreateSubnet", {
        "detail.requestParameters.CreateSubnetRequest.VpcId": "vpc-0a1b2c3d4e5f60001",
        "detail.responseElements.CreateSubnetResponse.subnet.subnetId": "subnet-0a1b2c3d4e5f60013",
    })
    without(event, "detail.requestParameters.vpcId", "detail.responseElements.subnet")
    assert parse_event(event) == expected_trigger(event, *EXPECTED["ec2-CreateSubnet"][:3],
                                                  **EXPECTED["ec2-CreateSubnet"][3])


def test_create_subnet_wrapped_response_only() -> None:
    event = load_event("ec2-CreateSubnet", {
        "detail.requestParameters": None,
        "detail.responseElements.CreateSubnetResponse.subnet": {"subnetId": "subnet-0a1b2c3d4e5f60099",
                                                                "vpcId": "vpc-0a1b2c3d4e5f60009"},
    })
    without(event, "detail.responseElements.subnet")
    trigger = parse_event(event)
    assert isinstance(trigger, Trigger)
    assert (trigger.subnet_id, trigger.vpc_id) == ("subnet-0a1b2c3d4e5f60099", "vpc-0a1b2c3d4e5f60009")


def test_run_task_without_response_falls_back_to_the_request() -> None:
    event = load_event("ecs-RunTask", {"detail.responseElements": None})
    trigger = parse_event(event)
    assert isinstance(trigger, Trigger)
    assert (trigger.cluster, trigger.task_definition, trigger.launch_type) == ("prod", "web:3", "FARGATE")
    assert (trigger.subnets, trigger.task_arns, trigger.platform_version) == (SUBNETS, (), None)


def test_run_task_with_capacity_providers_and_lower_case_public_ip() -> None:
    event = load_event("ecs-RunTask", {
        "detail.requestParameters.capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1},
                                                              {"capacityProvider": "FARGATE", "base": 1}],
        f"{NET}.assignPublicIp": "enabled",
    })
    trigger = parse_event(event)
    assert isinstance(trigger, Trigger)
    assert trigger.capacity_providers == ("FARGATE_SPOT", "FARGATE")
    assert trigger.assign_public_ip == "ENABLED"


@pytest.mark.parametrize("sample, service", [("ecs-CreateService", "web"), ("ecs-UpdateService", "web")])
def test_service_without_response_falls_back_to_the_request(sample: str, service: str) -> None:
    trigger = parse_event(load_event(sample, {"detail.responseElements": None}))
    assert isinstance(trigger, Trigger)
    assert (trigger.kind, trigger.cluster, trigger.service) == ("service", "prod", service)


def test_create_cluster_without_response_falls_back_to_the_request() -> None:
    trigger = parse_event(load_event("ecs-CreateCluster-capacity-providers", {"detail.responseElements": None}))
    assert isinstance(trigger, Trigger)
    assert (trigger.cluster, trigger.capacity_providers) == ("prod-ec2", ("prod-ec2-asg",))


def test_put_cluster_capacity_providers_without_response_falls_back_to_the_request() -> None:
    trigger = parse_event(load_event("ecs-PutClusterCapacityProviders", {"detail.responseElements": None}))
    assert isinstance(trigger, Trigger)
    assert (trigger.kind, trigger.cluster, trigger.capacity_providers) == (
        "cluster", "prod", ("prod-ec2-asg", "FARGATE"))


def test_put_cluster_capacity_providers_detaching_them_all_leaves_none() -> None:
    trigger = parse_event(load_event("ecs-PutClusterCapacityProviders", {
        "detail.requestParameters.capacityProviders": [], "detail.requestParameters.defaultCapacityProviderStrategy": [],
        "detail.responseElements.cluster.capacityProviders": []}))
    assert isinstance(trigger, Trigger)
    assert (trigger.cluster, trigger.capacity_providers) == (CLUSTER_ARN, ())


def test_modify_security_group_rules_with_several_rules_names_the_group_once() -> None:
    rule = "detail.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule"
    one = load_event("ec2-ModifySecurityGroupRules")["detail"]["requestParameters"][
        "ModifySecurityGroupRulesRequest"]["SecurityGroupRule"]
    two = {**one, "SecurityGroupRuleId": "sgr-0a1b2c3d4e5f60072", "tag": 2}
    trigger = parse_event(load_event("ec2-ModifySecurityGroupRules", {rule: [one, two]}))
    assert isinstance(trigger, Trigger)
    assert trigger.resource_ids == ("sg-0a1b2c3d4e5f60031",)


def test_revoke_naming_its_group_by_name_only_keeps_the_name() -> None:
    """The EC2 API takes a group name instead of its id for the default VPC: the name is all there is."""
    event = without(load_event("ec2-RevokeSecurityGroupIngress", {"detail.requestParameters.groupName": "web"}),
                    "detail.requestParameters.groupId", "detail.responseElements.revokedSecurityGroupRuleSet")
    trigger = parse_event(event)
    assert isinstance(trigger, Trigger)
    assert (trigger.kind, trigger.resource_ids, trigger.group_name) == ("drift", (), "web")


def test_revoke_group_name_of_the_wrong_type() -> None:
    assert bad_input(load_event("ec2-RevokeSecurityGroupIngress", {"detail.requestParameters.groupName": ["web"]}),
                     "groupName")


def test_envelope_fields_stand_in_for_missing_record_fields() -> None:
    event = without(load_event("ecs-RunTask"), "detail.eventID", "detail.awsRegion", "detail.recipientAccountId",
                    "detail.userIdentity")
    trigger = parse_event(event)
    assert isinstance(trigger, Trigger)
    assert (trigger.event_id, trigger.region, trigger.account, trigger.actor) == (event["id"], REGION, ACCOUNT, None)


# --- malformed input: BadInput, one line, naming the key ------------------------------------------------------


@pytest.mark.parametrize("event", [[], ["detail-type"], "AWS API Call via CloudTrail", None, 42, 1.5, True])
def test_event_that_is_not_an_object(event: Any) -> None:
    assert bad_input(event, "object")


def test_missing_detail_type() -> None:
    assert bad_input(without(load_event("ecs-RunTask"), "detail-type"), "detail-type")


def test_detail_type_not_a_string() -> None:
    assert bad_input(load_event("ecs-RunTask", {"detail-type": [DETAIL_TYPE]}), "detail-type")


@pytest.mark.parametrize("detail", [[], "RunTask", None, 7])
def test_detail_not_an_object(detail: Any) -> None:
    assert bad_input(load_event("ecs-RunTask", {"detail": detail}), "detail")


def test_missing_detail() -> None:
    assert bad_input(without(load_event("ecs-RunTask"), "detail"), "detail")


@pytest.mark.parametrize("key", ["eventName", "eventSource"])
@pytest.mark.parametrize("value", [None, 42, ["RunTask"], {"name": "RunTask"}])
def test_event_name_or_source_not_a_string(key: str, value: Any) -> None:
    assert bad_input(load_event("ecs-RunTask", {f"detail.{key}": value}), key)


@pytest.mark.parametrize("key", ["subnets", "securityGroups"])
def test_subnets_or_security_groups_given_as_a_string(key: str) -> None:
    assert bad_input(load_event("ecs-RunTask", {f"{NET}.{key}": "subnet-0a1b2c3d4e5f60011"}), key)


def test_subnets_holding_something_else_than_strings() -> None:
    assert bad_input(load_event("ecs-StartTask", {f"{NET}.subnets": [{"id": "subnet-0a1b2c3d4e5f60011"}]}), "subnets")


@pytest.mark.parametrize("sample", OK_SAMPLES)
@pytest.mark.parametrize("key, value", [("requestParameters", []), ("requestParameters", "x"),
                                        ("responseElements", [1]), ("responseElements", True)])
def test_request_or_response_not_an_object(sample: str, key: str, value: Any) -> None:
    assert bad_input(load_event(sample, {f"detail.{key}": value}), key)


@pytest.mark.parametrize("sample", OK_SAMPLES)
def test_no_region(sample: str) -> None:
    assert bad_input(without(load_event(sample), "detail.awsRegion", "region"), "region")


@pytest.mark.parametrize("path, key", [
    ("detail.awsRegion", "awsRegion"),
    ("region", "region"),
    ("detail.eventID", "eventID"),
    ("detail.recipientAccountId", "recipientAccountId"),
])
def test_envelope_field_not_a_string(path: str, key: str) -> None:
    event = load_event("ecs-RunTask", {path: 123456789012}, fresh_id=False)
    if path == "region":
        without(event, "detail.awsRegion")
    assert bad_input(event, key)


@pytest.mark.parametrize("path, value, key", [
    ("detail.responseElements.tasks.0.launchType", 1, "launchType"),
    ("detail.requestParameters.enableExecuteCommand", "true", "enableExecuteCommand"),
    ("detail.requestParameters.cluster", {"name": "prod"}, "cluster"),
    ("detail.requestParameters.capacityProviderStrategy", [{"capacityProvider": 3}], "capacityProvider"),
])
def test_id_of_the_wrong_type(path: str, value: Any, key: str) -> None:
    assert bad_input(load_event("ecs-RunTask", {path: value}), key)


def test_create_subnet_id_of_the_wrong_type() -> None:
    assert bad_input(load_event("ec2-CreateSubnet", {"detail.responseElements.subnet.subnetId": ["subnet-1"]}), "subnetId")


# --- property: any junk gives Trigger, Ignored or BadInput, nothing else --------------------------------------

_DELETE = object()
_BASE = {name: load_event(name, fresh_id=False) for name in SAMPLES}


def _paths(value: Any) -> list[tuple[Any, ...]]:
    """Every path into a JSON value, the value itself included (the empty path)."""
    return [(), *value_paths(value)]


_PATHS = {name: _paths(event) for name, event in _BASE.items()}
_NAMES = sorted({str(key) for paths in _PATHS.values() for path in paths for key in path if isinstance(key, str)})

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=12) | st.sampled_from([DETAIL_TYPE, ECS, EC2, "RunTask", "CreateSubnet", REGION]))
json_keys = st.sampled_from(_NAMES) | st.text(max_size=8)
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(json_keys, children, max_size=4), max_leaves=12)


def _replace(event: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = event
    for key in path[:-1]:
        parent = parent[key]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return event


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    sample = draw(st.sampled_from(SAMPLES))
    event: Any = copy.deepcopy(_BASE[sample])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(event)  # earlier substitutions may have removed or replaced paths
        path = draw(st.sampled_from(paths))
        value = draw(json_values if not path else json_values | st.just(_DELETE))
        event = _replace(event, path, value)
    if isinstance(event, dict):
        event.update(draw(st.dictionaries(json_keys, json_values, max_size=3)))
    return event


_TUPLE_FIELDS = ("subnets", "security_groups", "capacity_providers", "task_arns", "resource_ids",
                 "container_instances")
_BOOL_FIELDS = ("execute_command", "service_connect")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=mutated_events(), own_role=st.none() | st.just(DEPLOYER) | st.text(max_size=8))
def test_any_junk_is_a_trigger_ignored_or_bad_input(event: Any, own_role: str | None) -> None:
    try:
        parsed = parse_event(event, own_role_arn=own_role)
    except BadInput as error:
        assert "\n" not in str(error)
        return
    assert isinstance(parsed, Trigger | Ignored)
    if isinstance(parsed, Trigger):
        assert (parsed.source, parsed.name) in TRIGGERS
        assert isinstance(parsed.region, str) and parsed.region
        for name, value in vars(parsed).items():
            if name in _TUPLE_FIELDS:
                assert isinstance(value, tuple) and all(isinstance(v, str) for v in value), name
            elif name in _BOOL_FIELDS:
                assert value is None or isinstance(value, bool), name
            else:
                assert value is None or isinstance(value, str), name


@pytest.mark.parametrize(("issuer", "ignored"), [
    ("arn:aws:iam::222222222222:role/vpce-remediator-member", True),  # the member role, any account
    ("arn:aws-cn:iam::222222222222:role/vpce-remediator-member", True),
    ("arn:aws:iam::222222222222:role/teams/vpce-remediator-member", False),  # another role of that name
    ("arn:aws:iam::222222222222:role/vpce-remediator-member-2", False),
    ("arn:aws:iam::222222222222:user/vpce-remediator-member", False),
])
def test_the_member_roles_own_calls_are_ignored_in_every_account(issuer: str, ignored: bool) -> None:
    event = load_event("ecs-RunTask", {"detail.userIdentity.sessionContext.sessionIssuer.arn": issuer})

    parsed = parse_event(event, member_role="vpce-remediator-member")

    assert isinstance(parsed, Ignored) is ignored
    assert isinstance(parse_event(event), Trigger)  # the single-account stack has no member role


def test_the_same_workload_in_two_accounts_is_two_evaluations() -> None:
    a = parse_event(load_event("ecs-RunTask", {"account": "111111111111", "detail.recipientAccountId": "111111111111"}))
    b = parse_event(load_event("ecs-RunTask", {"account": "222222222222", "detail.recipientAccountId": "222222222222"}))
    assert isinstance(a, Trigger) and isinstance(b, Trigger)
    assert workload_key(a) != workload_key(b)
