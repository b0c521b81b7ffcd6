"""EFS volumes and custom DNS servers (issue 14) under moto: what a user would check.

An EFS volume needs a mount target of its file system in each AZ the tasks run in, and TCP 2049
from the tasks to the mount target's groups; a DHCP option set with other DNS servers than the
Route 53 Resolver keeps endpoints' private DNS names working only if those servers forward to it.
Both are findings in every mode (the tool never writes to EFS, to groups it does not own, or to
DHCP options), with commands that, pasted, make the next evaluation clean. Both reads are lazy:
a compliant VPC without EFS volumes makes neither. moto 5.2.5 implements DescribeMountTargets,
DescribeMountTargetSecurityGroups and DescribeDhcpOptions (it gives a new VPC no option set,
DhcpOptionsId "default": the tests associate one, as every real VPC has).
"""
from __future__ import annotations

import json
import shlex
from typing import Any

from account import ECR, REGION, container, create_service, private_vpc, run, run_task_event

from vpce_remediator.aws import Clients
from vpce_remediator.doctor import Target, diagnose
from vpce_remediator.reach import FAIL, PASS, WARN


def network(aws: Any, dns_servers: tuple[str, ...] = ("AmazonProvidedDNS",)) -> dict[str, Any]:
    """A 2-AZ private VPC whose DHCP option set names `dns_servers`, and an ECS cluster."""
    ec2 = aws.client("ec2", region_name=REGION)
    net = private_vpc(ec2, "app", "10.50.0.0/16", "ab")
    net["dopt"] = ec2.create_dhcp_options(DhcpConfigurations=[
        {"Key": "domain-name-servers", "Values": list(dns_servers)},
        {"Key": "domain-name", "Values": ["ec2.internal"]}])["DhcpOptions"]["DhcpOptionsId"]
    ec2.associate_dhcp_options(DhcpOptionsId=net["dopt"], VpcId=net["vpc"])
    aws.client("ecs", region_name=REGION).create_cluster(clusterName="prod")
    return net


def task(aws: Any, net: dict[str, Any], fs: str | None = None, service: bool = False) -> dict[str, Any]:
    """A Fargate task definition (ECR image, awslogs; an EFS volume of `fs`), as a service of
    `net` when `service`; returns the RunTask event."""
    ecs = aws.client("ecs", region_name=REGION)
    volumes = [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": fs, "transitEncryption": "ENABLED"}}] \
        if fs else []
    td = str(ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
        containerDefinitions=[container("web", f"{ECR}/web:1.4")], volumes=volumes,
    )["taskDefinition"]["taskDefinitionArn"])
    if service:
        create_service(ecs, "prod", "web", td, net, "FARGATE")
    return run_task_event(net, td)


def file_system(aws: Any, net: dict[str, Any], azs: tuple[int, ...] = (0,), nfs_open: bool = True) -> tuple[str, str]:
    """An EFS file system with mount targets in the given subnets of `net`, and their group (TCP
    2049 from the task group, or nothing)."""
    ec2, efs = aws.client("ec2", region_name=REGION), aws.client("efs", region_name=REGION)
    group = ec2.create_security_group(GroupName="efs", Description="NFS", VpcId=net["vpc"])["GroupId"]
    if nfs_open:
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "UserIdGroupPairs": [{"GroupId": net["sg"]}]}])
    fs = efs.create_file_system(CreationToken="data")["FileSystemId"]
    for i in azs:
        efs.create_mount_target(FileSystemId=fs, SubnetId=net["subnets"][i], SecurityGroups=[group])
    return fs, group


def mount_targets(aws: Any, fs: str) -> list[str]:
    return sorted(m["AvailabilityZoneName"] for m in
                  aws.client("efs", region_name=REGION).describe_mount_targets(FileSystemId=fs)["MountTargets"])


def findings(r: Any, problem: str) -> list[dict[str, Any]]:
    return [f for f in r.result["findings"] if f["problem"] == problem]


def paste(aws: Any, command: str) -> None:
    """Run one printed AWS CLI command through boto3 (the paste test runs the real CLI)."""
    words = shlex.split(command)
    args = dict(zip(words[3::2], words[4::2], strict=False))
    if words[1:3] == ["efs", "create-mount-target"]:
        aws.client("efs", region_name=REGION).create_mount_target(
            FileSystemId=args["--file-system-id"], SubnetId=args["--subnet-id"],
            SecurityGroups=words[words.index("--security-groups") + 1:])
    elif words[1:3] == ["ec2", "authorize-security-group-ingress"]:
        aws.client("ec2", region_name=REGION).authorize_security_group_ingress(
            GroupId=args["--group-id"], IpPermissions=json.loads(args["--ip-permissions"]))
    else:
        raise AssertionError(f"no paste for {command}")


# ---------------------------------------------------------------- EFS


def test_a_workload_az_without_a_mount_target_is_reported_with_its_create_and_nothing_is_written_to_efs(aws: Any) -> None:
    net = network(aws)
    fs, group = file_system(aws, net, azs=(0,))
    event = task(aws, net, fs)

    r = run(event, "remediate")

    [missing] = findings(r, "efs-mount-target-missing")
    assert f"no mount target in {REGION}b" in missing["summary"] and net["subnets"][1] in missing["summary"]
    assert missing["resource_id"] == f"arn:aws:elasticfilesystem:{REGION}:123456789012:file-system/{fs}"
    create = (f"aws efs create-mount-target --region {REGION} --file-system-id {fs} --subnet-id {net['subnets'][1]} "
              f"--security-groups {group}")
    assert missing["fix"][-1] == create
    assert missing["fix"][0].startswith(f"aws efs describe-mount-targets --region {REGION} --file-system-id {fs}")
    assert r.result["status"] == "non_compliant"
    assert mount_targets(aws, fs) == [REGION + "a"]  # report only, even in remediate mode
    assert not [op for op in r.clients.calls if op.startswith("efs.") and not op.startswith("efs.Describe")]
    assert r.clients.calls["efs.DescribeMountTargets"] == 1
    assert r.clients.calls["efs.DescribeMountTargetSecurityGroups"] == 1  # the one in a workload AZ

    paste(aws, create)
    again = run(event, "remediate")

    assert again.result["status"] == "compliant", again.result["findings"]
    assert mount_targets(aws, fs) == [REGION + "a", REGION + "b"]


def test_a_mount_target_group_without_nfs_from_the_task_is_reported_with_the_ingress_to_open(aws: Any) -> None:
    net = network(aws)
    fs, group = file_system(aws, net, azs=(0, 1), nfs_open=False)
    event = task(aws, net, fs)
    run(event, "remediate")  # the endpoints: what is left is the file system's

    r = run(event, "remediate")

    [closed] = findings(r, "efs-nfs-closed")
    assert f"security group(s) {group} of mount target" in closed["summary"]
    assert "allow no TCP 2049 from the task's subnet or security groups" in closed["summary"]
    permissions = json.dumps([{"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049,
                               "UserIdGroupPairs": [{"GroupId": net["sg"]}]}], separators=(",", ":"))
    assert closed["fix"] == [f"aws ec2 authorize-security-group-ingress --region {REGION} --group-id {group} "
                             f"--ip-permissions {shlex.quote(permissions)}"]
    assert [f["problem"] for f in r.result["findings"]] == ["efs-nfs-closed"]

    paste(aws, closed["fix"][0])

    assert run(event, "remediate").result["status"] == "compliant"


def test_a_file_system_the_account_cannot_read_is_a_note_not_a_failure(aws: Any) -> None:
    event = task(aws, network(aws), "fs-0123456789abcdef0")
    run(event, "remediate")

    r = run(event, "remediate")

    assert r.result["status"] == "compliant", r.result["findings"]
    assert any("fs-0123456789abcdef0" in n and "FileSystemNotFound" in n for n in r.result["notes"])


def test_a_file_system_id_that_is_not_one_is_never_sent_and_printed_escaped(aws: Any) -> None:
    hostile = "fs-1234'; touch PWNED #"
    event = task(aws, network(aws), hostile)

    r = run(event, "report")

    assert not [op for op in r.clients.calls if op.startswith("efs.")]
    assert any("not an EFS file system id" in n and repr(hostile)[1:-1] in n for n in r.result["notes"])
    assert not [c for f in r.result["findings"] for c in f["fix"] if "PWNED" in c]


def test_a_compliant_vpc_without_efs_makes_no_efs_and_no_dhcp_call(aws: Any) -> None:
    net = network(aws)  # a real VPC's set: AmazonProvidedDNS
    event = task(aws, net)
    run(event, "remediate")

    cold = run(event, "remediate")

    assert cold.result["status"] == "compliant"
    assert "ec2.DescribeDhcpOptions" not in cold.clients.calls
    assert not [op for op in cold.clients.calls if op.startswith("efs.")]
    account = {op: n for op, n in cold.clients.calls.items() if not op.startswith("dynamodb.")}
    assert sum(account.values()) <= 8, account


# ---------------------------------------------------------------- DHCP options


def test_custom_dns_servers_are_one_finding_for_the_vpc_with_the_option_set_to_switch_to(aws: Any) -> None:
    net = network(aws, ("10.50.0.53", "10.50.1.53"))
    event = task(aws, net)

    r = run(event, "report")

    [custom] = findings(r, "dhcp-custom-dns")
    assert custom["resource_id"] == net["vpc"]
    assert "10.50.0.53, 10.50.1.53" in custom["summary"] and "10.50.0.2" in custom["summary"]
    assert "not verified" in custom["summary"] and "forward" in custom["summary"]
    show, switch = custom["fix"]
    assert show.startswith(f"aws ec2 describe-dhcp-options --region {REGION} --dhcp-options-ids {net['dopt']}")
    assert switch.startswith(f"aws ec2 associate-dhcp-options --region {REGION} --vpc-id {net['vpc']} "
                             "--dhcp-options-id \"$(aws ec2 create-dhcp-options")
    configurations = json.loads(shlex.split(switch.split("--dhcp-configurations ", 1)[1].split(" --query", 1)[0])[0])
    assert configurations == [{"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]},
                              {"Key": "domain-name", "Values": ["ec2.internal"]}]
    assert r.clients.calls["ec2.DescribeDhcpOptions"] == 1

    # The switch, as the command does it: the next evaluation no longer reports the servers.
    ec2 = aws.client("ec2", region_name=REGION)
    new = ec2.create_dhcp_options(DhcpConfigurations=configurations)["DhcpOptions"]["DhcpOptionsId"]
    ec2.associate_dhcp_options(DhcpOptionsId=new, VpcId=net["vpc"])
    assert not findings(run(event, "report"), "dhcp-custom-dns")


def test_the_resolver_address_itself_is_no_custom_server(aws: Any) -> None:
    event = task(aws, network(aws, ("10.50.0.2",)))

    assert not findings(run(event, "report"), "dhcp-custom-dns")


# ---------------------------------------------------------------- doctor says the same


def test_doctor_fails_the_mount_target_hop_and_warns_the_dns_hop_as_the_event_reports(aws: Any) -> None:
    net = network(aws, ("10.50.0.53",))
    fs, _ = file_system(aws, net, azs=(0,))
    event = task(aws, net, fs, service=True)
    clients = Clients(region=REGION)

    d = diagnose(clients, Target(cluster="prod", service="web"))
    r = run(event, "report")

    efs = {(c.subnet, c.hop): c for c in d.checks if c.service == "efs:" + fs}
    a, b = net["subnets"]
    assert (efs[(a, "mount-target")].level, efs[(a, "nfs")].level, efs[(b, "mount-target")].level) == (PASS, PASS, FAIL)
    assert efs[(b, "mount-target")].problem == "efs-mount-target-missing"
    dns = [c for c in d.checks if c.hop == "dns"]
    assert dns and {c.level for c in dns} <= {WARN, FAIL} and {c.problem for c in dns} >= {"dhcp-custom-dns"}
    assert {c.problem for c in d.checks if c.level != PASS and c.problem} >= {
        f["problem"] for f in r.result["findings"] if f["problem"] in ("efs-mount-target-missing", "dhcp-custom-dns")}
    [missing] = findings(r, "efs-mount-target-missing")
    assert missing["fix"][-1] in d.fix and findings(r, "dhcp-custom-dns")[0]["fix"][-1] in d.fix
    assert clients.calls["efs.DescribeMountTargets"] == 1 and clients.calls["ec2.DescribeDhcpOptions"] == 1
    assert not [c for c in d.checks if c.level == FAIL and c.hop == "nfs"]


def test_a_scan_judges_custom_dns_servers_in_a_compliant_vpc_with_one_read_for_all(aws: Any) -> None:
    """Where the event path says nothing (its plan is clean, so it reads no option set), a scan and
    the Config rule's periodic run through it read every VPC's set in one call."""
    from vpce_remediator.engine import Settings
    from vpce_remediator.scan import scan_estate

    net = network(aws, ("10.50.0.53",))
    event = task(aws, net, service=True)
    run(event, "remediate")
    assert run(event, "remediate").result["status"] == "compliant"  # the event path's blind spot, on purpose

    result = scan_estate(Clients(region=REGION), Settings())

    [vpc] = result.vpcs
    assert vpc.outcome is not None and [f.problem for f in vpc.outcome.findings] == ["dhcp-custom-dns"]
    assert result.api_calls["ec2.DescribeDhcpOptions"] == 1
