"""Errors the doors turn into exit codes and log lines."""
from __future__ import annotations


class BadInput(ValueError):
    """The event is malformed: the message is one line a person can act on."""


class AccountUnreachable(Exception):
    """The member role of an account cannot be assumed (no role yet, trust refused, not an account
    id): the account is not evaluated, and nothing is written for it. (Here rather than in
    `accounts`, where it is raised: the event path catches it without loading the organization path.)"""

    def __init__(self, account: str, reason: str) -> None:
        super().__init__(f"account {account}: {reason}")
        self.account = account
        self.reason = reason
