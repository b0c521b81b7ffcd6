"""The function role's IAM, evaluated (tools/iam_eval.py) over every write act.py sends.

moto evaluates no IAM conditions, so these tests evaluate the SAM-translated template's statements
themselves, per resource the Service Authorization Reference lists for each action, each with only
the condition keys the SAR lists for it. What they pin down, per stack mode x VPC mode tag x
ExcludedVpcIds:

- creates (security group, interface and gateway endpoints) are allowed exactly where
  engine.effective_mode says remediate: IAM gates them by the VPC's tag;
- ModifyVpcEndpoint and AuthorizeSecurityGroupIngress are gated by the owner tag on the endpoint
  or group, not by the VPC's mode tag (no key of theirs carries it): only the code skips them;
- in an excluded VPC every create is denied, and so is every write naming a subnet or security
  group; adding route tables to an endpoint and turning on its private DNS name nothing IAM can
  tie to the VPC, so only the code skips those.
"""
from __future__ import annotations

import copy

import iam_eval
import pytest
from iam_eval import (
    FOREIGN_ENDPOINT,
    FOREIGN_SG,
    MODE_TAG_SPELLINGS,
    OWNED_SG,
    REGION,
    allowed,
    call_shapes,
    conditions_hold,
    evaluate,
    mode_disagreements,
    resolved_template,
    role_statements,
    sar_condition_keys,
    world,
)

from rules.needs import NEED_RULES
from vpce_remediator.act import PERMISSIONS
from vpce_remediator.engine import MODES, Settings, effective_mode
from vpce_remediator.facts import MODE_TAG

SHAPES = call_shapes()
CREATES = ("create-security-group", "create-interface-endpoint", "create-gateway-endpoint")
OWNER_GATED = tuple(s for s in SHAPES if s not in CREATES)  # modify and authorize: the owner tag only
TAGS = [None, "remediate", "Remediate", " remediate", "REPORT", "ignore", "Ignore"]
EXCLUDED = "vpc-0e0e0e0e0e0e0e0e0"


def _tags(value: str | None) -> dict[str, str]:
    return {} if value is None else {MODE_TAG: value}


# ---------------------------------------------------------------- the evaluator, calibrated


def test_a_request_tag_condition_on_a_subnet_never_holds() -> None:
    """Calibration: the SAR gives CreateVpcEndpoint's subnet no aws:RequestTag, whatever the request tags."""
    statement = {"Effect": "Allow", "Action": "ec2:CreateVpcEndpoint", "Resource": "arn:aws:ec2:*:*:subnet/*",
                 "Condition": {"StringEquals": {"aws:RequestTag/managed-by": "vpce-remediator"}}}
    everything_else = {"Effect": "Allow", "Action": "ec2:CreateVpcEndpoint",
                       "NotResource": "arn:aws:ec2:*:*:subnet/*"}
    operation, params = SHAPES["create-interface-endpoint"]
    auths = iam_eval.authorizations(operation, params, world())
    subnets = [a for a in auths if a.resource_type == "subnet"]

    assert subnets and all("aws:RequestTag/managed-by" not in a.context for a in subnets)
    assert any("aws:RequestTag/managed-by" in a.context for a in auths)  # the request does carry the tag
    assert [evaluate([statement, everything_else], a.action, a.arn, a.context) for a in subnets] == [
        "implicit-deny"] * len(subnets)


@pytest.mark.parametrize(("operator", "context", "expected"), [
    ("StringEquals", None, False),
    ("StringNotEquals", None, True),  # negated operators hold when the key is absent
    ("StringEqualsIfExists", None, True),
    ("StringNotEqualsIgnoreCase", None, True),
    ("StringEqualsIgnoreCase", ["REMEDIATE"], True),
    ("StringEqualsIgnoreCase", [" remediate"], False),  # no trimming
    ("StringNotEqualsIgnoreCase", ["Report"], False),
    ("StringLike", ["remed*"], False),  # wildcards live in the policy, not the request
    ("ForAllValues:StringEquals", None, True),
    ("ForAnyValue:StringEquals", None, False),
])
def test_operators_follow_the_documented_missing_key_rules(operator: str, context: list[str] | None,
                                                           expected: bool) -> None:
    ctx = {} if context is None else {"ec2:ResourceTag/vpce-remediator:mode": context}
    condition = {operator: {"ec2:ResourceTag/vpce-remediator:mode": ["remediate", "report"]}}

    assert conditions_hold(condition, ctx) is expected


def test_null_arn_and_negated_lists() -> None:
    vpc = "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"
    assert conditions_hold({"Null": {"ec2:Vpc": "true"}}, {})
    assert not conditions_hold({"Null": {"ec2:Vpc": "true"}}, {"ec2:Vpc": [vpc]})
    assert conditions_hold({"ArnLike": {"ec2:Vpc": "arn:*:ec2:*:*:vpc/vpc-1"}}, {"ec2:Vpc": [vpc]})
    assert not conditions_hold({"ArnLike": {"ec2:Vpc": "arn:*:ec2:*:*:vpc/vpc-10"}}, {"ec2:Vpc": [vpc]})
    # several values under a negated operator: none may match (NOR)
    assert not conditions_hold({"StringNotEquals": {"k": ["a", "b"]}}, {"k": ["b"]})
    assert conditions_hold({"StringNotEquals": {"k": ["a", "b"]}}, {"k": ["c"]})


def test_every_key_a_statement_tests_is_one_the_sar_gives_its_resources() -> None:
    """A condition on a key the SAR does not list for any resource the statement covers never holds."""
    for mode in ("remediate", "opt-in"):
        for s in role_statements(resolved_template(mode, EXCLUDED)):
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            for op, block in s.get("Condition", {}).items():
                for key in block:
                    listed = {k for a in actions if a.startswith("ec2:")
                              for rt in iam_eval.sar_resource_types(a) for k in sar_condition_keys(a, rt)}
                    if actions[0].startswith("ec2:"):
                        assert iam_eval._key_listed(key, listed), (s["Sid"], op, key)


# ---------------------------------------------------------------- the template, per mode, tag, exclusion


def test_every_write_act_sends_is_evaluated() -> None:
    kinds = {a.action for op, p in SHAPES.values() for a in iam_eval.authorizations(op, p, world())}
    declared = {a for actions in PERMISSIONS.values() for a in actions}
    assert kinds == declared
    for name, (operation, params) in SHAPES.items():  # each action is asked for every resource the SAR requires
        auths = iam_eval.authorizations(operation, params, world())
        for action in {a.action for a in auths}:
            required = {rt for rt, req in iam_eval.sar_resource_types(action).items() if req}
            assert required <= {a.resource_type for a in auths if a.action == action}, (name, action)
    assert {"create-interface-endpoint", "create-gateway-endpoint", "create-security-group", "add-subnets",
            "add-route-tables", "add-security-group", "enable-private-dns", "authorize-ingress"} <= set(SHAPES)


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_report_mode_writes_nothing(shape: str, tag: str | None) -> None:
    assert not allowed([SHAPES[shape]], world(_tags(tag)), "report")
    assert not allowed([SHAPES[shape]], world(_tags(tag)), "report", EXCLUDED)


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("mode", ["remediate", "opt-in"])
@pytest.mark.parametrize("shape", CREATES)
def test_creates_are_allowed_exactly_where_the_code_remediates(shape: str, mode: str, tag: str | None) -> None:
    w = world(_tags(tag))
    code = effective_mode(Settings(mode=mode), w.vpc_id, _tags(tag)) == "remediate"

    assert allowed([SHAPES[shape]], w, mode) is code
    assert allowed([SHAPES[shape]], w, mode, f"vpc-0123456789abcdef0,{w.vpc_id}") is False


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("mode", ["remediate", "opt-in"])
@pytest.mark.parametrize("shape", OWNER_GATED)
def test_modify_and_authorize_are_gated_by_the_owner_tag_not_the_vpc_tag(shape: str, mode: str,
                                                                         tag: str | None) -> None:
    w = world(_tags(tag))
    assert allowed([SHAPES[shape]], w, mode)  # only the code holds these back in report/ignore VPCs
    assert allowed([SHAPES[shape]], w, mode, "vpc-0123456789abcdef0")  # another VPC excluded


@pytest.mark.parametrize("mode", ["remediate", "opt-in"])
def test_excluded_vpcs_deny_what_names_them(mode: str) -> None:
    w = world({MODE_TAG: "remediate"}, vpc_id=EXCLUDED)
    shapes = call_shapes(vpc_id=EXCLUDED)
    verdicts = {name: allowed([shape], w, mode, f"{EXCLUDED},vpc-0123456789abcdef0")
                for name, shape in shapes.items()}

    # IAM sees the VPC in the creates (ec2:VpcID) and in subnets and security groups (ec2:Vpc) ...
    assert {n for n, ok in verdicts.items() if not ok} == {
        "create-security-group", "create-security-group (authorize_security_group_ingress)",
        "create-interface-endpoint", "create-gateway-endpoint", "add-subnets", "add-security-group",
        "authorize-ingress"}
    # ... not in an endpoint or a route table: the code alone skips these there.
    assert {n for n, ok in verdicts.items() if ok} == {"add-route-tables", "enable-private-dns",
                                                       "set-endpoint-policy", "reset-endpoint-policy"}


def test_foreign_endpoints_and_groups_are_not_writable() -> None:
    for mode in ("remediate", "opt-in"):
        w = world({MODE_TAG: "remediate"})
        for name in ("add-subnets", "add-route-tables", "add-security-group", "enable-private-dns",
                     "set-endpoint-policy", "reset-endpoint-policy"):
            operation, params = copy.deepcopy(SHAPES[name])
            params["VpcEndpointId"] = FOREIGN_ENDPOINT
            assert not allowed([(operation, params)], w, mode), name
        operation, params = copy.deepcopy(SHAPES["authorize-ingress"])
        params["GroupId"] = FOREIGN_SG
        assert not allowed([(operation, params)], w, mode)
        operation, params = copy.deepcopy(SHAPES["create-interface-endpoint"])
        params["SecurityGroupIds"] = [FOREIGN_SG]
        assert not allowed([(operation, params)], w, mode)
        assert OWNED_SG in SHAPES["create-interface-endpoint"][1]["SecurityGroupIds"]


def test_untagged_creates_are_denied() -> None:
    for name in ("create-security-group", "create-interface-endpoint"):
        operation, params = copy.deepcopy(SHAPES[name])
        params.pop("TagSpecifications")
        assert not allowed([(operation, params)], world(), "remediate"), name


# ---------------------------------------------------------------- endpoint services = the rules table


def _table_services() -> set[str]:
    return {service for rule in NEED_RULES for service, _ in rule.services}


def test_the_template_names_exactly_the_services_the_rules_table_can_ask_for() -> None:
    statements = {s["Sid"]: s for s in role_statements(resolved_template("remediate"))}
    names = set(statements["CreateAmazonEndpointsTagged"]["Condition"]["StringEquals"]["ec2:VpceServiceName"])

    assert names == {f"com.amazonaws.{REGION}.{short}" for short in _table_services()}


@pytest.mark.parametrize("service", sorted(_table_services()))
def test_every_table_service_can_be_created(service: str) -> None:
    kind = "create-gateway-endpoint" if service == "s3" else "create-interface-endpoint"
    operation, params = call_shapes(service=service)[kind] if kind != "create-gateway-endpoint" \
        else SHAPES[kind]
    assert allowed([(operation, params)], world(), "remediate")


def test_a_service_outside_the_table_is_denied() -> None:
    for service in ("sns", "ec2", "execute-api"):
        operation, params = call_shapes(service=service)["create-interface-endpoint"]
        assert not allowed([(operation, params)], world(), "remediate"), service


# ---------------------------------------------------------------- one meaning for the mode tag


def test_code_and_iam_agree_on_every_mode_tag_spelling() -> None:
    assert mode_disagreements(MODE_TAG_SPELLINGS) == 0
    assert mode_disagreements(TAGS) == 0


def test_the_code_folds_ascii_case_and_strips_nothing() -> None:
    def mode(stack: str, value: str) -> str:
        return effective_mode(Settings(mode=stack), "vpc-1", {MODE_TAG: value})

    assert mode("opt-in", "Remediate") == mode("opt-in", "REMEDIATE") == "remediate"
    assert mode("opt-in", " remediate") == mode("opt-in", "remediate ") == "report"
    assert mode("remediate", "Ignore") == "ignore"
    assert mode("remediate", " report") == "remediate"
    assert mode("opt-in", "remedİate") == "report"  # non-ASCII is not folded
    assert set(MODES) == {"report", "remediate", "opt-in"}


# ---------------------------------------------------------------- the dead-letter alarm can notify


ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:{iam_eval.ACCOUNT}:alarm:{iam_eval.STACK}-dead-letters"
CLOUDWATCH = "cloudwatch.amazonaws.com"


def _from_alarm(account: str = iam_eval.ACCOUNT, alarm: str = ALARM_ARN) -> dict[str, list[str]]:
    return {"aws:SourceAccount": [account], "aws:SourceArn": [alarm]}


def test_the_alarm_topic_is_under_a_rotated_key_of_the_stacks_own() -> None:
    raw = iam_eval.load_template()["Resources"]
    resources = resolved_template("report")["Resources"]

    assert raw["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmKey", "Arn"]}
    assert resources["AlarmKey"]["Type"] == "AWS::KMS::Key"
    assert resources["AlarmKey"]["Properties"]["EnableKeyRotation"] is True
    alarm = resources["DeadLetterAlarm"]["Properties"]
    assert ALARM_ARN.endswith(":alarm:" + alarm["AlarmName"])
    assert alarm["AlarmActions"] == ["AlarmTopic-physical-id"]


def test_cloudwatch_may_use_the_key_for_this_alarm_only() -> None:
    key = resolved_template("report")["Resources"]["AlarmKey"]["Properties"]["KeyPolicy"]["Statement"]
    root = f"arn:aws:iam::{iam_eval.ACCOUNT}:root"

    for action in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert evaluate(key, action, "*", _from_alarm(), CLOUDWATCH) == "allow"
        assert evaluate(key, action, "*", _from_alarm(account="210987654321"), CLOUDWATCH) != "allow"
        assert evaluate(key, action, "*", _from_alarm(alarm=ALARM_ARN + "-other"), CLOUDWATCH) != "allow"
        assert evaluate(key, action, "*", {}, CLOUDWATCH) != "allow"
    assert evaluate(key, "kms:Encrypt", "*", _from_alarm(), CLOUDWATCH) != "allow"
    assert evaluate(key, "kms:PutKeyPolicy", "*", {}, root) == "allow"  # the account administers it


def test_cloudwatch_may_publish_to_the_topic_for_this_alarm_only() -> None:
    resources = resolved_template("report")["Resources"]
    policy = resources["AlarmTopicPolicy"]["Properties"]
    topic = "AlarmTopic-physical-id"
    statements = policy["PolicyDocument"]["Statement"]

    assert policy["Topics"] == [topic]
    assert evaluate(statements, "sns:Publish", topic, _from_alarm(), CLOUDWATCH) == "allow"
    assert evaluate(statements, "sns:Publish", topic, _from_alarm(account="210987654321"), CLOUDWATCH) != "allow"
    assert evaluate(statements, "sns:Publish", topic, _from_alarm(alarm=ALARM_ARN + "x"), CLOUDWATCH) != "allow"
    assert evaluate(statements, "sns:Subscribe", topic, _from_alarm(), CLOUDWATCH) != "allow"
