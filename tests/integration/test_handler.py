"""The Lambda handler as Lambda calls it: one EventBridge event, a context, moto behind it."""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest
from account import ECR, REGION, by_service, container, endpoints, private_vpc, register_task_definition, run_task_event

from bench import LambdaContext  # the context Lambda passes, shared with make bench

HANDLERS = Path(__file__).resolve().parents[2] / "src" / "handlers"


def test_handler_remediates_in_remediate_mode(aws: Any, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from handlers.event import handler, logger

    logger.registered_handler.stream = sys.stdout  # type: ignore[attr-defined]  # Powertools keeps the first stream
    monkeypatch.setenv("MODE", "remediate")
    net = private_vpc(aws.client("ec2", region_name=REGION), "app", "10.20.0.0/16", "ab")
    td = register_task_definition(aws.client("ecs", region_name=REGION), "web", [container("web", f"{ECR}/web:1")])
    event = run_task_event(net, td)

    result = handler(event, LambdaContext())

    assert result["status"] == "remediated"
    assert set(by_service(endpoints(aws, net["vpc"]))) == {"ecr.api", "ecr.dkr", "s3", "logs"}
    logged = capsys.readouterr().out
    assert event["id"] in logged  # the EventBridge id is the correlation id of every log line


def test_handler_defaults_to_report_mode(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers.event import handler

    monkeypatch.delenv("MODE", raising=False)
    net = private_vpc(aws.client("ec2", region_name=REGION), "app", "10.20.0.0/16", "a")
    td = register_task_definition(aws.client("ecs", region_name=REGION), "web", [container("web", f"{ECR}/web:1")])

    result = handler(run_task_event(net, td), LambdaContext())

    assert result["status"] == "non_compliant"
    assert endpoints(aws, net["vpc"]) == []


def test_handler_answers_bad_input_without_raising(aws: Any) -> None:
    from handlers.event import handler

    result = handler({"detail-type": "AWS API Call via CloudTrail", "detail": "oops"}, LambdaContext())

    assert result["status"] == "error" and "detail" in result["error"]


def test_handlers_are_thin() -> None:
    """A handler is decorators plus a few lines over the engine: no logic of its own."""
    for path in HANDLERS.glob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
            body_lines = fn.body[-1].end_lineno - fn.body[0].lineno + 1  # type: ignore[operator]
            assert body_lines <= 12, f"{path.name}:{fn.name} has {body_lines} lines"
