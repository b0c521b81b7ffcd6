"""Hostile strings in task-definition fields: every fix command built from them parses, runs the stub
`aws` and nothing else, and carries the string, when it carries it at all, as one intact argument."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostile import (
    FIELDS,
    LOOKUP_SG,
    REGION,
    SUBNETS,
    TABLE,
    Sandbox,
    commands_for,
    hostile_commands_executed,
    workload,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import required_endpoints
from rules.formats import is_log_group
from vpce_remediator.facts import VpcSnapshot
from vpce_remediator.fixes import OWN_SG_LOOKUP, render, shell
from vpce_remediator.plan import WorkloadNeeds, plan_remediation

PIECES = ["'", '"', "$(touch PWNED)", "`touch PWNED`", "${IFS}", ";", "&&", "|", "\n", "\\", "$", "(", ")",
          "{", "}", "*", "~", "#", " ", "!", ">", "&", "/ecs/app", "arn:aws:secretsmanager:us-west-2:1:secret:x",
          "us-west-2", "é"]
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40),
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join),
)
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@FAST
@given(field=st.sampled_from(sorted(FIELDS)), value=TEXT)
def test_a_hostile_field_value_never_makes_a_command_run_anything_but_aws(box: Sandbox, field: str,
                                                                           value: str) -> None:
    commands = commands_for(field, value)

    for result in box.run(commands):
        assert result.parses, result.command
        assert result.only_aws_ran, (result.command, result.stderr, result.files, result.invocations)
        raw = value.encode()
        for argv in result.invocations:
            if raw and raw in b"\0".join(argv):
                assert any(raw in arg for arg in argv), f"{value!r} split across arguments of {result.command}"
    if field == "awslogs-group" and is_log_group(value):
        assert any(r.invocations[-1][:1] == (b"logs",) and value.encode() in r.invocations[-1]
                   for r in box.run(commands)), "a well-formed log group gets its create-log-group command"


@FAST
@given(value=TEXT, more=st.lists(TEXT, max_size=3))
def test_any_text_rendered_into_a_command_comes_back_as_one_argument(box: Sandbox, value: str,
                                                                      more: list[str]) -> None:
    """The quoting itself, past the format checks: arbitrary text, tuples and a Shell lookup."""
    lookup = shell(OWN_SG_LOOKUP, {"region": value, "vpc_id": value})
    command = render("aws logs create-log-group --log-group-name {group} --ids {ids} --group-id {sg}",
                     {"group": value, "ids": tuple(more), "sg": lookup})

    (result,) = box.run([command])

    assert result.parses and not result.stderr and not result.files
    inner = ("ec2", "describe-security-groups", "--region", value, "--filters", f"Name=vpc-id,Values={value}",
             "Name=group-name,Values=vpce-remediator-endpoints", "--query", "SecurityGroups[0].GroupId",
             "--output", "text")
    outer = ("logs", "create-log-group", "--log-group-name", value, "--ids", *more, "--group-id", LOOKUP_SG)
    assert result.invocations == (tuple(a.encode() for a in inner), tuple(a.encode() for a in outer))


def test_the_harness_catches_an_unquoted_command(box: Sandbox) -> None:
    """The old str.format commands: the check must see them run something."""
    template = "aws logs create-log-group --region {region} --log-group-name {log_group}"
    bad = template.format(region="us-east-1", log_group="/ecs/app;$(echo${IFS}x>PWNED)")

    (result,) = box.run([bad])

    assert not result.only_aws_ran and result.files == ("PWNED",)


def test_the_reliability_figure_is_zero_for_200_draws() -> None:
    assert hostile_commands_executed(draws=200, seed=11) == (200, 0)



def _findings(field: str, value: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The planner's findings for the hostile workload in its private subnets: problem -> (summary, fix)."""
    w = workload(field, value)
    snap = VpcSnapshot(vpc_id="vpc-0a1b2c3d", region=REGION, account="123456789012", cidrs=("10.0.0.0/16",),
                       tags={}, dns_support=True, dns_hostnames=True, subnets=SUBNETS,
                       route_tables={TABLE.id: TABLE}, endpoints=(), security_groups={})
    plan = plan_remediation([WorkloadNeeds(w, required_endpoints(w))], snap)
    return {f.problem: (f.summary, f.fix) for f in plan.findings}


def test_a_malformed_log_group_keeps_its_finding_without_a_command() -> None:
    summary, fix = _findings("awslogs-group", "/ecs/app;$(touch${IFS}PWNED)")["cross-region-logs"]

    assert summary.startswith("container app: logs go to CloudWatch Logs in us-west-2")
    assert "'/ecs/app;$(touch${IFS}PWNED)' is not a valid CloudWatch Logs log group name" in summary
    assert fix == ()


def test_a_secret_arn_with_a_quote_gets_no_command_but_a_good_one_does() -> None:
    bad = _findings("secret name in ARN", "db'$(id)")["cross-region-secret"]
    good = _findings("secret name in ARN", "db-AbCdEf")["cross-region-secret"]

    assert bad[1] == () and "is not a valid Secrets Manager secret ARN" in bad[0]
    assert good[1] == ("aws secretsmanager replicate-secret-to-regions --region us-west-2 --secret-id "
                       "arn:aws:secretsmanager:us-west-2:123456789012:secret:db-AbCdEf --add-replica-regions "
                       "Region=us-east-1",)


def test_a_malformed_image_registry_gets_no_repository_command() -> None:
    summary, fix = _findings("image on an unmirrorable registry", "Dotnet/$(id):8")["unmirrorable-registry-image"]

    assert fix == () and "is not a valid ECR repository name" in summary
