"""ECR pull-through cache rules (DescribePullThroughCacheRules), read only for a workload that could
use one: an image of its own account's ECR in its Region under a repository path (`PREFIX/...`).
Read once per account and Region in a
container; unreadable (refused, or not implemented by the endpoint) leaves them unknown (logged),
and the workload is judged without them.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from botocore.exceptions import BotoCoreError, ClientError

from rules import Workload
from rules.records import replace
from rules.refs import PUBLIC_REGISTRIES, parse_image
from vpce_remediator.aws import Clients, error_code
from vpce_remediator.guardduty import with_guardduty

log = logging.getLogger(__name__)

# (account, Region) -> ((prefix, upstream registry URL), ...); None: not readable.
_RULES: dict[tuple[str, str], tuple[tuple[str, str], ...] | None] = {}


def with_account_facts(clients: Clients, workloads: Iterable[Workload]) -> list[Workload]:
    """The account's settings that change what a workload needs, read only where they can: GuardDuty's
    Fargate agent (guardduty.py) and the pull-through cache rules. Every door calls this before the
    rules, so each reaches its verdict on the same facts."""
    return with_cache_rules(clients, with_guardduty(clients, workloads))


def with_cache_rules(clients: Clients, workloads: Iterable[Workload]) -> list[Workload]:
    """The workloads, each that could use a pull-through cache told the account's rules."""
    out = []
    for w in workloads:
        rules = cache_rules(clients, w.account) if _may_use_cache(w) else None
        out.append(replace(w, pull_through=rules) if rules else w)
    return out


# The prefixes a pull-through cache rule is given by convention (the ones this tool's own fixes
# print: rules/refs.py), "azure-..." included. A repository path starting with another word is a
# team's own namespace far more often than a cache: reading the rules for it would cost every such
# cold event a call (the budget is 8), so a cache under a custom prefix gets no first-pull note.
_CONVENTIONAL = frozenset(p for p, _, _ in PUBLIC_REGISTRIES.values() if p)


def _may_use_cache(w: Workload) -> bool:
    """An image of the account's own ECR in its Region under a path whose first part is a
    conventional cache prefix. (A public registry's image is judged without the rules: the read
    would cost every such cold event a call to say only which prefix to use.)"""
    for c in w.containers:
        ref = parse_image(c.image)
        path = c.image.split("/", 1)[-1]
        head = path.split("/", 1)[0]
        if ref.kind == "ecr" and ref.region == w.region and ref.account == w.account and "/" in path and \
                (head in _CONVENTIONAL or head.startswith("azure-")):
            return True
    return False


def cache_rules(clients: Clients, account: str) -> tuple[tuple[str, str], ...] | None:
    key = (account, clients.region or "")
    if key not in _RULES:
        _RULES[key] = _read(clients)
    return _RULES[key]


def _read(clients: Clients) -> tuple[tuple[str, str], ...] | None:
    rules: list[tuple[str, str]] = []
    try:
        for page in clients.ecr.get_paginator("describe_pull_through_cache_rules").paginate():
            rules += [(r["ecrRepositoryPrefix"], r["upstreamRegistryUrl"])
                      for r in page.get("pullThroughCacheRules", [])
                      if r.get("ecrRepositoryPrefix") and r.get("upstreamRegistryUrl")]
    except (ClientError, BotoCoreError, NotImplementedError) as e:
        # NotImplementedError: the demo's embedded moto has no pull-through cache rules.
        log.info("pull-through cache rules not readable (%s): images under them are judged as plain ECR images",
                 error_code(e) if isinstance(e, ClientError) else type(e).__name__)
        return None
    return tuple(sorted(rules))


def forget() -> None:
    """Empty the per-container memory (tests start each cold)."""
    _RULES.clear()
