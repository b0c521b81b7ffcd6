"""The problem table: every finding kind the engine raises has a row, and each row's commands come
out complete, with the real ids in them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from vpce_remediator.fixes import (
    _FIX_TEMPLATES,
    FORMATS,
    PROBLEMS,
    PULL_THROUGH_CREDENTIAL,
    S3_ALL_RESOLVERS,
    Json,
    Shell,
    TemplateError,
    Value,
    _fields,
    check_templates,
    fix_commands,
    fix_for,
    ingress_443,
    ip_address_type_arg,
    own_sg_lookup,
    placeholders,
    quote,
    render,
    replication_merge_query,
    security_groups_arg,
    shell,
)

SRC = Path(__file__).resolve().parents[2] / "src"

# Realistic values for every placeholder any template uses.
PARAMS: dict[str, Value] = {
    "region": "eu-west-1", "vpc_id": "vpc-0abc1234def567890", "endpoint_id": "vpce-0123456789abcdef0",
    "service": "com.amazonaws.eu-west-1.ecr.dkr", "subnet_ids": ("subnet-0aaa1111", "subnet-0bbb2222"),
    "route_table_ids": ("rtb-0ccc3333",), "security_group": "sg-0ddd4444",
    "ip_permissions": ingress_443(cidrs=("10.0.0.0/16",)), "policy": '{"Statement":[]}',
    "prefix": "docker-hub", "upstream": "registry-1.docker.io",
    "credential_arg": shell(PULL_THROUGH_CREDENTIAL, {"region": "eu-west-1",
                                                      "secret_name": "ecr-pullthroughcache/docker-hub"}),
    "repository": "dotnet/runtime", "image_region": "us-west-2", "image_account": "111122223333",
    "replication_query": replication_merge_query("eu-west-1", "111122223333", "dotnet/runtime"),
    "service_region": "us-west-2", "dns_arg": S3_ALL_RESOLVERS, "key_region": "us-west-2",
    "key_arn": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "stream_region": "us-west-2", "stream": "checkout-logs", "bucket_region": "us-west-2", "bucket": "checkout-logs",
    "secret_region": "us-west-2", "arn": "arn:aws:secretsmanager:us-west-2:111122223333:secret:db-AbCdEf",
    "parameter": "/prod/db/password", "log_group": "/ecs/web", "role_arn": "arn:aws:iam::111122223333:role/vpce",
    "iam_action": "ec2:CreateVpcEndpoint", "zone_id": "Z0123456789ABCDEFGHIJ",
    "quota_code": "L-29B6F2EB", "desired_value": "75", "api_call": "CreateVpcEndpoint",
    "policy_arg": shell(" --policy-document {policy}", {"policy": '{"Statement":[]}'}),
    "ip_arg": ip_address_type_arg("dualstack", "dualstack"),
    "acl_id": "acl-0eee5555", "rule": 90, "direction": "ingress", "from_port": 1024, "to_port": 65535,
    "cidr": "10.0.2.0/24",
    "client_token": "vpcer-0123456789abcdef0123456789abcdef01234567",
    "file_system_id": "fs-0123456789abcdef0", "subnet_id": "subnet-0aaa1111",
    "groups_arg": security_groups_arg(("sg-0ddd4444",)), "dhcp_options_id": "dopt-0fff6666",
    "dhcp_configurations": Json([{"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]}]),
}


def test_every_template_is_well_formed() -> None:
    """Not checked at import (a cold start's cost): here, and when a finding first uses one."""
    checked = check_templates()

    # Every fix template was parsed (none skipped), and each fills in at least one real value.
    assert len(checked) >= sum(len(t) for t in _FIX_TEMPLATES.values())
    assert all(n > 0 for n in checked.values()), [t for t, n in checked.items() if n == 0]
    # And the check refuses what it is there to refuse: a placeholder inside quotes.
    with pytest.raises(TemplateError):
        _fields("aws ec2 describe-vpcs --filters 'Name=vpc-id,Values={vpc_id}'")


@pytest.mark.parametrize("kind", sorted(PROBLEMS))
def test_every_kind_renders_complete_commands_with_the_real_ids(kind: str) -> None:
    row = PROBLEMS[kind]
    commands = fix_commands(kind, PARAMS)

    assert commands, f"{kind} has no fix command"
    assert row.severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
    assert row.url.startswith("https://docs.aws.amazon.com/") and row.title
    for template, command in zip(row.fix, commands, strict=True):
        assert command.startswith("aws ")
        for name in placeholders(template):
            assert quote(PARAMS[name]) in command, f"{kind}: {name} not filled in"


def test_every_placeholder_has_an_aws_format() -> None:
    used = {name for row in PROBLEMS.values() for t in row.fix for name in placeholders(t)}
    # Built by the planner as Json / Shell, never from a string someone else wrote.
    structured = {"ip_permissions", "credential_arg", "policy_arg", "ip_arg", "dns_arg", "groups_arg",
                  "dhcp_configurations"}
    numbers = {"rule", "from_port", "to_port"}  # ints the rules compute: quoted as digits

    assert sorted(used - set(FORMATS) - structured - numbers) == []


def test_values_are_quoted_and_lists_become_separate_arguments() -> None:
    command = render("aws logs create-log-group --region {region} --log-group-name {group} --x {ids}",
                     {"region": "us-east-1", "group": "/ecs/a;$(touch PWNED)", "ids": ("a b", "c")})

    assert command == ("aws logs create-log-group --region us-east-1 --log-group-name '/ecs/a;$(touch PWNED)' "
                       "--x 'a b' c")


def test_only_shell_fragments_are_placed_unquoted() -> None:
    lookup = own_sg_lookup({"region": "us-east-1", "vpc_id": "vpc-0123abcd"})

    assert isinstance(lookup, Shell)
    assert lookup.text == ("\"$(aws ec2 describe-security-groups --region us-east-1 --filters "
                           "Name=vpc-id,Values=vpc-0123abcd Name=group-name,Values=vpce-remediator-endpoints "
                           "--query 'SecurityGroups[0].GroupId' --output text)\"")
    assert render("x {sg}", {"sg": lookup}) == "x " + lookup.text
    with pytest.raises(TypeError):
        render("x {ids}", {"ids": ["subnet-1"]})  # a list is not a value: pass a tuple


@pytest.mark.parametrize("template", [
    "aws x --policy '{policy}'", 'aws x --name "{name}"', "aws x {name!r}", "aws x {name:>5}",
    "aws x `{name}`", "aws x '{{unbalanced}}",
])
def test_a_template_cannot_place_a_value_inside_quotes(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, {"policy": "p", "name": "n"})


def test_a_malformed_value_gets_no_command_and_is_named() -> None:
    fix = fix_for("cross-region-logs", {"region": "eu-west-1", "log_group": "/ecs/app;$(touch${IFS}PWNED)"})

    assert fix.commands == ()
    assert "'/ecs/app;$(touch${IFS}PWNED)' is not a valid CloudWatch Logs log group name" in fix.note()


def test_only_the_commands_carrying_a_malformed_value_are_left_out() -> None:
    fix = fix_for("cross-region-ecr-image", {**PARAMS, "image_region": "us-west-2\n"})

    assert fix.commands == ()
    partial = fix_for("endpoint-security-group-missing", {**PARAMS, "security_group": "sg-1; reboot"})
    assert [c.split()[2] for c in partial.commands] == ["create-security-group"]
    assert partial.malformed == ("'sg-1; reboot' is not a valid security group",)


def test_ingress_permissions_are_json_for_cidrs_and_groups() -> None:
    assert quote(ingress_443(cidrs=("10.0.0.0/16",))) == (
        """'[{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[{"CidrIp":"10.0.0.0/16"}]}]'""")
    assert ingress_443(group_ids=("sg-1", "sg-2")).value == [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": "sg-1"}, {"GroupId": "sg-2"}]}]
    assert ingress_443(cidrs=("10.0.0.0/16",), why="from the VPC").value[0]["IpRanges"] == [
        {"CidrIp": "10.0.0.0/16", "Description": "from the VPC"}]


def _raised_kinds() -> set[str]:
    """Every string literal passed as a problem kind in the engine and rules."""
    kinds: set[str] = set()
    for path in [*SRC.glob("vpce_remediator/*.py"), *SRC.glob("rules/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            args = list(node.args)
            if name == "Finding" and len(args) >= 3:
                candidates = [args[2]]
            elif name == "WorkloadProblem" and args:
                candidates = [args[0]]
            elif name == "Action" and len(args) >= 4:
                candidates = [args[3]]
            elif name in ("change_endpoint",) and len(args) >= 3:
                candidates = [args[2]]
            else:
                continue
            while candidates:
                c = candidates.pop()
                if isinstance(c, ast.IfExp):  # "a" if cond else "b": both branches, not the test
                    candidates += [c.body, c.orelse]
                elif isinstance(c, ast.Constant) and isinstance(c.value, str):
                    kinds.add(c.value)
    return kinds


def test_every_kind_the_engine_raises_has_a_row() -> None:
    raised = _raised_kinds()

    assert raised, "the scan found no kinds: the test would prove nothing"
    assert raised <= set(PROBLEMS), sorted(raised - set(PROBLEMS))
    assert {"endpoint-missing", "private-dns-off", "public-registry-image"} <= raised


def test_doctor_has_no_templates_of_its_own() -> None:
    """Doctor's fixes come from the one table: the hops that only doctor checks have rows there too."""
    import vpce_remediator.reach as reach

    assert not [name for name in vars(reach) if "FIXES" in name.upper() or "TEMPLATE" in name.upper()]
    assert {"sg-egress-closed", "nacl-closed"} <= set(PROBLEMS)


def test_an_empty_cidr_is_no_range_and_no_command_carries_it() -> None:
    """Issue 13: an IPv6-only subnet has no IPv4 block; `CidrIp=""` was printed for it."""
    base = {"region": "eu-west-1", "security_group": "sg-0ddd4444"}
    assert ingress_443(cidrs=("", "2600:1f18::/56")).value == [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": [{"CidrIpv6": "2600:1f18::/56"}]}]
    assert fix_commands("endpoint-sg-closed", {**base, "ip_permissions": ingress_443(cidrs=("",))}) == ()
    assert fix_commands("endpoint-sg-closed", {**base, "ip_permissions": Json([{"IpRanges": [{"CidrIp": ""}]}])}) == ()
