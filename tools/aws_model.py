"""AWS's answer time and throttles, modelled for `make bench`: moto answers in ~5 ms and never throttles.

One botocore `before-send` handler, installed among botocore's built-in handlers so that every
session a process makes afterwards carries it (ours, and Cloud Custodian's in its own virtualenv
through `tools/aws_model_site/sitecustomize.py`), does to each HTTP request what AWS does:

- it waits `latency_ms` before the request goes on (AWS answers a Describe call in tens of
  milliseconds, a throttled one too);
- it takes a token from the bucket of the request's account, Region and API class, refilled
  continuously; when that bucket is dry it answers the request itself with AWS's throttling error
  (EC2: HTTP 503 `RequestLimitExceeded`; JSON services: 400 `ThrottlingException`; Route 53 and
  the query services: 400 `Throttling`) and the request goes no further, so that the client's
  retries and pacing are exercised as in an account.

The buckets are AWS's documented defaults (below, with their sources), not read from our own code,
so that a wrong assumption in our pacing shows up as throttled requests. They live in the process:
each tool handles an account-Region pair within one process (our scan; `custodian run`; each
c7n-org worker takes whole pairs), which is what the figures need. The account of a request is its
access key's: the keys AssumeRole hands out are mapped to the role's account as they are issued.

    model = Model(latency_ms=40); model.install()  # ... model.uninstall()

Standard library and botocore only: it is imported by the Custodian virtualenv too.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple
from urllib.parse import parse_qs


class Bucket(NamedTuple):
    burst: float
    refill_per_second: float


# EC2 throttles each API separately (its "request rate limiting": a DescribeVpcAttribute burst does
# not slow DescribeSubnets), per account and Region (EC2 API reference, "Request throttling").
EC2_NON_MUTATING = Bucket(100, 20)
# The unfiltered, unpaginated Describe calls of the listed APIs share a smaller bucket each.
EC2_UNFILTERED = Bucket(50, 10)
EC2_UNFILTERED_APIS = frozenset({
    "DescribeInstances", "DescribeSecurityGroups", "DescribeSubnets", "DescribeVpcs", "DescribeVolumes",
    "DescribeNetworkInterfaces", "DescribeRouteTables", "DescribeVpcEndpoints", "DescribeNatGateways",
    "DescribeImages", "DescribeSnapshots"})
# DESIGN.md section 6: the endpoint mutations share one small bucket; the other writes are per API.
EC2_ENDPOINT_WRITES = frozenset({"CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints"})
EC2_BUCKETS: dict[str, Bucket] = {
    "endpoint-writes": Bucket(4, 0.3),
    "CreateSecurityGroup": Bucket(50, 5), "AuthorizeSecurityGroupIngress": Bucket(50, 5),
    "CreateTags": Bucket(100, 10),
}
EC2_OTHER_MUTATING = Bucket(50, 5)
# ECS throttles per account and Region, per action (ECS API reference, "Request throttling"; the
# two figures the scan depends on most from DESIGN.md section 6, the cluster reads' 50 otherwise).
ECS_BUCKETS: dict[str, Bucket] = {"DescribeTaskDefinition": Bucket(50, 20), "DescribeServices": Bucket(100, 20)}
ECS_OTHER = Bucket(50, 20)
# Route 53's API takes five requests a second per account, whatever the action.
ROUTE53 = Bucket(5, 5)

_NON_MUTATING = ("Describe", "Get", "List", "Search")


def bucket_of(service: str, operation: str, params: dict[str, list[str]]) -> tuple[str, Bucket] | None:
    """The bucket a request draws on, by name, or None for a service modelled without one (STS,
    DynamoDB, Config, Security Hub, Service Quotas...: latency only)."""
    if service == "ec2":
        if operation in EC2_ENDPOINT_WRITES:
            return "ec2:endpoint-writes", EC2_BUCKETS["endpoint-writes"]
        if operation.startswith(_NON_MUTATING):
            narrowed = any(k.startswith(("Filter.", "MaxResults", "NextToken")) or re.search(r"Id\.\d+$", k)
                           for k in params)
            if operation in EC2_UNFILTERED_APIS and not narrowed:
                return f"ec2:{operation}:unfiltered", EC2_UNFILTERED
            return f"ec2:{operation}", EC2_NON_MUTATING
        return f"ec2:{operation}", EC2_BUCKETS.get(operation, EC2_OTHER_MUTATING)
    if service == "ecs":
        return f"ecs:{operation}", ECS_BUCKETS.get(operation, ECS_OTHER)
    if service == "route53":
        return "route53", ROUTE53
    return None


# ---------------------------------------------------------------- reading a signed request


_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


class Request(NamedTuple):
    access_key: str
    region: str
    service: str
    operation: str
    params: dict[str, list[str]]
    protocol: str  # "ec2", "query", "json", "rest"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value or "")


def read_request(request: Any) -> Request | None:
    """Who sends what where, from the SigV4 credential scope and the body or target header; None
    for an unsigned request (which AWS would refuse; the model lets it pass)."""
    headers = {str(k).lower(): _text(v) for k, v in request.headers.items()}
    found = _SCOPE.search(headers.get("authorization", ""))
    if not found:
        return None
    access_key, region, service = found.groups()
    target = headers.get("x-amz-target", "")
    if target:
        return Request(access_key, region, service, target.rsplit(".", 1)[-1], {}, "json")
    body = request.body
    if isinstance(body, (bytes, bytearray, str)) and "Action=" in _text(body):
        params = parse_qs(_text(body))
        operation = params.get("Action", [""])[0]
        return Request(access_key, region, service, operation, params, "ec2" if service == "ec2" else "query")
    return Request(access_key, region, service, "", {}, "rest")


# ---------------------------------------------------------------- AWS's refusal


class _Raw:
    """What botocore reads a response body from (`stream()`)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def throttled_response(request: Any, protocol: str) -> Any:
    """The answer AWS gives a request over its bucket, in the request's protocol."""
    from botocore.awsrequest import AWSResponse

    rid = str(uuid.uuid4())
    if protocol == "ec2":
        status, kind = 503, "text/xml"
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>RequestLimitExceeded"
                "</Code><Message>Request limit exceeded.</Message></Error></Errors>"
                f"<RequestID>{rid}</RequestID></Response>")
    elif protocol == "json":
        status, kind = 400, "application/x-amz-json-1.1"
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
    elif protocol == "query" or "route53" in request.url or "/2013-04-01/" in request.url:
        status, kind = 400, "text/xml"
        body = ("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                f"</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
    else:
        status, kind = 429, "application/json"
        body = json.dumps({"message": "Rate exceeded"})
    headers = {"x-amzn-RequestId": rid, "Content-Type": kind, "x-amzn-ErrorType": "ThrottlingException"}
    return AWSResponse(request.url, status, headers, _Raw(body.encode()))


# ---------------------------------------------------------------- the model


class _Tokens:
    def __init__(self, bucket: Bucket, now: float) -> None:
        self.bucket = bucket
        self.tokens = float(bucket.burst)
        self.at = now
        self.granted = 0
        self.refused = 0


class Model:
    """Latency and buckets for every request of the process while installed."""

    def __init__(self, latency_ms: float = 40.0, throttle: bool = True,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.latency_s = max(0.0, latency_ms) / 1000
        self.throttle = throttle
        self.clock = clock
        self.sleep = sleep
        self._guard = threading.Lock()
        self._buckets: dict[tuple[str, str, str], _Tokens] = {}
        self.accounts: dict[str, str] = {}  # access key -> account, from AssumeRole answers
        self.requests: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._installed: list[tuple[Any, ...]] = []
        self._wrapped: list[Callable[..., Any]] = []

    # -- what AWS does to one request

    def take(self, account: str, region: str, name: str, bucket: Bucket) -> bool:
        """One token from the (account, Region, API class) bucket; False when it is dry."""
        with self._guard:
            now = self.clock()
            tokens = self._buckets.setdefault((account, region, name), _Tokens(bucket, now))
            tokens.tokens = min(bucket.burst, tokens.tokens + (now - tokens.at) * bucket.refill_per_second)
            tokens.at = now
            if tokens.tokens >= 1:
                tokens.tokens -= 1
                tokens.granted += 1
                return True
            tokens.refused += 1
            return False

    def before_send(self, request: Any, **kwargs: Any) -> Any:
        seen = read_request(request)
        label = f"{seen.service}.{seen.operation or '?'}" if seen else "unsigned"
        with self._guard:
            self.requests[label] += 1
        if self.latency_s:
            self.sleep(self.latency_s)
        if seen is not None and self.throttle:
            found = bucket_of(seen.service, seen.operation, seen.params)
            account = self.accounts.get(seen.access_key, seen.access_key)
            if found is not None and not self.take(account, seen.region, *found):
                with self._guard:
                    self.refused[label] += 1
                return throttled_response(request, seen.protocol)
        # Passed: whatever answers requests in this process (moto's in-process stubber) answers it.
        for handler in self._wrapped:
            answer = handler(request=request, **kwargs)
            if answer is not None:
                return answer
        return None

    def after_assume_role(self, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        creds, user = (parsed or {}).get("Credentials", {}), (parsed or {}).get("AssumedRoleUser", {})
        arn = str(user.get("Arn", ""))
        if creds.get("AccessKeyId") and arn.count(":") >= 5:
            with self._guard:
                self.accounts[creds["AccessKeyId"]] = arn.split(":")[4]

    # -- installing it

    def install(self, in_process_moto: bool = True) -> Model:
        """Every session made from now on sends through the model. botocore's own `before-send`
        handlers (moto's, when it is imported) are taken out and called by the model instead, so
        that a refused request never reaches them. `in_process_moto` false: the process talks to
        a moto_server, and moto is not imported for it (0.3 s, which only the process that has
        moto installed, ours and not Custodian's, would pay)."""
        from botocore import handlers

        if in_process_moto:
            with contextlib.suppress(ImportError):  # moto registers its stubber on import: wrap it too
                import moto.core.models  # noqa: F401
        kept = []
        for entry in handlers.BUILTIN_HANDLERS:
            if entry[0] == "before-send":
                self._wrapped.append(entry[1])
                self._installed.append(entry)
            else:
                kept.append(entry)
        ours = [("before-send", self.before_send), ("after-call.sts.AssumeRole", self.after_assume_role)]
        handlers.BUILTIN_HANDLERS[:] = [*ours, *kept]
        self._ours = ours
        return self

    def uninstall(self) -> None:
        from botocore import handlers

        handlers.BUILTIN_HANDLERS[:] = [e for e in handlers.BUILTIN_HANDLERS if e not in self._ours]
        handlers.BUILTIN_HANDLERS.extend(self._installed)
        self._installed, self._wrapped = [], []

    # -- what it saw

    def forget(self) -> None:
        """Start counting afresh (in a forked child: its parent reports what the parent saw). The
        lock is made anew too: another thread of the parent may have held it at the fork."""
        self._guard = threading.Lock()
        self._buckets.clear()
        self.requests.clear()
        self.refused.clear()

    def floor_seconds(self) -> float:
        """The least wall time the granted requests could take under the buckets: for each bucket,
        its requests beyond the burst divided by its refill rate; the buckets refill side by side,
        so the floor is the largest of them."""
        with self._guard:
            return max((max(0.0, t.granted - t.bucket.burst) / t.bucket.refill_per_second
                        for t in self._buckets.values()), default=0.0)

    def stats(self) -> dict[str, Any]:
        with self._guard:
            busiest = sorted(((f"{a}/{r}/{n}", t.granted, t.refused) for (a, r, n), t in self._buckets.items()),
                             key=lambda x: (-x[1], x[0]))[:5]
        return {"latency_ms": round(self.latency_s * 1000, 1), "requests": sum(self.requests.values()),
                "refused": sum(self.refused.values()), "refused_by_operation": dict(sorted(self.refused.items())),
                "bucket_floor_s": round(self.floor_seconds(), 2),
                "busiest_buckets": [{"bucket": b, "granted": g, "refused": r} for b, g, r in busiest]}


# ---------------------------------------------------------------- child processes


ENV = "VPCE_BENCH_AWS_MODEL"  # JSON: {"latency_ms": 40, "throttle": true, "stats": "/path/to/stats.json"}
SITE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "aws_model_site")


def child_env(env: dict[str, str], latency_ms: float, stats_path: str, throttle: bool = True) -> dict[str, str]:
    """`env` for a child process that should run under the model (its sitecustomize installs it)."""
    path = os.pathsep.join(p for p in (SITE, env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path,
            ENV: json.dumps({"latency_ms": latency_ms, "throttle": throttle, "stats": stats_path})}


def install_from_env() -> Model | None:
    """In a child process: install the model `ENV` describes, and write its stats at exit."""
    raw = os.environ.get(ENV)
    if not raw:
        return None
    import atexit

    config = json.loads(raw)
    # The bench's child processes send to a moto_server: moto in them would only cost time.
    model = Model(float(config.get("latency_ms", 40)), bool(config.get("throttle", True))).install(
        in_process_moto=False)
    stats = config.get("stats")
    if stats:
        def write() -> None:
            # One line per process (c7n-org's workers are processes of their own).
            with open(stats, "a", encoding="utf-8") as f:
                f.write(json.dumps({"pid": os.getpid(), **model.stats()}) + "\n")

        atexit.register(write)
        # c7n-org's workers are forked multiprocessing children, which leave through os._exit, past
        # atexit: each counts from its fork on and writes its line as multiprocessing ends it.
        os.register_at_fork(after_in_child=lambda: _forked(model, write))
    return model


def _forked(model: Model, write: Callable[[], None]) -> None:
    model.forget()
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        # Registered after the fork, run once the child's multiprocessing bootstrap has cleared the
        # finalizers it inherited; a finalizer with a priority runs in the child's exit function.
        util.register_after_fork(model, lambda _: util.Finalize(None, write, exitpriority=0))


def read_stats(path: str) -> dict[str, Any]:
    """The stats the processes of one run wrote, summed."""
    out: dict[str, Any] = {"requests": 0, "refused": 0, "processes": 0, "bucket_floor_s": 0.0}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                s = json.loads(line)
                out["processes"] += 1
                out["requests"] += s["requests"]
                out["refused"] += s["refused"]
                out["bucket_floor_s"] = max(out["bucket_floor_s"], s["bucket_floor_s"])
    return out
