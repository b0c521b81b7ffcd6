"""Across accounts: `vpce-remediator scan --accounts ... --regions ...` against `c7n-org run`.

One moto_server on 127.0.0.1 holds the organization: moto's default account is the central
(caller's) one, and `accounts` member accounts, each with the member role both tools assume
(`vpce-remediator-member`, trusting the central account) and, in each of `regions`, the estate
tools/bench_custodian.py seeds for one account (`seed`: VPCs with two Fargate services each, half
of them missing DNS hostnames or the ecr.dkr endpoint). Then, as separate processes with their
defaults:

- ours: `vpce-remediator scan --accounts ID,... --regions R,... --role-name ROLE --mode report
  --json` (the account-Regions in a thread pool of `fleet.DEFAULT_MAX_WORKERS`);
- Custodian's: `c7n-org run -c accounts.yml -u bench/custodian-policy.yml` from .venv-custodian
  (the account-Regions in a process pool of `C7N_ORG_PARALLEL`, by default 4 per CPU), the same
  question as the single-account side by side.

Each at 0 ms with the AWS model off (plain moto), and at `latency_ms` with it on
(tools/aws_model.py in both tools' processes: latency and AWS's buckets per account, Region and
API; our scan gets `--pace`, as it paces by itself against AWS). For each: wall time (median of
`repeats` runs) and CPU time (its processes', workers included: wall time on a machine others
share moves with their load, c7n-org's eight processes far more than our one), the requests moto
received (its recorder, one run apart) and those the model saw and refused (RequestLimitExceeded /
Throttling), the VPCs flagged against the seeded expectation, and what was lost: seeded
account-Regions or flagged VPCs missing from a tool's result.

    python tools/bench_org.py [--accounts 20] [--regions us-east-1,us-west-2] [--vpcs-per-pair 4]
                              [--latency-ms 40] [--repeats 3]

prints the result as JSON; `run()` returns it (for tools/bench.py). Importing this module changes no
environment and starts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import aws_model
from bench_custodian import (
    GOOD,
    NON_COMPLIANT,
    POLICY,
    POLICY_NAME,
    ROOT,
    Recorder,
    _custodian_flagged,
    _local,
    _offline_env,
    _scan_cmd,
    ensure_venv,
    seed,
)

CENTRAL = "123456789012"  # moto's default account: the caller's, whose dummy keys assume the roles
ROLE = "vpce-remediator-member"  # the fleet scan's default role name: the one both tools assume
HOME_REGION = "us-east-1"  # the caller's Region (our --region; c7n-org's STS)
REGIONS = ("us-east-1", "us-west-2")
FIRST_MEMBER = 210000000001  # member accounts are FIRST_MEMBER, FIRST_MEMBER + 1, ...
ORG_WALL_RATIO_BUDGET = 0.35  # issue 16: org scan wall, 40 ms, ours / c7n-org

Pair = tuple[str, str]  # (account, Region)
Flagged = frozenset[tuple[str, str, str]]  # (account, Region, VPC id)


def member_ids(n: int) -> list[str]:
    if not 0 < n <= 999:
        raise ValueError("accounts must be 1..999")
    return [str(FIRST_MEMBER + i) for i in range(n)]


def account_name(account: str) -> str:
    """c7n-org's name for an account: its output folder."""
    return f"member-{account[-3:]}"


def role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ROLE}"


# ---------------------------------------------------------------- the estate


class Estate(NamedTuple):
    accounts: list[str]
    regions: tuple[str, ...]
    vpcs: dict[Pair, dict[str, str]]  # each pair's VPC ids and their kind (bench_custodian's)
    seed_s: float

    @property
    def expected(self) -> Flagged:
        return frozenset((a, r, v) for (a, r), vpcs in self.vpcs.items() for v, kind in vpcs.items() if kind != GOOD)

    @property
    def scope(self) -> frozenset[tuple[str, str, str]]:
        return frozenset((a, r, v) for (a, r), vpcs in self.vpcs.items() for v in vpcs)


def _member_credentials(url: str, account: str) -> dict[str, str]:
    """Credentials acting in `account`: moto answers AssumeRole into any role ARN of an account
    with keys acting in that account (it does not check that the role exists, DESIGN.md section 7)."""
    import boto3

    sts = boto3.client("sts", region_name=HOME_REGION, endpoint_url=url, aws_access_key_id="testing",
                       aws_secret_access_key="testing", aws_session_token="testing")
    c = sts.assume_role(RoleArn=role_arn(account), RoleSessionName="bench-seed")["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


def seed_org(endpoint_url: str, accounts: int = 20, regions: Sequence[str] = REGIONS,
             vpcs_per_pair: int = 4) -> Estate:
    """The member accounts, each with the member role trusting the central account, and in each of
    `regions` bench_custodian's estate of `vpcs_per_pair` VPCs (two Fargate services each)."""
    import boto3

    url = _local(endpoint_url)
    started = time.perf_counter()
    ids = member_ids(accounts)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CENTRAL}:root"}, "Action": "sts:AssumeRole"}]})
    vpcs: dict[Pair, dict[str, str]] = {}
    for account in ids:
        creds = _member_credentials(url, account)
        boto3.client("iam", region_name=HOME_REGION, endpoint_url=url, **creds).create_role(
            RoleName=ROLE, AssumeRolePolicyDocument=trust)
        for region in regions:
            vpcs[(account, region)] = seed(url, vpcs_per_pair, region=region, credentials=creds,
                                           account=account)["vpcs"]
    return Estate(ids, tuple(regions), vpcs, time.perf_counter() - started)


# ---------------------------------------------------------------- the two tools


class Run(NamedTuple):
    wall_s: float
    cpu_s: float  # user + system of the tool's processes (c7n-org's workers included)
    returncode: int
    flagged: Flagged
    pairs: frozenset[Pair]  # the account-Regions the tool has a result for
    seen: frozenset[tuple[str, str, str]]  # VPCs it reports on (ours: every evaluated one; c7n-org: flagged)
    model: dict[str, Any]  # what the AWS model saw in the tool's processes (empty with the model off)
    stderr_tail: str


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall time, CPU time and the finished process; a non-zero exit is the caller's to judge (a
    pair not scanned is a result here, lost, not a crash). The CPU time is the child's and that of
    the processes it waited for (c7n-org waits for its workers): on a machine others share, wall
    time moves with their load, CPU time much less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=1200)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


def ours_cmd(url: str, estate: Estate, pace: bool) -> list[str]:
    return [*_scan_cmd(url, HOME_REGION, pace), "--accounts", ",".join(estate.accounts),
            "--regions", ",".join(estate.regions), "--role-name", ROLE]


def ours_env(env: dict[str, str]) -> dict[str, str]:
    """`env` for our scan, run from this checkout's sources (a shared virtualenv's editable
    install may point at another checkout)."""
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)}


def run_ours(url: str, estate: Estate, env: dict[str, str], pace: bool, stats: Path | None) -> Run:
    wall, cpu, done = _timed(ours_cmd(url, estate, pace), env, ROOT)
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        doc = {}
    flagged, pairs, seen = set(), set(), set()
    for entry in doc.get("entries", []):
        scan = entry.get("scan")
        if entry.get("status") != "scanned" or scan is None:
            continue
        pair = (str(entry["account"]), str(entry["region"]))
        pairs.add(pair)
        for vpc in scan.get("vpcs", []):
            seen.add((*pair, str(vpc["vpc_id"])))
            if vpc.get("status") == NON_COMPLIANT:
                flagged.add((*pair, str(vpc["vpc_id"])))
    return Run(wall, cpu, done.returncode, frozenset(flagged), frozenset(pairs), frozenset(seen),
               aws_model.read_stats(str(stats)) if stats else {}, done.stderr.strip()[-600:])


def accounts_config(estate: Estate) -> str:
    """c7n-org's accounts file: each member by id and name, the member role, the Regions."""
    lines = ["accounts:"]
    for account in estate.accounts:
        lines += [f"  - account_id: '{account}'", f"    name: {account_name(account)}",
                  f"    role: {role_arn(account)}", "    regions:"]
        lines += [f"      - {region}" for region in estate.regions]
    return "\n".join(lines) + "\n"


def c7n_org_cmd(venv: Path, config: Path, out: Path, cache: Path) -> list[str]:
    # --cache-period 0: c7n otherwise answers a later run from its cache (with fewer calls).
    return [str(venv / "bin" / "c7n-org"), "run", "-c", str(config), "-s", str(out), "-u", str(POLICY),
            "--cache-period", "0", "--cache-path", str(cache)]


def run_c7n_org(venv: Path, workdir: Path, estate: Estate, env: dict[str, str], stats: Path | None) -> Run:
    config, out, cache = workdir / "accounts.yml", workdir / "c7n-org-output", workdir / "c7n-org-cache"
    config.write_text(accounts_config(estate))
    # A fresh output folder each run: a pair that wrote nothing this time must not be read from the last.
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    wall, cpu, done = _timed(c7n_org_cmd(venv, config, out, cache), env, workdir)
    flagged, pairs = set(), set()
    for account in estate.accounts:
        for region in estate.regions:
            folder = out / account_name(account) / region
            if not (folder / POLICY_NAME / "resources.json").is_file():
                continue  # c7n-org logs the pair's error and goes on: it has no result for it
            pairs.add((account, region))
            flagged.update((account, region, vpc) for vpc in _custodian_flagged(folder))
    return Run(wall, cpu, done.returncode, frozenset(flagged), frozenset(pairs), frozenset(flagged),
               aws_model.read_stats(str(stats)) if stats else {}, done.stderr.strip()[-600:])


def c7n_org_facts(venv: Path) -> dict[str, Any]:
    """c7n-org's version and how it runs the account-Regions, read from its own module."""
    probe = ("import json, importlib.metadata as m, c7n_org.cli as c;"
             "print(json.dumps({'version': m.version('c7n-org'), 'c7n': m.version('c7n'),"
             "'workers': c.WORKER_COUNT, 'executor': 'ProcessPoolExecutor (one process per worker)'}))")
    env = {k: v for k, v in os.environ.items() if k != "C7N_ORG_PARALLEL"}
    done = subprocess.run([str(venv / "bin" / "python"), "-c", probe], capture_output=True, text=True, env=env,
                          check=True, timeout=120)
    facts: dict[str, Any] = json.loads(done.stdout)
    facts["workers_rule"] = "C7N_ORG_PARALLEL, else 4 x os.cpu_count()"
    facts["cpus"] = os.cpu_count()
    return facts


def ours_workers() -> int:
    """The fleet scan's default worker count, from the checkout's sources, as our runs see it."""
    probe = "from vpce_remediator.fleet import DEFAULT_MAX_WORKERS; print(DEFAULT_MAX_WORKERS)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120,
                          env=ours_env(dict(os.environ)))
    return int(done.stdout.strip())


# ---------------------------------------------------------------- comparing


def judged(runs: list[Run], estate: Estate) -> dict[str, Any]:
    """One tool's runs at one latency against the seeded estate."""
    expected, scope = estate.expected, estate.scope
    seeded = frozenset(estate.vpcs)
    walls = [r.wall_s for r in runs]
    lost = [len(seeded - r.pairs) + len(expected - r.flagged) for r in runs]
    last = runs[-1]
    models = [r.model for r in runs if r.model]
    return {
        "wall_s": round(statistics.median(walls), 3), "wall_runs_s": [round(w, 3) for w in walls],
        "cpu_s": round(statistics.median(r.cpu_s for r in runs), 3),
        "exit_codes": sorted({r.returncode for r in runs}),
        "pairs_with_result": len(last.pairs),
        "vpcs_flagged": len(last.flagged & scope), "flagged_as_seeded": all(r.flagged & scope == expected for r in runs),
        "flagged_outside_estate": len(last.flagged - scope),  # c7n-org: each pair's default VPC
        # Seeded account-Regions with no result, plus seeded faulty VPCs not flagged, per run.
        "lost": max(lost), "lost_runs": lost,
        "model_requests": [m["requests"] for m in models], "refused": [m["refused"] for m in models],
        "model_processes": models[-1]["processes"] if models else 0,
        "bucket_floor_s": max((m["bucket_floor_s"] for m in models), default=0.0),
        **({"stderr_tail": last.stderr_tail} if any(r.returncode for r in runs) else {}),
    }


def _latency_round(url: str, workdir: Path, venv: Path, estate: Estate, latency_ms: float | None,
                   repeats: int) -> dict[str, Any]:
    """Both tools at one latency (None: the model off): one recorded run each, then `repeats`
    timed runs alternating the two (the recorder's file writes weigh on no timed run)."""
    load_before = os.getloadavg()[0]
    base = _offline_env(url, HOME_REGION)
    ours_base = ours_env(base)
    recorder = Recorder(url)
    runs: dict[str, list[Run]] = {"ours": [], "c7n_org": []}
    requests: dict[str, Counter[str]] = {}
    for i in range(repeats + 1):
        for tool in ("ours", "c7n_org"):
            stats = workdir / f"model-{tool}-{latency_ms}-{i}.jsonl" if latency_ms is not None else None
            plain = ours_base if tool == "ours" else base
            env = aws_model.child_env(plain, latency_ms, str(stats)) if latency_ms is not None and stats else plain
            if i == 0:
                recorder.start()
            run = (run_ours(url, estate, env, pace=latency_ms is not None, stats=stats) if tool == "ours"
                   else run_c7n_org(venv, workdir, estate, env, stats))
            if i == 0:
                requests[tool] = recorder.stop()
            if i > 0 or repeats == 0:
                runs[tool].append(run)
    ours, theirs = judged(runs["ours"], estate), judged(runs["c7n_org"], estate)
    for tool, out in (("ours", ours), ("c7n_org", theirs)):
        out["requests_recorded"] = sum(requests[tool].values())
        out["requests_by_operation"] = dict(sorted(requests[tool].items()))
    last_ours, last_theirs = runs["ours"][-1], runs["c7n_org"][-1]
    return {
        "latency_ms": latency_ms or 0.0, "model": latency_ms is not None,
        # The machine's 1-minute load average as the round began and ended: c7n-org's eight
        # processes slow down far more than our one when other jobs share the cores.
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "ours": ours, "c7n_org": theirs,
        "wall_ratio": round(ours["wall_s"] / theirs["wall_s"], 3) if theirs["wall_s"] else None,
        "cpu_ratio": round(ours["cpu_s"] / theirs["cpu_s"], 3) if theirs["cpu_s"] else None,
        "same_vpcs_flagged": last_ours.flagged & estate.scope == last_theirs.flagged & estate.scope,
    }


def run(accounts: int = 20, regions: Sequence[str] = REGIONS, latency_ms: float = 40.0, repeats: int = 3,
        vpcs_per_pair: int = 4) -> dict[str, Any]:
    """Install Custodian and c7n-org if needed, seed the organization on a fresh moto_server, and
    compare both tools at 0 ms (model off) and at `latency_ms` (model on)."""
    from moto_local import running_moto_server

    started = time.perf_counter()
    venv = ensure_venv(ROOT)  # before anything is timed: a cold install takes a while
    install_s = time.perf_counter() - started
    facts = c7n_org_facts(venv)
    workers = ours_workers()
    with tempfile.TemporaryDirectory(prefix="bench-org-") as tmp:
        workdir = Path(tmp)
        with running_moto_server(env={"MOTO_RECORDER_FILEPATH": str(workdir / "moto_recording")},
                                 cwd=workdir) as url:
            estate = seed_org(url, accounts, regions, vpcs_per_pair)
            rounds = [_latency_round(url, workdir, venv, estate, latency, repeats) for latency in (None, latency_ms)]
    modelled = rounds[-1]
    return {
        "estate": {"accounts": accounts, "regions": list(regions), "pairs": len(estate.vpcs),
                   "vpcs_per_pair": vpcs_per_pair, "vpcs": len(estate.scope), "services": 2 * len(estate.scope),
                   "seeded_to_be_flagged": len(estate.expected), "seed_s": round(estate.seed_s, 2)},
        "ours": {"command": "vpce-remediator scan --accounts ... --regions ... --role-name ... --mode report --json"
                            " (--pace under the model)",
                 "workers": workers,
                 "parallelism": f"threads: fleet.DEFAULT_MAX_WORKERS = {workers} account-Regions at once in one "
                                "process (--max-workers not given)"},
        "c7n_org": {**facts, "command": "c7n-org run -c accounts.yml -s OUT -u bench/custodian-policy.yml "
                                        "--cache-period 0 --cache-path DIR",
                    "parallelism": f"processes: {facts['workers']} workers (ProcessPoolExecutor), each account-Region "
                                   "a `custodian run` of the policy in a worker (C7N_ORG_PARALLEL not set)"},
        "rounds": rounds,
        # The budget's two figures (issue 16): ours / c7n-org at the modelled latency <= 0.35, and
        # throttled requests whose result went missing == 0 (ours; c7n-org's shown beside it).
        "org_wall_ratio": modelled["wall_ratio"],
        "org_cpu_ratio": modelled["cpu_ratio"],
        "ours_lost": max(r["ours"]["lost"] for r in rounds),
        "c7n_org_lost": max(r["c7n_org"]["lost"] for r in rounds),
        "budget": {"org_wall_ratio": ORG_WALL_RATIO_BUDGET, "ours_lost": 0,
                   "org_wall_ratio_within": (modelled["wall_ratio"] or 0) <= ORG_WALL_RATIO_BUDGET,
                   "ours_lost_within": max(r["ours"]["lost"] for r in rounds) == 0,
                   # Nothing refused, nothing to lose: this estate stays inside every bucket.
                   "refused_ours": sum(sum(r["ours"]["refused"]) for r in rounds)},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "ensure_venv_s": round(install_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20, help="member accounts to seed")
    parser.add_argument("--regions", default=",".join(REGIONS), help="Regions, comma-separated")
    parser.add_argument("--vpcs-per-pair", type=int, default=4, help="VPCs per account-Region (2 services each)")
    parser.add_argument("--latency-ms", type=float, default=40.0, help="the model's latency per request")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each tool per latency (median)")
    args = parser.parse_args(argv)
    regions = tuple(r.strip() for r in args.regions.split(",") if r.strip())
    print(json.dumps(run(args.accounts, regions, args.latency_ms, args.repeats, args.vpcs_per_pair), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
