"""The queue door: one SQS batch of EventBridge events through the engine.

Each record is evaluated on its own; a malformed one raises so the batch processor reports it
alone in `batchItemFailures` (it is retried, then kept in the dead-letter queue). Duplicates cost
nothing, at four levels: the same CloudTrail event id in this batch, the same workload in this
batch (a storm of RunTask calls for one task definition is one evaluation), the same task launch
in later batches handled by this warm container within two minutes (`Recent`), and the same
event id within a day across batches and invocations (Powertools idempotency on the stack's
DynamoDB table), since EventBridge and CloudTrail both deliver at least once.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from vpce_remediator.aws import Clients
from vpce_remediator.engine import Settings, evaluate_trigger
from vpce_remediator.errors import AccountUnreachable, BadInput
from vpce_remediator.lock import VpcLock
from vpce_remediator.plan import Finding
from vpce_remediator.triggers import Ignored, Trigger, parse_event, workload_key

if TYPE_CHECKING:
    from vpce_remediator.accounts import MemberAccounts

logger = Logger(service="vpce-remediator", child=True)

_LOGGED = ("status", "reason", "event", "actions", "findings")


IDEMPOTENCY_SECONDS = 86400  # a CloudTrail record is not redelivered after a day

_REVISION = re.compile(r"(^|/)[A-Za-z0-9_-]+:[0-9]+$")  # family:revision, alone or ending an ARN


class Recent:
    """Task launches this Lambda container evaluated lately, kept across warm invocations.

    A deployment or a scaling storm sends many RunTask records for the same task definition,
    network and launch type, spread over many batches within a minute or two; they cost no call at
    all. The price is a window of `seconds` in which a network change that no drift event reports
    to this container (a route deleted, an endpoint deleted while its drift event went to another
    container) is not seen by a launch already remembered; the next launch after the window, any
    other container, and the Config rule's periodic run all see it. So the window is short, only
    task launches whose task definition carries a revision are remembered (a revision never
    changes; a family name may point at a newer one), only verdicts where nothing failed are kept,
    and any other kind of evaluation here (drift, a new subnet, a service or cluster change)
    forgets everything.
    """

    def __init__(self, seconds: float = 120.0, size: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, str, dict[str, Any]]] = OrderedDict()

    @staticmethod
    def rememberable(trigger: Trigger) -> bool:
        return trigger.kind == "task" and bool(trigger.task_definition) and \
            bool(_REVISION.search(trigger.task_definition or ""))

    def get(self, key: str) -> tuple[float, str, dict[str, Any]] | None:
        """(seconds ago, event id, result) of the last evaluation of this workload, if recent."""
        item = self._items.get(key)
        if item is None:
            return None
        age = self.clock() - item[0]
        if age > self.seconds:
            del self._items[key]
            return None
        return age, item[1], item[2]

    @staticmethod
    def settled(result: dict[str, Any]) -> bool:
        """Nothing failed: no write that failed, no missing permission to come back to."""
        return not any(a.get("status") == "failed" for a in result.get("actions", [])) and \
            not any(f.get("problem") == "permission-missing" for f in result.get("findings", []))

    def put(self, key: str, event_id: str, result: dict[str, Any], at: float | None = None) -> None:
        """Remember `result`, reached at `at` (now by default: when the evaluation started is safer)."""
        self._items[key] = (self.clock() if at is None else at, event_id, result)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


# Module level on purpose: it is the warm container's memory (a cold start begins empty).
CONTAINER_MEMORY = Recent()


class SharedVerdicts:
    """The same launch verdicts, shared by every container through the stack's DynamoDB table.

    The event source mapping runs up to five containers at once, and a storm reaches all of them:
    without this each would evaluate each workload once. A container that does not remember a
    launch asks the table (one `BatchGetItem`, which also fetches the epoch below) before spending
    eight reads on it. Any evaluation that is not a task launch (drift, a new subnet, a service or
    cluster change) moves the epoch forward, which voids every verdict reached before it, in every
    container. Items expire through the table's TTL attribute; freshness is checked on read.
    """

    EPOCH = "launch-epoch"

    def __init__(self, dynamodb: Any, table: str, seconds: float = 120.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.seconds = seconds
        self.clock = clock

    @staticmethod
    def _id(key: str) -> dict[str, dict[str, str]]:
        return {"id": {"S": "launch#" + hashlib.sha256(key.encode()).hexdigest()[:40]}}

    def get(self, key: str) -> tuple[float, str, dict[str, Any]] | None:
        """(seconds ago, event id, result) of a fresh verdict newer than the epoch, else None."""
        keys = [self._id(key), {"id": {"S": self.EPOCH}}]
        items = self.dynamodb.batch_get_item(RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}})
        found = {i["id"]["S"]: i for i in items.get("Responses", {}).get(self.table, [])}
        item = found.get(keys[0]["id"]["S"])
        if item is None:
            return None
        at = float(item["at"]["N"])
        epoch = float(found.get(self.EPOCH, {}).get("at", {}).get("N", "0"))
        age = self.clock() - at
        if age > self.seconds or at <= epoch:
            return None
        return age, item["event"]["S"], json.loads(item["result"]["S"])

    def put(self, key: str, event_id: str, result: dict[str, Any], at: float) -> None:
        self.dynamodb.put_item(TableName=self.table, Item={
            **self._id(key), "at": {"N": repr(at)}, "event": {"S": event_id},
            "result": {"S": json.dumps(result, default=str)},
            "expiration": {"N": str(int(at + self.seconds) + 60)}})

    def invalidate(self) -> None:
        now = self.clock()
        self.dynamodb.put_item(TableName=self.table, Item={
            "id": {"S": self.EPOCH}, "at": {"N": repr(now)}, "expiration": {"N": str(int(now + 86400))}})


class BatchRun:
    def __init__(self, clients: Clients, settings: Settings, lock: VpcLock | None = None,
                 config_rule: str | None = None, security_hub: bool = False,
                 idempotency_table: str | None = None, context: Any = None,
                 memory: Recent | None = None, shared: SharedVerdicts | None = None,
                 members: MemberAccounts | None = None) -> None:
        self.clients = clients
        # The organization path: each record is evaluated in its own account, with its member
        # role's credentials (None: a single-account stack, whose own clients do everything).
        self.members = members
        self.settings = settings
        self.lock = lock
        self.config_rule = config_rule
        self.security_hub = security_hub
        self.seen: dict[str, dict[str, Any]] = {}
        self.by_workload: dict[str, str] = {}  # workload key -> event id evaluated for it
        # (account, Region) -> VPC -> its findings, from every record of the batch
        self.findings: dict[tuple[str, str], dict[str, list[Finding]]] = {}
        self.evaluations = 0
        self.errors: list[Exception] = []  # why each failed record failed, in order
        self.memory = memory if memory is not None else Recent()
        self.shared = shared
        self._evaluate = self._evaluate_now
        if idempotency_table:
            self._evaluate = _idempotent(self._evaluate_now, clients, idempotency_table, context)

    @classmethod
    def from_env(cls, context: Any = None) -> BatchRun:
        """Clients, settings, the VPC lock and idempotency as the SAM template configures them."""
        clients = Clients(pace=True)
        table = os.environ.get("LOCK_TABLE")
        lock = VpcLock(clients.dynamodb, table, lease_seconds=int(os.environ.get("LOCK_LEASE_SECONDS", "120"))) \
            if table else None
        return cls(clients, Settings.from_env(), lock, config_rule=os.environ.get("CONFIG_RULE_NAME"),
                   security_hub=os.environ.get("SECURITY_HUB", "true").lower() == "true",
                   idempotency_table=table, context=context, memory=CONTAINER_MEMORY,
                   shared=SharedVerdicts(clients.dynamodb, table, CONTAINER_MEMORY.seconds) if table else None,
                   members=_members_from_env(clients))

    def process(self, body: str) -> dict[str, Any]:
        """Evaluate one record body; raises `BadInput` when it is not an EventBridge event."""
        try:
            event = json.loads(body)
        except ValueError as e:
            raise BadInput(f"record body is not JSON: {e}") from e
        trigger = parse_event(event, self.settings.own_role_arn,  # BadInput fails this record alone
                              self.members.role.name if self.members else None)
        key = _event_key(event)
        same = workload_key(trigger) if isinstance(trigger, Trigger) else ""
        if key in self.seen:
            result = {"status": "ignored", "reason": f"duplicate delivery of event {key} in this batch",
                      "first": {k: self.seen[key].get(k) for k in ("status",)}}
        elif same and same in self.by_workload:
            first = self.by_workload[same]
            result = {**self.seen[first], "reason": f"same workload as event {first} in this batch: "
                                                    "evaluated once", "deduplicated_from": first,
                      "api_calls": {"total": 0, "by_operation": {}}}
        elif (recent := self.memory.get(same) if same else None) is not None:
            age, first, earlier = recent
            result = {**earlier, "reason": f"same task launch as event {first}, evaluated {age:.0f} s ago "
                                           "by this container: evaluated once", "deduplicated_from": first,
                      "api_calls": {"total": 0, "by_operation": {}}}
        elif (shared := self._shared_verdict(trigger, same)) is not None:
            age, first, earlier = shared
            self.memory.put(same, first, earlier, at=self.memory.clock() - age)
            result = {**earlier, "reason": f"same task launch as event {first}, evaluated {age:.0f} s ago "
                                           "by another container: evaluated once", "deduplicated_from": first,
                      "api_calls": {"total": 0, "by_operation": {}}}
        else:
            evaluated_before, started = self.evaluations, self.memory.clock()
            wall = self.shared.clock() if self.shared else 0.0
            result = self._evaluate(event=event, trigger=trigger)
            if isinstance(trigger, Trigger):
                if not Recent.rememberable(trigger):
                    self.memory.clear()
                    if self.shared:
                        self.shared.invalidate()
                # Only a verdict this container has just reached: a redelivered event answered
                # from the idempotency store may be a day old; a failed write is worth retrying.
                elif self.evaluations > evaluated_before and Recent.settled(result):
                    self.memory.put(same, key, result, at=started)
                    if self.shared:
                        self.shared.put(same, key, result, at=wall)
            if key:
                self.seen[key] = result
                if same:
                    self.by_workload[same] = key
        logger.info("record evaluated", extra={k: result[k] for k in _LOGGED if k in result})
        return result

    def _shared_verdict(self, trigger: Any, key: str) -> tuple[float, str, dict[str, Any]] | None:
        if self.shared is None or not key or not isinstance(trigger, Trigger) or not Recent.rememberable(trigger):
            return None
        return self.shared.get(key)

    def _evaluate_now(self, event: dict[str, Any], trigger: Trigger | Ignored) -> dict[str, Any]:
        """Evaluate the record's event, already parsed as `trigger`; the result in the JSON contract
        (what the idempotency store keeps, and the deduplicated records repeat)."""
        self.evaluations += 1
        clients, lock = self.clients, self.lock
        if self.members is not None and isinstance(trigger, Trigger):
            try:
                clients = self.members.clients(trigger.account, trigger.region)
            except AccountUnreachable as e:
                return unreachable(e, trigger)
            lock = lock.for_account(trigger.account) if lock is not None else None
        outcome = evaluate_trigger(trigger, clients, self.settings, lock)
        if isinstance(outcome.trigger, Trigger) and outcome.trigger.account:
            where = self.findings.setdefault((outcome.trigger.account, outcome.trigger.region), {})
            for vpc in outcome.vpcs:
                bucket = where.setdefault(vpc.vpc_id, [])
                bucket.extend(f for f in vpc.findings if f not in bucket)
        return outcome.to_dict()

    def finish(self) -> dict[str, Any]:
        """Once per batch: Security Hub findings, and a Config re-evaluation when a problem stays.

        The event path sees one workload at a time, so it only upserts findings; the Config rule,
        which sees whole VPCs, archives the ones that are fixed. On the organization path each
        account's findings are imported with its own credentials (`BatchImportFindings` takes
        only findings of the calling account), so Security Hub's administrator aggregates them.
        """
        if not any(f for by_vpc in self.findings.values() for f in by_vpc.values()):
            return {}  # nothing to import or refresh
        # Imported here, not with the module: a batch without findings needs none of it.
        from vpce_remediator.report import SecurityHubReporter, request_config_refresh

        done: dict[str, Any] = {}
        reported: dict[str, dict[str, int]] = {}
        for (account, region), by_vpc in sorted(self.findings.items()):
            open_findings = {vpc: f for vpc, f in by_vpc.items() if f}
            if not (self.security_hub and open_findings):
                continue
            try:
                clients = self.members.clients(account, region) if self.members else self.clients
            except AccountUnreachable as e:  # evaluated minutes ago; the role went since: say so
                logger.error("findings not imported", extra={"account": account, "error": str(e)})
                continue
            reported[account] = SecurityHubReporter(clients.securityhub, region, account).sync({}, open_findings)
        if reported:
            done["security_hub"] = reported[next(iter(reported))] if self.members is None else reported
        # A single-account stack asks its own rule to run again; an organization rule's member
        # rules are named by Config per account, and its periodic run covers them.
        if self.config_rule and self.members is None:  # there are findings: the return above
            done["config_refresh"] = request_config_refresh(self.clients.config, self.config_rule)
        if done:
            logger.info("batch reported", extra=done)
        return done

    def process_records(self, records: list[Any]) -> dict[str, Any]:
        """An SQS batch as the Lambda receives it -> the partial batch response: each record that
        fails is listed (SQS retries it, then parks it in the dead-letter queue); the others are
        done. Written out rather than Powertools' batch processor, whose import (asyncio and
        every event data class) is a quarter of a cold start; what it does for SQS is this loop."""
        failures: list[dict[str, str]] = []
        for record in records if isinstance(records, list) else []:
            message_id = str(record.get("messageId", "")) if isinstance(record, dict) else ""
            try:
                if not isinstance(record, dict) or not isinstance(record.get("body"), str):
                    raise BadInput("record carries no SQS message body")
                self.process(record["body"])
            except BadInput as e:
                logger.error("record rejected", extra={"message_id": message_id, "error": str(e)})
                failures.append({"itemIdentifier": message_id})
                self.errors.append(e)
            except Exception as e:  # noqa: BLE001 - any failure leaves the record to be retried, never lost
                logger.exception("record failed: it will be retried", extra={"message_id": message_id})
                failures.append({"itemIdentifier": message_id})
                self.errors.append(e)
        return {"batchItemFailures": failures}


def unreachable(e: AccountUnreachable, trigger: Trigger) -> dict[str, Any]:
    """A record for an account whose member role cannot be assumed: not evaluated, nothing written
    anywhere, one log line and one `UnreachableAccount` metric; not retried (a retry in seconds
    finds the same role missing; the Config rule's periodic run comes back to the account)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    logger.error("member account unreachable: not evaluated", extra={"account": e.account, "error": e.reason,
                                                                      "event": trigger.event_id})
    with single_metric(name="UnreachableAccount", unit=MetricUnit.Count, value=1,
                       namespace="vpce-remediator") as metric:
        metric.add_dimension(name="account", value=e.account)
    return {"status": "ignored", "reason": f"not evaluated: {e}",
            "event": {"id": trigger.event_id, "name": trigger.name, "source": trigger.source},
            "account": e.account, "api_calls": {"total": 0, "by_operation": {}}}


def _members_from_env(clients: Clients) -> MemberAccounts | None:
    """`accounts.members_from_env`, imported only when the central stack sets `MEMBER_ROLE_NAME`:
    a single-account stack's cold start loads none of the organization path."""
    if not os.environ.get("MEMBER_ROLE_NAME"):
        return None
    from vpce_remediator.accounts import members_from_env

    return members_from_env(clients)


def _event_key(event: Any) -> str:
    if not isinstance(event, dict):
        return ""
    detail = event.get("detail")
    key = detail.get("eventID") if isinstance(detail, dict) else None
    key = key if isinstance(key, str) else event.get("id")
    return key if isinstance(key, str) else ""


def _idempotent(function: Any, clients: Clients, table: str, context: Any) -> Any:
    """`function(event=..., trigger=...)` run at most once per CloudTrail event id within a day (the
    key is the event's; the parsed trigger only rides along)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    # The account rides in the key: the organization path keeps every member's records in one table.
    config = IdempotencyConfig(event_key_jmespath="[account, detail.eventID || id]", expires_after_seconds=IDEMPOTENCY_SECONDS)
    if context is not None:
        config.register_lambda_context(context)
    store = DynamoDBPersistenceLayer(table_name=table, boto3_client=clients.dynamodb)
    return idempotent_function(function, data_keyword_argument="event", persistence_store=store, config=config)
