"""Our share of AWS's throttle buckets: never call faster than a bucket refills.

AWS throttles each account in each Region with token buckets (DESIGN.md section 6; the EC2 and
ECS API references, "Request throttling"): EC2 gives every API its own bucket (a burst of one
Describe call does not slow another) except the endpoint mutations, which share one of 4 tokens;
ECS buckets its actions; Route 53 takes five requests a second for the whole account. A scan that
reads concurrently would run a bucket dry in its first second and then spend its time in
botocore's backoff; pacing each call to its bucket's refill keeps it at the bucket's rate instead,
and leaves the burst that other tools in the account (and our own retries) rely on. What other
callers spend, botocore's retries and the queue absorb.

Pure: no AWS client here; `aws.Clients` asks `read_pacer` before each call when it paces.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """One token bucket as we keep to it: `take` waits until a token is ours."""

    __slots__ = ("capacity", "refill_per_second", "clock", "sleep", "tokens", "updated", "_guard")

    def __init__(self, capacity: float = 4.0, refill_per_second: float = 0.3,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self.clock = clock
        self.sleep = sleep
        self.tokens = capacity
        self.updated = -1.0
        self._guard = threading.Lock()

    def take(self) -> None:
        # The wait happens under the lock: the next caller of this bucket computes its own wait
        # only after this one's token is spent, so concurrent callers are spaced at the refill rate.
        with self._guard:
            now = self.clock()
            if self.updated >= 0:
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill_per_second)
            self.updated = now
            if self.tokens < 1:
                wait = (1 - self.tokens) / self.refill_per_second
                self.sleep(wait)
                self.tokens, self.updated = 1.0, now + wait
            self.tokens -= 1


# (burst, refill per second) of the buckets our reads draw on; anything not named is not paced.
ENDPOINT_WRITES = (4.0, 0.3)  # CreateVpcEndpoint, ModifyVpcEndpoint, DeleteVpcEndpoints, shared
EC2_READ = (100.0, 20.0)  # each non-mutating EC2 API, its own
ECS_READS = {"DescribeTaskDefinition": (50.0, 20.0), "DescribeServices": (100.0, 20.0)}
ECS_OTHER_READ = (50.0, 20.0)
ROUTE53 = (5.0, 5.0)  # the whole account, every action
_READ_PREFIXES = ("Describe", "List", "Get", "Search")


def read_bucket(service: str, operation: str) -> tuple[str, tuple[float, float]] | None:
    """The bucket a read of `service` draws on (its name and figures), or None when it is not paced."""
    if not operation.startswith(_READ_PREFIXES):
        return None
    if service == "ec2":
        return f"ec2:{operation}", EC2_READ
    if service == "ecs":
        return f"ecs:{operation}", ECS_READS.get(operation, ECS_OTHER_READ)
    if service == "route53":
        return "route53", ROUTE53
    return None


# One pacer per account (or identity), Region and bucket, shared by the invocations of a warm
# Lambda and by a scan's threads: buckets are per account and Region, so a fleet scan's accounts
# (and one account's Regions) never wait on each other's tokens.
_PROCESS_PACERS: dict[tuple[str, str, str], Pacer] = {}
_PACERS_GUARD = threading.Lock()


def process_pacer(account: str = "", region: str = "", bucket: str = "ec2:endpoint-writes",
                  figures: tuple[float, float] = ENDPOINT_WRITES) -> Pacer:
    """The process's pacer for `bucket` of `account` in `region` (by default: the endpoint writes)."""
    with _PACERS_GUARD:
        pacer = _PROCESS_PACERS.get((account, region, bucket))
        if pacer is None:
            pacer = _PROCESS_PACERS[(account, region, bucket)] = Pacer(*figures)
        return pacer


# Our share of a read bucket: most of its burst, and its refill a little under AWS's. A request
# reaches AWS a moment after its token is taken here, and concurrent requests by varying moments
# (signing, the GIL, the network): at exactly AWS's rate that jitter alone gets some refused, and
# each refusal costs a backoff of up to seconds. The margin also leaves room for other callers.
READ_BURST_SHARE = 0.8
READ_REFILL_SHARE = 0.95


def read_pacer(account: str, region: str, service: str, operation: str) -> Pacer | None:
    """The pacer a read waits on, or None when its bucket is not paced."""
    found = read_bucket(service, operation)
    if found is None:
        return None
    name, (burst, refill) = found
    return process_pacer(account, region, name, (max(1.0, burst * READ_BURST_SHARE), refill * READ_REFILL_SHARE))
