"""`doctor` on an in-process moto account: a healthy workload passes every hop; each way of breaking
one hop makes exactly that hop fail, with a fix; and the CLI against a `moto_server`."""
from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

import pytest
from account import (
    ECR,
    PREFIX,
    REGION,
    acl_without_replies,
    container,
    create_service,
    private_vpc,
    register_task_definition,
)
from test_cli import cli

from vpce_remediator.aws import Clients
from vpce_remediator.doctor import Diagnosis, Target, diagnose
from vpce_remediator.errors import BadInput
from vpce_remediator.reach import FAIL, PASS, WARN

INTERFACE = ("ecr.api", "ecr.dkr", "logs")
ALL = (*INTERFACE, "s3")
LAYERS = f"arn:aws:s3:::prod-{REGION}-starport-layer-bucket/*"



def ingress_from(group: str) -> str:
    """--ip-permissions as the fix commands print it: JSON, quoted as one argument."""
    return shlex.quote(json.dumps([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                    "UserIdGroupPairs": [{"GroupId": group}]}], separators=(",", ":")))

def healthy(ec2: Any, ecs: Any, nat: bool = False, endpoints: bool = True) -> dict[str, Any]:
    """A Fargate service (ECR image, awslogs) in a 2-AZ private VPC with every endpoint it needs,
    built by hand (not by the remediator) the way a platform team would."""
    net = private_vpc(ec2, "app", "10.20.0.0/16", "ab", nat=nat)
    ecs.create_cluster(clusterName="prod")
    td = register_task_definition(ecs, "web", [container("web", f"{ECR}/web:1.4")])
    create_service(ecs, "prod", "web", td, net, "FARGATE")
    net["td"] = td
    net["ep_sg"] = ec2.create_security_group(GroupName="endpoints", Description="HTTPS from the VPC",
                                             VpcId=net["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=net["ep_sg"], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}])
    net["endpoints"] = {}
    if endpoints:
        for short in INTERFACE:
            net["endpoints"][short] = interface_endpoint(ec2, net, short)
        net["endpoints"]["s3"] = ec2.create_vpc_endpoint(
            VpcId=net["vpc"], ServiceName=PREFIX + "s3", VpcEndpointType="Gateway",
            RouteTableIds=[net["rtb"]])["VpcEndpoint"]["VpcEndpointId"]
    return net


def interface_endpoint(ec2: Any, net: dict[str, Any], short: str, private_dns: bool = True,
                       subnets: list[str] | None = None) -> str:
    return str(ec2.create_vpc_endpoint(
        VpcId=net["vpc"], ServiceName=PREFIX + short, VpcEndpointType="Interface",
        SubnetIds=subnets or net["subnets"], SecurityGroupIds=[net["ep_sg"]],
        PrivateDnsEnabled=private_dns)["VpcEndpoint"]["VpcEndpointId"])


def doctor(**target: Any) -> Diagnosis:
    return diagnose(Clients(region=REGION), Target(**(target or {"cluster": "prod", "service": "web"})))


def failing(d: Diagnosis) -> set[tuple[str, str]]:
    return {(c.service, c.hop) for c in d.checks if c.level == FAIL}


def level(d: Diagnosis, service: str, hop: str, subnet: str) -> str:
    (check,) = [c for c in d.checks if (c.service, c.hop, c.subnet) == (service, hop, subnet)]
    return check.level


@pytest.fixture
def clients(aws: Any) -> tuple[Any, Any]:
    return aws.client("ec2", region_name=REGION), aws.client("ecs", region_name=REGION)


def test_a_healthy_workload_passes_every_hop(clients: tuple[Any, Any]) -> None:
    net = healthy(*clients)

    d = doctor()

    assert d.ok
    assert {c.level for c in d.checks} == {PASS}, [c for c in d.checks if c.level != PASS]
    per_subnet = {(c.service, c.hop) for c in d.checks}
    assert per_subnet == (
        {("*", "route")}
        | {(s, h) for s in INTERFACE for h in ("endpoint", "dns", "az", "sg-egress", "sg-ingress", "nacl")}
        # every interface endpoint's policy is judged for what the workload calls through it
        | {("ecr.api", "policy"), ("ecr.dkr", "policy"), ("logs", "policy")}
        | {("s3", h) for h in ("endpoint", "route-table", "policy", "sg-egress", "nacl")})
    assert {c.subnet for c in d.checks} == set(net["subnets"])
    assert len(d.checks) == 2 * len(per_subnet)  # every hop from every subnet


# Each breaks one hop of a healthy VPC, and says which (service, hop) pairs must then fail.
def _dns_hostnames_off(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    ec2.modify_vpc_attribute(VpcId=net["vpc"], EnableDnsHostnames={"Value": False})
    return {(s, "dns") for s in INTERFACE}


def _dns_support_off(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    ec2.modify_vpc_attribute(VpcId=net["vpc"], EnableDnsSupport={"Value": False})
    return {(s, "dns") for s in INTERFACE}


def _private_dns_off(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    # moto ignores ModifyVpcEndpoint(PrivateDnsEnabled): make the endpoint that way instead.
    ec2.delete_vpc_endpoints(VpcEndpointIds=[net["endpoints"]["logs"]])
    interface_endpoint(ec2, net, "logs", private_dns=False)
    return {("logs", "dns")}


def _endpoint_missing(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    ec2.delete_vpc_endpoints(VpcEndpointIds=[net["endpoints"]["logs"]])
    return {("logs", "endpoint")}


def _s3_interface_instead_of_gateway(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    ec2.delete_vpc_endpoints(VpcEndpointIds=[net["endpoints"]["s3"]])
    interface_endpoint(ec2, net, "s3", private_dns=False)
    return {("s3", "endpoint")}


def _workload_egress_closed(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    ec2.revoke_security_group_egress(GroupId=net["sg"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    return {(s, "sg-egress") for s in ALL}


def _endpoint_sg_closed(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    ec2.revoke_security_group_ingress(GroupId=net["ep_sg"], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}])
    return {(s, "sg-ingress") for s in INTERFACE}


def _nacl_drops_replies(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    """Subnet a gets an ACL that lets 443 in and everything out, but no replies back in."""
    acl_without_replies(ec2, net["vpc"], net["subnets"][0])
    return {(s, "nacl") for s in ALL}


def _s3_on_another_route_table(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    other = ec2.create_route_table(VpcId=net["vpc"])["RouteTable"]["RouteTableId"]
    ec2.modify_vpc_endpoint(VpcEndpointId=net["endpoints"]["s3"], RemoveRouteTableIds=[net["rtb"]],
                            AddRouteTableIds=[other])
    return {("s3", "route-table")}


def _s3_policy_blocks_layers(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    ec2.modify_vpc_endpoint(VpcEndpointId=net["endpoints"]["s3"], PolicyDocument=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::our-artifacts/*"}]}))
    return {("s3", "policy")}


def _ecr_policy_blocks_pull(ec2: Any, net: dict[str, Any]) -> set[tuple[str, str]]:
    ec2.modify_vpc_endpoint(VpcEndpointId=net["endpoints"]["ecr.dkr"], PolicyDocument=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "ecr:*",
         "Resource": f"arn:aws:ecr:{REGION}:123456789012:repository/other"}]}))
    return {("ecr.dkr", "policy")}


BREAKS: dict[str, Callable[[Any, dict[str, Any]], set[tuple[str, str]]]] = {
    "dns hostnames off": _dns_hostnames_off,
    "dns resolution off": _dns_support_off,
    "private DNS off on the endpoint": _private_dns_off,
    "endpoint missing": _endpoint_missing,
    "S3 interface endpoint where the gateway is needed": _s3_interface_instead_of_gateway,
    "workload security group egress closed": _workload_egress_closed,
    "endpoint security group closed": _endpoint_sg_closed,
    "network ACL drops the replies": _nacl_drops_replies,
    "S3 gateway on another route table": _s3_on_another_route_table,
    "S3 endpoint policy blocks the ECR layer bucket": _s3_policy_blocks_layers,
    "ECR endpoint policy blocks the repository": _ecr_policy_blocks_pull,
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_breaking_one_hop_fails_exactly_that_hop_with_a_fix(clients: tuple[Any, Any], name: str) -> None:
    ec2, ecs = clients
    net = healthy(ec2, ecs)
    expected = BREAKS[name](ec2, net)

    d = doctor()

    assert not d.ok
    assert failing(d) == expected
    assert all(c.fix and all(cmd.startswith("aws ") for cmd in c.fix) for c in d.checks if c.level == FAIL)
    assert {c.level for c in d.checks if (c.service, c.hop) not in expected} == {PASS}


def test_each_fix_names_the_real_resource(clients: tuple[Any, Any]) -> None:
    ec2, ecs = clients
    net = healthy(ec2, ecs)
    _endpoint_sg_closed(ec2, net)
    _nacl_drops_replies(ec2, net)
    a, b = net["subnets"]

    d = doctor()

    sg = next(c for c in d.checks if (c.service, c.hop) == ("logs", "sg-ingress"))
    assert sg.fix == (f"aws ec2 authorize-security-group-ingress --region {REGION} --group-id {net['ep_sg']} "
                      f"--ip-permissions {ingress_from(net['sg'])}",)
    # The ACL breaks only subnet a: replies from the endpoint's interface in b never get back in.
    assert level(d, "logs", "nacl", a) == FAIL and level(d, "logs", "nacl", b) == PASS
    nacl = next(c for c in d.checks if (c.service, c.hop, c.subnet) == ("logs", "nacl", a))
    assert "replies (TCP 32768-60999) into" in nacl.detail and "10.20.2.0/24" in nacl.detail
    (command,) = nacl.fix
    assert "create-network-acl-entry" in command and "--ingress --protocol tcp --port-range From=1024,To=65535 " \
        "--cidr-block 10.20.2.0/24 --rule-action allow" in command


def test_an_endpoint_in_one_az_only_is_a_warning_for_the_other_az(clients: tuple[Any, Any]) -> None:
    ec2, ecs = clients
    net = healthy(ec2, ecs)
    a, b = net["subnets"]
    ec2.modify_vpc_endpoint(VpcEndpointId=net["endpoints"]["logs"], RemoveSubnetIds=[b])

    d = doctor()

    assert d.ok and failing(d) == set()
    assert level(d, "logs", "az", a) == PASS
    (warning,) = [c for c in d.checks if c.level == WARN]
    assert (warning.service, warning.hop, warning.subnet) == ("logs", "az", b)
    assert "us-east-1b" in warning.detail and "cross" in warning.detail
    assert warning.fix == (f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id "
                           f"{net['endpoints']['logs']} --add-subnet-ids {b}",)


def test_a_nat_route_is_the_alternative_path_for_missing_endpoints(clients: tuple[Any, Any]) -> None:
    ec2, ecs = clients
    net = healthy(ec2, ecs, nat=True, endpoints=False)

    d = doctor()

    assert d.ok
    route = [c for c in d.checks if c.hop == "route"]
    assert {c.level for c in route} == {WARN} and all("alternative path" in c.detail and "nat-" in c.detail
                                                     for c in route)
    endpoint = [c for c in d.checks if c.hop == "endpoint"]
    assert {c.service for c in endpoint} == set(ALL) and {c.level for c in endpoint} == {WARN}
    assert all("traffic goes through nat-" in c.detail for c in endpoint)
    assert {c.subnet for c in d.checks} == set(net["subnets"])


def test_a_broken_endpoint_is_not_saved_by_the_nat_route(clients: tuple[Any, Any]) -> None:
    """Private DNS points the service's name at the endpoint, so the NAT path is never taken."""
    ec2, ecs = clients
    net = healthy(ec2, ecs, nat=True)
    _endpoint_sg_closed(ec2, net)

    assert failing(doctor()) == {(s, "sg-ingress") for s in INTERFACE}


def test_a_centralised_endpoint_behind_a_private_hosted_zone_counts_as_present(aws: Any,
                                                                                clients: tuple[Any, Any]) -> None:
    ec2, ecs = clients
    net = healthy(ec2, ecs)
    _endpoint_missing(ec2, net)
    route53 = aws.client("route53", region_name=REGION)
    zone = route53.create_hosted_zone(
        Name=f"logs.{REGION}.amazonaws.com", CallerReference="hub-logs", HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": REGION, "VPCId": net["vpc"]})["HostedZone"]["Id"]

    # A zone that takes the name without a record for it: the name resolves nowhere in the VPC.
    assert failing(doctor()) == {("logs", "dns")}

    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": f"logs.{REGION}.amazonaws.com", "Type": "A", "AliasTarget": {
            "HostedZoneId": "Z7HUB0000000000", "DNSName": "vpce-0hub.logs.vpce.amazonaws.com",
            "EvaluateTargetHealth": False}}}]})
    d = doctor()

    assert d.ok and failing(d) == set()
    endpoint = [c for c in d.checks if (c.service, c.hop) == ("logs", "endpoint")]
    assert all(c.level == PASS and f"logs.{REGION}.amazonaws.com" in c.detail for c in endpoint)


def test_a_task_definition_with_its_network_is_checked_like_a_service(clients: tuple[Any, Any]) -> None:
    ec2, ecs = clients
    net = healthy(ec2, ecs)
    _endpoint_sg_closed(ec2, net)

    d = doctor(task_definition="web", subnets=(net["subnets"][1],), security_groups=(net["sg"],))

    assert d.workload.kind == "task" and d.workload.name == "web:1" and d.workload.launch_type == "FARGATE"
    assert {c.subnet for c in d.checks} == {net["subnets"][1]}
    assert failing(d) == {(s, "sg-ingress") for s in INTERFACE}


@pytest.mark.parametrize("target, message", [
    ({"cluster": "prod", "service": "nope"}, "service nope not found in cluster prod"),
    ({"cluster": "nope", "service": "web"}, "not found"),
    ({"task_definition": "nope:3", "subnets": ("subnet-0000000000000dead",), "security_groups": ("sg-1",)},
     "task definition nope:3 not found"),
    ({"task_definition": "web", "subnets": ("subnet-0000000000000dead",), "security_groups": ("sg-1",)},
     "subnet(s) subnet-0000000000000dead not found"),
    ({"service": "web"}, "name a workload"),
    ({"task_definition": "web", "subnets": ("subnet-1",)}, "needs --security-groups"),
])
def test_a_target_that_does_not_exist_is_bad_input(clients: tuple[Any, Any], target: dict[str, Any],
                                                   message: str) -> None:
    healthy(*clients)

    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        doctor(**target)


def test_an_unknown_security_group_is_bad_input(clients: tuple[Any, Any]) -> None:
    net = healthy(*clients)

    with pytest.raises(BadInput, match="sg-0000000000000dead not found"):
        doctor(task_definition="web", subnets=tuple(net["subnets"]), security_groups=("sg-0000000000000dead",))


# ---------------------------------------------------------------- the CLI, against a moto_server


def _broken(account: Any) -> dict[str, Any]:
    """The issue's broken VPC: DNS hostnames off, endpoint SG closed, S3 gateway on another
    route table, an endpoint in one AZ only."""
    ec2, ecs = account.client("ec2"), account.client("ecs")
    net = healthy(ec2, ecs)
    _dns_hostnames_off(ec2, net)
    _endpoint_sg_closed(ec2, net)
    _s3_on_another_route_table(ec2, net)
    ec2.modify_vpc_endpoint(VpcEndpointId=net["endpoints"]["logs"], RemoveSubnetIds=[net["subnets"][1]])
    return net


def test_cli_names_every_broken_hop_with_its_fix_and_exits_3(account: Any) -> None:
    net = _broken(account)

    out = cli("doctor", "--cluster", "prod", "--service", "web", "--region", REGION, "--endpoint-url", account.url)

    assert out.returncode == 3, out.stderr
    rows = {tuple(line.split()[:2]): line for line in out.stdout.splitlines() if line.startswith("  ") and
            len(line.split()) > 3}
    for service in INTERFACE:
        assert "✘ ✘" in rows[(service, "dns")] and "enableDnsHostnames=false" in rows[(service, "dns")]
        assert "✘ ✘" in rows[(service, "sg-ingress")]
    assert "✘ ✘" in rows[("s3", "route-table")] and net["rtb"] in rows[("s3", "route-table")]
    assert "✔ !" in rows[("logs", "az")] and "us-east-1b" in rows[("logs", "az")]
    fixes = [line.split("$ ", 1)[1] for line in out.stdout.splitlines() if "$ aws " in line]
    assert fixes == [
        f"aws ec2 modify-vpc-attribute --region {REGION} --vpc-id {net['vpc']} --enable-dns-hostnames Value=true",
        f"aws ec2 authorize-security-group-ingress --region {REGION} --group-id {net['ep_sg']} --ip-permissions "
        f"{ingress_from(net['sg'])}",
        f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id {net['endpoints']['logs']} "
        f"--add-subnet-ids {net['subnets'][1]}",
        f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id {net['endpoints']['s3']} "
        f"--add-route-table-ids {net['rtb']}",
    ]
    assert "7 broken hop(s)" in out.stdout


def test_cli_exits_0_on_a_healthy_workload_and_prints_the_json_contract(account: Any) -> None:
    net = healthy(account.client("ec2"), account.client("ecs"))

    out = cli("doctor", "--task-definition", "web:1", "--subnets", ",".join(net["subnets"]),
              "--security-groups", net["sg"], "--region", REGION, "--endpoint-url", account.url, "--json")

    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ok"] is True
    assert result["checks"] and all(set(c) >= {"service", "subnet", "hop", "ok", "detail", "fix"}
                                    for c in result["checks"])
    assert all(c["ok"] and c["fix"] == [] for c in result["checks"])


def test_cli_json_of_a_broken_workload_has_ok_false_and_exit_3(account: Any) -> None:
    _broken(account)

    out = cli("doctor", "--cluster", "prod", "--service", "web", "--region", REGION, "--endpoint-url", account.url,
              "--json")

    assert out.returncode == 3
    result = json.loads(out.stdout)
    assert result["ok"] is False
    broken = {(c["service"], c["hop"]) for c in result["checks"] if not c["ok"]}
    assert broken == {(s, "dns") for s in INTERFACE} | {(s, "sg-ingress") for s in INTERFACE} | {("s3", "route-table")}
    assert all(c["fix"] for c in result["checks"] if not c["ok"])


@pytest.mark.parametrize("args, message", [
    (("--service", "web"), "name a workload"),
    (("--task-definition", "web", "--subnets", "subnet-1"), "needs --security-groups"),
    (("--task-definition", "web", "--subnets", "sn-1", "--security-groups", "sg-1"), "expected ids starting with subnet-"),
])
def test_cli_bad_input_is_exit_2_before_any_aws_call(args: tuple[str, ...], message: str) -> None:
    out = cli("doctor", *args, "--region", REGION, "--endpoint-url", "http://127.0.0.1:9")  # nothing listens there

    assert out.returncode == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_cli_unknown_service_is_exit_2_and_aws_failure_is_exit_1(account: Any) -> None:
    healthy(account.client("ec2"), account.client("ecs"))

    missing = cli("doctor", "--cluster", "prod", "--service", "nope", "--region", REGION, "--endpoint-url", account.url)
    unreachable = cli("doctor", "--cluster", "prod", "--service", "web", "--region", REGION,
                      "--endpoint-url", "http://127.0.0.1:9")

    assert missing.returncode == 2 and "service nope not found" in missing.stderr
    assert unreachable.returncode == 1 and "AWS error" in unreachable.stderr
