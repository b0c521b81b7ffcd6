"""Errors the doors turn into exit codes and log lines."""
from __future__ import annotations


class BadInput(ValueError):
    """The event is malformed: the message is one line a person can act on."""


class AwsCallFailed(RuntimeError):
    """An AWS call failed in a way the engine cannot turn into a finding."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation} failed: {code}: {message}")
        self.operation = operation
        self.code = code
