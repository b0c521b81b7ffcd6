"""`scan` over a fleet: several moto accounts (moto keeps a backend per account, and credentials
from `AssumeRole` into `arn:aws:iam::ACCOUNT:role/...` act in ACCOUNT), each reached through its
member role, scanned concurrently, one table and one JSON document.

Unreachable accounts, made real with moto's IAM enforcement (`enable_iam_authentication`, with the
fix of tests/moto_authz.py; seeding and inspecting run without it). moto's `AssumeRole` never checks that the role exists (DESIGN.md §7), so:
- account C has no member role. AWS refuses `AssumeRole` into a role that does not exist with
  AccessDenied, "User: ... is not authorized to perform: sts:AssumeRole on resource: ..." -- the
  same answer as when the caller's policy does not name the role. moto gives that answer only for
  the second cause, so the caller's policy names exactly the roles that exist (A's, B's, D's): the
  refusal is moto's own, through the real STS call.
- account D has the role but no policy on it: its first call (ecs:ListClusters) is refused.
The member roles of A and B hold exactly the engine's declared actions (what the template grants),
so a fleet scan that needed more would fail here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from account import PREFIX, REGION, container, create_service, private_vpc, register_task_definition
from moto_authz import fix_get_signatures

from vpce_remediator.accounts import MemberAccounts, MemberRole, session_from
from vpce_remediator.act import PERMISSIONS
from vpce_remediator.aws import READ_ACTIONS, Clients
from vpce_remediator.cli import main
from vpce_remediator.engine import ORGANIZATION_ACTIONS, Settings
from vpce_remediator.fleet import CALLER_ACTIONS, FleetEntry, FleetResult, render, scan_fleet
from vpce_remediator.lock import LOCK_ACTIONS, VpcLock
from vpce_remediator.pacing import process_pacer

CENTRAL = "123456789012"  # moto's default account: the caller's
A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444"
WEST = "us-west-2"
ROLE = "vpce-remediator-member"
ENGINE_ACTIONS = sorted({*READ_ACTIONS, *ORGANIZATION_ACTIONS, *(a for acts in PERMISSIONS.values() for a in acts)})
WRITE_VERBS = ("Create", "Modify", "Authorize", "Delete")


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(actions: list[str] | str, resources: list[str] | str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ROLE}"


@dataclass
class World:
    """The central account (moto's default) and member accounts, on moto in process or a moto_server."""

    endpoint_url: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # the central caller's access key

    def credentials(self, account: str) -> dict[str, str]:
        """Credentials acting in `account`, for seeding and inspecting (IAM enforcement off)."""
        sts = boto3.client("sts", region_name=REGION, endpoint_url=self.endpoint_url)
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/seed", RoleSessionName="seed")["Credentials"]
        return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                "aws_session_token": c["SessionToken"]}

    def client(self, account: str, service: str, region: str = REGION) -> Any:
        creds = {} if account == CENTRAL else self.credentials(account)
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint_url, **creds)

    def member_role(self, account: str, actions: list[str] | None = ENGINE_ACTIONS) -> None:
        """The member role in `account`, trusting the central account; without `actions`, no policy."""
        iam = self.client(account, "iam")
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=_policy(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CENTRAL}:root"}, "Action": "sts:AssumeRole"}))
        if actions:
            iam.put_role_policy(RoleName=ROLE, PolicyName="engine", PolicyDocument=_policy(_allow(actions)))

    def central_caller(self, roles: list[str] | str) -> dict[str, str]:
        """An IAM user of the central account that may assume `roles`, list the organization and
        scan its own account (READ_ACTIONS): the operator running the CLI."""
        iam = self.client(CENTRAL, "iam")
        iam.create_user(UserName="operator")
        key = iam.create_access_key(UserName="operator")["AccessKey"]
        org_reads = [a for a in CALLER_ACTIONS if a.startswith("organizations:")]
        assume = [_allow("sts:AssumeRole", roles)] if roles else []
        iam.put_user_policy(UserName="operator", PolicyName="fleet", PolicyDocument=_policy(
            *assume, _allow(org_reads), _allow(ENGINE_ACTIONS)))
        self.keys = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
        return self.keys

    def workload(self, account: str, cidr: str, region: str = REGION) -> dict[str, Any]:
        """A private VPC (no endpoint) and a Fargate service whose image is in the account's own ECR."""
        ec2, ecs = self.client(account, "ec2", region), self.client(account, "ecs", region)
        net = private_vpc(ec2, f"app-{account[:3]}", cidr, "ab", region=region)
        ecs.create_cluster(clusterName="prod")
        web = container("web", f"{account}.dkr.ecr.{region}.amazonaws.com/web:1")
        web["logConfiguration"]["options"]["awslogs-region"] = region
        td = register_task_definition(ecs, "web", [web])
        return {**net, "service": create_service(ecs, "prod", "web", td, net, "FARGATE"), "account": account}

    def endpoints(self, account: str, region: str = REGION) -> list[dict[str, Any]]:
        eps = self.client(account, "ec2", region).describe_vpc_endpoints()["VpcEndpoints"]
        return [e for e in eps if e["State"].lower() not in ("deleted", "deleting")]

    def caller(self, region: str = REGION) -> Clients:
        session = boto3.session.Session(aws_access_key_id=self.keys["AccessKeyId"],
                                        aws_secret_access_key=self.keys["SecretAccessKey"], region_name=region)
        return Clients(region=region, endpoint_url=self.endpoint_url, session=session)


@pytest.fixture
def world(aws: Any) -> World:
    return World()


@contextmanager
def enforced() -> Iterator[None]:
    """moto checks every call's credentials, signature and policies (as AWS does) inside this block
    (with moto_authz's fix of its GET signatures)."""
    from moto.core.authorization import enable_iam_authentication

    undo = fix_get_signatures()
    try:
        with enable_iam_authentication():
            yield
    finally:
        undo()


def fleet(world: World, accounts: list[str] | None = None, regions: tuple[str, ...] = (REGION,),
          mode: str = "report", **kw: Any) -> FleetResult:
    base = world.caller()
    with enforced():
        return scan_fleet(base, MemberAccounts(base, MemberRole(ROLE)), Settings(mode=mode), regions,
                          accounts or (), org=accounts is None, **kw)


def ids_of(net: dict[str, Any]) -> set[str]:
    return {net["vpc"], net["rtb"], net["sg"], *net["subnets"]}


def writes(calls: dict[str, int]) -> list[str]:
    return sorted(op for op in calls if op.split(".")[1].startswith(WRITE_VERBS))


@pytest.fixture
def two_and_two(world: World) -> dict[str, dict[str, Any]]:
    """A and B with a workload and the member role; C without the role; D with a role that may do nothing."""
    nets = {A: world.workload(A, "10.1.0.0/16"), B: world.workload(B, "10.2.0.0/16")}
    world.workload(C, "10.3.0.0/16")
    for account in (A, B):
        world.member_role(account)
    world.member_role(D, actions=None)
    world.central_caller([role_arn(A), role_arn(B), role_arn(D)])
    return nets


# ---------------------------------------------------------------- accounts and Regions


def test_each_account_is_scanned_with_its_own_ids_and_the_unreachable_ones_are_rows(
        world: World, two_and_two: dict[str, dict[str, Any]]) -> None:
    result = fleet(world, [A, B, C, D])

    entries = {e.account: e for e in result.entries}
    assert [e.account for e in result.entries] == [A, B, C, D]
    assert {a: e.status for a, e in entries.items()} == {A: "scanned", B: "scanned", C: "unreachable",
                                                          D: "unreachable"}
    for account, other in ((A, B), (B, A)):
        scan = entries[account].scan
        assert scan is not None
        assert [v.vpc_id for v in scan.vpcs] == [two_and_two[account]["vpc"]]
        assert [w.workload.arn for w in scan.workloads] == [two_and_two[account]["service"]]
        assert {w.status for w in scan.workloads} == {"non_compliant"}
        findings = [f for v in scan.vpcs for f in v.outcome.findings] if scan.vpcs[0].outcome else []
        assert PREFIX + "ecr.dkr" in {f.service for f in findings}
        assert {f.resource_id for f in findings} <= ids_of(two_and_two[account])
        text = json.dumps(entries[account].to_dict())
        assert not any(i in text for i in ids_of(two_and_two[other]))  # B's ids in B's rows only
        assert writes(scan.api_calls) == []
    assert f"cannot assume {role_arn(C)}" in str(entries[C].reason) and "AccessDenied" in str(entries[C].reason)
    assert "may not call ListClusters" in str(entries[D].reason)
    assert result.api_calls["sts.AssumeRole"] == 4  # one per account, C's refused one included
    assert world.endpoints(C) == [] and world.endpoints(CENTRAL) == []


def test_two_regions_scan_each_account_in_each(world: World) -> None:
    east = world.workload(A, "10.1.0.0/16")
    west = world.workload(A, "10.9.0.0/16", region=WEST)
    other = world.workload(B, "10.2.0.0/16")
    for account in (A, B):
        world.member_role(account)
    world.central_caller([role_arn(A), role_arn(B)])

    result = fleet(world, [A, B], regions=(REGION, WEST))

    assert [(e.account, e.region, e.status) for e in result.entries] == [
        (A, REGION, "scanned"), (A, WEST, "scanned"), (B, REGION, "scanned"), (B, WEST, "scanned")]
    vpcs = {(e.account, e.region): [v.vpc_id for v in e.scan.vpcs] for e in result.entries if e.scan}
    assert vpcs == {(A, REGION): [east["vpc"]], (A, WEST): [west["vpc"]], (B, REGION): [other["vpc"]],
                    (B, WEST): []}
    (west_entry,) = [e for e in result.entries if (e.account, e.region) == (A, WEST)]
    assert west_entry.scan is not None and west_entry.scan.region == WEST
    services = {r["service"] for w in west_entry.scan.workloads for r in w.result["required"]}
    assert f"com.amazonaws.{WEST}.ecr.dkr" in services and PREFIX + "ecr.dkr" not in services
    assert result.api_calls["sts.AssumeRole"] == 2  # credentials once per account, whatever the Regions


def test_remediate_creates_endpoints_in_each_accounts_vpc_in_that_account_only(
        world: World, two_and_two: dict[str, dict[str, Any]]) -> None:
    first = fleet(world, [A, B], mode="remediate")

    assert {e.status for e in first.entries} == {"scanned"}
    for account in (A, B):
        eps = world.endpoints(account)
        assert {e["VpcId"] for e in eps} == {two_and_two[account]["vpc"]}
        assert {e["ServiceName"].removeprefix(PREFIX) for e in eps} >= {"ecr.api", "ecr.dkr", "s3", "logs"}
        assert {e["OwnerId"] for e in eps} == {account}
    assert world.endpoints(CENTRAL) == [] and world.endpoints(C) == []
    assert {w.status for e in first.entries if e.scan for w in e.scan.workloads} == {"remediated"}

    second = fleet(world, [A, B], mode="remediate")

    assert all(writes(dict(e.api_calls)) == [] for e in second.entries)
    assert {w.status for e in second.entries if e.scan for w in e.scan.workloads} == {"compliant"}


def test_regions_alone_scan_the_callers_own_account_in_each_with_its_credentials(world: World) -> None:
    east = world.workload(CENTRAL, "10.5.0.0/16")
    west = world.workload(CENTRAL, "10.6.0.0/16", region=WEST)
    world.central_caller([])

    result = fleet(world, [], regions=(REGION, WEST))

    assert [(e.account, e.region, e.via, e.status) for e in result.entries] == [
        (CENTRAL, REGION, "caller", "scanned"), (CENTRAL, WEST, "caller", "scanned")]
    assert [[v.vpc_id for v in e.scan.vpcs] for e in result.entries if e.scan] == [[east["vpc"]], [west["vpc"]]]
    assert "sts.AssumeRole" not in result.api_calls


def test_remediation_records_each_accounts_endpoints_in_the_central_state_table(
        world: World, two_and_two: dict[str, dict[str, Any]]) -> None:
    """The stack's table (its locks and its record of what it made) is the central one, the caller's."""
    db = world.client(CENTRAL, "dynamodb")
    db.create_table(TableName="state", BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    world.client(CENTRAL, "iam").put_user_policy(UserName="operator", PolicyName="state", PolicyDocument=_policy(
        _allow(list(LOCK_ACTIONS))))
    base = world.caller()

    with enforced():
        scan_fleet(base, MemberAccounts(base, MemberRole(ROLE)), Settings(mode="remediate"), (REGION,), [A, B],
                   lock=VpcLock(base.dynamodb, "state"))

    for account in (A, B):
        vpc = two_and_two[account]["vpc"]
        item = db.get_item(TableName="state", Key={"id": {"S": f"owned#{vpc}"}})["Item"]
        assert sorted(item["endpoints"]["SS"]) == sorted(
            e["VpcEndpointId"] for e in world.endpoints(account) if e["VpcId"] == vpc)
        assert "Item" not in db.get_item(TableName="state", Key={"id": {"S": f"vpc-lock#{vpc}"}})  # released


def test_org_scans_its_active_accounts_and_an_ou_with_the_ous_nested_in_it(world: World) -> None:
    org = world.client(CENTRAL, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    made = {name: org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
            for name in ("web", "data", "sandbox", "old")}
    outer = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    inner = org.create_organizational_unit(ParentId=outer, Name="data")["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=made["web"], SourceParentId=root, DestinationParentId=outer)
    org.move_account(AccountId=made["data"], SourceParentId=root, DestinationParentId=inner)
    org.close_account(AccountId=made["old"])
    net = world.workload(made["data"], "10.4.0.0/16")
    for name in ("web", "data", "sandbox"):
        world.member_role(made[name])
    world.central_caller(f"arn:aws:iam::*:role/{ROLE}")

    whole = fleet(world)
    scoped = fleet(world, parents=[outer])

    assert sorted(e.account for e in whole.entries) == sorted([CENTRAL, made["web"], made["data"], made["sandbox"]])
    assert {e.account: e.via for e in whole.entries}[CENTRAL] == "caller"  # the caller's own: its credentials
    assert {e.status for e in whole.entries} == {"scanned"}
    assert [(a.id, a.state) for a in whole.skipped] == [(made["old"], "SUSPENDED")]
    assert {e.account: e.name for e in whole.entries}[made["web"]] == "web"
    assert sorted(e.account for e in scoped.entries) == sorted([made["web"], made["data"]])
    (data,) = [e for e in scoped.entries if e.account == made["data"]]
    assert data.scan is not None and [v.vpc_id for v in data.scan.vpcs] == [net["vpc"]]
    callers = {op for r in (whole, scoped) for op in r.api_calls} - {"sts.GetCallerIdentity"}
    assert {f"{op.split('.')[0]}:{op.split('.')[1]}" for op in callers} <= set(CALLER_ACTIONS)
    assert scoped.api_calls["organizations.ListAccountsForParent"] == 2  # workloads, then data under it


def test_the_json_document_and_the_table(world: World, two_and_two: dict[str, dict[str, Any]]) -> None:
    heard: list[tuple[int, int, str]] = []

    result = fleet(world, [A, C], progress=lambda done, total, what: heard.append((done, total, what)))

    doc = result.to_dict()
    assert set(doc) == {"mode", "role", "caller_account", "regions", "summary", "entries", "skipped", "api_calls"}
    assert doc["summary"] == {"accounts": 2, "regions": 1, "pairs": 2, "scanned": 1, "unreachable": 1, "failed": 0,
                              "vpcs": 1, "workloads": 1, "compliant": 0, "remediated": 0, "non_compliant": 1,
                              "ignored": 0, "findings": doc["entries"][0]["scan"]["vpcs"][0]["findings"]}
    a, c = doc["entries"]
    assert (a["account"], a["region"], a["status"], a["via"]) == (A, REGION, "scanned", "member-role")
    assert set(a["scan"]) == {"region", "mode", "summary", "vpcs", "workloads", "api_calls"}  # scan's own JSON
    assert a["scan"]["vpcs"][0]["vpc_id"] == two_and_two[A]["vpc"]
    assert (c["status"], c["scan"]) == ("unreachable", None) and role_arn(C) in c["reason"]
    assert doc["api_calls"]["total"] == doc["api_calls"]["caller"]["total"] + a["scan"]["api_calls"]["total"]
    assert heard == [(1, 2, "account-Regions"), (2, 2, "account-Regions")]

    lines = render(result).splitlines()
    assert lines[0] == (f"fleet scan (report mode, role {ROLE}): 2 account(s) x 1 Region(s): 1 of 2 account-Region(s) "
                        "scanned, 1 unreachable; 1 workload(s): 0 compliant, 0 remediated, 1 non-compliant, 0 ignored")
    assert lines[2].split() == ["ACCOUNT", "REGION", "VPCS", "WORKLOADS", "COMPLIANT", "REMEDIATED", "NON-COMPLIANT",
                                "FINDINGS", "NOTE"]
    assert lines[3].split()[:8] == [A, REGION, "1", "1", "0", "0", "1", str(doc["summary"]["findings"])]
    assert lines[4].split()[:9] == [C, REGION, "-", "-", "-", "-", "-", "-", "unreachable:"]
    assert f"cannot assume {role_arn(C)}" in lines[4]
    assert any(line.strip().startswith(f"{A} {REGION} {two_and_two[A]['vpc']}") for line in lines)
    assert any("NON_COMPLIANT" in line and "service prod/web" in line for line in lines)


def test_names_and_reasons_from_aws_are_printed_inert() -> None:
    """An account's name and AWS's messages are not ours: no escape sequence or line break of
    theirs reaches the terminal."""
    hostile = FleetEntry(A, REGION, "unreachable", "member-role", reason="denied\n\x1b[2Jfake row", name="\x1b[31mprod")

    text = render(FleetResult("report", ROLE, CENTRAL, (REGION,), (hostile,)))

    assert "\x1b" not in text
    (row,) = [line for line in text.splitlines() if line.lstrip().startswith(A)]
    assert row.split()[:2] == [A, "(?[31mprod)"] and "denied??[2Jfake row" in row


def test_pairs_keep_their_order_whatever_the_workers(world: World, two_and_two: dict[str, dict[str, Any]]) -> None:
    one = fleet(world, [B, D, A], regions=(REGION, WEST), max_workers=1)
    many = fleet(world, [B, D, A], regions=(REGION, WEST), max_workers=6)

    assert [(e.account, e.region, e.status) for e in one.entries] == \
           [(e.account, e.region, e.status) for e in many.entries]
    assert [(e.account, e.region) for e in many.entries] == [(a, r) for a in (B, D, A) for r in (REGION, WEST)]


def test_the_clis_default_role_and_worker_counts_are_the_fleets() -> None:
    from vpce_remediator import cli, fleet

    assert cli.DEFAULT_ROLE_NAME == fleet.DEFAULT_ROLE_NAME == ROLE
    assert (cli.FLEET_DEFAULT_WORKERS, cli.FLEET_MAX_WORKERS) == (fleet.DEFAULT_MAX_WORKERS, fleet.MAX_WORKERS)


def test_member_sessions_carry_the_handlers_installed_for_every_session_when_they_are_made(world: World) -> None:
    """Member sessions start from a copy of botocore's built-in handlers (cheaper than registering
    each anew); a handler installed among them later (the bench's counters and AWS model) is in
    every member session made afterwards, and gone from those made after it is taken out."""
    from botocore import handlers

    base = Clients(region=REGION)
    creds = base.sts.assume_role(RoleArn=role_arn(A), RoleSessionName="test")["Credentials"]
    heard: list[str] = []

    def hook(model: Any, **_: Any) -> None:
        heard.append(model.name)

    session_from(base, creds, REGION).client("sts").get_caller_identity()
    handlers.BUILTIN_HANDLERS.append(("before-call.sts", hook))
    try:
        during = session_from(base, creds, REGION).client("sts").get_caller_identity()
    finally:
        handlers.BUILTIN_HANDLERS.remove(("before-call.sts", hook))
    session_from(base, creds, REGION).client("sts").get_caller_identity()

    assert heard == ["GetCallerIdentity"]
    assert during["Account"] == A  # the member's credentials, on the copied handlers


def test_endpoint_writes_are_paced_per_account_and_region() -> None:
    assert process_pacer(A, REGION) is process_pacer(A, REGION)
    assert process_pacer(A, REGION) is not process_pacer(B, REGION)
    assert process_pacer(A, REGION) is not process_pacer(A, WEST)


# ---------------------------------------------------------------- bad input: one line, no call


@pytest.mark.parametrize("args, message", [
    (["--accounts", "12345"], "'12345': expected 12-digit AWS account ids"),
    (["--accounts", f"{A},abc"], "'abc': expected 12-digit AWS account ids"),
    (["--accounts", ","], "--accounts: no account id given"),
    (["--regions", "us-esat-1"], "'us-esat-1': not a Region of any AWS partition"),
    (["--accounts", A, "--regions", f"{REGION},cn-north-1"], "cn-north-1: not in partition aws"),
    (["--accounts", A, "--role-name", "bad role!"], "'bad role!': not an IAM role name"),
    (["--accounts", A, "--external-id", "x"], "--external-id: 2 to 1224 characters"),
    (["--org", "--accounts", A], "--org (or --ou) and --accounts: give one of them"),
    (["--ou", "ou-nope"], "'ou-nope': expected organizational unit ids"),
    (["--accounts", A, "--max-workers", "0"], "--max-workers: a whole number from 1 to 64"),
    (["--accounts", A, "--max-workers", "many"], "--max-workers: a whole number from 1 to 64"),
    (["--regions", REGION, "--role-name", ROLE], "--role-name and --external-id need --org or --accounts"),
    (["--accounts", A, "--vpc", "vpc-0123"], "--vpc scans one account's VPCs"),
    (["--external-id", ""], "--role-name and --external-id need --org or --accounts"),
    (["--max-workers", ""], "--max-workers: a whole number from 1 to 64"),
])
def test_bad_fleet_input_is_one_line_exit_2_before_any_call(capsys: pytest.CaptureFixture[str], args: list[str],
                                                            message: str) -> None:
    # Nothing answers on port 9: a call would end in exit 1, not 2.
    code = main(["scan", *args, "--region", REGION, "--endpoint-url", "http://127.0.0.1:9"])

    out = capsys.readouterr()
    assert code == 2 and out.out == ""
    assert out.err.splitlines() == [out.err.strip()] and message in out.err, out.err


def test_bad_fleet_input_from_a_real_process_has_no_traceback() -> None:
    out = _cli({}, "scan", "--accounts", "1234,abc", "--regions", "mars-1", "--json")

    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "vpce-remediator: '1234', 'abc': expected 12-digit AWS account ids"
    assert json.loads(out.stdout)["status"] == "error"


# ---------------------------------------------------------------- the CLI, against a moto_server


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI from this checkout's sources, as a separate process, with `env`'s credentials (an IAM
    user's access key: no session token, which moto would then refuse)."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    drop = ("AWS_ENDPOINT_URL", "AWS_PROFILE", *(("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN") if env else ()))
    base = {k: v for k, v in os.environ.items() if k not in drop}
    base["PYTHONPATH"] = os.pathsep.join([src, base.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "vpce_remediator.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**base, **env})


@pytest.fixture
def enforcing_server() -> Iterator[World]:
    """A moto_server of its own (its IAM enforcement is switched on for the CLI's run only)."""
    from moto_server import running_moto_server

    script = Path(__file__).resolve().parents[1] / "moto_authz.py"
    with running_moto_server(command=[sys.executable, str(script), "-H", "127.0.0.1", "-p"]) as url:
        yield World(endpoint_url=url)


def _auth(url: str, count: str) -> None:
    """moto_server's IAM enforcement: on after `count` more calls ("0": now), "inf": off."""
    # Not a form (urllib's default type): moto reads the raw body.
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset-auth", data=count.encode(), method="POST",
                                                  headers={"Content-Type": "application/octet-stream"}), timeout=5)


def test_cli_scans_two_accounts_through_their_roles_and_reports_the_third_as_unreachable(
        enforcing_server: World) -> None:
    world = enforcing_server
    nets = {A: world.workload(A, "10.1.0.0/16"), B: world.workload(B, "10.2.0.0/16")}
    world.member_role(A)
    world.member_role(B)
    keys = world.central_caller([role_arn(A), role_arn(B)])
    env = {"AWS_ACCESS_KEY_ID": keys["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"]}
    args = ("scan", "--accounts", f"{A},{B},{C}", "--role-name", ROLE, "--region", REGION,
            "--endpoint-url", str(world.endpoint_url))
    _auth(str(world.endpoint_url), "0")
    try:
        started = time.perf_counter()
        table = _cli(env, *args)
        wall = time.perf_counter() - started
        as_json = _cli(env, *args, "--json")
        reachable = _cli(env, *args[:2], f"{A},{B}", *args[3:], "--json")
    finally:
        _auth(str(world.endpoint_url), "inf")

    assert table.returncode == 1, table.stderr
    assert table.stderr.strip() == "vpce-remediator: 1 of 3 account-Region(s) not scanned (1 unreachable)"
    lines = table.stdout.splitlines()
    assert lines[0].startswith(f"fleet scan (report mode, role {ROLE}): 3 account(s) x 1 Region(s): 2 of 3")
    rows = {line.split()[0]: line for line in lines[3:6]}
    assert rows[A].split()[1:7] == [REGION, "1", "1", "0", "0", "1"]
    assert rows[B].split()[1:7] == [REGION, "1", "1", "0", "0", "1"]
    assert f"unreachable: cannot assume {role_arn(C)}" in rows[C]
    doc = json.loads(as_json.stdout)
    assert as_json.returncode == 1
    assert [(e["account"], e["status"]) for e in doc["entries"]] == [(A, "scanned"), (B, "scanned"), (C, "unreachable")]
    for entry in doc["entries"][:2]:
        assert [v["vpc_id"] for v in entry["scan"]["vpcs"]] == [nets[entry["account"]]["vpc"]]
    assert reachable.returncode == 0, reachable.stderr
    assert json.loads(reachable.stdout)["summary"]["scanned"] == 2
    print(f"fleet CLI scan of 3 accounts (2 seeded, 1 unreachable) against moto_server: {wall:.2f} s")
