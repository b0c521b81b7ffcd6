"""Endpoint policies: does one let an action on a resource through, and the same policy with one
statement more (a fix). Pure, and shared: the planner checks the S3 gateway's policy with it, and
doctor's hops check the ECR endpoints' policies as well.

Principals and conditions are assumed met: a policy is only blamed for what it cannot allow.
"""
from __future__ import annotations

import fnmatch
import json
from typing import Any


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def layer_bucket_arn(region: str) -> str:
    """The S3 objects ECR keeps image layers in: an S3 gateway policy must allow s3:GetObject here."""
    return f"arn:{partition(region)}:s3:::prod-{region}-starport-layer-bucket/*"


def policy_allows(policy: str | None, action: str, resource: str) -> bool:
    """Whether an endpoint policy lets `action` on `resource` through; no policy is the full-access
    default, and an unreadable one is not accused. An unconditional Deny wins over any Allow."""
    if not policy:
        return True
    try:
        doc = json.loads(policy)
    except ValueError:
        return True
    allowed = denied = False
    for s in _as_list(doc.get("Statement", [])) if isinstance(doc, dict) else []:
        if not isinstance(s, dict):
            continue
        acts = _matches(s["Action"], action) if "Action" in s else \
            ("NotAction" in s and not _matches(s["NotAction"], action))
        # "*" as a resource pattern matches everything, including the literal "*" asked for tokens.
        res = _matches(s["Resource"], resource) if "Resource" in s else \
            ("NotResource" in s and not _matches(s["NotResource"], resource))
        if not (acts and res):
            continue
        if s.get("Effect") == "Deny" and "Condition" not in s:
            denied = True
        elif s.get("Effect") == "Allow":
            allowed = True
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
    return policy_allows(policy, "s3:GetObject", layer_bucket_arn(region).replace("*", "sha256-layer"))


def policy_with_ecr_layers(policy: str | None, region: str) -> str:
    """The endpoint's policy plus a statement allowing the ECR layer bucket."""
    return policy_plus(policy, {"Sid": "AllowEcrImageLayers", "Effect": "Allow", "Principal": "*",
                                "Action": "s3:GetObject", "Resource": layer_bucket_arn(region)})


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: object, value: str) -> bool:
    return any(isinstance(p, str) and fnmatch.fnmatchcase(value.lower(), p.lower()) for p in _as_list(patterns))
