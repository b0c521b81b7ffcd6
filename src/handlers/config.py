"""Lambda entry point: an AWS Config custom-rule invocation -> evaluations (and Security Hub)."""
from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from vpce_remediator.accounts import members_from_env
from vpce_remediator.aws import Clients
from vpce_remediator.config_rule import evaluate_config_event, evaluate_in_member
from vpce_remediator.engine import Settings
from vpce_remediator.errors import BadInput

logger = Logger(service="vpce-remediator")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    security_hub = os.environ.get("SECURITY_HUB", "true").lower() == "true"
    clients = Clients()
    members = members_from_env(clients)  # the organization rule: evaluated in the invoking account
    try:
        result = evaluate_in_member(event, members, Settings.from_env(), security_hub) if members else \
            evaluate_config_event(event, clients, Settings.from_env(), security_hub).to_dict()
    except BadInput as e:  # malformed stays malformed: a raise would only be retried and shown as an error
        logger.error("bad Config event", extra={"error": str(e)})
        return {"status": "error", "error": str(e)}
    logger.info("evaluated", extra=result)
    return result
