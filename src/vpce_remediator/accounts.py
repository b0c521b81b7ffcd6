"""Member accounts of an AWS Organization, reached from the central account by `sts:AssumeRole`.

The organization path runs one engine in a central (delegated administrator) account; each
member account holds a role the engine assumes (`org/member.yaml`, deployed by a service-managed
StackSet). Everything the engine reads or writes for a member is done with that member's
credentials, so nothing is ever written in another account than the one an event is about, and
Security Hub findings and Config evaluations come from the account they are for (AWS requires
both). Credentials are cached per account for their lifetime, less a margin.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from rules.partitions import partition_of
from rules.records import record
from vpce_remediator.aws import Clients, error_code, error_message
from vpce_remediator.errors import AccountUnreachable as AccountUnreachable  # raised here, and imported from here

ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
# IAM role names (and an optional path): the role ARN is built from it and the event's account.
ROLE_NAME = re.compile(r"^(/[\w+=,.@-]+)*/?[\w+=,.@-]{1,64}$")
SESSION_NAME = "vpce-remediator"
# Credentials are refreshed this long before AWS says they expire: a run in flight keeps working.
REFRESH_MARGIN_SECONDS = 300.0
SESSION_SECONDS = 3600  # AssumeRole's default, asked for explicitly
# STS answers that a retry can help: the account is not unreachable, the call was.
_RETRYABLE = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable",
                        "InternalError", "InternalFailure"})


@record
class MemberRole:
    """The role the central engine assumes in each member account, and the ExternalId its trust
    policy may require."""

    name: str
    external_id: str | None = None

    def __post_init__(self) -> None:
        if not ROLE_NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not an IAM role name")

    def arn(self, account: str, region: str) -> str:
        path = self.name if self.name.startswith("/") else f"/{self.name}"
        return f"arn:{partition_of(region).id}:iam::{account}:role{path}"


class MemberAccounts:
    """The member accounts' `Clients`, each made from `AssumeRole` credentials taken with the
    central `base` clients' STS (counted there: `sts.AssumeRole`), cached per account and Region
    until `REFRESH_MARGIN_SECONDS` before they expire. Safe to share between threads (a scan of
    many accounts at once)."""

    def __init__(self, base: Clients, role: MemberRole, clock: Callable[[], float] = time.time) -> None:
        self.base = base
        self.role = role
        self.clock = clock
        self._credentials: dict[str, tuple[float, dict[str, Any]]] = {}  # account -> (expires at, credentials)
        self._clients: dict[tuple[str, str], tuple[float, Clients]] = {}
        self._lock = threading.Lock()  # guards the dicts; each account's AssumeRole has its own lock
        self._account_locks: dict[str, threading.Lock] = {}

    def clients(self, account: str, region: str | None = None, keep: bool = True) -> Clients:
        """The clients of `account` in `region` (the base's by default). Raises `AccountUnreachable`
        when `account` is not an account id or its member role cannot be assumed.

        With `keep` false the clients are made for one use and not cached (the credentials still
        are): a fleet scan visits each account-Region once, and a dozen clients per pair, kept for
        the whole run, grow the process by megabytes per account-Region."""
        region = region or self.base.region
        if not isinstance(account, str) or not ACCOUNT_ID.match(account):
            raise AccountUnreachable(str(account)[:40], "not a 12-digit AWS account id")
        with self._lock:
            account_lock = self._account_locks.setdefault(account, threading.Lock())
        # One AssumeRole per account at a time; accounts do not wait on each other.
        with account_lock:
            expires, credentials = self._fresh_credentials(account, region)
            cached = self._clients.get((account, region))
            if cached is not None and cached[0] == expires:
                return cached[1]
            made = Clients(region=region, endpoint_url=self.base.endpoint_url, pace=self.base.pace,
                           session=session_from(self.base, credentials, region))
            if keep:
                self._clients[(account, region)] = (expires, made)
            return made

    def _fresh_credentials(self, account: str, region: str) -> tuple[float, dict[str, Any]]:
        cached = self._credentials.get(account)
        if cached is not None and cached[0] - REFRESH_MARGIN_SECONDS > self.clock():
            return cached
        args: dict[str, Any] = {"RoleArn": self.role.arn(account, region), "RoleSessionName": SESSION_NAME,
                                "DurationSeconds": SESSION_SECONDS}
        if self.role.external_id:
            args["ExternalId"] = self.role.external_id
        try:
            answer = self.base.sts.assume_role(**args)
        except ClientError as e:
            if error_code(e) in _RETRYABLE:
                raise  # STS throttled past botocore's retries: the record is retried, not given up
            raise AccountUnreachable(account, f"cannot assume {args['RoleArn']} ({error_code(e)}: "
                                              f"{error_message(e)[:200]}): is the member stack deployed there?") from e
        credentials: dict[str, Any] = dict(answer["Credentials"])
        expiration = credentials.get("Expiration")
        expires = expiration.timestamp() if isinstance(expiration, datetime) else self.clock() + SESSION_SECONDS
        self._credentials[account] = (expires, credentials)
        return expires, credentials


def session_from(base: Clients, credentials: dict[str, Any], region: str) -> Any:
    """A boto3 session on the assumed credentials that shares the base session's service-model
    loader: a new session per account would parse each model's JSON again (~0.3 s a client)."""
    import boto3
    import botocore.session

    hooks = _builtin_handlers()
    core = botocore.session.Session(event_hooks=hooks, include_builtin_handlers=hooks is None)
    core.register_component("data_loader", base.session._session.get_component("data_loader"))
    return boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"],
                                 aws_secret_access_key=credentials["SecretAccessKey"],
                                 aws_session_token=credentials["SessionToken"], region_name=region,
                                 botocore_session=core)


_handlers_lock = threading.Lock()
_handlers_made: tuple[list[Any], Any] | None = None  # (botocore's built-in handler list, an emitter holding them)


def _builtin_handlers() -> Any:
    """A copy of an event emitter holding botocore's built-in handlers, or None (the session then
    registers them itself). A new botocore session registers each of them (~150) anew, checking
    every handler's signature: 4 ms of CPU per account-Region of a fleet scan, where copying a
    registered emitter takes 0.3. Made again when the built-in list has changed (a tool that
    installs a handler there for every later session: the bench's counters and AWS model)."""
    import copy

    from botocore import handlers
    from botocore.session import Session

    global _handlers_made
    with _handlers_lock:
        if _handlers_made is None or _handlers_made[0] != handlers.BUILTIN_HANDLERS:
            # The session's own emitter, under the aliasing layer every session adds (not public:
            # a botocore without it gets sessions that register the handlers themselves).
            _handlers_made = (list(handlers.BUILTIN_HANDLERS), getattr(Session(), "_original_handler", None))
        made = _handlers_made[1]
        return copy.copy(made) if made is not None else None


def members_from_env(clients: Clients, env: Mapping[str, str] = os.environ) -> MemberAccounts | None:
    """The organization path's member accounts when the central template sets `MEMBER_ROLE_NAME`
    (and `MEMBER_EXTERNAL_ID`, empty for none); None in a single-account stack."""
    name = env.get("MEMBER_ROLE_NAME") or ""
    if not name:
        return None
    return MemberAccounts(clients, MemberRole(name, env.get("MEMBER_EXTERNAL_ID") or None))
