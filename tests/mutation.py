"""What the fuzz tests damage: every place in a JSON document a value can be replaced or removed."""
from __future__ import annotations

from typing import Any


def value_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path (keys and list indexes) of every value under `node`, parents before children."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += value_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += value_paths(v, (*prefix, i))
    return out


def parent_of(doc: Any, path: tuple[Any, ...]) -> Any:
    """The dict or list holding the value at `path` (a path `value_paths` gave)."""
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    return parent
