"""Make a virtualenv and install into it: with uv when it can be had, else with pip.

    python3 tools/venvs.py VENV PIP-ARGS...      e.g.  python3 tools/venvs.py .venv -e '.[demo]'

Every virtualenv of the project goes through here (the Makefile's stamps, tools/bench_custodian.py,
the paste test's fallback), so they are all made one way. uv, pinned in requirements-uv.txt, comes
from PyPI: pip installs it into `.uv/` (its own folder, not a virtualenv: it is one static binary)
the first time, in about 2 s. It then installs the dev extras in seconds where pip took over a
minute. Should uv not install (no wheel for the platform, an index that lacks it), one line says so
and pip does the work as before; `VPCE_INSTALLER=pip` asks for pip outright. The standard library
only: it runs before any virtualenv exists.
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UV_DIR = ROOT / ".uv"
UV_REQUIREMENTS = ROOT / "requirements-uv.txt"


def base_python() -> str:
    """The interpreter this one was made from: a virtualenv's python made by uv has no pip, and a
    new virtualenv must not inherit the packages of the one running this."""
    return str(getattr(sys, "_base_executable", None) or sys.executable)


def _quiet_pip_env() -> dict[str, str]:
    # pip's warnings about being root or about an unreachable extra index are noise on one line.
    return {**os.environ, "PIP_ROOT_USER_ACTION": "ignore", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def uv() -> Path | None:
    """The pinned uv, installed into .uv/ on first use; None, after one line saying why, if it cannot be.

    A lock makes parallel callers (`make -j`) wait for one install; a stamp holding the
    requirements' hash makes later calls instant and a changed pin reinstall.
    """
    if os.environ.get("VPCE_INSTALLER", "uv") == "pip":
        return None
    exe = UV_DIR / "bin" / "uv"
    wanted = hashlib.sha256(UV_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = UV_DIR / ".installed"
    UV_DIR.mkdir(exist_ok=True)
    with open(UV_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if exe.is_file() and stamp.is_file() and stamp.read_text().strip() == wanted:
            return exe
        done = subprocess.run([base_python(), "-m", "pip", "install", "-qq", "--upgrade", "--target", str(UV_DIR),
                               "-r", str(UV_REQUIREMENTS)], capture_output=True, text=True, env=_quiet_pip_env())
        if done.returncode != 0 or not exe.is_file():
            why = (done.stderr.strip().splitlines() or [f"pip exited {done.returncode}"])[-1]
            print(f"uv could not be installed from PyPI ({why}): installing with pip instead, which is slower",
                  file=sys.stderr)
            return None
        stamp.write_text(wanted + "\n")
        return exe


def install(venv: Path, args: list[str], python: str | None = None) -> str:
    """Make `venv` from `python` unless it exists, install `args` (pip's syntax) into it; the installer's name.

    Bytecode is compiled at install time, as pip does: PYTHONDONTWRITEBYTECODE=1 (set here) would
    otherwise make every process of the tests parse moto and botocore from source again.
    """
    python = python or base_python()
    interpreter = venv / "bin" / "python"
    exe = uv()
    if exe is not None:
        # Never download an interpreter: the venv is built from the one asked for, or not at all.
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        if not interpreter.exists():
            subprocess.run([str(exe), "venv", "--quiet", "--python", python, str(venv)], check=True, env=env)
        subprocess.run([str(exe), "pip", "install", "--quiet", "--compile-bytecode", "--python", str(interpreter),
                        *args], check=True, env=env)
        return f"uv {_version(exe)}"
    if not interpreter.exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    has_pip = subprocess.run([str(interpreter), "-c", "import pip"], capture_output=True).returncode == 0
    if not has_pip:  # a virtualenv uv made carries no pip
        subprocess.run([str(interpreter), "-m", "ensurepip", "--default-pip", "-q"], check=True)
    subprocess.run([str(interpreter), "-m", "pip", "install", "--quiet", *args], check=True, env=_quiet_pip_env())
    return "pip"


def _version(exe: Path) -> str:
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.split()
    return out[1] if len(out) > 1 else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", help="the interpreter to make the virtualenv from (default: this one's base)")
    parser.add_argument("venv", type=Path)
    parser.add_argument("args", nargs=argparse.REMAINDER, help="what to install, as pip takes it")
    ns = parser.parse_args(argv)
    if not ns.args:
        parser.error("nothing to install")
    started = time.monotonic()
    try:
        by = install(ns.venv, ns.args, ns.python)
    except subprocess.CalledProcessError as e:
        print(f"{ns.venv}: installing {' '.join(ns.args)} failed ({e.cmd[0]} exited {e.returncode});"
              " VPCE_INSTALLER=pip uses pip instead of uv", file=sys.stderr)
        return 1
    print(f"{ns.venv}: {' '.join(ns.args)} installed by {by} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
