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

logger = Logger(service="vpce-remediator", child=True)

_LOGGED = ("status", "reason", "event", "actions", "findings")


class BatchRun:
    def __init__(self, clients: Clients, settings: Settings, lock: VpcLock | None = None) -> None:
        self.clients = clients
        self.settings = settings
        self.lock = lock
        self.seen: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_env(cls) -> BatchRun:
        """Clients, settings and the VPC lock as the SAM template configures the function."""
        clients = Clients()
        table = os.environ.get("LOCK_TABLE")
        lock = VpcLock(clients.dynamodb, table, lease_seconds=int(os.environ.get("LOCK_LEASE_SECONDS", "120"))) \
            if table else None
        return cls(clients, Settings.from_env(), lock)

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
            result = evaluate_event(event, self.clients, self.settings, self.lock).to_dict()
            if key:
                self.seen[key] = result
        logger.info("record evaluated", extra={k: result[k] for k in _LOGGED if k in result})
        return result

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
