"""Lambda entry point: a batch of SQS records, each an EventBridge CloudTrail event -> the engine."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from vpce_remediator.batch import BatchRun

logger = Logger(service="vpce-remediator")
# A batch whose every record failed is answered like any other (all listed), not by raising.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = BatchRun.from_env(context)
    response = process_partial_response(event=event, record_handler=run.record_handler, processor=processor,
                                        context=context)
    run.finish()  # Security Hub and the Config refresh, once for the whole batch
    return response
