"""org/member.yaml and org/central.yaml held to template.yaml and to the code (issue 15).

- The three EventBridge patterns (template.yaml's rule, the member's rule, the central bus's rule)
  are one pattern, the remediator's own role aside.
- The member role grants exactly what the engine does in a member account: the reads
  (`aws.READ_ACTIONS`), in remediating modes the writes (`act.PERMISSIONS`) and the organization
  lookup, and the reporting both doors do as that account (`report.EVENT_REPORT_ACTIONS`,
  `report.CONFIG_REPORT_ACTIONS`); never the lock actions, whose table is central. Its EC2 writes are
  template.yaml's statements, equal after resolution for every Mode, ExcludedVpcIds and
  CrossRegionEndpoints, so tests/contract/test_iam.py's proofs hold for it too.
- The trust policy, the central engine's AssumeRole and the bus policy, evaluated
  (tools/iam_eval.py): each admits what it must and refuses the nearest thing it must not.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from iam_eval import ACCOUNT, REGION, evaluate, load_template, resolve, role_statements, stack_parameters, translate

from vpce_remediator.accounts import MemberRole
from vpce_remediator.act import PERMISSIONS
from vpce_remediator.aws import READ_ACTIONS
from vpce_remediator.engine import ORGANIZATION_ACTIONS
from vpce_remediator.lock import LOCK_ACTIONS
from vpce_remediator.report import CONFIG_REPORT_ACTIONS, EVENT_REPORT_ACTIONS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE, MEMBER, CENTRAL = ROOT / "template.yaml", ROOT / "org" / "member.yaml", ROOT / "org" / "central.yaml"
ORG = "o-a1b2c3d4e5"
OTHER_ORG = "o-zzzzzzzzzz"
CENTRAL_ACCOUNT, MEMBER_ACCOUNT = "111122223333", "444455556666"
ENGINE_ROLE = f"arn:aws:iam::{CENTRAL_ACCOUNT}:role/vpce-remediator-org-EngineRole-1A2B3C"
BUS = f"arn:aws:events:{REGION}:{CENTRAL_ACCOUNT}:event-bus/vpce-remediator-org-events"
MEMBER_PARAMETERS = {"CentralEventBusArn": BUS, "CentralRoleArn": ENGINE_ROLE, "OrganizationId": ORG}
CENTRAL_PARAMETERS = {"OrganizationId": ORG, "OrganizationalUnitIds": "ou-ab12-cdefgh34"}

# What the engine does as a member account, whatever the mode: read, and report as that account
# (Security Hub findings and Config evaluations must come from the account they are for).
MEMBER_READS = set(READ_ACTIONS) | set(EVENT_REPORT_ACTIONS) | set(CONFIG_REPORT_ACTIONS)
# ... and in remediating modes only: the writes, and the organization read of EndpointPolicy auto.
MEMBER_WRITES = {a for actions in PERMISSIONS.values() for a in actions} | set(ORGANIZATION_ACTIONS)
ENGINE_SERVICES = ("ec2:", "ecs:", "autoscaling:", "dynamodb:", "config:", "securityhub:", "organizations:",
                   "route53:", "route53profiles:", "servicequotas:", "guardduty:", "ecr:", "elasticfilesystem:", "vpce:")
WRITE_POLICIES = ("RemediatePolicy", "ExcludedVpcsPolicy", "CrossRegionEndpointsPolicy", "OrganizationLookupPolicy")


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def member(**overrides: str) -> dict[str, Any]:
    """org/member.yaml as CloudFormation would resolve it for these parameters."""
    parameters = stack_parameters(load_template(MEMBER), MEMBER_PARAMETERS | overrides)
    return resolve(load_template(MEMBER), parameters)


def central(**overrides: str) -> dict[str, Any]:
    raw = load_template(CENTRAL)
    parameters = stack_parameters(raw, CENTRAL_PARAMETERS | overrides)
    return resolve(translate(parameters, CENTRAL), parameters)


def single_account(**overrides: str) -> dict[str, Any]:
    parameters = stack_parameters(load_template(TEMPLATE), overrides)
    return resolve(translate(parameters), parameters)


# ---------------------------------------------------------------- one event pattern


OWN_ROLE = {"Fn::GetAtt": ["FunctionRole", "Arn"]}


def _pattern(path: Path, rule: str, own_role: str) -> Any:
    """The rule's pattern with its own role's ARN written as template.yaml's."""
    text = json.dumps(load_template(path)["Resources"][rule]["Properties"]["EventPattern"])
    return json.loads(text.replace(json.dumps({"Fn::GetAtt": [own_role, "Arn"]}), json.dumps(OWN_ROLE)))


def test_member_and_central_rules_filter_exactly_as_template_yamls_rule() -> None:
    single = load_template(TEMPLATE)["Resources"]["EventRule"]["Properties"]["EventPattern"]
    assert OWN_ROLE in json.loads(json.dumps(single))["detail"]["$or"][0]["userIdentity"]["sessionContext"][
        "sessionIssuer"]["arn"][0]["anything-but"]  # the substitution below has something to substitute

    assert _pattern(MEMBER, "ForwardRule", "MemberRole") == single
    assert _pattern(CENTRAL, "EventRule", "EngineRole") == single


def test_the_member_rule_drops_the_engines_own_calls_made_as_the_member_role() -> None:
    """In a member the engine acts as the member role: that is the session issuer to keep out."""
    rule = member()["Resources"]["ForwardRule"]["Properties"]
    first = rule["EventPattern"]["detail"]["$or"][0]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"][0]

    assert first == {"anything-but": [f"arn:aws:fake:{REGION}:{ACCOUNT}:MemberRole/Arn"]}
    assert rule["EventBusName"] == "default"


def test_the_member_rule_sends_to_the_central_bus_through_a_role_that_may_only_put_there() -> None:
    resources = member()["Resources"]
    (target,) = resources["ForwardRule"]["Properties"]["Targets"]
    assert target["Arn"] == BUS
    assert target["RoleArn"] == f"arn:aws:fake:{REGION}:{ACCOUNT}:ForwarderRole/Arn"
    forwarder = resources["ForwarderRole"]["Properties"]
    (trust,) = forwarder["AssumeRolePolicyDocument"]["Statement"]
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{resources['ForwardRule']['Properties']['Name']}"
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnEquals": {"aws:SourceArn": rule_arn}}
    (policy,) = forwarder["Policies"]
    assert [(s["Action"], s["Resource"]) for s in policy["PolicyDocument"]["Statement"]] == [("events:PutEvents", BUS)]


# ---------------------------------------------------------------- the member role: grants


@pytest.mark.parametrize("mode", ["report", "remediate", "opt-in"])
def test_the_member_role_grants_what_the_engine_does_in_a_member_and_no_lock_action(mode: str) -> None:
    granted = {a for s in role_statements(member(Mode=mode), "MemberRole") for a in _actions(s)}
    engine = {a for a in granted if a.startswith(ENGINE_SERVICES)}

    assert engine == (MEMBER_READS if mode == "report" else MEMBER_READS | MEMBER_WRITES)
    assert engine == granted  # nothing else (no sts:, no logs:, no sqs:)
    assert not granted & set(LOCK_ACTIONS)  # the state table is the central account's
    assert {"securityhub:BatchImportFindings", "config:PutEvaluations"} <= granted


def test_the_member_role_grants_allow_multi_region_only_for_cross_region_endpoints() -> None:
    def grants(**overrides: str) -> set[str]:
        return {a for s in role_statements(member(**overrides), "MemberRole") for a in _actions(s)}

    assert "vpce:AllowMultiRegion" in grants(Mode="remediate", CrossRegionEndpoints="true")
    assert "vpce:AllowMultiRegion" not in grants(Mode="remediate")
    assert "vpce:AllowMultiRegion" not in grants(Mode="report", CrossRegionEndpoints="true")


def _attached(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The statements of the AWS::IAM::Policy resources attached to a role (the write policies)."""
    return sorted((s for r in template["Resources"].values()
                   if r["Type"] == "AWS::IAM::Policy" and f"{role}-physical-id" in r["Properties"]["Roles"]
                   for s in r["Properties"]["PolicyDocument"]["Statement"]), key=lambda s: json.dumps(s, sort_keys=True))


@pytest.mark.parametrize("mode", ["report", "remediate", "opt-in"])
@pytest.mark.parametrize("excluded", ["", "vpc-0123456789abcdef0,vpc-0fedcba9876543210"])
@pytest.mark.parametrize("cross_region", ["false", "true"])
def test_the_member_role_writes_are_template_yamls_statements(mode: str, excluded: str, cross_region: str) -> None:
    settings = {"Mode": mode, "ExcludedVpcIds": excluded, "CrossRegionEndpoints": cross_region}
    ours = _attached(member(**settings), "MemberRole")

    assert ours == _attached(single_account(**settings), "FunctionRole")
    assert bool(ours) is (mode != "report")  # a report stack's member role holds no write at all


def test_the_member_role_reads_are_template_yamls_reads() -> None:
    def reads(template: dict[str, Any], role: str) -> dict[str, list[str]]:
        return {s["Sid"]: sorted(_actions(s)) for s in role_statements(template, role)
                if s["Sid"] in ("ReadWorkloads", "ReadNetwork", "ReadEfsMountTargets")}

    ours = reads(member(), "MemberRole")
    assert ours == reads(single_account(), "FunctionRole") == reads(single_account(), "ConfigFunctionRole")
    assert len(ours) == 3


def test_the_member_role_reports_only_as_its_own_account() -> None:
    by_sid = {s["Sid"]: s for s in role_statements(member(), "MemberRole")}

    assert by_sid["ImportFindings"]["Resource"] == \
        f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert by_sid["ReadOwnFindings"]["Resource"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default"
    assert by_sid["RefreshConfigRule"]["Resource"] == f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/*"
    assert by_sid["ReadOwnRuleEvaluations"]["Resource"] == f"arn:aws:config:{REGION}:{ACCOUNT}:config-rule/*"
    # PutEvaluations and GetResourceConfigHistory have no resource type: "*" is the only resource.
    assert by_sid["ReportToConfig"]["Resource"] == "*"
    assert all(s.get("Sid") and "*" not in "".join(_actions(s))
               for s in role_statements(member(Mode="remediate", CrossRegionEndpoints="true"), "MemberRole"))


# ---------------------------------------------------------------- the member role: trust


def _trust(**overrides: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = member(**overrides)["Resources"]["MemberRole"]["Properties"][
        "AssumeRolePolicyDocument"]["Statement"]
    return statements


def _assume(statements: list[dict[str, Any]], principal: str, org: str | None,
            external_id: str | None = None) -> str:
    context = {"aws:PrincipalArn": [principal], "aws:PrincipalAccount": [principal.split(":")[4]]}
    if org:
        context["aws:PrincipalOrgID"] = [org]
    if external_id is not None:
        context["sts:ExternalId"] = [external_id]
    role = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/vpce-remediator-member-{REGION}"
    return evaluate(statements, "sts:AssumeRole", role, context, principal=principal)


def test_the_member_role_trusts_only_the_central_engine_and_only_in_the_organization() -> None:
    trust = _trust()
    (statement,) = trust
    assert statement["Principal"] == {"AWS": ENGINE_ROLE}
    assert statement["Action"] == "sts:AssumeRole"

    assert _assume(trust, ENGINE_ROLE, ORG) == "allow"
    assert _assume(trust, ENGINE_ROLE, OTHER_ORG) == "implicit-deny"  # the central account left the organization
    assert _assume(trust, ENGINE_ROLE, None) == "implicit-deny"
    another_role = f"arn:aws:iam::{CENTRAL_ACCOUNT}:role/someone-else"
    assert _assume(trust, another_role, ORG) == "implicit-deny"
    assert _assume(trust, f"arn:aws:iam::{CENTRAL_ACCOUNT}:root", ORG) == "implicit-deny"


def test_an_external_id_is_required_once_set_and_only_then() -> None:
    trust = _trust(ExternalId="vpce-remediator-7f3a")

    assert _assume(trust, ENGINE_ROLE, ORG, "vpce-remediator-7f3a") == "allow"
    assert _assume(trust, ENGINE_ROLE, ORG) == "implicit-deny"
    assert _assume(trust, ENGINE_ROLE, ORG, "guess") == "implicit-deny"
    assert _assume(trust, ENGINE_ROLE, OTHER_ORG, "vpce-remediator-7f3a") == "implicit-deny"
    assert "sts:ExternalId" not in json.dumps(_trust())


# ---------------------------------------------------------------- the central engine's role


def _engine_statements(**overrides: str) -> list[dict[str, Any]]:
    return role_statements(central(**overrides), "EngineRole")


def test_the_central_role_assumes_member_roles_and_holds_no_estate_permission() -> None:
    statements = _engine_statements()
    granted = {a for s in statements for a in _actions(s)}

    assert "sts:AssumeRole" in granted
    assert not [a for a in granted if a.startswith(("ec2:", "ecs:", "autoscaling:", "elasticfilesystem:",
                                                    "route53", "guardduty:", "ecr:", "servicequotas:",
                                                    "config:", "securityhub:", "organizations:", "vpce:"))]
    assert {a for a in granted if a.startswith("dynamodb:")} == set(LOCK_ACTIONS)  # the central state table
    assert all(s.get("Sid") and "*" not in "".join(_actions(s)) for s in statements)


def test_the_central_role_assumes_only_this_regions_member_role_in_the_organization() -> None:
    statements = _engine_statements()
    role = MemberRole(f"vpce-remediator-member-{REGION}")  # what accounts.MemberAccounts assumes

    def decision(arn: str, org: str | None) -> str:
        return evaluate(statements, "sts:AssumeRole", arn, {"aws:ResourceOrgID": [org]} if org else {})

    assert decision(role.arn(MEMBER_ACCOUNT, REGION), ORG) == "allow"
    assert decision(role.arn(MEMBER_ACCOUNT, REGION), OTHER_ORG) == "implicit-deny"
    assert decision(role.arn(MEMBER_ACCOUNT, REGION), None) == "implicit-deny"
    assert decision(MemberRole("vpce-remediator-member-eu-west-1").arn(MEMBER_ACCOUNT, REGION), ORG) == "implicit-deny"
    assert decision(f"arn:aws:iam::{MEMBER_ACCOUNT}:role/OrganizationAccountAccessRole", ORG) == "implicit-deny"


def test_the_engine_is_told_the_role_name_the_member_stack_creates() -> None:
    for name in ("vpce-remediator-member", "platform-vpce"):
        resources = central(MemberRoleName=name)["Resources"]
        created = member(MemberRoleName=name)["Resources"]["MemberRole"]["Properties"]["RoleName"]
        for function in ("EventFunction", "ConfigFunction"):
            env = resources[function]["Properties"]["Environment"]["Variables"]
            assert env["MEMBER_ROLE_NAME"] == created == f"{name}-{REGION}"
            assert env["MEMBER_EXTERNAL_ID"] == ""
            assert resources[function]["Properties"]["Role"] == f"arn:aws:fake:{REGION}:{ACCOUNT}:EngineRole/Arn"


# ---------------------------------------------------------------- the central bus


def test_the_bus_admits_only_the_organizations_forwarder_roles() -> None:
    resources = central()["Resources"]
    policy = resources["EventBusPolicy"]["Properties"]
    path = load_template(MEMBER)["Resources"]["ForwarderRole"]["Properties"]["Path"]
    bus = f"arn:aws:fake:{REGION}:{ACCOUNT}:EventBus/Arn"
    assert policy["Statement"]["Resource"] == bus
    assert policy["Statement"]["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": ORG}

    def put(principal: str, org: str | None) -> str:
        context = {"aws:PrincipalArn": [principal]} | ({"aws:PrincipalOrgID": [org]} if org else {})
        return evaluate([policy["Statement"]], "events:PutEvents", bus, context, principal=principal)

    forwarder = f"arn:aws:iam::{MEMBER_ACCOUNT}:role{path}StackSet-vpce-ForwarderRole-9Z8Y"
    assert put(forwarder, ORG) == "allow"
    assert put(forwarder, OTHER_ORG) == "implicit-deny"
    assert put(forwarder, None) == "implicit-deny"
    assert put(f"arn:aws:iam::{MEMBER_ACCOUNT}:role/developer", ORG) == "implicit-deny"


def test_the_central_queue_admits_only_the_central_rule_and_the_alarm_watches_the_dlq() -> None:
    raw = load_template(CENTRAL)["Resources"]
    (statement,) = raw["QueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["EventRule", "Arn"]}}}
    assert raw["EventRule"]["Properties"]["EventBusName"] == {"Fn::GetAtt": ["EventBus", "Name"]}
    alarm = raw["DeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]


# ---------------------------------------------------------------- the StackSet


def test_the_stack_set_deploys_the_member_template_into_this_region_of_the_given_ous() -> None:
    raw = load_template(CENTRAL)["Resources"]["MemberStackSet"]["Properties"]

    assert raw["PermissionModel"] == "SERVICE_MANAGED"
    assert raw["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert raw["StackInstancesGroup"] == [{"DeploymentTargets": {"OrganizationalUnitIds": {"Ref": "OrganizationalUnitIds"}},
                                           "Regions": [{"Ref": "AWS::Region"}]}]
    assert (CENTRAL.parent / raw["TemplateURL"]).resolve() == MEMBER
    assert "CAPABILITY_NAMED_IAM" in raw["Capabilities"]  # the member role is named


def test_the_stack_set_passes_every_member_parameter_as_central_accepts_it() -> None:
    """A value central.yaml accepts is never one member.yaml refuses (a failed stack in every account)."""
    passed = {p["ParameterKey"]: p["ParameterValue"]
              for p in load_template(CENTRAL)["Resources"]["MemberStackSet"]["Properties"]["Parameters"]}
    member_parameters, central_parameters = load_template(MEMBER)["Parameters"], load_template(CENTRAL)["Parameters"]

    assert set(passed) == set(member_parameters)
    assert passed["CentralEventBusArn"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert passed["CentralRoleArn"] == {"Fn::GetAtt": ["EngineRole", "Arn"]}
    for key, value in passed.items():
        if key not in ("CentralEventBusArn", "CentralRoleArn"):
            assert value == {"Ref": key}
            constraints = ("Type", "Default", "AllowedValues", "AllowedPattern", "NoEcho")
            assert {c: central_parameters[key].get(c) for c in constraints} == \
                {c: member_parameters[key].get(c) for c in constraints}, key


def test_the_stack_set_parameters_resolve_to_values_the_member_template_accepts() -> None:
    (stack_set,) = [r for r in central(Mode="opt-in", ExcludedVpcIds="vpc-0123456789abcdef0")["Resources"].values()
                    if r["Type"] == "AWS::CloudFormation::StackSet"]
    passed = {p["ParameterKey"]: p["ParameterValue"] for p in stack_set["Properties"]["Parameters"]}
    # the fake ARNs iam_eval gives a GetAtt are not the real ones: put real-shaped ones in
    passed |= {"CentralEventBusArn": BUS, "CentralRoleArn": ENGINE_ROLE}

    assert stack_parameters(load_template(MEMBER), passed)["Mode"] == "opt-in"
    assert stack_set["Properties"]["StackInstancesGroup"][0]["Regions"] == [REGION]


# ---------------------------------------------------------------- the engine's functions and settings


def test_central_functions_run_the_same_code_with_the_same_settings_plus_the_member_role() -> None:
    single, ours = load_template(TEMPLATE)["Resources"], load_template(CENTRAL)["Resources"]
    for function in ("EventFunction", "ConfigFunction"):
        mine, theirs = ours[function]["Properties"], single[function]["Properties"]
        assert mine["Handler"] == theirs["Handler"]
        assert (CENTRAL.parent / mine["CodeUri"]).resolve() == (ROOT / theirs["CodeUri"]).resolve()
        assert set(mine["Environment"]["Variables"]) == set(theirs["Environment"]["Variables"]) | {
            "MEMBER_ROLE_NAME", "MEMBER_EXTERNAL_ID", "ORGANIZATION_ID"}
        # Settings.from_env reads it: the endpoint policies' organization, never looked up per account.
        assert mine["Environment"]["Variables"]["ORGANIZATION_ID"] == {"Ref": "OrganizationId"}
        assert mine["Environment"]["Variables"]["SECURITY_HUB"] == theirs["Environment"]["Variables"]["SECURITY_HUB"]
    assert (ROOT / "src" / "handlers" / "queue.py").is_file() and (ROOT / "src" / "handlers" / "config.py").is_file()


def test_central_takes_every_setting_of_template_yaml_as_template_yaml_does() -> None:
    single, ours = load_template(TEMPLATE)["Parameters"], load_template(CENTRAL)["Parameters"]

    assert set(single) <= set(ours)
    for name, spec in single.items():
        assert {k: v for k, v in ours[name].items() if k != "Description"} == \
            {k: v for k, v in spec.items() if k != "Description"}, name


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("OrganizationId", "o-a1b2c3d4e5", "o-SHORT"),
    ("OrganizationalUnitIds", "ou-ab12-cdefgh34,r-ab12", "ou-ab12-cdefgh34, ou-cd34-efghij56"),
    ("ExternalId", "", "x"),
    ("MemberRoleName", "vpce-remediator-member", "/path/role"),
    ("ConfigExcludedAccounts", "111122223333,444455556666", "1111"),
])
def test_central_parameters_refuse_malformed_values(name: str, good: str, bad: str) -> None:
    pattern = load_template(CENTRAL)["Parameters"][name]["AllowedPattern"]
    assert re.fullmatch(pattern, good)
    assert not re.fullmatch(pattern, bad)


# ---------------------------------------------------------------- the organization Config rule


def test_the_organization_config_rule_is_template_yamls_rule_on_the_central_function() -> None:
    raw = load_template(CENTRAL)["Resources"]
    rule = raw["OrganizationConfigRule"]
    single = load_template(TEMPLATE)["Resources"]["ConfigRule"]["Properties"]
    metadata = rule["Properties"]["OrganizationCustomRuleMetadata"]

    assert metadata["LambdaFunctionArn"] == {"Fn::GetAtt": ["ConfigFunction", "Arn"]}
    assert rule["DependsOn"] == "ConfigPermission"  # Config checks it may invoke the function
    assert metadata["ResourceTypesScope"] == single["Scope"]["ComplianceResourceTypes"]
    assert metadata["OrganizationConfigRuleTriggerTypes"] == [d["MessageType"] for d in single["Source"]["SourceDetails"]]
    assert metadata["MaximumExecutionFrequency"] == single["MaximumExecutionFrequency"]
    permission = raw["ConfigPermission"]["Properties"]
    assert (permission["Principal"], permission["FunctionName"]) == ("config.amazonaws.com",
                                                                    {"Fn::GetAtt": ["ConfigFunction", "Arn"]})
    # every member account's Config invokes it: no single SourceAccount would do
    assert "SourceAccount" not in permission


def test_config_excluded_accounts_are_passed_only_when_given() -> None:
    def excluded(**overrides: str) -> Any:
        return central(**overrides)["Resources"]["OrganizationConfigRule"]["Properties"].get("ExcludedAccounts")

    assert excluded() is None
    assert excluded(ConfigExcludedAccounts="111122223333,444455556666") == ["111122223333", "444455556666"]
