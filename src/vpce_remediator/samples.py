"""Load the sample events in `events/` with the ids of a real (or moto) account filled in."""
from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str, overrides: dict[str, Any] | None = None, fresh_id: bool = True) -> dict[str, Any]:
    """`events/<name>.json` with dotted-path overrides applied ("detail.requestParameters.cluster").

    A list index is written as a number: "detail.responseElements.tasks.0.launchType".
    `fresh_id` gives the copy new event ids, as CloudTrail would for a new call.
    """
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    for path, value in (overrides or {}).items():
        set_path(event, path, copy.deepcopy(value))
    if fresh_id and "detail-type" in event:
        event["id"] = str(uuid.uuid4())
        if isinstance(event.get("detail"), dict):
            event["detail"]["eventID"] = str(uuid.uuid4())
    return event


def set_path(obj: Any, path: str, value: Any) -> None:
    keys = path.split(".")
    for key in keys[:-1]:
        obj = obj[int(key)] if isinstance(obj, list) else obj.setdefault(key, {})
    last = keys[-1]
    if isinstance(obj, list):
        obj[int(last)] = value
    else:
        obj[last] = value
