"""`vpce-remediator scan` over many accounts and Regions: the fleet.

Orchestration only: the accounts come from the organization (`ListAccounts`, or the accounts of
some OUs and of every OU nested under them) or from a list; each account x Region pair is one
`scan.scan_estate` with that account's clients (`accounts.MemberAccounts`: the member role,
assumed with the caller's credentials), and the pairs run in a bounded thread pool. AWS's
throttle buckets are per account and Region, so the pairs do not compete for tokens (the endpoint
pacers are per account and Region too, `pacing`); within one pair the scan reads ahead on its own
few threads per API (`scan.ReadAhead`), each read paced to its bucket.

An account whose role cannot be assumed, or whose role (or the caller's credentials) is refused
on the pair's first call, is an `unreachable` entry; any other AWS error stopping a pair's scan is
a `failed` entry; the other pairs go on either way. The caller's own account, when listed, is
scanned with the caller's credentials, as a plain `scan` is: a service-managed StackSet deploys no
member stack to the management account, and the caller can already act there.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rules.formats import printable
from rules.partitions import PARTITIONS
from vpce_remediator.accounts import ACCOUNT_ID, ROLE_NAME, AccountUnreachable, MemberAccounts, session_from
from vpce_remediator.aws import Clients, error_code, error_message, paginate
from vpce_remediator.engine import COMPLIANT, IGNORED, NON_COMPLIANT, REMEDIATED, Settings
from vpce_remediator.errors import BadInput
from vpce_remediator.lock import VpcBusy, VpcLock
from vpce_remediator.scan import STATUSES, ScanResult, calls_since, scan_estate, silent, vpc_label, workload_line

# What the caller (the central account, not the member role) needs beyond sts:GetCallerIdentity,
# which needs no permission: the organization's accounts for --org (ListAccounts; the two others
# for --ou), and the member roles.
CALLER_ACTIONS: tuple[str, ...] = (
    "organizations:ListAccounts", "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent", "sts:AssumeRole")
DEFAULT_ROLE_NAME = "vpce-remediator-member"
# Pairs scanned at once. A pair's scan is a chain of dependent calls (latency-bound, ~50-200 ms
# each), so threads hide the waiting; every pair has its own buckets, so more threads throttle
# nothing. What bounds it is this process: a pair in flight holds its clients (~2.5 MB) and
# parsing the answers is CPU work under one GIL (~0.1 s of CPU a pair, over a third of it making
# the pair's five clients). Measured on tools/bench_org.py's estate (20 accounts x 2 Regions,
# 2-core machine): at 40 ms a request the run is CPU-bound from 8 workers on (6.3 to 6.8 s for
# 8, 16 or 32); at 150 ms, as from a laptop far from the Region, 8 workers take 13.1 s, 16 9.1 s,
# 32 8.1 s; peak memory 120, 147 and 200 MB.
DEFAULT_MAX_WORKERS = 32
MAX_WORKERS = 64

SCANNED, UNREACHABLE, FAILED = "scanned", "unreachable", "failed"
VIA_ROLE, VIA_CALLER = "member-role", "caller"
ACTIVE = "ACTIVE"

OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")  # sts:AssumeRole's ExternalId
# Error codes of a refused call: the role exists (or AssumeRole would have failed) but may not scan,
# an SCP denies, or the Region is not enabled for the account (its STS tokens are not valid there).
REFUSED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure",
                     "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken",
                     "ExpiredTokenException"})

Progress = Callable[[int, int, str], None]


# ---------------------------------------------------------------- inputs (checked before any call)


def account_ids(values: Iterable[str]) -> tuple[str, ...]:
    """12-digit account ids, in the order given, each once."""
    ids = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    bad = [v for v in ids if not ACCOUNT_ID.match(v)]
    if bad:
        raise BadInput(f"{_quote(bad)}: expected 12-digit AWS account ids")
    if not ids:
        raise BadInput("--accounts: no account id given")
    return ids


def region_names(values: Iterable[str], caller_region: str) -> tuple[str, ...]:
    """Region names AWS has (rules.partitions), each once, all in the caller's partition: credentials,
    account ids and roles do not cross partitions."""
    regions = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    known = {r: p.id for p in PARTITIONS for r in p.regions}
    bad = [r for r in regions if r not in known]
    if bad:
        raise BadInput(f"{_quote(bad)}: not a Region of any AWS partition (e.g. us-east-1, eu-west-1)")
    if not regions:
        raise BadInput("--regions: no Region given")
    home = known.get(caller_region)
    other = [r for r in regions if known[r] != home]
    if home is not None and other:
        raise BadInput(f"{', '.join(other)}: not in partition {home} of Region {caller_region}: "
                       "credentials and accounts do not cross partitions")
    return regions


def parent_ids(values: Iterable[str]) -> tuple[str, ...]:
    """OU ids (ou-...) or the root's (r-...), each once."""
    ids = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    bad = [v for v in ids if not (OU_ID.match(v) or ROOT_ID.match(v))]
    if bad:
        raise BadInput(f"{_quote(bad)}: expected organizational unit ids (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)")
    return ids


def role_name(name: str) -> str:
    if not ROLE_NAME.match(name):
        raise BadInput(f"{_quote([name])}: not an IAM role name (letters, digits and +=,.@_- up to 64, "
                       "an optional /path/)")
    return name


def external_id(value: str) -> str:
    if not EXTERNAL_ID.match(value):
        raise BadInput("--external-id: 2 to 1224 characters of letters, digits and +=,.@:/-_")
    return value


def worker_count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise BadInput(f"--max-workers: a whole number from 1 to {MAX_WORKERS}")
    return int(value)


def _quote(values: Sequence[str]) -> str:
    return ", ".join(repr(printable(v)[:80]) for v in values)


# ---------------------------------------------------------------- the organization


@dataclass(frozen=True)
class OrgAccount:
    id: str
    name: str
    state: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE, ...


def organization_accounts(organizations: Any, parents: Sequence[str] = ()) -> list[OrgAccount]:
    """The organization's accounts (any state), by id: all of them (`ListAccounts`), or those of
    the OUs (or root) `parents` and of every OU nested under them, as a StackSet's OU targets are
    (`ListAccountsForParent`, `ListOrganizationalUnitsForParent`)."""
    try:
        if not parents:
            found = [a for page in paginate(organizations, "list_accounts") for a in page.get("Accounts", [])]
        else:
            found, queue, seen = [], list(parents), set(parents)
            while queue:
                parent = queue.pop(0)
                found += [a for page in paginate(organizations, "list_accounts_for_parent", ParentId=parent)
                          for a in page.get("Accounts", [])]
                for page in paginate(organizations, "list_organizational_units_for_parent", ParentId=parent):
                    for ou in page.get("OrganizationalUnits", []):
                        if ou["Id"] not in seen:
                            seen.add(ou["Id"])
                            queue.append(ou["Id"])
    except ClientError as e:
        if error_code(e) == "ParentNotFoundException":
            raise BadInput(f"{', '.join(parents)}: not an OU or root of this organization") from e
        if error_code(e) == "AWSOrganizationsNotInUseException":
            raise BadInput("the calling account is in no organization: --org lists the accounts of yours") from e
        raise
    # `State` replaces `Status` (retired from the Account object on 2026-09-09); read whichever is sent.
    by_id = {a["Id"]: OrgAccount(a["Id"], a.get("Name", ""), a.get("State") or a.get("Status", "")) for a in found}
    return [by_id[i] for i in sorted(by_id)]


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class FleetEntry:
    """One account in one Region: its scan, or why there is none."""

    account: str
    region: str
    status: str  # scanned, unreachable, failed
    via: str  # member-role, or caller (the caller's own account, with its own credentials)
    scan: ScanResult | None = None
    reason: str | None = None
    name: str = ""  # the account's name in the organization, when listed from it
    api_calls: Mapping[str, int] = field(default_factory=dict)  # the pair's own calls

    def counts(self) -> Counter[str]:
        return self.scan.counts() if self.scan is not None else Counter()

    @property
    def findings(self) -> int:
        """Findings over its evaluated VPCs (each once per VPC, as the scan's table counts them)."""
        return sum(len(v.outcome.findings) for v in self.scan.vpcs
                   if v.outcome is not None and v.status != IGNORED) if self.scan is not None else 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"account": self.account, "name": self.name or None, "region": self.region,
                               "status": self.status, "via": self.via}
        if self.reason is not None:
            out["reason"] = self.reason
        out["scan"] = self.scan.to_dict() if self.scan is not None else None
        return out


@dataclass(frozen=True)
class FleetResult:
    mode: str
    role: str
    caller_account: str
    regions: tuple[str, ...]
    entries: tuple[FleetEntry, ...] = ()
    skipped: tuple[OrgAccount, ...] = ()  # listed by the organization, not ACTIVE: not scanned
    api_calls: Mapping[str, int] = field(default_factory=dict)  # the caller's own (identity, organization, roles)

    @property
    def accounts(self) -> list[str]:
        return list(dict.fromkeys(e.account for e in self.entries))

    @property
    def not_scanned(self) -> list[FleetEntry]:
        return [e for e in self.entries if e.status != SCANNED]

    def counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for e in self.entries:
            total.update(e.counts())
        return total

    @property
    def total_calls(self) -> int:
        return sum(self.api_calls.values()) + sum(sum(e.api_calls.values()) for e in self.entries)

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts()
        status = Counter(e.status for e in self.entries)
        return {
            "mode": self.mode, "role": self.role, "caller_account": self.caller_account,
            "regions": list(self.regions),
            "summary": {"accounts": len(self.accounts), "regions": len(self.regions), "pairs": len(self.entries),
                        **{s: status.get(s, 0) for s in (SCANNED, UNREACHABLE, FAILED)},
                        "vpcs": sum(len(e.scan.vpcs) for e in self.entries if e.scan is not None),
                        "workloads": sum(counts.values()), **{s: counts.get(s, 0) for s in STATUSES},
                        "findings": sum(e.findings for e in self.entries)},
            "entries": [e.to_dict() for e in self.entries],
            "skipped": [{"account": a.id, "name": a.name or None, "state": a.state} for a in self.skipped],
            "api_calls": {"total": self.total_calls,
                          "caller": {"total": sum(self.api_calls.values()),
                                     "by_operation": dict(sorted(self.api_calls.items()))}},
        }


# ---------------------------------------------------------------- the fleet scan


def scan_fleet(base: Clients, members: MemberAccounts, settings: Settings, regions: Sequence[str],
               accounts: Sequence[str] = (), org: bool = False, parents: Sequence[str] = (),
               progress: Progress | None = None, lock: VpcLock | None = None,
               max_workers: int = DEFAULT_MAX_WORKERS) -> FleetResult:
    """Scan every account x Region pair, `max_workers` at a time: `accounts` (in that order; the
    caller's own when empty), or with `org` the organization's ACTIVE accounts (of the OUs or root
    `parents` and every OU below them, when given).

    `base` is the caller's clients (its STS assumes the member roles through `members`); `lock`,
    the stack's state table, serialises remediation per VPC with the central engine;
    `progress(done, total, "account-Regions")` hears of each pair as it finishes, from this thread.
    """
    before = Counter(base.calls)
    caller = str(base.sts.get_caller_identity()["Account"])
    names: dict[str, str] = {}
    skipped: list[OrgAccount] = []
    if not org:
        accounts = accounts or (caller,)
    else:
        listed = organization_accounts(base.organizations, parents)
        names = {a.id: a.name for a in listed}
        accounts = [a.id for a in listed if a.state == ACTIVE]
        skipped = [a for a in listed if a.state != ACTIVE]
    pairs = [(a, r) for a in accounts for r in regions]
    report = progress or silent
    entries: list[FleetEntry | None] = [None] * len(pairs)
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(pairs))), thread_name_prefix="fleet") as pool:
        futures: dict[Future[FleetEntry], int] = {
            pool.submit(_scan_pair, base, members, settings, lock, caller, account, region, names.get(account, "")): i
            for i, (account, region) in enumerate(pairs)}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                entries[futures[future]] = future.result()
                report(done, len(pairs), "account-Regions")
        except BaseException:
            # A bug (or ^C) in one pair: start no other, let the running ones end, say why.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return FleetResult(settings.mode, members.role.name, caller, tuple(regions),
                       tuple(e for e in entries if e is not None), tuple(skipped), calls_since(before, base.calls))


def _scan_pair(base: Clients, members: MemberAccounts, settings: Settings, lock: VpcLock | None, caller: str,
               account: str, region: str, name: str) -> FleetEntry:
    via = VIA_CALLER if account == caller else VIA_ROLE
    try:
        clients = caller_clients(base, region) if via == VIA_CALLER else members.clients(account, region, keep=False)
    except AccountUnreachable as e:
        return FleetEntry(account, region, UNREACHABLE, via, reason=e.reason, name=name)
    before = Counter(clients.calls)
    try:
        result = scan_estate(clients, settings, None, None, lock)
    except ClientError as e:
        calls = calls_since(before, clients.calls)
        who = "the member role" if via == VIA_ROLE else "your credentials"
        code, message = error_code(e), printable(error_message(e))[:200]
        # AWS answers a refusal with HTTP 403 whatever the protocol's error code (moto, too, sends
        # some services' refusals without a code botocore can read: the status stays).
        refused = code in REFUSED or e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403
        if refused and sum(calls.values()) <= 1:
            return FleetEntry(account, region, UNREACHABLE, via, name=name, api_calls=calls, reason=(
                f"{who} may not call {e.operation_name} ({code}: {message}): is the member stack's policy "
                f"deployed there, the Region enabled, or does an SCP deny it?"))
        return FleetEntry(account, region, FAILED, via, name=name, api_calls=calls,
                          reason=f"AWS error {code or '?'} on {e.operation_name}: {message}")
    except (BotoCoreError, VpcBusy) as e:
        return FleetEntry(account, region, FAILED, via, name=name, api_calls=calls_since(before, clients.calls),
                          reason=f"{type(e).__name__}: {printable(str(e))[:200]}")
    return FleetEntry(account, region, SCANNED, via, scan=result, name=name, api_calls=dict(result.api_calls))


def caller_clients(base: Clients, region: str) -> Clients:
    """The caller's own clients in `region`, on a session of their own: boto3 sessions must not
    make clients from several threads at once, and each pair runs in one."""
    credentials = base.session.get_credentials()
    if credentials is None:
        raise AccountUnreachable("caller", "no credentials")
    frozen = credentials.get_frozen_credentials()
    session = session_from(base, {"AccessKeyId": frozen.access_key, "SecretAccessKey": frozen.secret_key,
                                   "SessionToken": frozen.token}, region)
    return Clients(region=region, endpoint_url=base.endpoint_url, pace=base.pace, session=session)


# ---------------------------------------------------------------- output


def render(result: FleetResult) -> str:
    """One table for the fleet (a row per account and Region), then the pairs with something to
    do or fix, workload by workload."""
    counts = result.counts()
    status = Counter(e.status for e in result.entries)
    not_scanned = ", ".join(f"{status[s]} {s}" for s in (UNREACHABLE, FAILED) if status[s])
    lines = [f"fleet scan ({result.mode} mode, role {result.role}): {len(result.accounts)} account(s) x "
             f"{len(result.regions)} Region(s): {status[SCANNED]} of {len(result.entries)} account-Region(s) scanned"
             + (f", {not_scanned}" if not_scanned else "") + f"; {sum(counts.values())} workload(s): "
             f"{counts[COMPLIANT]} compliant, {counts[REMEDIATED]} remediated, {counts[NON_COMPLIANT]} non-compliant, "
             f"{counts[IGNORED]} ignored", ""]
    head = ("ACCOUNT", "REGION", "VPCS", "WORKLOADS", "COMPLIANT", "REMEDIATED", "NON-COMPLIANT", "FINDINGS", "NOTE")
    table = [head] + [_row(e) for e in result.entries]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    if result.skipped:
        lines += ["", "  not scanned, not ACTIVE in the organization: " + ", ".join(
            f"{_account_label(a.id, a.name)} {a.state}" for a in result.skipped)]
    for e in result.entries:
        if e.scan is None or not any(w.status != COMPLIANT or w.outcome is not None and any(
                r.status in ("created", "modified") for r in w.outcome.results) for w in e.scan.workloads):
            continue
        by_vpc: dict[str | None, list[Any]] = {}
        for w in e.scan.workloads:
            by_vpc.setdefault(w.vpc_id, []).append(w)
        for v in e.scan.vpcs:
            lines += ["", f"  {_account_label(e.account, e.name)} {e.region} {vpc_label(v)}: {v.status.upper()}"
                      + (f" ({v.ignored})" if v.ignored else "")]
            lines += ["  " + workload_line(w) for w in by_vpc.get(v.vpc_id, [])]
        if by_vpc.get(None):
            lines += ["", f"  {_account_label(e.account, e.name)} {e.region}, not evaluated (no network to read):"]
            lines += ["  " + workload_line(w) for w in by_vpc[None]]
    if counts[NON_COMPLIANT]:
        lines += ["", "  Fix commands: --json (each finding's `fix`, under entries[].scan)"]
    caller = sum(result.api_calls.values())
    lines.append(f"  AWS API calls: {result.total_calls} ({caller} by the caller: "
                 + ", ".join(f"{op} x{n}" for op, n in sorted(result.api_calls.items())) + ")")
    return "\n".join(lines)


def _row(e: FleetEntry) -> tuple[str, ...]:
    label = _account_label(e.account, e.name)
    if e.scan is None:
        return (label, e.region, *(("-",) * 6), f"{e.status}: {printable(e.reason or '')}")
    c = e.counts()
    note = "your own account: scanned with your credentials" if e.via == VIA_CALLER else ""
    return (label, e.region, str(len(e.scan.vpcs)), str(sum(c.values())),
            *(str(c[s]) for s in (COMPLIANT, REMEDIATED, NON_COMPLIANT)), str(e.findings), note)


def _account_label(account: str, name: str) -> str:
    return account + (f" ({printable(name)[:40]})" if name else "")
