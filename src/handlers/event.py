"""Lambda entry point: one EventBridge "AWS API Call via CloudTrail" event -> the engine."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from vpce_remediator.aws import Clients
from vpce_remediator.engine import Settings, evaluate_event
from vpce_remediator.errors import BadInput

logger = Logger(service="vpce-remediator")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        outcome = evaluate_event(event, Clients(), Settings.from_env())
    except BadInput as e:
        # Retrying a malformed event cannot help: log it and let it go.
        logger.error("bad event", extra={"error": str(e)})
        return {"status": "error", "error": str(e)}
    result = outcome.to_dict()
    logger.info("evaluated", extra={k: result[k] for k in ("status", "reason", "actions", "findings") if k in result})
    return result
