"""The import contracts `lint-imports` checks (pyproject.toml) cover every module: each module of
`vpce_remediator` is either held pure by the no-boto3 contract or named here as one that is not."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PURE_CONTRACT = "The planner, the reachability rules and the event parser import no boto3 or botocore, directly or indirectly"

# Modules outside the pure contract: the AWS adapters, the doors, and what they alone use.
NOT_HELD_PURE = frozenset({
    "accounts", "act", "aws", "batch", "cli", "config_rule", "demo", "doctor", "engine", "lock", "report",
    "discovery", "fleet", "guardduty", "registries", "resolve", "scan", "snapshot", "trust",
    "errors", "render", "samples",  # boto-free today, but shaped by the doors
})


def importlinter() -> dict[str, Any]:
    return dict(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"])


def contract(name: str) -> dict[str, Any]:
    (found,) = [c for c in importlinter()["contracts"] if c["name"] == name]
    return dict(found)


def test_every_module_is_held_pure_or_named_as_not() -> None:
    held = {m.removeprefix("vpce_remediator.") for m in contract(PURE_CONTRACT)["source_modules"]}
    modules = {p.stem for p in (ROOT / "src" / "vpce_remediator").glob("*.py") if p.stem != "__init__"}
    modules |= {p.name for p in (ROOT / "src" / "vpce_remediator").iterdir() if (p / "__init__.py").exists()}

    assert not held & NOT_HELD_PURE
    assert modules - held - NOT_HELD_PURE == set(), "classify each new module: pyproject.toml's pure contract or here"
    assert held <= modules, "the pure contract names a module that does not exist (lint-imports would stop)"


def test_the_graph_and_the_cycle_check_cover_every_package_under_src() -> None:
    packages = {p.parent.name for p in (ROOT / "src").glob("*/__init__.py")}
    (acyclic,) = [c for c in importlinter()["contracts"] if c["type"] == "acyclic_siblings"]

    assert set(importlinter()["root_packages"]) == packages
    assert set(acyclic["ancestors"]) == packages


def test_test_module_basenames_are_unique() -> None:
    """pytest imports test modules by basename (no packages under tests/): two files of one name
    stop the whole collection, so CI runs no test at all."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]

    assert sorted(n for n in set(names) if names.count(n) > 1) == []
