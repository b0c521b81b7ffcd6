"""A `moto_server` on 127.0.0.1, for the tools and tests that need AWS in another process.

One starter for the CLI tests, `make reliability` and `make bench`: a free local port, wait until
it answers, stop it afterwards. Never anything but 127.0.0.1.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto_server at {url} did not answer within {seconds:.0f} s") from None
            time.sleep(0.1)


@contextmanager
def running_moto_server(env: dict[str, str] | None = None, cwd: Path | None = None,
                        command: Sequence[str] | None = None) -> Iterator[str]:
    """Start a moto_server on a free local port; yield its URL; stop it.

    `command` replaces the default `python -m moto.server` (its last argument is the port), for a
    server started differently (the reliability tool serves one request at a time).
    """
    port = free_port()
    argv = [*command, str(port)] if command else [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                                  "-p", str(port)]
    proc = subprocess.Popen(argv, env={**os.environ, **(env or {})}, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def reset(url: str) -> None:
    """Empty the server's account."""
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"), timeout=5)
