"""Damaged and odd events through the queue handler and the CLI: each ends as "ignored: why" or a
clear one-line error; never an unhandled exception, never an AWS write."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
from account import REGION
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from mutation import parent_of, value_paths
from test_queue_handler import sqs_record

from vpce_remediator.aws import Clients
from vpce_remediator.batch import BatchRun
from vpce_remediator.cli import main
from vpce_remediator.engine import Settings
from vpce_remediator.errors import BadInput
from vpce_remediator.samples import EVENTS_DIR, load_event

SAMPLES = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
    | st.sampled_from(["subnet-0a1b2c3d4e5f60011", "vpc-0a1b2c3d4e5f60001", "sg-0a1b2c3d4e5f60021", "💥", ""]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


@st.composite
def damaged(draw: st.DrawFn) -> str:
    """A sample event with 1-3 values replaced or removed, or plain junk, or broken JSON."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.text(max_size=50))
    if choice == 1:
        return json.dumps(draw(JUNK))
    event = load_event(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = value_paths(event)
        path = draw(st.sampled_from(paths))
        parent = parent_of(event, path)
        if isinstance(parent, dict) and draw(st.booleans()):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(JUNK | st.lists(st.just("subnet-0a1b2c3d4e5f60011"), min_size=300,
                                                    max_size=300))
    text = json.dumps(event)
    return text[: draw(st.integers(1, len(text)))] if choice == 2 else text


def _writes(clients: Clients) -> list[str]:
    return clients.write_calls()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=st.lists(damaged(), min_size=1, max_size=5))
def test_damaged_records_fail_alone_or_are_ignored_never_raise_never_write(bodies: list[str]) -> None:
    with mock_aws():
        clients = Clients(region=REGION, session=boto3.session.Session(region_name=REGION))
        batch = BatchRun(clients, Settings(mode="remediate"))
        records = [sqs_record(b) for b in bodies]

        response = batch.process_records(copy.deepcopy(records))

        assert set(response) == {"batchItemFailures"}
        assert {f["itemIdentifier"] for f in response["batchItemFailures"]} <= {r["messageId"] for r in records}
        assert [e for e in batch.errors if not isinstance(e, BadInput)] == []  # a clear error, never a crash
        assert _writes(clients) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(body=damaged())
def test_damaged_files_through_the_cli_exit_cleanly(body: str, tmp_path_factory: Any) -> None:
    path: Path = tmp_path_factory.mktemp("bad") / "event.json"
    path.write_text(body)
    with mock_aws():
        code = main(["invoke", str(path), "--mode", "remediate", "--region", REGION, "--json"])

    assert code in (0, 1, 2)  # processed / AWS error with its code / bad input: never a traceback
