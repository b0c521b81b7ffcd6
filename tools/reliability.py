"""`make reliability`: what the remediator survives, in figures.

Each row runs a scenario against moto (in-process, or a `moto_server` on 127.0.0.1 for the
concurrent runs, which are real processes) and counts what a user would fear: exceptions, writes,
duplicate endpoints, lost events. Exits 1 if any of those is not zero.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from moto import mock_aws
from moto_local import reset, running_moto_server  # a sibling module: the script's folder is on sys.path

from vpce_remediator.aws import Clients
from vpce_remediator.batch import BatchRun
from vpce_remediator.demo import ECR, container, create_service, private_vpc, register_task_definition
from vpce_remediator.engine import Settings, evaluate_event
from vpce_remediator.errors import BadInput
from vpce_remediator.lock import VpcLock
from vpce_remediator.samples import EVENTS_DIR, load_event

REGION = "us-east-1"
OWN_ROLE = "arn:aws:iam::123456789012:role/vpce-remediator-FunctionRole-1A2B3C"


def _offline_environment() -> None:
    """Dummy credentials and a quiet log, set by `main` only (importing this module changes nothing)."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ[key] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ.pop("AWS_PROFILE", None)
    import warnings

    # The table is the output, not each record's log line (Powertools sets a level per logger).
    for name in [n for n in logging.Logger.manager.loggerDict if n.startswith(("vpce-remediator", "vpce_remediator"))] + [
            "vpce-remediator", "vpce_remediator"]:
        logging.getLogger(name).setLevel(logging.CRITICAL)

    warnings.simplefilter("ignore")


Row = tuple[str, int, str, int]  # (scenario, tried, what could go wrong, how often it did)


def _estate(client: Callable[[str], Any]) -> dict[str, Any]:
    net = private_vpc(client("ec2"), "app", "10.20.0.0/16", "ab")
    ecs = client("ecs")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1")])
    net["service"] = create_service(ecs, "prod", "web", td, net, "FARGATE")
    net["td"] = td
    return net


def _service_event(net: dict[str, Any]) -> dict[str, Any]:
    return load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": net["service"]})


def _live(ec2: Any, vpc: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]:
        if e["State"].lower() not in ("deleted", "deleting"):
            counts[e["ServiceName"]] = counts.get(e["ServiceName"], 0) + 1
    return counts


def _table(dynamodb: Any) -> str:
    dynamodb.create_table(TableName="state", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    return "state"


def _sqs(body: str, n: int) -> dict[str, Any]:
    return {"messageId": f"m-{n}", "receiptHandle": f"r-{n}", "body": body, "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:events", "awsRegion": REGION}


# ---------------------------------------------------------------- scenarios


def damaged_events(n: int = 300, seed: int = 7) -> list[Row]:
    rng = random.Random(seed)
    samples = sorted(p.stem for p in EVENTS_DIR.glob("*.json"))
    junk: list[Any] = [None, 0, -1, 3.5, True, "", "💥", "x" * 5000, [], {}, ["subnet-0a1b2c3d4e5f60011"] * 500,
                       {"item": [{"tag": 1, "content": "vpce-0a1b2c3d4e5f60041"}]}, "vpc-0a1b2c3d4e5f60001"]
    exceptions = writes = 0
    with mock_aws():  # an empty account: a damaged event has nothing legitimate to fix, so any write is a bug
        clients = Clients(region=REGION, session=boto3.session.Session(region_name=REGION))
        batch = BatchRun(clients, Settings(mode="remediate"))
        for i in range(n):
            event = load_event(rng.choice(samples))
            _damage(event, rng, junk)
            body = json.dumps(event)
            if rng.random() < 0.1:
                body = body[: rng.randint(1, len(body))]
            try:
                batch.process_records([_sqs(body, i)])
            except Exception:  # noqa: BLE001 - counting what escapes is the point
                exceptions += 1
        # A record that failed on anything but a clear validation error is a crash in our code
        # (it would be retried into the dead-letter queue), whatever the batch answered.
        exceptions += sum(1 for e in batch.errors if not isinstance(e, BadInput))
        writes = len(clients.write_calls())
    return [("damaged events", n, "unhandled exceptions", exceptions), ("damaged events", n, "AWS writes", writes)]


def _damage(event: Any, rng: random.Random, junk: Sequence[Any]) -> None:
    """1 to 3 of the event's values removed (a dict's, sometimes) or replaced by junk, in place."""
    for _ in range(rng.randint(1, 3)):
        node, key = _random_slot(event, rng)
        if isinstance(node, dict) and rng.random() < 0.3:
            node.pop(key, None)
        else:
            node[key] = rng.choice(junk)


def _random_slot(event: dict[str, Any], rng: random.Random) -> tuple[Any, Any]:
    node: Any = event
    while True:
        keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return node, "x" if isinstance(node, dict) else 0
        key = rng.choice(keys)
        child = node[key]
        if not isinstance(child, dict | list) or not child or rng.random() < 0.35:
            return node, key
        node = child


def damaged_config_events(n: int = 300, seed: int = 17) -> list[Row]:
    """AWS Config rule invocations (events/config/, the estate's ids in place) with 1-3 values removed
    or replaced, inside the decoded invokingEvent too, through the Config rule's Lambda handler."""
    from bench import LambdaContext  # the context Lambda passes (a sibling module)
    from handlers.config import handler, logger

    rng = random.Random(seed)
    samples = sorted((EVENTS_DIR / "config").glob("*.json"))
    exceptions = 0
    calls: list[str] = []
    level = logger.log_level
    logger.setLevel(logging.CRITICAL)  # the table is the output (Powertools sets its level on import)
    with mock_aws():
        net = _estate(lambda name: boto3.client(name, region_name=REGION))
        junk: list[Any] = [None, 0, -1, 3.5, True, "", "💥", "x" * 5000, [], {}, [net["subnets"][0]] * 300,
                           "AWS::EC2::VPC", "AWS::ECS::Service", "ResourceDeleted", "ResourceNotRecorded",
                           "OversizedConfigurationItemChangeNotification", "ScheduledNotification", net["vpc"],
                           net["sg"], net["service"], f"arn:aws:ecs:{REGION}:123456789012:service/prod/$(reboot)",
                           {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": net["sg"]}]
        session = Clients().session  # the Lambda's: every client the handler makes is made on it
        session.events.register("before-call", lambda model, **_: calls.append(
            f"{model.service_model.service_name}.{model.name}"), unique_id="reliability-config")
        # moto's PutEvaluations knows test mode only (NotImplementedError otherwise): a damaged token
        # is answered as AWS answers a token of no current invocation.
        session.events.register("before-call.config.PutEvaluations", _refuse_real_tokens,
                                unique_id="reliability-config-token")
        try:
            for _ in range(n):
                try:
                    handler(_damaged_config_event(rng, samples, net, junk), LambdaContext())
                except Exception:  # noqa: BLE001 - counting what escapes is the point
                    exceptions += 1
        finally:
            session.events.unregister("before-call", unique_id="reliability-config")
            session.events.unregister("before-call.config.PutEvaluations", unique_id="reliability-config-token")
            logger.setLevel(level)
    # A Config rule sends its evaluations (and Security Hub findings); any other write is a bug.
    writes = sum(1 for c in calls if c.split(".", 1)[1].startswith(("Create", "Modify", "Authorize", "Delete", "Put"))
                 and c != "config.PutEvaluations")
    return [("damaged Config events", n, "unhandled exceptions", exceptions),
            ("damaged Config events", n, "writes beyond PutEvaluations", writes)]


def _damaged_config_event(rng: random.Random, samples: list[Any], net: dict[str, Any], junk: list[Any]) -> Any:
    text = rng.choice(samples).read_text()
    for old, new in (("vpc-0a1b2c3d4e5f60001", net["vpc"]), ("sg-0a1b2c3d4e5f60021", net["sg"]),
                     ("subnet-0a1b2c3d4e5f60011", net["subnets"][0]), ("subnet-0a1b2c3d4e5f60012", net["subnets"][1])):
        text = text.replace(old, new)
    event = json.loads(text)
    event["invokingEvent"] = json.loads(event["invokingEvent"])  # damaged inside, as well as around
    _damage(event, rng, junk)
    if isinstance(event.get("invokingEvent"), dict) and rng.random() < 0.9:
        event["invokingEvent"] = json.dumps(event["invokingEvent"])  # as Config sends it, mostly
        if rng.random() < 0.1:
            event["invokingEvent"] = event["invokingEvent"][: rng.randint(0, len(event["invokingEvent"]))]
    return event


def _refuse_real_tokens(params: dict[str, Any], **_: Any) -> Any:
    if json.loads(params.get("body") or b"{}").get("TestMode"):  # the serialised request
        return None
    from botocore.awsrequest import AWSResponse

    return AWSResponse("", 400, {}, None), {
        "Error": {"Code": "InvalidResultTokenException", "Message": "The resultToken provided is invalid"},
        "ResponseMetadata": {"HTTPStatusCode": 400}}


def duplicate_deliveries(n: int = 200) -> list[Row]:
    """The same CloudTrail event delivered n times, across batches and invocations."""
    with mock_aws():
        net = _estate(lambda name: boto3.client(name, region_name=REGION))
        table = _table(boto3.client("dynamodb", region_name=REGION))
        body = json.dumps(_service_event(net))
        evaluations = 0
        for start in range(0, n, 10):
            batch = BatchRun(Clients(region=REGION), Settings(mode="remediate"), idempotency_table=table)
            for _ in range(start, min(start + 10, n)):
                batch.process(body)
            evaluations += batch.evaluations
        extra = sum(c - 1 for c in _live(boto3.client("ec2", region_name=REGION), net["vpc"]).values())
    return [("duplicate deliveries", n, "duplicate endpoints", extra),
            ("duplicate deliveries", n, "evaluations beyond the first", evaluations - 1)]


def _worker(url: str, body: str, table: str, barrier: Any, out: Any) -> None:
    clients = Clients(region=REGION, endpoint_url=url)
    batch = BatchRun(clients, Settings(mode="remediate"), VpcLock(clients.dynamodb, table, poll_seconds=0.05))
    barrier.wait()
    out.put(batch.process(body)["status"])


def concurrent_runs(processes: int = 4, rounds: int = 3) -> list[Row]:
    """Real processes remediating one VPC at the same moment, through a moto_server."""
    # moto's own server answers requests on parallel threads, and its DynamoDB checks a condition
    # and writes without a lock between them: two conditional puts can both succeed, which real
    # DynamoDB never allows. One request at a time gives the atomic conditional write we rely on.
    serve = ("import sys; from moto.server import DomainDispatcherApplication, create_backend_app; "
             "from werkzeug.serving import run_simple; "
             "run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), "
             "threaded=False)")
    duplicates = 0
    with running_moto_server(command=[sys.executable, "-c", serve]) as url:
        for _round in range(rounds):
            reset(url)
            net = _estate(lambda name: boto3.client(name, region_name=REGION, endpoint_url=url))
            table = _table(boto3.client("dynamodb", region_name=REGION, endpoint_url=url))
            body = json.dumps(_service_event(net))
            ctx = multiprocessing.get_context("spawn")
            barrier, out = ctx.Barrier(processes), ctx.Queue()
            workers = [ctx.Process(target=_worker, args=(url, body, table, barrier, out)) for _ in range(processes)]
            for w in workers:
                w.start()
            for w in workers:
                w.join(120)
            duplicates += sum(c - 1 for c in _live(boto3.client("ec2", region_name=REGION, endpoint_url=url),
                                                   net["vpc"]).values())
    return [("concurrent runs on one VPC", processes * rounds, "duplicate endpoints", duplicates)]


def throttles(events: int = 20, every: int = 3) -> list[Row]:
    """A throttle on every `every`-th CreateVpcEndpoint; failed records are redelivered until done."""
    lost = 0
    injected = 0
    with mock_aws():
        nets = []
        ec2 = boto3.client("ec2", region_name=REGION)
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName="prod")
        for i in range(events):
            net = private_vpc(ec2, f"v{i}", f"10.{100 + i}.0.0/16", "ab")
            td = register_task_definition(ecs, f"t{i}", [container("web", f"{ECR}/web:1")])
            nets.append((net, create_service(ecs, "prod", f"s{i}", td, net, "FARGATE")))
        session = boto3.session.Session(region_name=REGION)
        seen = {"n": 0}

        def throttle(**_: Any) -> Any:
            nonlocal injected
            seen["n"] += 1
            if seen["n"] % every == 0:
                injected += 1
                return _Http(), {"Error": {"Code": "RequestLimitExceeded", "Message": "injected"},
                                 "ResponseMetadata": {"HTTPStatusCode": 503}}
            return None

        session.events.register("before-call.ec2.CreateVpcEndpoint", throttle)
        queue = [_sqs(json.dumps(load_event("ecs-CreateService", {"detail.responseElements.service.serviceArn": s})),
                      i) for i, (_, s) in enumerate(nets)]
        for _attempt in range(10):  # the queue's redrive: failed records come back
            if not queue:
                break
            batch = BatchRun(Clients(region=REGION, session=session), Settings(mode="remediate"))
            failed = batch.process_records(queue)["batchItemFailures"]
            ids = {f["itemIdentifier"] for f in failed}
            queue = [r for r in queue if r["messageId"] in ids]
        for net, _ in nets:
            if len(_live(ec2, net["vpc"])) != 4:
                lost += 1
    return [("throttles injected", injected, "events lost", lost)]


def own_events() -> list[Row]:
    names = sorted(p.stem for p in EVENTS_DIR.glob("*-own.json"))
    with mock_aws():
        net = _estate(lambda name: boto3.client(name, region_name=REGION))
        writes = 0
        for name in names:
            text = json.dumps(load_event(name)).replace("vpc-0a1b2c3d4e5f60001", net["vpc"])
            clients = Clients(region=REGION)
            evaluate_event(json.loads(text), clients, Settings(mode="remediate", own_role_arn=OWN_ROLE))
            writes += len(clients.write_calls())
    return [("own events", len(names), "AWS writes", writes)]


def drift() -> list[Row]:
    """Delete, shrink, close and narrow the tool's endpoints; each drift event must put them back."""
    restored = tried = 0
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        net = _estate(lambda name: boto3.client(name, region_name=REGION))
        # As the Lambda runs: the state table records what the tool made, so it may restore it.
        lock = VpcLock(boto3.client("dynamodb", region_name=REGION), _table(boto3.client("dynamodb", region_name=REGION)))
        evaluate_event(_service_event(net), Clients(region=REGION), Settings(mode="remediate"), lock)
        for sample, damage in (("ec2-DeleteVpcEndpoints", "delete"), ("ec2-ModifyVpcEndpoint", "shrink"),
                               ("ec2-RevokeSecurityGroupIngress", "revoke"),
                               ("ec2-ModifySecurityGroupRules", "narrow")):
            tried += 1
            eps = {e["ServiceName"].rsplit(".", 1)[-1]: e for e in ec2.describe_vpc_endpoints(
                Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["VpcEndpoints"] if e["State"] != "deleted"}
            dkr = eps["dkr"]
            sg = dkr["Groups"][0]["GroupId"]
            if damage == "delete":
                ec2.delete_vpc_endpoints(VpcEndpointIds=[dkr["VpcEndpointId"]])
            elif damage == "shrink":
                ec2.modify_vpc_endpoint(VpcEndpointId=dkr["VpcEndpointId"], RemoveSubnetIds=[net["subnets"][1]])
            elif damage == "revoke":
                ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=[{
                    "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}])
            else:  # the rule edited in place to 443 from loopback only, as a real record does
                rule = next(r for r in ec2.describe_security_group_rules(
                    Filters=[{"Name": "group-id", "Values": [sg]}])["SecurityGroupRules"]
                    if not r["IsEgress"] and r.get("FromPort") == 443 and r.get("CidrIpv4") == "10.20.0.0/16")
                ec2.modify_security_group_rules(GroupId=sg, SecurityGroupRules=[{
                    "SecurityGroupRuleId": rule["SecurityGroupRuleId"], "SecurityGroupRule": {
                        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv4": "127.0.0.1/32"}}])
            text = json.dumps(load_event(sample))
            for old, new in (("vpce-0a1b2c3d4e5f60041", dkr["VpcEndpointId"]), ("sg-0a1b2c3d4e5f60031", sg),
                             ("subnet-0a1b2c3d4e5f60012", net["subnets"][1]), ("vpc-0a1b2c3d4e5f60001", net["vpc"])):
                text = text.replace(old, new)
            evaluate_event(json.loads(text), Clients(region=REGION), Settings(mode="remediate"), lock)
            check = Clients(region=REGION)
            after = evaluate_event(_service_event(net), check, Settings(mode="report"), lock).to_dict()
            restored += after["status"] == "compliant" and not check.write_calls()
    return [("drift events", tried, "not restored", tried - restored)]


def mode_tag_spellings() -> list[Row]:
    """Each spelling of the mode tag, under each stack mode: does the code decide as IAM does?"""
    from iam_eval import MODE_TAG_SPELLINGS, mode_disagreements  # needs the dev extras (samtranslator)

    from vpce_remediator.engine import MODES

    values = list(MODE_TAG_SPELLINGS)
    return [("mode-tag spellings x stack modes", len(values) * len(MODES), "code and IAM disagreeing",
             mode_disagreements(values))]


def hostile_strings() -> list[Row]:
    """Arbitrary text in every task-definition field that reaches a fix command, pasted into bash."""
    from hostile import hostile_commands_executed

    draws, executed = hostile_commands_executed(200, seed=11)
    return [("hostile task-definition strings", draws, "commands that execute anything", executed)]


def nonretryable_write_errors() -> list[Row]:
    """Every EC2 write error a retry cannot fix, injected into the queue door."""
    from write_error_faults import nonretryable_in_dlq

    tried, unreported = nonretryable_in_dlq()
    return [("non-retryable write errors", tried, "in the DLQ without a finding", unreported)]


def forged_tags() -> list[Row]:
    """`managed-by` forged on application groups and foreign endpoints, with and without a state table."""
    from trust_check import forged_tags_changed

    tried, changed = forged_tags_changed(rounds=4)
    return [("forged managed-by tags", tried, "foreign resources changed", changed)]


# ---------------------------------------------------------------- plumbing


class _Http:
    status_code = 503
    headers: dict[str, str] = {}
    text = ""
    content = b""


def main(argv: list[str] | None = None) -> int:
    """Every scenario, or only those named (`tools/reliability.py damaged_config_events`)."""
    names = sys.argv[1:] if argv is None else argv
    unknown = sorted(set(names) - {s.__name__ for s in SCENARIOS})
    if unknown:
        print(f"unknown scenario(s) {', '.join(unknown)}; one of: {', '.join(s.__name__ for s in SCENARIOS)}",
              file=sys.stderr)
        return 2
    _offline_environment()
    started = time.monotonic()
    rows: list[Row] = []
    for scenario in SCENARIOS:
        if not names or scenario.__name__ in names:
            rows += scenario()
    width = max(len(r[0]) for r in rows)
    print(f"{'scenario':<{width}}  {'tried':>6}  {'what must not happen':<30} {'happened':>8}")
    for name, tried, what, bad in rows:
        print(f"{name:<{width}}  {tried:>6}  {what:<30} {bad:>8}")
    print(f"({time.monotonic() - started:.0f} s)")
    return 0 if all(r[3] == 0 for r in rows) else 1


SCENARIOS: tuple[Callable[[], list[Row]], ...] = (
    damaged_events, damaged_config_events, duplicate_deliveries, concurrent_runs, throttles, own_events,
             drift, hostile_strings, nonretryable_write_errors, forged_tags, mode_tag_spellings)

if __name__ == "__main__":
    sys.exit(main())
