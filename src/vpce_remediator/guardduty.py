"""Whether GuardDuty Runtime Monitoring adds its agent to a workload's Fargate tasks (rules/guardduty.py),
read only where it changes what the workload needs: a Linux Fargate task or service from platform
1.4.0 whose own images do not already need the ECR endpoints. The detector's setting is read once
per account and Region in a container (GuardDuty ListDetectors + GetDetector); the cluster's tag
only when the setting leaves it to the tag. A read refused or failing leaves it unknown: the
workload is judged on its own images, and a note says GuardDuty's agent was not checked.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from botocore.exceptions import BotoCoreError, ClientError

from rules import Workload, required_endpoints
from rules.guardduty import MANAGED_TAG, agent_deployed
from rules.records import replace
from rules.workload import FARGATE
from vpce_remediator.aws import Clients, error_code

log = logging.getLogger(__name__)

# (account, Region) -> (Runtime Monitoring on, automated Fargate agent management on); None: unreadable.
_SETTINGS: dict[tuple[str, str], tuple[bool, bool] | None] = {}


def with_guardduty(clients: Clients, workloads: Iterable[Workload]) -> list[Workload]:
    """The workloads, each whose needs GuardDuty's agent could change told whether it gets the agent."""
    return [_told(clients, w) if _may_matter(w) else w for w in workloads]


def _may_matter(w: Workload) -> bool:
    if w.guardduty_agent is not None or w.launch_type != FARGATE or w.kind not in ("task", "service"):
        return False
    if (w.os_family or "").upper().startswith("WINDOWS") or w.platform_version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        return False
    return required_endpoints(w).need("ecr.dkr") is None


def _told(clients: Clients, w: Workload) -> Workload:
    setting = detector_setting(clients, w.account)
    if setting is None:
        return w
    runtime, automated = setting
    if not runtime:
        return replace(w, guardduty_agent=False)
    tag = cluster_tag(clients, w.cluster or None)
    return replace(w, guardduty_agent=agent_deployed(runtime, automated, tag))


def detector_setting(clients: Clients, account: str) -> tuple[bool, bool] | None:
    """(Runtime Monitoring on, automated Fargate agent management on) for the account in this Region."""
    key = (account, clients.region or "")
    if key not in _SETTINGS:
        _SETTINGS[key] = _read_detector(clients)
    return _SETTINGS[key]


def _read_detector(clients: Clients) -> tuple[bool, bool] | None:
    try:
        ids = clients.guardduty.list_detectors().get("DetectorIds", [])
        if not ids:  # GuardDuty off in this Region: no agent
            return False, False
        detector = clients.guardduty.get_detector(DetectorId=ids[0])
    except (ClientError, BotoCoreError) as e:
        log.warning("GuardDuty's setting not readable (%s): its Fargate agent is not checked",
                    error_code(e) if isinstance(e, ClientError) else type(e).__name__)
        return None
    if str(detector.get("Status", "")).upper() != "ENABLED":
        return False, False
    for feature in detector.get("Features", []):
        if feature.get("Name") in ("RUNTIME_MONITORING", "ECS_RUNTIME_MONITORING") and feature.get("Status") == "ENABLED":
            automated = any(c.get("Name") == "ECS_FARGATE_AGENT_MANAGEMENT" and c.get("Status") == "ENABLED"
                            for c in feature.get("AdditionalConfiguration", []))
            return True, automated
    return False, False


def cluster_tag(clients: Clients, cluster: str | None) -> str | None:
    """The cluster's GuardDutyManaged tag ("" when untagged, None when the cluster is not known)."""
    if not cluster:
        return None
    try:
        found = clients.ecs.describe_clusters(clusters=[cluster], include=["TAGS"]).get("clusters", [])
    except (ClientError, BotoCoreError):
        return None
    tags = {t.get("key", ""): t.get("value", "") for t in (found[0].get("tags", []) if found else [])}
    return tags.get(MANAGED_TAG, "")


def forget() -> None:
    """Empty the per-container memory (a new container starts without it; tests start each cold)."""
    _SETTINGS.clear()
