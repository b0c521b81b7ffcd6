"""Hostile strings in task-definition fields: do the fix commands built from them run anything but `aws`?

Each draw puts one string into one field that reaches a fix command (awslogs group and Region,
FireLens CloudWatch options, secret and parameter ARNs, repository credentials, image names and
registries), plans the workload (pure: rules, planner and doctor's reach rules, no AWS) and runs every
command it produced in bash with PATH holding only a stub `aws` that records its argv. A command
passes when bash parses it, when the only program it runs is that stub, once for the command and
once per `$(aws ...)` lookup, with exactly the arguments `shlex.split` reads in the command, and
when it writes no file. `tests/unit/test_hostile_strings.py` drives this with hypothesis;
`hostile_commands_executed` is the same check for `make reliability` (random draws, one seed).

Import it as `from hostile import hostile_commands_executed` (tools/ is on sys.path for the
scripts there and for pytest).
"""
from __future__ import annotations

import os
import random
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rules import Workload, required_endpoints
from rules.records import replace
from rules.workload import ContainerSpec, LogConfig
from vpce_remediator.facts import (
    EndpointInfo,
    NetworkAcl,
    RouteTableInfo,
    SecurityGroupInfo,
    ServiceOffer,
    SgRule,
    SubnetInfo,
    VpcSnapshot,
)
from vpce_remediator.plan import WorkloadNeeds, plan_remediation
from vpce_remediator.reach import judge

REGION = "us-east-1"
OTHER = "us-west-2"
ACCOUNT = "123456789012"
VPC = "vpc-0a1b2c3d"
SUBNETS = {s.id: s for s in (SubnetInfo("subnet-0000000a", VPC, REGION + "a", "10.0.1.0/24"),
                             SubnetInfo("subnet-0000000b", VPC, REGION + "b", "10.0.2.0/24"))}
TABLE = RouteTableInfo("rtb-0000000a", False, None, None, tuple(SUBNETS))
TASK_SG = "sg-0000000a"
ENDPOINT_SG = "sg-0000000e"
LOOKUP_SG = "sg-0123456789abcdef0"  # what the stub answers describe-security-groups with
STUB_OUTPUT = {"describe-security-groups": LOOKUP_SG,
               "describe-secret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/x-AbCdEf",
               "get-parameter": "value", "describe-prefix-lists": "pl-63a5400a"}
ECR_HERE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
ECR_THERE = f"{ACCOUNT}.dkr.ecr.{OTHER}.amazonaws.com"


# ---------------------------------------------------------------- where a drawn string goes

def _log(*options: tuple[str, str], driver: str = "awslogs") -> Callable[[str], ContainerSpec]:
    def build(s: str) -> ContainerSpec:
        return ContainerSpec("app", f"{ECR_HERE}/app:1",
                             LogConfig(driver, tuple((k, v.replace("{s}", s)) for k, v in options)))
    return build


def _secret(template: str, credentials: bool = False) -> Callable[[str], ContainerSpec]:
    def build(s: str) -> ContainerSpec:
        value = template.replace("{s}", s)
        return ContainerSpec("app", f"{ECR_HERE}/app:1", secrets=(value,),
                             repository_credentials=value if credentials else None)
    return build


def _image(template: str) -> Callable[[str], ContainerSpec]:
    def build(s: str) -> ContainerSpec:
        return ContainerSpec("app", template.replace("{s}", s))
    return build


FIELDS: dict[str, Callable[[str], ContainerSpec]] = {
    "awslogs-group": _log(("awslogs-group", "{s}"), ("awslogs-region", OTHER)),
    "awslogs-region": _log(("awslogs-group", "/ecs/app"), ("awslogs-region", "{s}")),
    "firelens log_group_name": _log(("Name", "cloudwatch"), ("region", OTHER), ("log_group_name", "{s}"),
                                    driver="awsfirelens"),
    "firelens region": _log(("Name", "cloudwatch_logs"), ("region", "{s}"), ("log_group_name", "/ecs/app"),
                            driver="awsfirelens"),
    "secret valueFrom": _secret("{s}"),
    "secret name in ARN": _secret(f"arn:aws:secretsmanager:{OTHER}:{ACCOUNT}:secret:{{s}}"),
    "secret Region in ARN": _secret(f"arn:aws:secretsmanager:{{s}}:{ACCOUNT}:secret:db-AbCdEf"),
    "parameter name in ARN": _secret(f"arn:aws:ssm:{OTHER}:{ACCOUNT}:parameter/{{s}}"),
    "parameter Region in ARN": _secret(f"arn:aws:ssm:{{s}}:{ACCOUNT}:parameter/db"),
    "repositoryCredentials": _secret("{s}", credentials=True),
    "repositoryCredentials ARN": _secret(f"arn:aws:secretsmanager:{OTHER}:{ACCOUNT}:secret:{{s}}", credentials=True),
    "image": _image("{s}"),
    "image on Docker Hub": _image("docker.io/{s}"),
    "image on an unmirrorable registry": _image("mcr.microsoft.com/{s}"),
    "image in another Region's ECR": _image(f"{ECR_THERE}/{{s}}"),
    "image in this Region's ECR": _image(f"{ECR_HERE}/{{s}}"),
    "image registry": _image("{s}/app:1"),
}


def workload(field: str, s: str) -> Workload:
    return Workload(kind="service", arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/app", name="app",
                    region=REGION, account=ACCOUNT, launch_type="FARGATE", subnet_ids=tuple(SUBNETS),
                    security_group_ids=(TASK_SG,), assign_public_ip=False, containers=(FIELDS[field](s),),
                    task_definition_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/app:1")


def _snapshot(w: Workload, with_endpoints: bool) -> VpcSnapshot:
    needs = required_endpoints(w).needs
    prefix = f"com.amazonaws.{REGION}."
    azs = frozenset(s.az for s in SUBNETS.values())
    offers = {prefix + n.service: ServiceOffer(prefix + n.service, (n.type,), azs) for n in needs}
    endpoints: tuple[EndpointInfo, ...] = ()
    groups: dict[str, SecurityGroupInfo] = {}
    if with_endpoints:
        # Foreign endpoints that let nothing through: every hop has a fix to print.
        narrow = '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"*"}]}'
        endpoints = tuple(
            EndpointInfo(f"vpce-{i:08x}", prefix + n.service, n.type, "available",
                         ("subnet-0000000a",) if n.type == "Interface" else (),
                         (ENDPOINT_SG,) if n.type == "Interface" else (), False,
                         (TABLE.id,) if n.type == "Gateway" else (), narrow, False)
            for i, n in enumerate(needs, start=1))
        groups = {ENDPOINT_SG: SecurityGroupInfo(ENDPOINT_SG, "theirs", (SgRule("tcp", 22, 22, (), ()),), False)}
    return VpcSnapshot(vpc_id=VPC, region=REGION, account=ACCOUNT, cidrs=("10.0.0.0/16",), tags={},
                       dns_support=not with_endpoints, dns_hostnames=not with_endpoints, subnets=SUBNETS,
                       route_tables={TABLE.id: TABLE}, endpoints=endpoints, security_groups=groups, offers=offers)


def commands_for(field: str, s: str) -> list[str]:
    """Every fix command the planner and the hops print for a workload with `s` in `field`."""
    w = workload(field, s)
    req = required_endpoints(w)
    out: list[str] = []
    for with_endpoints in (False, True):
        snap = _snapshot(w, with_endpoints)
        plan = plan_remediation([WorkloadNeeds(w, req)], snap)
        out += [c for a in plan.actions for c in a.fix] + [c for f in plan.findings for c in f.fix]
        # Doctor's view of the same VPC: the task's group with no egress, ACLs that allow nothing.
        groups = {**snap.security_groups, TASK_SG: SecurityGroupInfo(TASK_SG, "task", (), False, egress=())}
        seen = replace(snap, security_groups=groups,
                       acls=(NetworkAcl("acl-0000000a", tuple(SUBNETS), ()),) if with_endpoints else None).with_zones(())
        out += [c for check in judge(seen, w, req) for c in check.fix]
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------- running them

_STUB = r"""#!/bin/bash
# Records its argv, length-prefixed (C locale: bytes), and answers the lookups fix commands make.
{ printf 'A%d:' "$#"; for a in "$@"; do printf '%d:%s' "${#a}" "$a"; done; } >> "$AWS_LOG"
case "$2" in
""" + "".join(f"  {op}) printf '%s\\n' {shlex.quote(answer)} ;;\n" for op, answer in STUB_OUTPUT.items()) + """esac
"""


@dataclass(frozen=True)
class Result:
    command: str
    parses: bool
    invocations: tuple[tuple[bytes, ...], ...]  # what the stub recorded, in order
    expected: tuple[tuple[bytes, ...], ...] | None  # None: shlex cannot read the command
    stderr: bytes
    files: tuple[str, ...]  # files the command left in its working directory

    @property
    def only_aws_ran(self) -> bool:
        return (self.parses and not self.stderr and not self.files and self.expected is not None
                and self.invocations == self.expected)


def _substitutions(command: str) -> tuple[str, list[str]] | None:
    """The command with each `$(...)` replaced by a marker, and their texts. Bash parses a
    substitution's text afresh, even inside double quotes, so its own quotes are read here with its
    own state, not the outer word's (shlex alone would end the outer quotes at the first inner one).
    None when a substitution does not close."""
    out, found, i, quote = [], [], 0, ""
    while i < len(command):
        c = command[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\" and i + 1 < len(command):
            out.append(command[i:i + 2])
            i += 2
            continue
        elif c == "'" and not quote:
            quote = "'"
        elif c == '"':
            quote = "" if quote == '"' else '"'
        elif command.startswith("$(", i):
            j, depth, inner = i + 2, 0, ""
            while j < len(command):
                d = command[j]
                if inner == "'":
                    inner = "" if d == "'" else inner
                elif inner == '"':
                    inner = "" if d == '"' and command[j - 1] != "\\" else inner
                elif d in "'\"":
                    inner = d
                elif d == "(":
                    depth += 1
                elif d == ")":
                    if depth == 0:
                        break
                    depth -= 1
                j += 1
            if j >= len(command):
                return None
            out.append(f"\x00{len(found)}\x00")
            found.append(command[i + 2:j])
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out), found


def expected_invocations(command: str) -> tuple[tuple[bytes, ...], ...] | None:
    """The argv (after `aws`) of each stub call the command should make: its `$(aws ...)` lookups
    first, then the command with their answers in place; None when it is not one such command."""
    parsed = _substitutions(command)
    if parsed is None:
        return None
    masked, texts = parsed
    try:
        words = shlex.split(masked)
    except ValueError:
        return None
    if not words or words[0] != "aws":
        return None
    calls: list[tuple[bytes, ...]] = []
    outer: list[str] = []
    for word in words[1:]:
        # One `$(aws ...)` lookup, the whole word or between plain text (a prefix list's id inside
        # shorthand `--ip-permissions`); anything else with `$(` or a backtick is not a fix's form.
        lookup = re.fullmatch(r"([^$`\x00]*)\x00(\d+)\x00([^$`()\x00]*)", word)
        if lookup:
            text = texts[int(lookup.group(2))]
            try:
                inner = shlex.split(text)
            except ValueError:
                return None
            # Inside single quotes `$(` and backticks are inert (a --query's JMESPath JSON literals).
            active = re.sub(r"'[^']*'", "", text)
            if not inner or inner[0] != "aws" or len(inner) < 3 or "$(" in active or "`" in active:
                return None
            calls.append(tuple(a.encode() for a in inner[1:]))
            outer.append(lookup.group(1) + STUB_OUTPUT.get(inner[2], "") + lookup.group(3))
        elif "$(" in word or "`" in word or "\x00" in word:
            return None  # a substitution of another form: not one the fix commands use
        else:
            outer.append(word)
    calls.append(tuple(a.encode() for a in outer))
    return tuple(calls)


def _parse_log(data: bytes) -> dict[int, list[tuple[bytes, ...]]]:
    """Marker M<k>; starts command k's calls; A<argc>: then <len>:<bytes> per argument."""
    out: dict[int, list[tuple[bytes, ...]]] = {}
    current = -1
    i = 0
    while i < len(data):
        tag = data[i:i + 1]
        if tag == b"M":
            end = data.index(b";", i)
            current = int(data[i + 1:end])
            out[current] = []
            i = end + 1
        elif tag == b"A":
            end = data.index(b":", i)
            argc = int(data[i + 1:end])
            i = end + 1
            args = []
            for _ in range(argc):
                colon = data.index(b":", i)
                n = int(data[i:colon])
                args.append(data[colon + 1:colon + 1 + n])
                i = colon + 1 + n
            out.setdefault(current, []).append(tuple(args))
        else:
            raise ValueError(f"unreadable stub log at byte {i}")
    return out


class Sandbox:
    """A stub `aws` alone on PATH, and an empty working directory per batch."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="hostile-")
        root = Path(self._tmp.name)
        self.bin = root / "bin"
        self.bin.mkdir()
        stub = self.bin / "aws"
        stub.write_text(_STUB)
        stub.chmod(0o755)
        self.root = root
        self._n = 0

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bash(self, args: list[str], script: str, log: Path, cwd: Path) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["/usr/bin/env", "-i", f"PATH={self.bin}", f"AWS_LOG={log}", "/bin/bash", *args, script],
                              cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=False)

    def run(self, commands: list[str]) -> list[Result]:
        """Run the commands in one bash (one per command when the batch shows anything foreign)."""
        if not commands:
            return []
        results = self._run_batch(commands)
        if len(commands) > 1 and not all(r.only_aws_ran for r in results):
            results = [self._run_batch([c])[0] for c in commands]
        return results

    def _run_batch(self, commands: list[str]) -> list[Result]:
        self._n += 1
        work = self.root / f"w{self._n}"
        work.mkdir()
        log = self.root / f"log{self._n}"
        log.touch()
        if self._bash(["-n", "-c"], "\n".join(commands), log, work).returncode == 0:
            parses = [True] * len(commands)
        else:
            parses = [self._bash(["-n", "-c"], c, log, work).returncode == 0 for c in commands]
        lines = []
        for k, command in enumerate(commands):
            lines.append(f"printf 'M%d;' {k} >> \"$AWS_LOG\"; printf 'M%d;' {k} >&2")
            lines.append(command if parses[k] else ":")
        proc = self._bash(["-c"], "\n".join(lines) + "\n", log, work)
        calls = _parse_log(log.read_bytes())
        stderr = _split_stderr(proc.stderr, len(commands))
        files = tuple(sorted(os.listdir(work)))
        return [Result(c, parses[k], tuple(calls.get(k, ())), expected_invocations(c), stderr[k], files)
                for k, c in enumerate(commands)]


def _split_stderr(data: bytes, n: int) -> list[bytes]:
    out = [b""] * n
    current = -1
    rest = data
    extra = b""
    for k in range(n):
        marker = f"M{k};".encode()
        head, sep, rest = rest.partition(marker)
        if not sep:
            extra += head
            break
        if current >= 0:
            out[current] = head
        else:
            extra += head
        current = k
    if current >= 0:
        out[current] += rest
    if extra:  # anything before the first marker or after a lost one belongs to no command: blame all
        out = [o + extra for o in out]
    return out


# ---------------------------------------------------------------- the reliability figure

_HOSTILE_PIECES = ("'", '"', "$(touch PWNED)", "`touch PWNED`", "${IFS}", ";", "&&", "|", "\n", "\\", "$", "(",
                   ")", "{", "}", "*", "?", "~", "#", " ", "\t", "!", "<", ">", "&", "%s", "\r", "é", "\u2028")


def _draw(rng: random.Random) -> str:
    base = rng.choice(["/ecs/app", "db-AbCdEf", "prod/db", "nginx", "us-west-2", "library/redis", ""])
    pieces = [rng.choice(_HOSTILE_PIECES) for _ in range(rng.randint(1, 6))]
    pieces += ["".join(chr(rng.randint(1, 0x2FF)) for _ in range(rng.randint(0, 4)))]
    cut = rng.randint(0, len(base))
    return base[:cut] + "".join(rng.sample(pieces, len(pieces))) + base[cut:]


def hostile_draws(draws: int, seed: int) -> Iterator[tuple[str, str]]:
    rng = random.Random(seed)
    fields = sorted(FIELDS)
    for i in range(draws):
        yield fields[i % len(fields)], _draw(rng)


def hostile_commands_executed(draws: int = 200, seed: int = 0) -> tuple[int, int]:
    """(draws tried, commands that ran anything other than the stub `aws` as read, or failed to parse)."""
    bad = 0
    with Sandbox() as box:
        for field, s in hostile_draws(draws, seed):
            bad += sum(not r.only_aws_ran for r in box.run(commands_for(field, s)))
    return draws, bad


if __name__ == "__main__":
    tried, executed = hostile_commands_executed()
    print(f"hostile strings in task-definition fields: {tried} draws, commands that execute anything: {executed}")
