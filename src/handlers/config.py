"""Lambda entry point: an AWS Config custom-rule invocation -> evaluations (and Security Hub)."""
from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from vpce_remediator.aws import Clients
from vpce_remediator.config_rule import evaluate_config_event
from vpce_remediator.engine import Settings

logger = Logger(service="vpce-remediator")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    security_hub = os.environ.get("SECURITY_HUB", "true").lower() == "true"
    result = evaluate_config_event(event, Clients(), Settings.from_env(), security_hub).to_dict()
    logger.info("evaluated", extra=result)
    return result
