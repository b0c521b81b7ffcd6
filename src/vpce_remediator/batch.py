"""The queue door: one SQS batch of EventBridge events through the engine.

Each record is evaluated on its own; a malformed one raises so the batch processor reports it
alone in `batchItemFailures` (it is retried, then kept in the dead-letter queue). A record whose
CloudTrail event id was already evaluated in this batch is answered from that result, since
EventBridge and CloudTrail both deliver at least once.
"""
from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger

from vpce_remediator.aws import Clients
from vpce_remediator.engine import Settings, evaluate_event
from vpce_remediator.errors import BadInput
from vpce_remediator.lock import VpcLock
from vpce_remediator.plan import Finding
from vpce_remediator.report import SecurityHubReporter, request_config_refresh

logger = Logger(service="vpce-remediator", child=True)

_LOGGED = ("status", "reason", "event", "actions", "findings")


class BatchRun:
    def __init__(self, clients: Clients, settings: Settings, lock: VpcLock | None = None,
                 config_rule: str | None = None, security_hub: bool = False) -> None:
        self.clients = clients
        self.settings = settings
        self.lock = lock
        self.config_rule = config_rule
        self.security_hub = security_hub
        self.seen: dict[str, dict[str, Any]] = {}
        self.findings: dict[str, list[Finding]] = {}  # per VPC, from every record of the batch
        self.account = ""

    @classmethod
    def from_env(cls) -> BatchRun:
        """Clients, settings and the VPC lock as the SAM template configures the function."""
        clients = Clients()
        table = os.environ.get("LOCK_TABLE")
        lock = VpcLock(clients.dynamodb, table, lease_seconds=int(os.environ.get("LOCK_LEASE_SECONDS", "120"))) \
            if table else None
        return cls(clients, Settings.from_env(), lock, config_rule=os.environ.get("CONFIG_RULE_NAME"),
                   security_hub=os.environ.get("SECURITY_HUB", "true").lower() == "true")

    def process(self, body: str) -> dict[str, Any]:
        """Evaluate one record body; raises `BadInput` when it is not an EventBridge event."""
        try:
            event = json.loads(body)
        except ValueError as e:
            raise BadInput(f"record body is not JSON: {e}") from e
        key = _event_key(event)
        if key in self.seen:
            result = {"status": "ignored", "reason": f"duplicate delivery of event {key} in this batch",
                      "first": {k: self.seen[key].get(k) for k in ("status",)}}
        else:
            outcome = evaluate_event(event, self.clients, self.settings, self.lock)
            result = outcome.to_dict()
            if key:
                self.seen[key] = result
            for vpc in outcome.vpcs:
                bucket = self.findings.setdefault(vpc.vpc_id, [])
                bucket.extend(f for f in vpc.findings if f not in bucket)
            if outcome.trigger is not None and getattr(outcome.trigger, "account", ""):
                self.account = outcome.trigger.account  # type: ignore[union-attr]
        logger.info("record evaluated", extra={k: result[k] for k in _LOGGED if k in result})
        return result

    def finish(self) -> dict[str, Any]:
        """Once per batch: Security Hub findings, and a Config re-evaluation when a problem stays.

        The event path sees one workload at a time, so it only upserts findings; the Config rule,
        which sees whole VPCs, archives the ones that are fixed.
        """
        done: dict[str, Any] = {}
        open_findings = {vpc: f for vpc, f in self.findings.items() if f}
        if self.security_hub and open_findings and self.account:
            done["security_hub"] = SecurityHubReporter(self.clients.securityhub, self.clients.region,
                                                       self.account).sync({}, open_findings)
        if open_findings and self.config_rule:
            done["config_refresh"] = request_config_refresh(self.clients.config, self.config_rule)
        if done:
            logger.info("batch reported", extra=done)
        return done

    def record_handler(self, record: Any) -> dict[str, Any]:
        """`process_partial_response`'s callback: logs and re-raises what fails the record."""
        try:
            return self.process(record.body)
        except BadInput as e:
            logger.error("record rejected", extra={"message_id": record.message_id, "error": str(e)})
            raise


def _event_key(event: Any) -> str:
    if not isinstance(event, dict):
        return ""
    detail = event.get("detail")
    key = detail.get("eventID") if isinstance(detail, dict) else None
    key = key if isinstance(key, str) else event.get("id")
    return key if isinstance(key, str) else ""
