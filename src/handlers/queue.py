"""Lambda entry point: a batch of SQS records, each an EventBridge CloudTrail event -> the engine."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from vpce_remediator.batch import BatchRun

if TYPE_CHECKING:  # a type only: its module is not worth a cold start's import
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="vpce-remediator")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = BatchRun.from_env(context)
    response = run.process_records(event.get("Records", []) if isinstance(event, dict) else [])
    run.finish()  # Security Hub and the Config refresh, once for the whole batch
    return response
