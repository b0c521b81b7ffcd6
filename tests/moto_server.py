"""A `moto_server` on 127.0.0.1 for CLI tests: the CLI runs as a separate process, as a user runs it."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_moto_server() -> Iterator[str]:
    """Start a moto_server on a free local port; yield its URL; stop it."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def reset(url: str) -> None:
    """Empty the server's account between tests."""
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"), timeout=5)
