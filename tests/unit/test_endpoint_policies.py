"""The remediator's endpoint policies admit every call each need row's feature makes, and refuse
callers and resources outside the account or organization (AWS data-perimeter guidance).

Each need row of `rules.needs.NEED_RULES` is a case: its calls (`rules.calls.FEATURE_CALLS`) are
evaluated against the policy generated for their endpoint, under both scopes, with the request
context a real call has (no resource account for actions without a resource).
"""
from __future__ import annotations

import json

import pytest

from rules.calls import FEATURE_CALLS, Call
from rules.needs import NEED_RULES
from vpce_remediator.endpoint_policies import AWS_OWNED, NO_POLICY_SERVICES, PolicyScope, arn, same_policy
from vpce_remediator.policies import RequestContext, policy_allows

REGION, ACCOUNT, ORG = "eu-west-1", "111122223333", "o-a1b2c3d4e5"
FOREIGN, FOREIGN_ORG = "444455556666", "o-zzzzzzzzzz"
SCOPES = {"organization": PolicyScope("organization", ACCOUNT, ORG),
          "account": PolicyScope("account", ACCOUNT)}


def _allows(scope: PolicyScope, call: Call, **context: object) -> bool:
    policy = scope.policy(call.service, REGION)
    resource = arn(call.resource, REGION, ACCOUNT) if call.resource else "*"
    ctx = scope.context(resource=call.resource is not None, by_aws=call.by_aws, **context)  # type: ignore[arg-type]
    return policy_allows(policy, call.action, resource, ctx)


def test_every_need_row_names_its_calls_on_its_own_services() -> None:
    rows = {r.id: {s for s, _ in r.services} for r in NEED_RULES}
    assert set(FEATURE_CALLS) == set(rows)
    for rule_id, calls in FEATURE_CALLS.items():
        assert calls, rule_id
        assert {c.service for c in calls} <= rows[rule_id], rule_id


@pytest.mark.parametrize("scope", sorted(SCOPES))
@pytest.mark.parametrize("rule", NEED_RULES, ids=lambda r: r.id)
def test_the_policy_admits_every_call_of_the_feature(rule: object, scope: str) -> None:
    for call in FEATURE_CALLS[rule.id]:  # type: ignore[attr-defined]
        assert _allows(SCOPES[scope], call), f"{call.action} through {call.service}"


@pytest.mark.parametrize("scope", sorted(SCOPES))
@pytest.mark.parametrize("rule", NEED_RULES, ids=lambda r: r.id)
def test_a_principal_of_another_account_and_organization_is_refused(rule: object, scope: str) -> None:
    for call in FEATURE_CALLS[rule.id]:  # type: ignore[attr-defined]
        if call.by_aws or call.service in NO_POLICY_SERVICES:
            continue  # the layer bucket is open to ECR's presigned URLs; ECS takes no policy
        assert not _allows(SCOPES[scope], call, principal_account=FOREIGN, principal_org=FOREIGN_ORG), call.action


@pytest.mark.parametrize("scope", sorted(SCOPES))
@pytest.mark.parametrize("rule", NEED_RULES, ids=lambda r: r.id)
def test_a_resource_of_another_account_and_organization_is_refused(rule: object, scope: str) -> None:
    for call in FEATURE_CALLS[rule.id]:  # type: ignore[attr-defined]
        if call.resource is None or call.by_aws or call.aws_resource or call.service in NO_POLICY_SERVICES:
            continue  # an AWS-owned resource (GuardDuty's agent image) is named by its ARN: the next test
        assert not _allows(SCOPES[scope], call, resource_account=FOREIGN, resource_org=FOREIGN_ORG), call.action


@pytest.mark.parametrize("scope", sorted(SCOPES))
def test_only_guardduty_agent_repository_of_guardduty_account_is_admitted(scope: str) -> None:
    # The one repository outside the organization the ECR policy names; its neighbours stay refused.
    agent = Call("ecr.dkr", "ecr:BatchGetImage",
                 "arn:{partition}:ecr:{region}:{guardduty_account}:repository/aws-guardduty-agent-fargate")
    other = Call("ecr.dkr", "ecr:BatchGetImage", "arn:{partition}:ecr:{region}:{guardduty_account}:repository/other")
    aws_owned = {"resource_account": AWS_OWNED, "resource_org": None}

    assert arn(agent.resource or "", REGION, ACCOUNT).startswith("arn:aws:ecr:eu-west-1:694911143906:")
    assert _allows(SCOPES[scope], agent, **aws_owned)
    assert not _allows(SCOPES[scope], other, **aws_owned)
    assert not _allows(SCOPES[scope], agent, principal_account=FOREIGN, principal_org=FOREIGN_ORG, **aws_owned)


def test_the_organization_scope_admits_another_account_of_the_organization() -> None:
    scope = SCOPES["organization"]
    pull = Call("ecr.dkr", "ecr:BatchGetImage", "arn:aws:ecr:eu-west-1:{account}:repository/app")
    assert _allows(scope, pull, resource_account=FOREIGN, resource_org=ORG)
    assert _allows(scope, pull, principal_account=FOREIGN, principal_org=ORG)
    assert not _allows(SCOPES["account"], pull, resource_account=FOREIGN, resource_org=ORG)


def test_aws_service_principals_are_admitted_and_ecs_endpoints_take_no_policy() -> None:
    policy = SCOPES["organization"].policy("logs", REGION)
    ctx = RequestContext.of({"aws:PrincipalIsAWSService": "true", "aws:PrincipalAccount": FOREIGN})
    assert policy_allows(policy, "logs:PutLogEvents", "arn:aws:logs:eu-west-1:999988887777:log-group:x", ctx)
    assert all(SCOPES[s].policy(short, REGION) is None for s in SCOPES for short in NO_POLICY_SERVICES)
    assert PolicyScope("aws-default", ACCOUNT).policy("s3", REGION) is None


def test_the_s3_policy_opens_only_the_layer_bucket_to_any_principal() -> None:
    policy = SCOPES["organization"].policy("s3", REGION)
    doc = json.loads(policy or "")
    open_statements = [s for s in doc["Statement"] if "Condition" not in s]
    assert open_statements == [{"Sid": "EcrImageLayers", "Effect": "Allow", "Principal": "*",
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"}]
    foreign = RequestContext.of({"aws:PrincipalAccount": FOREIGN, "aws:ResourceAccount": FOREIGN,
                                 "aws:PrincipalIsAWSService": "false"})
    assert not policy_allows(policy, "s3:PutObject", "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/x", foreign)


def test_policies_are_compact_and_compare_as_documents() -> None:
    policy = SCOPES["account"].policy("secretsmanager", REGION) or ""
    assert " " not in policy and "'" not in policy
    assert same_policy(json.dumps(json.loads(policy), indent=2), policy)
    assert not same_policy(None, policy) and same_policy(None, None)


# ---------------------------------------------------------------- the evaluator

_ORG_ONLY = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                                       "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}}]})


@pytest.mark.parametrize(("condition", "context", "expected"), [
    ({"StringEquals": {"aws:ResourceAccount": ACCOUNT}}, {}, False),  # absent key fails StringEquals
    ({"StringEqualsIfExists": {"aws:ResourceAccount": ACCOUNT}}, {}, True),
    ({"StringNotEquals": {"aws:ResourceAccount": ACCOUNT}}, {}, True),  # absent key: negated holds
    ({"StringNotEquals": {"aws:ResourceAccount": ACCOUNT}}, {"aws:ResourceAccount": ACCOUNT}, False),
    ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app-*"}},
     {"aws:PrincipalArn": "arn:aws:iam::1:role/app-x"}, True),
    ({"Bool": {"aws:PrincipalIsAWSService": "true"}}, {"aws:PrincipalIsAWSService": "false"}, False),
    ({"Null": {"aws:ResourceOrgID": "true"}}, {}, True),
    ({"Null": {"aws:ResourceOrgID": "false"}}, {}, False),
    ({"ForAnyValue:StringEquals": {"aws:CalledVia": ["ecs.amazonaws.com"]}}, {}, False),
    ({"ForAllValues:StringEquals": {"aws:CalledVia": ["ecs.amazonaws.com"]}}, {}, True),
    ({"StringEquals": {"aws:principalaccount": ACCOUNT}}, {"aws:PrincipalAccount": ACCOUNT}, True),  # keys: any case
])
def test_conditions_are_evaluated_against_the_request_context(condition: dict, context: dict, expected: bool) -> None:
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                                        "Condition": condition}]})
    assert policy_allows(policy, "s3:GetObject", "arn:aws:s3:::b/k", RequestContext.of(context)) is expected


def test_without_a_context_conditions_and_principals_are_assumed_met() -> None:
    assert policy_allows(_ORG_ONLY, "s3:GetObject", "arn:aws:s3:::b/k")
    deny = json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG}}}]})
    assert policy_allows(deny, "s3:GetObject", "arn:aws:s3:::b/k")
    assert not policy_allows(deny, "s3:GetObject", "arn:aws:s3:::b/k",
                             RequestContext.of({"aws:PrincipalOrgID": FOREIGN_ORG}))


def test_an_unknown_key_gives_the_benefit_of_the_doubt() -> None:
    unknown = RequestContext.of({}, unknown=["aws:PrincipalOrgID"])
    assert policy_allows(_ORG_ONLY, "s3:GetObject", "arn:aws:s3:::b/k", unknown)
    assert not policy_allows(_ORG_ONLY, "s3:GetObject", "arn:aws:s3:::b/k", RequestContext.of({}))


def test_principals_are_matched_by_account() -> None:
    policy = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                        "Action": "*", "Resource": "*"}]})
    assert policy_allows(policy, "ssm:GetParameters", "*", RequestContext.of({"aws:PrincipalAccount": ACCOUNT}))
    assert not policy_allows(policy, "ssm:GetParameters", "*", RequestContext.of({"aws:PrincipalAccount": FOREIGN}))
