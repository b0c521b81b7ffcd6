"""Side by side: Cloud Custodian against `vpce-remediator scan` on the same moto_server estate.

Both tools run as the separate processes a user runs, against one already seeded `moto_server` on
127.0.0.1: our `scan --mode report --json`, and `custodian run` with bench/custodian-policy.yml (the
closest policy c7n can express: VPCs lacking DNS hostnames or an ecr.dkr endpoint) from its own
virtualenv (.venv-custodian; c7n pins its own boto3). For each: wall time, the HTTP API requests
it made, and the VPCs it flagged.

API requests are counted the same neutral way for both, by the server: moto's request recorder
(`/moto-api/recorder/...`) logs every request that reaches a service backend, whoever sent it.
Our count is cross-checked against the `api_calls.total` the scan reports itself.

    python tools/bench_custodian.py [--vpcs 20] [--repeats 3]

seeds its own estate on its own moto_server and prints the result as JSON. The main bench reuses
`seed` and `side_by_side`. Importing this module changes no environment and starts nothing.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import venvs  # tools/venvs.py: uv, else pip

ROOT = Path(__file__).resolve().parents[1]
VENV = ".venv-custodian"
REQUIREMENTS = "requirements-custodian.txt"
POLICY = ROOT / "bench" / "custodian-policy.yml"
POLICY_NAME = "vpc-missing-ecr-dkr-or-dns-hostnames"  # the one policy in POLICY: its output folder
REGION = "us-east-1"
NON_COMPLIANT = "non_compliant"  # our scan's status for a VPC with findings

# What seed() builds in each VPC, by index: even indexes get every endpoint their services need;
# odd ones alternate between the two faults the Custodian policy can see.
GOOD, DNS_OFF, NO_ECR_DKR = "compliant", "dns-hostnames-off", "no-ecr.dkr-endpoint"
# Interface endpoints a Fargate service with an ECR image and the awslogs driver needs (with the
# S3 gateway for the image layers): what our scan asks of a compliant VPC.
_INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "logs")


# ---------------------------------------------------------------- environment


def _local(endpoint_url: str) -> str:
    """The URL, refused unless it is on this machine: the bench never talks to real AWS."""
    host = urllib.parse.urlparse(endpoint_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"{endpoint_url}: the benchmark only runs against a moto_server on 127.0.0.1")
    return endpoint_url.rstrip("/")


def _offline_env(endpoint_url: str, region: str) -> dict[str, str]:
    """The environment for both tools' processes: dummy credentials, every AWS call to the server.

    c7n has no --endpoint-url; botocore's AWS_ENDPOINT_URL sends every client there (STS for the
    account id included). Profiles, config files and instance metadata are shut out so that no
    real credential or endpoint can be picked up from the machine.
    """
    # PYTHONDONTWRITEBYTECODE too: set on this machine, not in a user's shell, it would have our
    # sources (an editable install, never compiled at install as c7n's are) compiled at every run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def ensure_venv(root: Path) -> Path:
    """Create `root/.venv-custodian` from requirements-custodian.txt unless it is already there.

    A stamp holding the requirements' hash makes a second call instant and a changed pin reinstall,
    like the Makefile's stamps. Returns the virtualenv's folder (its `bin/custodian` is the CLI).
    """
    venv = root / VENV
    requirements = root / REQUIREMENTS
    stamp = venv / ".installed"
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    custodian = venv / "bin" / "custodian"
    if stamp.is_file() and stamp.read_text().strip() == wanted and custodian.is_file():
        return venv
    # Made from the base interpreter, not the project venv's: c7n must not see the project's packages.
    venvs.install(venv, ["-r", str(requirements)])
    stamp.write_text(wanted + "\n")
    return venv


# ---------------------------------------------------------------- counting requests on the server


def _moto_api(url: str, action: str) -> str:
    request = urllib.request.Request(f"{url}/moto-api/recorder/{action}", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.read().decode("utf-8"))


def _operation(entry: dict[str, Any]) -> str:
    """`service.Operation` of one recorded request, whatever its protocol.

    JSON protocols (ECS, STS's newer clients) name it in X-Amz-Target; query protocols (EC2, STS)
    in the form body's Action; the service is the SigV4 credential scope's.
    """
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    scope = headers.get("authorization", "").split("Credential=")[-1].split(",")[0].split("/")
    service = scope[3] if len(scope) > 3 else "?"
    target = headers.get("x-amz-target")
    if target:
        return f"{service}.{target.rsplit('.', 1)[-1]}"
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    query = urllib.parse.urlparse(entry.get("url", "")).query
    action = (urllib.parse.parse_qs(str(body)).get("Action") or urllib.parse.parse_qs(query).get("Action") or ["?"])[0]
    return f"{service}.{action}"


class Recorder:
    """moto's request recorder on one server: everything between `start` and `stop` is counted."""

    def __init__(self, url: str) -> None:
        self.url = url

    def start(self) -> None:
        _moto_api(self.url, "reset-recording")  # also creates the log file on a fresh server
        _moto_api(self.url, "start-recording")

    def stop(self) -> Counter[str]:
        _moto_api(self.url, "stop-recording")
        lines = [line for line in _moto_api(self.url, "download-recording").splitlines() if line.strip()]
        _moto_api(self.url, "reset-recording")
        return Counter(_operation(json.loads(line)) for line in lines)


# ---------------------------------------------------------------- the two runs


def _timed(cmd: list[str], env: dict[str, str], cwd: Path, latency_ms: float | None = None,
           model: dict[str, Any] | None = None) -> tuple[float, str]:
    """One run of `cmd`; with `latency_ms`, under the AWS model (tools/aws_model.py), whose stats
    (requests, refused, bucket floor) are added up into `model`."""
    stats = ""
    if latency_ms is not None:
        import aws_model

        handle, stats = tempfile.mkstemp(prefix="aws-model-", suffix=".jsonl")  # the processes append to it
        os.close(handle)
        env = aws_model.child_env(env, latency_ms, stats)
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if stats:
        import aws_model

        seen = aws_model.read_stats(stats)
        with contextlib.suppress(OSError):
            os.unlink(stats)
        if model is not None:
            for key in ("requests", "refused", "processes"):
                model[key] = model.get(key, 0) + seen[key]
            model["bucket_floor_s"] = max(model.get("bucket_floor_s", 0.0), seen["bucket_floor_s"])
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return wall, done.stdout


def _scan_cmd(endpoint_url: str, region: str, pace: bool = False) -> list[str]:
    # The project venv's console script beside this interpreter, else the one on PATH.
    script = Path(sys.executable).with_name("vpce-remediator")
    exe = str(script) if script.is_file() else (shutil.which("vpce-remediator") or "vpce-remediator")
    # --pace under the model: it has AWS's buckets, so the scan keeps to them as against AWS.
    return [exe, "scan", "--mode", "report", "--json", "--region", region, "--endpoint-url", endpoint_url,
            *(["--pace"] if pace else [])]


def _custodian_cmd(venv: Path, region: str, out: Path) -> list[str]:
    # --cache-period 0: c7n otherwise answers a second run from ~/.cache and makes fewer calls.
    return [str(venv / "bin" / "custodian"), "run", "--region", region, "--output-dir", str(out),
            "--cache-period", "0", str(POLICY)]


def _ours_flagged(report: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    flagged = sorted(v["vpc_id"] for v in report.get("vpcs", []) if v.get("status") == NON_COMPLIANT)
    statuses = {v["vpc_id"]: str(v.get("status")) for v in report.get("vpcs", [])}
    return flagged, statuses


def _custodian_flagged(out: Path) -> list[str]:
    resources = json.loads((out / POLICY_NAME / "resources.json").read_text())
    return sorted(r["VpcId"] for r in resources)


def _custodian_version(venv: Path) -> str:
    done = subprocess.run([str(venv / "bin" / "custodian"), "version"], capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "?"


def _why_differ(only_ours: list[str], only_custodian: list[str], statuses: dict[str, str]) -> list[str]:
    """One line per VPC flagged by one tool only, saying which blind spot it falls in."""
    why = []
    for vpc in only_custodian:
        if vpc not in statuses:
            why.append(f"{vpc}: flagged by Custodian only; it runs no ECS workload, so our scan does not evaluate it "
                       "(Custodian has no notion of workloads: moto's default VPC, with no endpoint, is one)")
        else:
            why.append(f"{vpc}: flagged by Custodian only; our scan found it {statuses[vpc]}: its workloads need "
                       "nothing the policy checks for")
    for vpc in only_ours:
        why.append(f"{vpc}: flagged by our scan only: its workloads lack something other than DNS hostnames "
                   "or an ecr.dkr endpoint, which the policy cannot see")
    return why


def side_by_side(endpoint_url: str, region: str, workdir: Path, repeats: int = 3,
                 estate: list[str] | None = None, latency_ms: float | None = None) -> dict[str, Any]:
    """Run our scan and Custodian against an already seeded moto_server at `endpoint_url`.

    Each tool runs once with moto's recorder on (counting its requests), then `repeats` times with
    it off, alternating the two; wall time is the median of those, so the recorder's file writes
    do not weigh on it. `estate`, when given (seed()'s VPC ids), is where the flagged sets are
    compared; otherwise every VPC either tool saw. The state is only read: report mode, no actions.
    With `latency_ms`, both tools run under the AWS model (that latency per request and AWS's
    buckets, tools/aws_model.py), and what it refused is reported per tool.
    """
    url = _local(endpoint_url)
    workdir.mkdir(parents=True, exist_ok=True)
    venv = ensure_venv(ROOT)
    env = _offline_env(url, region)
    out = workdir / "custodian-output"
    ours_cmd = _scan_cmd(url, region, pace=latency_ms is not None)
    custodian_cmd = _custodian_cmd(venv, region, out)
    recorder = Recorder(url)
    ours_model: dict[str, Any] = {}
    custodian_model: dict[str, Any] = {}

    recorder.start()
    first_ours, stdout = _timed(ours_cmd, env, ROOT, latency_ms, ours_model)
    ours_calls = recorder.stop()
    report = json.loads(stdout)
    recorder.start()
    first_custodian, _ = _timed(custodian_cmd, env, workdir, latency_ms, custodian_model)
    custodian_calls = recorder.stop()
    custodian_vpcs = _custodian_flagged(out)

    ours_walls, custodian_walls = [first_ours], [first_custodian]
    reports = [report]
    if repeats > 0:
        ours_walls, custodian_walls = [], []
        for _ in range(repeats):
            wall, stdout = _timed(ours_cmd, env, ROOT, latency_ms, ours_model)
            ours_walls.append(wall)
            reports.append(json.loads(stdout))
            custodian_walls.append(_timed(custodian_cmd, env, workdir, latency_ms, custodian_model)[0])
    # A refused request that was lost would show as a run whose answer differs from the first's.
    answers = {json.dumps({k: v for k, v in r.items() if k != "api_calls"}, sort_keys=True) for r in reports}

    ours_vpcs, statuses = _ours_flagged(report)
    self_reported = int(report.get("api_calls", {}).get("total", -1))
    ours_total, custodian_total = sum(ours_calls.values()), sum(custodian_calls.values())
    ours_wall, custodian_wall = statistics.median(ours_walls), statistics.median(custodian_walls)
    scope = set(estate) if estate is not None else set(ours_vpcs) | set(custodian_vpcs) | set(statuses)
    in_ours = sorted(set(ours_vpcs) & scope)
    in_custodian = sorted(set(custodian_vpcs) & scope)
    only_ours = sorted(set(in_ours) - set(in_custodian))
    only_custodian = sorted(set(in_custodian) - set(in_ours))
    outside = sorted(set(custodian_vpcs) - scope)  # e.g. moto's default VPC, not seeded by us
    return {
        "region": region,
        # Our scan evaluates only VPCs that run a workload; Custodian every VPC in the region.
        "ours_vpc_statuses": dict(sorted(Counter(statuses.values()).items())),
        "latency_ms": latency_ms if latency_ms is not None else 0,
        "model": "none (moto as it answers)" if latency_ms is None else
                 f"{latency_ms:g} ms a request and AWS's token buckets (tools/aws_model.py)",
        "ours": {
            "wall_s": round(ours_wall, 3), "wall_runs_s": [round(w, 3) for w in ours_walls],
            "api_calls": ours_total, "api_calls_self_reported": self_reported,
            "api_calls_match": ours_total == self_reported,
            "api_calls_per_vpc": round(ours_total / len(estate), 3) if estate else None,
            "runs_with_a_different_answer": len(answers) - 1,
            **({"modelled": ours_model} if ours_model else {}),
            "by_operation": dict(sorted(ours_calls.items())),
            "vpcs_flagged": len(in_ours), "vpc_ids_flagged": in_ours,
        },
        "custodian": {
            "version": _custodian_version(venv), "policy": str(POLICY.relative_to(ROOT)),
            "wall_s": round(custodian_wall, 3), "wall_runs_s": [round(w, 3) for w in custodian_walls],
            **({"modelled": custodian_model} if custodian_model else {}),
            "api_calls": custodian_total, "by_operation": dict(sorted(custodian_calls.items())),
            "vpcs_flagged": len(in_custodian), "vpc_ids_flagged": in_custodian,
            "flagged_outside_estate": outside,
        },
        # ours / custodian: above 1, our scan took longer or made more calls.
        "wall_ratio": round(ours_wall / custodian_wall, 3) if custodian_wall else None,
        "calls_ratio": round(ours_total / custodian_total, 3) if custodian_total else None,
        # Compared over the estate; a VPC outside it that Custodian flags is listed and explained
        # in `differences` but does not count against the match.
        "same_vpcs_flagged": not only_ours and not only_custodian,
        "differences": _why_differ(only_ours, only_custodian + outside, statuses),
        "note": ("Custodian checks one fixed question per VPC (DNS hostnames, an ecr.dkr endpoint); our scan reads "
                 "every ECS service and task, works out what each needs, and checks every endpoint's state, DNS, "
                 "subnets and security group: see bench/custodian-policy.yml"),
    }


# ---------------------------------------------------------------- the estate


def seed(endpoint_url: str, n_vpcs: int = 20, region: str = REGION,
         credentials: dict[str, str] | None = None, account: str | None = None) -> dict[str, Any]:
    """Seed `n_vpcs` private VPCs (3 subnets each, 2 Fargate services each) on the server.

    Even-indexed VPCs get every endpoint their services need (ecr.api, ecr.dkr, logs with private
    DNS in every subnet and a security group admitting 443 from the tasks, and the S3 gateway);
    odd ones alternate between enableDnsHostnames=false (endpoints all present) and every endpoint
    but ecr.dkr. So both tools should flag exactly the odd half. Returns each VPC's id and kind.

    In `region`, with `credentials` (boto3 client keyword arguments; moto's default account's
    otherwise): the organization bench seeds each member account through its assumed role. The
    images are in `account`'s ECR in `region` (the default account's when not given), so that the
    estate's own Region's endpoints serve them.
    """
    import boto3  # the project venv's; imported here so that importing the module stays light

    from vpce_remediator.demo import ACCOUNT, container, create_service, private_vpc, register_task_definition

    url = _local(endpoint_url)
    # Credentials passed to the clients, not set in os.environ: the caller's environment is left alone.
    creds = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
                            "aws_session_token": "testing"}
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=url, **creds)
    ecs = boto3.client("ecs", region_name=region, endpoint_url=url, **creds)
    if not 0 < n_vpcs <= 250:
        raise ValueError("n_vpcs must be 1..250 (one 10.N.0.0/16 each)")
    ecs.create_cluster(clusterName="bench")
    registry = f"{account or ACCOUNT}.dkr.ecr.{region}.amazonaws.com"

    def logged_in_region(name: str) -> dict[str, Any]:
        c = container(name, f"{registry}/{name}:1")
        c["logConfiguration"]["options"]["awslogs-region"] = region
        return c

    families = {
        "web": register_task_definition(ecs, "bench-web", [logged_in_region("web")]),
        "worker": register_task_definition(ecs, "bench-worker", [logged_in_region("worker")]),
    }
    vpcs: dict[str, str] = {}
    for i in range(n_vpcs):
        kind = GOOD if i % 2 == 0 else (DNS_OFF if i % 4 == 1 else NO_ECR_DKR)
        name = f"bench-{i:03d}"
        net = private_vpc(ec2, name, f"10.{i + 1}.0.0/16", "abc", region=region)
        for role, family in families.items():
            create_service(ecs, "bench", f"{name}-{role}", family, net, "FARGATE")
        endpoint_sg = ec2.create_security_group(GroupName=f"{name}-endpoints", Description="endpoints",
                                                VpcId=net["vpc"])["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=endpoint_sg, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": net["sg"]}]}])
        for service in _INTERFACE_SERVICES:
            if service == "ecr.dkr" and kind == NO_ECR_DKR:
                continue
            ec2.create_vpc_endpoint(VpcId=net["vpc"], VpcEndpointType="Interface", PrivateDnsEnabled=True,
                                    ServiceName=f"com.amazonaws.{region}.{service}", SubnetIds=net["subnets"],
                                    SecurityGroupIds=[endpoint_sg])
        ec2.create_vpc_endpoint(VpcId=net["vpc"], VpcEndpointType="Gateway",
                                ServiceName=f"com.amazonaws.{region}.s3", RouteTableIds=[net["rtb"]])
        if kind == DNS_OFF:
            # Switched off after the endpoints exist, as drift does: AWS refuses private DNS without it.
            ec2.modify_vpc_attribute(VpcId=net["vpc"], EnableDnsHostnames={"Value": False})
        vpcs[net["vpc"]] = kind
    return {"vpcs": vpcs, "expected_flagged": sorted(v for v, k in vpcs.items() if k != GOOD),
            "services": 2 * n_vpcs}


# ---------------------------------------------------------------- python tools/bench_custodian.py


def run(vpcs: int = 20, repeats: int = 3, latency_ms: float | None = None) -> dict[str, Any]:
    """Install Custodian if needed, seed `vpcs` VPCs on a fresh moto_server, compare both tools
    (under the AWS model with `latency_ms`)."""
    from moto_local import running_moto_server

    started = time.perf_counter()
    ensure_venv(ROOT)  # before anything is timed: a cold install takes a while
    install_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-custodian-") as tmp:
        workdir = Path(tmp)
        # The recorder's log goes to the scratch folder, not the server's working directory.
        with running_moto_server(env={"MOTO_RECORDER_FILEPATH": str(workdir / "moto_recording")},
                                 cwd=workdir) as url:
            seeded = time.perf_counter()
            estate = seed(url, vpcs)
            seed_s = time.perf_counter() - seeded
            result = side_by_side(url, REGION, workdir, repeats=repeats, estate=list(estate["vpcs"]),
                                  latency_ms=latency_ms)
    expected = estate["expected_flagged"]
    result["estate"] = {"vpcs": vpcs, "subnets_per_vpc": 3, "services": estate["services"],
                        "seeded_to_be_flagged": len(expected),
                        "ours_flagged_as_seeded": result["ours"]["vpc_ids_flagged"] == expected,
                        "custodian_flagged_as_seeded": result["custodian"]["vpc_ids_flagged"] == expected,
                        "seed_s": round(seed_s, 2)}
    result["ensure_venv_s"] = round(install_s, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--vpcs", type=int, default=20, help="VPCs to seed (3 subnets, 2 services each)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each tool (median reported)")
    parser.add_argument("--latency-ms", type=float, help="run both under the AWS model with this latency")
    parser.add_argument("--install-only", action="store_true", help="make .venv-custodian and stop")
    args = parser.parse_args(argv)
    if args.install_only:
        ensure_venv(ROOT)
        return 0
    print(json.dumps(run(args.vpcs, args.repeats, args.latency_ms), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
