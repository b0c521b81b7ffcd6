"""Errors the doors turn into exit codes and log lines."""
from __future__ import annotations


class BadInput(ValueError):
    """The event is malformed: the message is one line a person can act on."""
