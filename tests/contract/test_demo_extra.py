"""`make demo` installs the package with its `demo` extra and nothing else (pyproject.toml): the demo
must run on that alone. The dev virtualenv holds far more (pytest, cfn-lint, moto[server]'s Flask...),
so here the demo runs in a process that can import only what `pip install '.[demo]'` would bring:
every other installed distribution's modules are refused as if absent. An import of a dev tool on
the demo's path, or a module moto needs that the extra does not list, fails here, not on a fresh
clone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "vpce-remediator"

# Refuses the top-level modules named in argv[1] exactly as a missing install does (moto tells a
# missing optional module by ModuleNotFoundError), then runs `vpce-remediator demo`.
_RUN_WITHOUT = """
import json, sys
refused = frozenset(json.loads(sys.argv[1]))

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in refused:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the demo extra)", name=name)
        return None

sys.meta_path.insert(0, Refuse())
from vpce_remediator.cli import main
sys.exit(main(["demo"]))
"""


def _closure(requirements: list[Requirement]) -> set[str]:
    """The distributions installing `requirements` brings, as found in this environment."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for line in metadata.requires(name) or []:
            dep = Requirement(line)
            # A dependency counts when its marker holds with no extra, or with one of those asked for.
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in ("", *extras)):
                todo.append((dep, frozenset(dep.extras)))
    return {k.partition("[")[0] for k in seen}


def _demo_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    asked = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["demo"]]
    return _closure(asked) | {canonicalize_name(PROJECT)}


def test_the_demo_runs_on_the_demo_extra_alone() -> None:
    allowed = _demo_distributions()
    refused = {module for module, dists in metadata.packages_distributions().items()
               if not any(canonicalize_name(d) in allowed for d in dists)}
    # The check refuses what it must: the dev tools are installed here and outside the demo's set.
    assert {"pytest", "hypothesis", "cfnlint", "samtranslator", "mypy", "flask"} <= refused
    assert {"boto3", "botocore", "moto", "aws_lambda_powertools"}.isdisjoint(refused)

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", _RUN_WITHOUT, json.dumps(sorted(refused))], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "The last pass made 0 write calls: nothing left to change." in done.stdout
    assert "organization act" in done.stdout
