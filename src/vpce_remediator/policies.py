"""Endpoint policies: does one let an action on a resource through, and the same policy with one
statement more (a fix). Pure, and shared: the reachability rules (`reach.py`) judge every
endpoint's policy with it, for the planner and doctor alike.

Without a request context, principals and conditions are assumed met: a policy is only blamed
for what it cannot allow. With one (`RequestContext`: the condition keys a real call carries),
principals and conditions are evaluated too; what the context marks unknown is still given the
benefit of the doubt (an Allow applies, a Deny does not).
"""
from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal

from rules.partitions import PartitionId, partition_id
from rules.records import field, record

Partition = PartitionId


def partition(region: str) -> Partition:
    """The partition of ARNs in `region` (`aws`, `aws-cn`, `aws-us-gov`, `aws-eusc`, `aws-iso`...),
    from botocore's partition table as rules/partitions.py mirrors it."""
    return partition_id(region)


def layer_bucket_arn(region: str) -> str:
    """The S3 objects ECR keeps image layers in: an S3 gateway policy must allow s3:GetObject here
    (`arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*` in Beijing)."""
    return f"arn:{partition(region)}:s3:::prod-{region}-starport-layer-bucket/*"


@record
class RequestContext:
    """The condition keys of one request (lower-cased names). A key in neither `values` nor
    `unknown` is absent from the request, as `aws:ResourceAccount` is for an action without a
    resource; a key in `unknown` may be there, but this caller cannot tell its value."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unknown: frozenset[str] = frozenset()

    @classmethod
    def of(cls, values: Mapping[str, str | Iterable[str] | None], unknown: Iterable[str] = ()) -> RequestContext:
        """From `{"aws:PrincipalAccount": "111122223333", ...}`; a None value leaves the key absent."""
        return cls({k.lower(): (v,) if isinstance(v, str) else tuple(v) for k, v in values.items() if v is not None},
                   frozenset(k.lower() for k in unknown))

    def get(self, key: str) -> tuple[str, ...] | None | Literal[False]:
        """The key's values, None when absent, False when unknown."""
        key = key.lower()
        if key in self.unknown:
            return False
        return self.values.get(key)


@lru_cache(maxsize=256)
def _parsed(policy: str) -> Any:
    """An endpoint policy document, parsed once: the planner asks each endpoint's policy about every
    call of every workload using it. None when it is not JSON. Read only: never changed by a caller."""
    try:
        return json.loads(policy)
    except ValueError:
        return None


def policy_allows(policy: str | None, action: str, resource: str | None,
                  context: RequestContext | None = None) -> bool:
    """Whether an endpoint policy lets `action` on `resource` through; no policy is the full-access
    default, and an unreadable one is not accused. A Deny that applies wins over any Allow.

    `resource=None`: the exact resource is not known, so any resource an Allow names is assumed.
    `context=None`: principals and conditions are assumed met, and a conditioned Deny is ignored."""
    if not policy:
        return True
    doc = _parsed(policy)
    if doc is None:
        return True
    allowed = denied = False
    for s in _as_list(doc.get("Statement", [])) if isinstance(doc, dict) else []:
        if not isinstance(s, dict):
            continue
        allow = s.get("Effect") == "Allow"
        if allow and allowed or not allow and s.get("Effect") != "Deny":
            continue
        acts = _matches(s["Action"], action) if "Action" in s else \
            ("NotAction" in s and not _matches(s["NotAction"], action))
        if not acts:
            continue
        # "*" as a resource pattern matches everything, including the literal "*" asked for tokens.
        if resource is None:
            res = allow or ("Resource" in s and "*" in _as_list(s["Resource"]))
        else:
            res = _matches(s["Resource"], resource) if "Resource" in s else \
                ("NotResource" in s and not _matches(s["NotResource"], resource))
        if not res:
            continue
        if context is None:
            applies = allow or "Condition" not in s
        else:
            who = _principal_matches(s, context)
            met = _conditions_met(s.get("Condition"), context)
            # What cannot be told is given the benefit of the doubt: an Allow applies, a Deny not.
            applies = (who is not False and met is not False) if allow else (who is True and met is True)
        if applies and allow:
            allowed = True
        elif applies:
            denied = True
    return allowed and not denied


def policy_plus(policy: str | None, statement: dict[str, Any]) -> str:
    """The policy with one statement added, as compact JSON (a fix command quotes it as one argument)."""
    try:
        doc = json.loads(policy or "{}")
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    doc.setdefault("Version", "2012-10-17")
    doc["Statement"] = _as_list(doc.get("Statement", [])) + [statement]
    return json.dumps(doc, separators=(",", ":"))


def policy_allows_ecr_layers(policy: str | None, region: str) -> bool:
    """Whether an S3 endpoint policy lets ECR layer downloads through."""
    return policy_allows(policy, "s3:GetObject", _layer_object(region))


def _layer_object(region: str) -> str:
    return layer_bucket_arn(region).replace("*", "sha256-layer")


def _denies_layers(statement: object, region: str) -> bool:
    """Whether one statement is a Deny that refuses s3:GetObject on the layer bucket."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
        return False
    alone = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                                      statement]})
    return not policy_allows(alone, "s3:GetObject", _layer_object(region))


def ecr_layer_denials(policy: str | None, region: str) -> list[str]:
    """The Deny statements of a policy that refuse ECR's layer downloads, by Sid (or position):
    a Deny wins over any Allow, so adding one cannot fix them."""
    try:
        doc = json.loads(policy or "{}")
    except ValueError:
        return []
    statements = _as_list(doc.get("Statement", [])) if isinstance(doc, dict) else []
    return [str(s.get("Sid") or f"statement {i + 1}") for i, s in enumerate(statements)
            if isinstance(s, dict) and _denies_layers(s, region)]


def _without_layers(statement: dict[str, Any], region: str) -> dict[str, Any] | None:
    """A Deny that refuses the layer bucket, replaced by one that does not (None: nothing is left).
    A listed resource that matches the bucket goes; a NotResource gains the bucket."""
    out = dict(statement)
    if "NotResource" in out:
        out["NotResource"] = [*_as_list(out["NotResource"]), layer_bucket_arn(region)]
        return out
    resources = _as_list(out.get("Resource", []))
    kept = [r for r in resources if not _matches(r, _layer_object(region))]
    if not kept:
        everything = {"*", f"arn:{partition(region)}:s3:::*", f"arn:{partition(region)}:s3:::*/*"}
        if any(r in everything for r in resources):  # every object but the layer bucket's, as before
            out.pop("Resource", None)
            out["NotResource"] = layer_bucket_arn(region)
            return out
        return None
    out["Resource"] = kept if len(kept) > 1 else kept[0]
    return out


def ecr_layer_fix_note(policy: str | None, region: str) -> str:
    """What a finding says when an explicit Deny refuses the layer bucket ("" when none does)."""
    denials = ecr_layer_denials(policy, region)
    if not denials:
        return ""
    return (f"; its explicit Deny ({', '.join(denials)}) wins over any Allow, so the fix replaces "
            "that statement with one that no longer names the layer bucket (removed when it named nothing "
            "else): review it before pasting")


def policy_with_ecr_layers(policy: str | None, region: str) -> str:
    """The endpoint's policy with ECR's layer downloads let through: each Deny that refuses them
    replaced by one that no longer names the layer bucket (or removed when it named nothing else),
    then, when still needed, a statement allowing the bucket."""
    try:
        doc = json.loads(policy or "{}")
    except ValueError:
        doc = {}
    if isinstance(doc, dict) and ecr_layer_denials(policy, region):
        statements = []
        for s in _as_list(doc.get("Statement", [])):
            if isinstance(s, dict) and _denies_layers(s, region):
                replaced = _without_layers(s, region)
                if replaced is None:
                    continue
                s = replaced
            statements.append(s)
        doc["Statement"] = statements
        policy = json.dumps(doc, separators=(",", ":"))
    if policy_allows_ecr_layers(policy, region):
        return json.dumps(json.loads(policy or "{}"), separators=(",", ":"))
    return policy_plus(policy, {"Sid": "AllowEcrImageLayers", "Effect": "Allow", "Principal": "*",
                                "Action": "s3:GetObject", "Resource": layer_bucket_arn(region)})


def _principal_matches(s: Mapping[str, Any], ctx: RequestContext) -> bool | None:
    if "Principal" in s:
        return _principal_in(s["Principal"], ctx)
    if "NotPrincipal" in s:
        inside = _principal_in(s["NotPrincipal"], ctx)
        return None if inside is None else not inside
    return True  # an identity policy's statement: the principal is its holder


def _principal_in(principal: object, ctx: RequestContext) -> bool | None:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return None
    unknown = False
    for kind, ids in principal.items():
        for p in _as_list(ids):
            if p == "*":
                return True
            if not isinstance(p, str):
                continue
            if kind == "Service":
                key, value = "aws:PrincipalServiceName", p
            elif p.isdigit() or p.endswith(":root"):
                key, value = "aws:PrincipalAccount", p.split(":")[4] if ":" in p else p
            else:
                key, value = "aws:PrincipalArn", p
            have = ctx.get(key)
            if have is False:
                unknown = True
            elif have and value in have:
                return True
    return None if unknown else False


_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike")
_POSITIVE = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool"}


def _conditions_met(condition: object, ctx: RequestContext) -> bool | None:
    """True when every condition holds, False when one fails, None when one cannot be told."""
    if not condition:
        return True
    if not isinstance(condition, dict):
        return None
    verdict: bool | None = True
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return None
        for key, wanted in block.items():
            one = _condition_met(str(operator), str(key), [str(w) for w in _as_list(wanted)], ctx)
            if one is False:
                return False
            if one is None:
                verdict = None
    return verdict


def _condition_met(operator: str, key: str, wanted: list[str], ctx: RequestContext) -> bool | None:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists")
    op = op.removesuffix("IfExists")
    have = ctx.get(key)
    if have is False or (op not in _POSITIVE and op not in _NEGATED and op != "Null"):
        return None  # an unknown key, or an operator this evaluator does not model
    if op == "Null":
        return (have is None) == (wanted[0].lower() == "true")
    if have is None:
        # An absent key: IAM's rules (IfExists and negated operators hold, ForAllValues holds).
        return if_exists or op in _NEGATED or qualifier == "ForAllValues"
    positive = op.replace("Not", "", 1) if op in _NEGATED else op

    def one(value: str) -> bool:
        if positive == "Bool":
            return value.lower() in (w.lower() for w in wanted)
        if positive.endswith("IgnoreCase"):
            return value.lower() in (w.lower() for w in wanted)
        if positive in ("StringLike", "ArnLike", "ArnEquals"):
            return any(fnmatch.fnmatchcase(value, w) for w in wanted)
        return value in wanted

    hits = [one(v) for v in have]
    matched = all(hits) if qualifier == "ForAllValues" else any(hits)
    return not matched if op in _NEGATED else matched


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: object, value: str) -> bool:
    return any(isinstance(p, str) and fnmatch.fnmatchcase(value.lower(), p.lower()) for p in _as_list(patterns))
