"""The `vpce-remediator` CLI as a user runs it, against a `moto_server` on 127.0.0.1."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from account import ECR, PREFIX, REGION, container, private_vpc, register_task_definition, run_task_event

CLI = shutil.which("vpce-remediator", path=str(Path(sys.executable).parent)) or "vpce-remediator"
ACCOUNT = "123456789012"
EVENTS = Path(__file__).resolve().parents[2] / "events"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_PROFILE")}
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, env=env, input=stdin)


def _seed(account: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    net = private_vpc(account.client("ec2"), "app", "10.20.0.0/16", "ab")
    ecs = account.client("ecs")
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1.4", (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db-AbCdEf",
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/web/key"))])
    return net, run_task_event(net, td)


def test_invoke_remediates_then_reports_compliant(account: Any, tmp_path: Path) -> None:
    net, event = _seed(account)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    args = ("invoke", str(path), "--mode", "remediate", "--endpoint-url", account.url, "--region", REGION, "--json")

    first = cli(*args)

    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["status"] == "remediated"
    eps = account.client("ec2").describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["VpcEndpoints"]
    found = {e["ServiceName"].removeprefix(PREFIX): e for e in eps}
    assert set(found) == {"ecr.api", "ecr.dkr", "s3", "logs", "secretsmanager", "ssm"}
    assert found["s3"]["VpcEndpointType"] == "Gateway" and found["s3"]["RouteTableIds"] == [net["rtb"]]
    assert all(e["PrivateDnsEnabled"] and sorted(e["SubnetIds"]) == sorted(net["subnets"])
               for s, e in found.items() if s != "s3")

    second = cli(*args)

    result = json.loads(second.stdout)
    assert second.returncode == 0 and result["status"] == "compliant"
    writes = [op for op in result["api_calls"]["by_operation"]
              if op.split(".")[1].startswith(("Create", "Modify", "Authorize", "Delete"))]
    assert writes == []


def test_invoke_prints_a_readable_summary_by_default(account: Any, tmp_path: Path) -> None:
    net, event = _seed(account)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))

    out = cli("invoke", str(path), "--endpoint-url", account.url, "--region", REGION)

    assert out.returncode == 0
    assert "NON_COMPLIANT (report mode)" in out.stdout
    assert "MISSING     com.amazonaws.us-east-1.ecr.dkr (Interface)" in out.stdout
    assert f"because container web: image {ECR}/web:1.4" in out.stdout
    assert f"$ aws ec2 create-vpc-endpoint --region {REGION} --vpc-id {net['vpc']}" in out.stdout


@pytest.mark.parametrize("content, message", [
    ("not json at all", "is not JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"detail-type": "AWS API Call via CloudTrail", "detail": []}', "'detail' must be an object"),
    ('{"detail-type": "AWS API Call via CloudTrail", "region": "us-east-1", "detail": {"eventSource": '
     '"ecs.amazonaws.com", "eventName": "RunTask", "requestParameters": {"networkConfiguration": '
     '{"awsvpcConfiguration": {"subnets": "subnet-1"}}}}}', "must be a list of strings"),
])
def test_bad_input_is_one_line_exit_2_and_no_aws_call(account: Any, tmp_path: Path, content: str,
                                                       message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)

    out = cli("invoke", str(path), "--mode", "remediate", "--endpoint-url", account.url, "--region", REGION)

    assert out.returncode == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    out = cli("invoke", str(tmp_path / "nope.json"))

    assert out.returncode == 2 and "cannot read" in out.stderr


def test_ignored_event_exits_0_with_the_reason(account: Any) -> None:
    failed = Path(__file__).resolve().parents[2] / "events" / "ecs-RunTask-failed.json"

    out = cli("invoke", str(failed), "--endpoint-url", account.url, "--json")

    assert out.returncode == 0
    result = json.loads(out.stdout)
    assert result["status"] == "ignored" and "AccessDeniedException" in result["reason"]


def test_aws_error_is_exit_1_with_its_code() -> None:
    """Credentials the account rejects (moto_server checking signatures, as AWS does)."""
    from moto_server import running_moto_server

    with running_moto_server(env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"}) as url:
        out = cli("invoke", str(EVENTS / "ec2-ModifyVpcAttribute.json"), "--endpoint-url", url, "--region", REGION,
                  "--json")

    assert out.returncode == 1
    assert out.stderr.strip() == ("vpce-remediator: AWS error AuthFailure: AWS was not able to validate the "
                                  "provided access credentials")
    assert json.loads(out.stdout)["code"] == "AuthFailure", out.stderr


def _cli_here(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI from this checkout's sources (the `vpce-remediator` script may be another checkout's)."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_PROFILE")}
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "vpce_remediator.cli", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_adopt_records_only_the_tagged_endpoints_an_operator_confirms(account: Any, tmp_path: Path) -> None:
    net, event = _seed(account)
    ec2, db = account.client("ec2"), account.client("dynamodb")
    db.create_table(TableName="state", BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    old = [ec2.create_vpc_endpoint(
        VpcId=net["vpc"], ServiceName=PREFIX + svc, VpcEndpointType="Interface", SubnetIds=[net["subnets"][0]],
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": [
            {"Key": "managed-by", "Value": "vpce-remediator"}]}])["VpcEndpoint"]["VpcEndpointId"]
        for svc in ("ecr.dkr", "logs")]
    base = ("adopt", "--vpc", net["vpc"], "--state-table", "state", "--endpoint-url", account.url,
            "--region", REGION, "--json")

    listed = _cli_here(*base)  # no terminal, no --yes: lists, adopts nothing
    picked = _cli_here(*base, "--endpoint", old[0], "--yes")
    again = _cli_here(*base)

    assert listed.returncode == 0, listed.stderr
    assert sorted(c["endpoint_id"] for c in json.loads(listed.stdout)["candidates"]) == sorted(old)
    assert json.loads(listed.stdout)["adopted"] == []
    assert json.loads(picked.stdout)["adopted"] == [old[0]]
    assert [c["endpoint_id"] for c in json.loads(again.stdout)["candidates"]] == [old[1]]
    item = db.get_item(TableName="state", Key={"id": {"S": f"owned#{net['vpc']}"}})["Item"]
    assert item["endpoints"]["SS"] == [old[0]]
    assert _cli_here("adopt", "--vpc", net["vpc"], "--endpoint-url", account.url).returncode == 2  # no state table

    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    run = _cli_here("invoke", str(path), "--mode", "remediate", "--state-table", "state", "--endpoint-url", account.url,
              "--region", REGION, "--json")

    result = json.loads(run.stdout)
    modified = {a["resource_id"] for a in result["actions"] if a["status"] == "modified"}
    assert old[0] in modified and old[1] not in modified
    assert old[1] in {f["resource_id"] for f in result["findings"] if f["problem"] == "endpoint-missing-az"}
