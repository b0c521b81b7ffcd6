"""`scan` over a seeded moto account: every workload found once, in its VPC, with the engine's result;
API calls that grow with pages, not with services; remediation once per VPC; the CLI."""
from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
from account import (
    ECR,
    PREFIX,
    REGION,
    asg_capacity_provider,
    bridge_service,
    container,
    create_service,
    private_vpc,
    register_task_definition,
)
from moto_server import reset
from test_cli import cli

from vpce_remediator.aws import Clients
from vpce_remediator.engine import Settings
from vpce_remediator.resolve import cluster_config
from vpce_remediator.scan import ScanResult, TerminalProgress, _ScanClients, scan_estate

ACCOUNT = "123456789012"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf"


def seed(ec2: Any, ecs: Any) -> dict[str, Any]:
    """Four VPCs, two clusters: services and standalone tasks in private, legacy, NAT-routed and
    ignored VPCs, plus a task a service started (the service speaks for it)."""
    prod = private_vpc(ec2, "prod", "10.10.0.0/16", "ab")
    legacy = private_vpc(ec2, "legacy", "10.20.0.0/16", "ab", dns_hostnames=False)
    nat = private_vpc(ec2, "nat", "10.30.0.0/16", "ab", nat=True)
    old = private_vpc(ec2, "old", "10.40.0.0/16", "a")
    ec2.create_tags(Resources=[old["vpc"]], Tags=[{"Key": "vpce-remediator:mode", "Value": "ignore"}])
    for cluster in ("prod", "batch"):
        ecs.create_cluster(clusterName=cluster)
    web = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1", (SECRET,))])
    api = register_task_definition(ecs, "api", [container("api", f"{ECR}/api:2")], "EC2")
    job = register_task_definition(ecs, "job", [container("job", f"{ECR}/job:7")])
    arns = {
        "web": create_service(ecs, "prod", "web", web, prod, "FARGATE"),
        "api": create_service(ecs, "prod", "api", api, prod, "EC2"),
        "legacy": create_service(ecs, "batch", "report", job, legacy, "FARGATE"),
        "nat": create_service(ecs, "batch", "edge", job, nat, "FARGATE"),
        "old": create_service(ecs, "prod", "old", job, old, "FARGATE"),
    }
    net = {"awsvpcConfiguration": {"subnets": prod["subnets"][:1], "securityGroups": [prod["sg"]]}}
    arns["task"] = ecs.run_task(cluster="batch", taskDefinition=job, launchType="FARGATE",
                                networkConfiguration=net)["tasks"][0]["taskArn"]
    arns["service-task"] = ecs.run_task(cluster="prod", taskDefinition=web, launchType="FARGATE", group="service:web",
                                        startedBy="ecs-svc/1234", networkConfiguration=net)["tasks"][0]["taskArn"]
    return {"prod": prod, "legacy": legacy, "nat": nat, "old": old, "arns": arns}


@pytest.fixture
def estate(aws: Any) -> dict[str, Any]:
    return seed(aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION))


def scan(mode: str = "report", **kw: Any) -> ScanResult:
    return scan_estate(Clients(region=REGION), Settings(mode=mode), **kw)


def by_arn(result: ScanResult) -> dict[str, Any]:
    return {w.workload.arn: w for w in result.workloads}


def writes(result: ScanResult) -> list[str]:
    return sorted(op for op in result.api_calls if op.split(".")[1].startswith(("Create", "Modify", "Authorize")))


def test_a_scan_finds_every_workload_once_in_its_vpc(estate: dict[str, Any]) -> None:
    arns = estate["arns"]

    result = scan()

    found = by_arn(result)
    assert sorted(found) == sorted(a for k, a in arns.items() if k != "service-task")
    assert len(result.workloads) == len(found)  # once each
    where = {k: found[arns[k]].vpc_id for k in ("web", "api", "task", "legacy", "nat", "old")}
    assert where == {"web": estate["prod"]["vpc"], "api": estate["prod"]["vpc"], "task": estate["prod"]["vpc"],
                     "legacy": estate["legacy"]["vpc"], "nat": estate["nat"]["vpc"], "old": estate["old"]["vpc"]}
    assert found[arns["task"]].workload.kind == "task" and found[arns["task"]].cluster == "batch"
    assert found[arns["task"]].workload.security_group_ids == (estate["prod"]["sg"],)  # read from its ENI
    status = {k: found[arns[k]].status for k in where}
    assert status == {"web": "non_compliant", "api": "non_compliant", "task": "non_compliant",
                      "legacy": "non_compliant", "nat": "compliant", "old": "ignored"}
    assert result.to_dict()["summary"] == {"clusters": 2, "vpcs": 4, "workloads": 6, "compliant": 1,
                                           "remediated": 0, "non_compliant": 4, "ignored": 1}
    assert writes(result) == []


def test_each_workload_carries_its_own_contract_result(estate: dict[str, Any]) -> None:
    arns = estate["arns"]

    found = by_arn(scan())

    web, api = found[arns["web"]].result, found[arns["api"]].result
    assert {"status", "required", "actions", "findings", "notes"} <= set(web)
    required = {r["service"].removeprefix(PREFIX) for r in web["required"]}
    assert required == {"ecr.api", "ecr.dkr", "s3", "logs", "secretsmanager"}
    assert {r["service"].removeprefix(PREFIX) for r in api["required"]} == {
        "ecr.api", "ecr.dkr", "s3", "logs", "ecs", "ecs-agent", "ecs-telemetry"}
    # A finding is attributed to the workloads that need it, not to the whole VPC.
    assert any(f.get("service") == PREFIX + "secretsmanager" for f in web["findings"])
    assert not any(f.get("service") == PREFIX + "secretsmanager" for f in api["findings"])
    legacy = found[arns["legacy"]].result
    (dns,) = [f for f in legacy["findings"] if f["problem"] == "vpc-dns-hostnames-off"]
    assert dns["fix"] == [f"aws ec2 modify-vpc-attribute --region {REGION} --vpc-id {estate['legacy']['vpc']} "
                          "--enable-dns-hostnames Value=true"]
    old = found[arns["old"]].result
    assert "vpce-remediator:mode=ignore" in old["reason"]


def test_vpc_outcomes_summarise_their_workloads(estate: dict[str, Any]) -> None:
    vpcs = {v["vpc_id"]: v for v in scan().to_dict()["vpcs"]}

    prod = vpcs[estate["prod"]["vpc"]]
    assert (prod["name"], prod["workloads"], prod["non_compliant"], prod["status"]) == ("prod", 3, 3, "non_compliant")
    # The VPC's own result is the union: each missing endpoint once, whoever needs it.
    problems = [f["problem"] for f in prod["result"]["findings"]]
    assert problems.count("gateway-endpoint-missing") == 1
    assert vpcs[estate["nat"]["vpc"]]["status"] == "compliant"
    assert vpcs[estate["old"]["vpc"]]["status"] == "ignored" and "ignore" in vpcs[estate["old"]["vpc"]]["reason"]


def test_remediate_acts_once_per_vpc_then_the_estate_is_compliant(aws: Any, estate: dict[str, Any]) -> None:
    first = scan("remediate")

    prod = [w for w in first.workloads if w.vpc_id == estate["prod"]["vpc"]]
    assert {w.status for w in prod} == {"remediated"}
    eps = aws.client("ec2", region_name=REGION).describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [estate["prod"]["vpc"]]}])["VpcEndpoints"]
    services = sorted(e["ServiceName"].removeprefix(PREFIX) for e in eps)
    # One endpoint per service for the three workloads together, however many need it.
    assert services == sorted({"ecr.api", "ecr.dkr", "s3", "logs", "secretsmanager", "ecs", "ecs-agent",
                               "ecs-telemetry"})
    created = [a for w in prod for a in w.result["actions"] if a["status"] == "created" and a["service"]]
    assert {a["resource_id"] for a in created} == {e["VpcEndpointId"] for e in eps}
    assert first.api_calls["ec2.CreateVpcEndpoint"] == len(services) + 1  # + the legacy VPC's S3 gateway
    assert by_arn(first)[estate["arns"]["legacy"]].status == "non_compliant"  # DNS attribute: reported only

    second = scan("remediate")

    assert writes(second) == []
    assert {w.status for w in second.workloads if w.vpc_id == estate["prod"]["vpc"]} == {"compliant"}


def test_a_vpc_filter_scans_only_those_vpcs(estate: dict[str, Any]) -> None:
    result = scan(vpc_ids={estate["legacy"]["vpc"], "vpc-0000000000000dead"})

    assert {w.workload.arn for w in result.workloads} == {estate["arns"]["legacy"]}
    reasons = {v.vpc_id: v.ignored for v in result.vpcs}
    assert set(reasons) == {estate["legacy"]["vpc"], "vpc-0000000000000dead"}
    assert reasons[estate["legacy"]["vpc"]] is None
    assert "not found" in str(reasons["vpc-0000000000000dead"])
    assert result.api_calls["ec2.DescribeVpcEndpoints"] == 1  # one snapshot: the legacy VPC's
    assert result.api_calls["ecs.DescribeTaskDefinition"] == 1  # none read for workloads elsewhere


def test_a_bridge_mode_service_is_listed_once_in_the_vpc_of_its_instances_or_as_not_placed(
        aws: Any, estate: dict[str, Any]) -> None:
    """No awsvpc subnets: the subnets of its cluster's EC2 capacity providers place it; with none it
    is listed once, as not placed in a VPC, never as a workload of every VPC."""
    ecs = aws.client("ecs", region_name=REGION)
    hosts = asg_capacity_provider(aws, "hosts", "10.60.0.0/16", "legacy-asg")
    ecs.create_cluster(clusterName="legacy", capacityProviders=["legacy-asg"])
    ecs.create_cluster(clusterName="orphans")
    placed = bridge_service(ecs, "legacy", "old-api", f"{ECR}/old-api:1")
    nowhere = bridge_service(ecs, "orphans", "old-worker", f"{ECR}/old-worker:1")

    result = scan()

    where = [(w.vpc_id, w.reason) for w in result.workloads if w.workload.arn == nowhere]
    assert len(where) == 1 and where[0][0] is None
    assert str(where[0][1]).startswith("not placed in a VPC: it has no awsvpc subnets")
    assert [w.vpc_id for w in result.workloads if w.workload.arn == placed] == [hosts["vpc"]]
    assert {w.workload.arn for v in result.vpcs for w in v.workloads if v.vpc_id != hosts["vpc"]}.isdisjoint(
        {placed, nowhere})

    scoped = scan(vpc_ids={estate["legacy"]["vpc"]})
    assert {w.workload.arn for w in scoped.workloads} == {estate["arns"]["legacy"]}


def test_api_calls_grow_with_pages_not_with_services(aws: Any) -> None:
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    net = private_vpc(ec2, "app", "10.50.0.0/16", "ab")
    ecs.create_cluster(clusterName="big")
    tds = [register_task_definition(ecs, f"svc{i}", [container(f"svc{i}", f"{ECR}/svc{i}:1")]) for i in range(2)]

    def services(first: int, last: int) -> None:
        for i in range(first, last):
            create_service(ecs, "big", f"svc-{i}", tds[i % 2], net, "FARGATE")

    services(0, 3)
    small = scan().api_calls
    services(3, 43)
    big = scan().api_calls

    assert big["ecs.DescribeServices"] == math.ceil(43 / 10) and small["ecs.DescribeServices"] == 1
    assert big["ecs.DescribeTaskDefinition"] == small["ecs.DescribeTaskDefinition"] == 2  # cached by ARN
    changed = {op for op in set(big) | set(small) if big.get(op) != small.get(op)}
    assert changed == {"ecs.DescribeServices"}
    assert sum(big.values()) == sum(small.values()) + 4


def test_vpc_reads_grow_with_pages_of_vpcs_only_dns_attributes_per_vpc(aws: Any) -> None:
    """60 VPCs, one service each, half of them missing every endpoint: the endpoints, route tables
    and security groups are read 50 VPCs at a time; each VPC still gets its own verdict."""
    ec2, ecs = aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="wide")
    td = register_task_definition(ecs, "wide", [container("wide", f"{ECR}/wide:1")])
    nets = [private_vpc(ec2, f"wide-{i}", f"10.{i}.0.0/16", "ab") for i in range(60)]
    for i, net in enumerate(nets):
        create_service(ecs, "wide", f"wide-{i}", td, net, "FARGATE")
    scan("remediate", vpc_ids={n["vpc"] for n in nets[::2]})  # the even VPCs get their endpoints

    result = scan()

    calls = result.api_calls
    assert calls["ec2.DescribeVpcAttribute"] == 2 * 60
    for op in ("ec2.DescribeVpcEndpoints", "ec2.DescribeRouteTables", "ec2.DescribeSecurityGroups"):
        assert calls[op] == math.ceil(60 / 50), op
    status = {v.vpc_id: v.status for v in result.vpcs}
    assert [status[n["vpc"]] for n in nets] == ["compliant", "non_compliant"] * 30


def test_cluster_reads_repeated_per_workload_are_made_once_per_scan(aws: Any) -> None:
    """The engine reads a workload's cluster when its launch type or ECS Exec settings depend on it;
    a scan answers those repeats from memory. (moto always names a service's launch type and omits
    enableExecuteCommand, so this drives the engine's own lookup through the scan's clients.)"""
    ecs = aws.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="cp", capacityProviders=["FARGATE"],
                       defaultCapacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}])
    clients = Clients(region=REGION)
    view = _ScanClients(clients)

    answers = [cluster_config(view, "cp") for _ in range(5)]
    providers = [view.ecs.describe_capacity_providers(capacityProviders=["FARGATE"]) for _ in range(3)]

    assert all(a == answers[0] and a is not None and a["clusterName"] == "cp" for a in answers)
    assert len({id(p) for p in providers}) == 1
    assert clients.calls["ecs.DescribeClusters"] == 1 and clients.calls["ecs.DescribeCapacityProviders"] == 1
    assert Clients(region=REGION).ecs.describe_clusters(clusters=["cp"])["clusters"]  # the real client is untouched


def test_remediation_takes_the_vpc_lock_once_per_vpc_with_changes(estate: dict[str, Any]) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[str, str]] = []

        def acquire(self, vpc_id: str) -> None:
            self.calls.append(("acquire", vpc_id))

        def release(self, vpc_id: str) -> None:
            self.calls.append(("release", vpc_id))

        def owned(self, vpc_id: str) -> tuple[frozenset[str], None]:  # the state table's record: empty
            return frozenset(), None

        def remember(self, resource_id: str, vpc_id: str) -> None:
            pass

        remember_group = remember

    lock = Recorder()

    scan("remediate", lock=lock)  # type: ignore[arg-type]

    changed = sorted([estate["prod"]["vpc"], estate["legacy"]["vpc"]])
    assert lock.calls == [(op, vpc) for vpc in changed for op in ("acquire", "release")]


def test_progress_hears_of_every_cluster_and_every_vpc(estate: dict[str, Any]) -> None:
    heard: list[tuple[int, int, str]] = []

    scan(progress=lambda done, total, what: heard.append((done, total, what)))

    assert heard == [(1, 2, "clusters"), (2, 2, "clusters"), (1, 4, "VPCs"), (2, 4, "VPCs"), (3, 4, "VPCs"),
                     (4, 4, "VPCs")]


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_the_progress_bar_draws_on_a_terminal_only() -> None:
    terminal, pipe = _Stream(tty=True), _Stream(tty=False)
    for stream in (terminal, pipe):
        bar = TerminalProgress(stream, width=10)
        bar(1, 4, "VPCs")
        bar(4, 4, "VPCs")
        bar.close()

    assert pipe.getvalue() == ""
    drawn = terminal.getvalue()
    assert "\r  scanning [##........] 1/4 VPCs" in drawn and "[##########] 4/4 VPCs" in drawn
    assert drawn.endswith("\r\x1b[K")  # the line is cleared for the summary


# ---------------------------------------------------------------- the CLI, against a moto_server


def test_cli_scan_prints_the_summary_table_and_the_json(server: str) -> None:
    import boto3

    reset(server)
    estate = seed(boto3.client("ec2", region_name=REGION, endpoint_url=server),
                  boto3.client("ecs", region_name=REGION, endpoint_url=server))

    table = cli("scan", "--region", REGION, "--endpoint-url", server)
    as_json = cli("scan", "--region", REGION, "--endpoint-url", server, "--json")

    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith(f"scan {REGION} (report mode): 6 workload(s) in 4 VPC(s), 2 cluster(s)")
    header = next(line for line in lines if line.lstrip().startswith("VPC "))
    assert header.split() == ["VPC", "MODE", "WORKLOADS", "COMPLIANT", "REMEDIATED", "NON-COMPLIANT", "FINDINGS"]
    prod_row = next(line for line in lines if line.lstrip().startswith(f"{estate['prod']['vpc']} (prod)"))
    assert prod_row.split()[2:7] == ["report", "3", "0", "0", "3"]
    assert any("NON_COMPLIANT" in line and "service prod/web" in line for line in lines)
    assert any("COMPLIANT" in line and "service batch/edge: not enforced" in line for line in lines)
    assert table.stderr == ""  # no progress bar when stderr is not a terminal

    result = json.loads(as_json.stdout)
    assert as_json.returncode == 0
    assert {w["arn"] for w in result["workloads"]} == {a for k, a in estate["arns"].items() if k != "service-task"}
    assert all({"arn", "kind", "vpc_id", "status", "result"} <= set(w) for w in result["workloads"])
    assert result["api_calls"]["total"] > 0


def test_cli_scan_rejects_a_malformed_vpc_id() -> None:
    out = cli("scan", "--vpc", "prod", "--region", REGION, "--endpoint-url", "http://127.0.0.1:9")

    assert out.returncode == 2 and "expected VPC ids" in out.stderr
