"""Real concurrency: separate processes remediate one VPC through a moto_server at the same moment."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

TOOLS = str(Path(__file__).resolve().parents[2] / "tools")


@pytest.fixture
def reliability(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.syspath_prepend(TOOLS)  # the worker processes import it by name too
    import reliability

    return reliability


def test_concurrent_processes_create_one_endpoint_per_service(reliability: object) -> None:
    ((_, tried, what, duplicates),) = reliability.concurrent_runs(processes=3, rounds=1)  # type: ignore[attr-defined]

    assert (tried, what) == (3, "duplicate endpoints")
    assert duplicates == 0
    assert TOOLS in sys.path
