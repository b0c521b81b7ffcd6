"""The organization bench's estate (tools/bench_org.py), small: 2 member accounts x 1 Region on a
moto_server of its own. Our fleet scan, run as the bench runs it (the CLI, through each account's
member role), flags exactly the VPCs the seed made faulty and reports on every seeded one; the
bench's own reading of the result loses nothing. c7n-org is not installed in `make test`: its half
of the bench runs in `make bench` only.
"""
from __future__ import annotations

from collections.abc import Iterator

import bench_org
import boto3
import pytest
import yaml
from bench_custodian import DNS_OFF, GOOD, NO_ECR_DKR, _offline_env
from moto_server import running_moto_server

REGION = "us-east-1"


@pytest.fixture(scope="module")
def org() -> Iterator[tuple[str, bench_org.Estate]]:
    with running_moto_server() as url:
        yield url, bench_org.seed_org(url, accounts=2, regions=(REGION,), vpcs_per_pair=4)


def test_the_seed_makes_each_member_account_its_role_and_its_own_faulty_half(
        org: tuple[str, bench_org.Estate]) -> None:
    url, estate = org

    assert estate.accounts == ["210000000001", "210000000002"]
    assert sorted(estate.vpcs) == [(a, REGION) for a in estate.accounts]
    for account in estate.accounts:
        kinds = sorted(estate.vpcs[(account, REGION)].values())
        assert kinds == sorted([GOOD, GOOD, DNS_OFF, NO_ECR_DKR])
        creds = bench_org._member_credentials(url, account)
        role = boto3.client("iam", region_name=REGION, endpoint_url=url, **creds).get_role(
            RoleName=bench_org.ROLE)["Role"]
        assert role["Arn"] == bench_org.role_arn(account)
        assert f"arn:aws:iam::{bench_org.CENTRAL}:root" in str(role["AssumeRolePolicyDocument"])
        ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=url, **creds)
        seeded = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")}
        assert seeded == set(estate.vpcs[(account, REGION)])  # in that account, not the central one
    assert len(estate.expected) == 4


def test_our_fleet_scan_flags_exactly_the_seeded_vpcs_and_loses_none(
        org: tuple[str, bench_org.Estate]) -> None:
    url, estate = org
    env = bench_org.ours_env(_offline_env(url, REGION))

    run = bench_org.run_ours(url, estate, env, pace=False, stats=None)

    assert run.returncode == 0, run.stderr_tail
    assert run.pairs == frozenset(estate.vpcs)
    assert run.flagged == estate.expected
    assert run.seen == estate.scope  # every seeded VPC evaluated, in its own account
    verdict = bench_org.judged([run], estate)
    assert (verdict["lost"], verdict["flagged_as_seeded"], verdict["vpcs_flagged"]) == (0, True, 4)


def test_c7n_orgs_accounts_file_names_each_member_its_role_and_the_regions(
        org: tuple[str, bench_org.Estate]) -> None:
    _, estate = org

    config = yaml.safe_load(bench_org.accounts_config(estate))

    assert config == {"accounts": [
        {"account_id": a, "name": bench_org.account_name(a), "role": f"arn:aws:iam::{a}:role/vpce-remediator-member",
         "regions": [REGION]} for a in estate.accounts]}
    assert len({a["name"] for a in config["accounts"]}) == 2  # c7n-org's output folders do not collide
