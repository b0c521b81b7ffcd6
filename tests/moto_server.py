"""A `moto_server` on 127.0.0.1 for CLI tests: the CLI runs as a separate process, as a user runs it.

The starter lives in tools/moto_local.py, shared with `make reliability` and `make bench`.
"""
from __future__ import annotations

from moto_local import reset, running_moto_server

__all__ = ["reset", "running_moto_server"]
