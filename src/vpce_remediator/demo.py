"""`vpce-remediator demo`: the whole story on an in-process moto account (no AWS, no network).

A realistic estate is seeded, the matching `events/` samples are replayed with its ids filled in,
first in report mode, then in remediate mode, then once more to show that nothing changes.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vpce_remediator.engine import Outcome

REGION = "us-east-1"
ACCOUNT = "123456789012"
ECR = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
EXEC_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"


@dataclass
class Estate:
    ids: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (label, sample, overrides)


def container(name: str, image: str, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """A container definition with the awslogs driver (and secrets, when given)."""
    c: dict[str, Any] = {
        "name": name, "image": image, "memory": 512, "cpu": 256, "essential": True,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": f"/ecs/{name}", "awslogs-region": REGION, "awslogs-stream-prefix": name}},
    }
    if secrets:
        c["secrets"] = [{"name": f"SECRET_{i}", "valueFrom": v} for i, v in enumerate(secrets)]
    return c


def private_vpc(ec2: Any, name: str, cidr: str, azs: str, dns_hostnames: bool = True,
                 nat: bool = False, region: str = REGION) -> dict[str, Any]:
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}])["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": dns_hostnames})
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    octets = cidr.split(".")
    subnets = []
    for i, az in enumerate(azs):
        sn = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{octets[0]}.{octets[1]}.{i + 1}.0/24",
                               AvailabilityZone=region + az)["Subnet"]["SubnetId"]
        ec2.associate_route_table(RouteTableId=rtb, SubnetId=sn)
        subnets.append(sn)
    if nat:
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        public = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{octets[0]}.{octets[1]}.100.0/24",
                                   AvailabilityZone=region + azs[0])["Subnet"]["SubnetId"]
        public_rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=public_rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        ec2.associate_route_table(RouteTableId=public_rtb, SubnetId=public)
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        natgw = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]["NatGatewayId"]
        ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=natgw)
    sg = ec2.create_security_group(GroupName=f"{name}-tasks", Description="tasks", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "rtb": rtb, "subnets": subnets, "sg": sg}


def create_service(ecs: Any, cluster: str, name: str, family: str, net: dict[str, Any], launch: str,
             exec_: bool = False) -> str:
    return str(ecs.create_service(
        cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=2, launchType=launch,
        enableExecuteCommand=exec_,
        networkConfiguration={"awsvpcConfiguration": {"subnets": net["subnets"], "securityGroups": [net["sg"]],
                                                      "assignPublicIp": "DISABLED"}},
    )["service"]["serviceArn"])


def register_task_definition(ecs: Any, family: str, containers: list[dict[str, Any]],
                             compat: str = "FARGATE") -> str:
    return str(ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=[compat], cpu="512", memory="1024",
        executionRoleArn=EXEC_ROLE, containerDefinitions=containers)["taskDefinition"]["taskDefinitionArn"])


def net_overrides(net: dict[str, Any]) -> dict[str, Any]:
    base = "detail.requestParameters.networkConfiguration.awsvpcConfiguration"
    return {f"{base}.subnets": net["subnets"], f"{base}.securityGroups": [net["sg"]]}


def seed(boto3: Any) -> Estate:
    """Build the demo account; return its ids and the events to replay."""
    ec2 = boto3.client("ec2", region_name=REGION)
    ecs = boto3.client("ecs", region_name=REGION)
    prod = private_vpc(ec2, "prod", "10.10.0.0/16", "abc")
    legacy = private_vpc(ec2, "legacy", "10.20.0.0/16", "ab", dns_hostnames=False)
    shared = private_vpc(ec2, "shared-nat", "10.30.0.0/16", "ab", nat=True)
    ecs.create_cluster(clusterName="prod")

    def register(family: str, containers: list[dict[str, Any]], compat: str) -> str:
        return register_task_definition(ecs, family, containers, compat)

    web = register("web", [container("web", f"{ECR}/web:1.4", (
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:prod/db-password-AbCdEf",))], "FARGATE")
    api = register("api", [container("api", f"{ECR}/api:2.0")], "EC2")
    edge = register("edge", [container("edge", "nginx:1.27")], "FARGATE")
    batch = register("batch", [container("batch", f"{ECR}/batch:7")], "FARGATE")
    report = register("report", [container("report", f"{ECR}/report:3")], "FARGATE")

    svc = "detail.requestParameters"
    resp = "detail.responseElements.service"
    events = [
        ("Fargate service web (ECR image, awslogs, Secrets Manager) in VPC prod, 3 AZs",
         "ecs-CreateService", {**net_overrides(prod), f"{svc}.serviceName": "web",
                               f"{resp}.serviceArn": create_service(ecs, "prod", "web", web, prod, "FARGATE")}),
        ("EC2-launch-type service api with ECS Exec in VPC prod", "ecs-CreateService-ec2-exec",
         {**net_overrides(prod), f"{svc}.serviceName": "api",
          f"{resp}.serviceArn": create_service(ecs, "prod", "api", api, prod, "EC2", exec_=True)}),
        ("Fargate service edge with a Docker Hub image in VPC prod", "ecs-CreateService",
         {**net_overrides(prod), f"{svc}.serviceName": "edge",
          f"{resp}.serviceArn": create_service(ecs, "prod", "edge", edge, prod, "FARGATE")}),
        ("RunTask batch in VPC legacy (enableDnsHostnames=false)", "ecs-RunTask",
         {**net_overrides(legacy), f"{svc}.taskDefinition": "batch:1",
          "detail.responseElements.tasks.0.taskDefinitionArn": batch}),
        ("RunTask report in a NAT-routed VPC", "ecs-RunTask",
         {**net_overrides(shared), f"{svc}.taskDefinition": "report:1",
          "detail.responseElements.tasks.0.taskDefinitionArn": report}),
        ("A RunTask that failed (AccessDenied)", "ecs-RunTask-failed", {}),
    ]
    hub, spoke = hub_and_spoke(boto3, ec2)
    shop = register("shop", [container("shop", f"{ECR}/shop:5")], "FARGATE")
    events.append(("Fargate service shop in VPC spoke, served by the hub's endpoints through private hosted zones",
                   "ecs-CreateService", {**net_overrides(spoke), f"{svc}.serviceName": "shop",
                                         f"{resp}.serviceArn": create_service(ecs, "prod", "shop", shop, spoke,
                                                                              "FARGATE")}))
    # GuardDuty Runtime Monitoring on, its agent managed per cluster: the tagged cluster's Fargate
    # tasks get GuardDuty's agent sidecar, pulled from GuardDuty's ECR repository.
    boto3.client("guardduty", region_name=REGION).create_detector(Enable=True, Features=[{
        "Name": "RUNTIME_MONITORING", "Status": "ENABLED",
        "AdditionalConfiguration": [{"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "DISABLED"}]}])
    guarded = private_vpc(ec2, "guarded", "10.60.0.0/16", "ab")
    ecs.create_cluster(clusterName="guarded", tags=[{"key": "GuardDutyManaged", "value": "true"}])
    proxy = register("proxy", [container("proxy", "nginx:1.27")], "FARGATE")
    events.append(("Fargate service proxy (Docker Hub image) in cluster guarded, tagged GuardDutyManaged=true, "
                   "VPC guarded", "ecs-CreateService",
                   {**net_overrides(guarded), f"{svc}.serviceName": "proxy", f"{svc}.cluster": "guarded",
                    f"{resp}.clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/guarded",
                    f"{resp}.serviceArn": create_service(ecs, "guarded", "proxy", proxy, guarded, "FARGATE")}))
    events.append(efs_service(boto3, ec2, ecs, prod))
    new_subnet = ec2.create_subnet(VpcId=prod["vpc"], CidrBlock="10.10.4.0/24",
                                   AvailabilityZone=REGION + "d")["Subnet"]["SubnetId"]
    ec2.associate_route_table(RouteTableId=prod["rtb"], SubnetId=new_subnet)
    events.append(("CreateSubnet: a fourth AZ (us-east-1d) in VPC prod", "ec2-CreateSubnet", {
        "detail.responseElements.subnet.subnetId": new_subnet,
        "detail.responseElements.subnet.vpcId": prod["vpc"],
        "detail.requestParameters.vpcId": prod["vpc"]}))
    return Estate({"prod": prod, "legacy": legacy, "shared": shared, "hub": hub, "spoke": spoke,
                   "guarded": guarded}, events)


def efs_service(boto3: Any, ec2: Any, ecs: Any, net: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A Fargate service with an EFS volume whose file system has a mount target in the first AZ
    only (its group lets NFS in from the tasks): the tasks placed in the other AZs cannot mount it.
    Reported with the create-mount-target commands, never fixed (the tool does not write to EFS)."""
    efs = boto3.client("efs", region_name=REGION)
    group = ec2.create_security_group(GroupName="files-efs", Description="NFS from the tasks",
                                      VpcId=net["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "UserIdGroupPairs": [{"GroupId": net["sg"]}]}])
    fs = efs.create_file_system(CreationToken="files", Encrypted=True)["FileSystemId"]
    efs.create_mount_target(FileSystemId=fs, SubnetId=net["subnets"][0], SecurityGroups=[group])
    td = str(ecs.register_task_definition(
        family="files", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
        executionRoleArn=EXEC_ROLE, containerDefinitions=[container("files", f"{ECR}/files:1")],
        volumes=[{"name": "shared", "efsVolumeConfiguration": {"fileSystemId": fs, "transitEncryption": "ENABLED"}}],
    )["taskDefinition"]["taskDefinitionArn"])
    return (f"Fargate service files with an EFS volume ({fs}: a mount target in {REGION}a only) in VPC prod",
            "ecs-CreateService", {**net_overrides(net), "detail.requestParameters.serviceName": "files",
                                  "detail.responseElements.service.serviceArn":
                                      create_service(ecs, "prod", "files", td, net, "FARGATE")})


def hub_and_spoke(boto3: Any, ec2: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """AWS's centralised-endpoints layout: the hub VPC holds the interface endpoints with private
    DNS off; private hosted zones for the services' names, with alias records to the hub's
    endpoints, are associated with the hub and the spoke. The spoke keeps its own S3 gateway
    endpoint (gateway endpoints stay per VPC)."""
    hub = private_vpc(ec2, "hub", "10.40.0.0/16", "ab")
    spoke = private_vpc(ec2, "spoke", "10.50.0.0/16", "ab")
    hub_sg = ec2.create_security_group(GroupName="hub-endpoints", Description="HTTPS from the spokes",
                                       VpcId=hub["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=hub_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.50.0.0/16"}]}])
    prefix = f"com.amazonaws.{REGION}."
    names: dict[str, str] = {}
    for short in ("ecr.api", "ecr.dkr", "logs"):
        e = ec2.create_vpc_endpoint(VpcId=hub["vpc"], VpcEndpointType="Interface", ServiceName=prefix + short,
                                    SubnetIds=hub["subnets"], SecurityGroupIds=[hub_sg],
                                    PrivateDnsEnabled=False)["VpcEndpoint"]
        names[short] = (e.get("DnsEntries") or [{}])[0].get("DnsName") or f"{e['VpcEndpointId']}.{short}.vpce.amazonaws.com"
    ec2.create_vpc_endpoint(VpcId=spoke["vpc"], VpcEndpointType="Gateway", ServiceName=prefix + "s3",
                            RouteTableIds=[spoke["rtb"]])
    route53 = boto3.client("route53", region_name=REGION)
    for zone, records in ((f"ecr.{REGION}.amazonaws.com", {f"api.ecr.{REGION}.amazonaws.com": names["ecr.api"],
                                                           f"*.dkr.ecr.{REGION}.amazonaws.com": names["ecr.dkr"]}),
                          (f"logs.{REGION}.amazonaws.com", {f"logs.{REGION}.amazonaws.com": names["logs"]})):
        zone_id = route53.create_hosted_zone(Name=zone, CallerReference=f"hub-{zone}",
                                             HostedZoneConfig={"PrivateZone": True},
                                             VPC={"VPCRegion": REGION, "VPCId": hub["vpc"]})["HostedZone"]["Id"]
        route53.associate_vpc_with_hosted_zone(HostedZoneId=zone_id, VPC={"VPCRegion": REGION, "VPCId": spoke["vpc"]})
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "CREATE", "ResourceRecordSet": {"Name": name, "Type": "A", "AliasTarget": {
                "HostedZoneId": "Z7HUB0000000000", "DNSName": target, "EvaluateTargetHealth": False}}}
            for name, target in records.items()]})
    return hub, spoke


def run_demo(as_json: bool = False) -> int:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ[key] = "demo"  # moto accepts anything; never a real credential
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    from moto import mock_aws

    from vpce_remediator.aws import Clients
    from vpce_remediator.engine import Settings, evaluate_event
    from vpce_remediator.lock import VpcLock
    from vpce_remediator.render import summary
    from vpce_remediator.samples import load_event

    started = time.monotonic()
    with mock_aws():
        estate = seed(boto3)
        # The stack's state table, as the Lambda has it: the lock, and the record of what the tool
        # made (only what it recorded is its own to change; a tag proves nothing).
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="vpce-remediator-state", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        lock = VpcLock(dynamodb, "vpce-remediator-state")
        print("Demo account (in-process moto): "
              + "; ".join(f"VPC {k} {v['vpc']} ({len(v['subnets'])} subnets)" for k, v in estate.ids.items()))
        totals: dict[str, int] = {}
        for pass_name, mode in (("1. report", "report"), ("2. remediate", "remediate"),
                                ("3. remediate again", "remediate")):
            print(f"\n=== pass {pass_name}: mode={mode} " + "=" * 40)
            writes = 0
            for label, sample, overrides in estate.events:
                clients = Clients(region=REGION)
                outcome = evaluate_event(load_event(sample, overrides), clients, Settings(mode=mode), lock)
                writes += len(clients.write_calls())
                print(f"\n--- {label}")
                print(json.dumps(outcome.to_dict(), indent=2) if as_json else
                      (_one_line(outcome) if pass_name.startswith("3") else summary(outcome, brief=True)))
            totals[pass_name] = writes
            print(f"\n(pass {pass_name}: {writes} AWS write calls)")
        ec2 = boto3.client("ec2", region_name=REGION)
        eps = ec2.describe_vpc_endpoints()["VpcEndpoints"]
        print("\n=== endpoints now in the account " + "=" * 40)
        for e in sorted(eps, key=lambda e: (e["VpcId"], e["ServiceName"])):
            if e["VpcEndpointType"] == "Gateway":
                where = "route tables " + ", ".join(e.get("RouteTableIds", []))
            else:
                dns = "on" if e.get("PrivateDnsEnabled") else "off"
                where = f"private DNS {dns}, {len(e.get('SubnetIds', []))} subnets, SG " + ", ".join(
                    g["GroupId"] for g in e.get("Groups", []))
            print(f"  {e['VpcId']}  {e['ServiceName']:<40} {e['VpcEndpointType']:<9} {where}")
        org_again = run_org_act(boto3, "vpce-remediator-state")
    last = totals.get("3. remediate again", -1) + org_again
    print(f"\nThe last pass made {last} write calls: "
          + ("nothing left to change." if last == 0 else "NOT IDEMPOTENT."))
    print(f"Demo finished in {time.monotonic() - started:.1f} s.")
    return 0 if last == 0 else 1


def _one_line(outcome: Outcome) -> str:
    done = sum(1 for r in outcome.results if r.status != "planned")
    extra = outcome.reason or f"{len(outcome.findings)} finding(s), {done} action(s)"
    return f"{outcome.trigger.name if outcome.trigger is not None else '?'}: {outcome.status.upper()} ({extra})"


# ---------------------------------------------------------------- the organization act
#
# A central account and two member accounts on the same embedded moto, one CloudTrail event from
# each member arriving at the central queue, each remediated in its own account with its member
# role (moto honours cross-account AssumeRole), then delivered again.

MEMBERS = {"111111111111": ("payments", "10.51.0.0/16"), "222222222222": ("search", "10.52.0.0/16")}
MEMBER_ROLE = "vpce-remediator-member"


def member_session(boto3: Any, account: str) -> Any:
    """boto3 acting in a member account (moto: AssumeRole into any role of that account)."""
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="demo")["Credentials"]
    return boto3.session.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                 aws_session_token=creds["SessionToken"], region_name=REGION)


def seed_member(boto3: Any, account: str, name: str, cidr: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A member's private VPC and a Fargate task pulling from its own ECR; the RunTask record of it
    as the member's EventBridge rule forwards it to the central bus."""
    from vpce_remediator.samples import load_event

    s = member_session(boto3, account)
    ec2, ecs = s.client("ec2"), s.client("ecs")
    net = private_vpc(ec2, name, cidr, "ab")
    ecs.create_cluster(clusterName=name)
    image = f"{account}.dkr.ecr.{REGION}.amazonaws.com/{name}:1"
    td = register_task_definition(ecs, name, [container(name, image)])
    create_service(ecs, name, name, name, net, "FARGATE")  # what the cross-account scan finds
    base = "detail.requestParameters.networkConfiguration.awsvpcConfiguration"
    event = load_event("ecs-RunTask", {
        f"{base}.subnets": net["subnets"], f"{base}.securityGroups": [net["sg"]],
        "detail.requestParameters.cluster": name, "detail.requestParameters.taskDefinition": td.split("/")[-1],
        "detail.responseElements.tasks.0.taskDefinitionArn": td,
        "detail.responseElements.tasks.0.taskArn": f"arn:aws:ecs:{REGION}:{account}:task/{name}/{uuid.uuid4().hex}",
        "account": account, "detail.recipientAccountId": account, "detail.userIdentity.accountId": account})
    return net, event


def run_org_act(boto3: Any, table: str) -> int:
    """The act; returns the write calls its second delivery made (0: idempotent)."""
    from vpce_remediator.accounts import MemberAccounts, MemberRole
    from vpce_remediator.aws import Clients
    from vpce_remediator.batch import BatchRun, Recent
    from vpce_remediator.engine import Settings
    from vpce_remediator.lock import VpcLock

    print("\n=== organization act: one central engine, two member accounts " + "=" * 20)
    seeded = {account: seed_member(boto3, account, name, cidr) for account, (name, cidr) in MEMBERS.items()}
    central = Clients(region=REGION)
    members = MemberAccounts(central, MemberRole(MEMBER_ROLE))
    lock = VpcLock(central.dynamodb, table)
    records = [{"messageId": str(uuid.uuid4()), "body": json.dumps(event)} for _, event in seeded.values()]
    second = 0
    for delivery in ("first delivery", "delivered again"):
        batch = BatchRun(central, Settings(mode="remediate"), lock, members=members, memory=Recent())
        for record in records:
            result = batch.process(record["body"])
            account = json.loads(record["body"])["account"]
            made = [a for a in result.get("actions", []) if a.get("status") in ("created", "modified")]
            print(f"  {delivery}: account {account} ({MEMBERS[account][0]}): {result['status'].upper()}, "
                  f"{len(made)} change(s), {result['api_calls']['total']} calls in the member account")
            if delivery == "delivered again":
                second += len(made)
    for account, (net, _) in seeded.items():
        eps = member_session(boto3, account).client("ec2").describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["VpcEndpoints"]
        names = sorted(e["ServiceName"].removeprefix(f"com.amazonaws.{REGION}.") for e in eps)
        print(f"  account {account}: {len(eps)} endpoints in {net['vpc']}: {', '.join(names)}")
    print(f"  the central account assumed each member role once: {central.calls['sts.AssumeRole']} AssumeRole calls, "
          f"{sum(n for op, n in central.calls.items() if op.startswith(('ec2.', 'ecs.')))} EC2/ECS calls of its own")
    from vpce_remediator import fleet

    print("\n$ vpce-remediator scan --accounts " + ",".join(MEMBERS) + f" --regions {REGION}")
    started = time.monotonic()
    fleet_result = fleet.scan_fleet(central, members, Settings(mode="report"), [REGION], list(MEMBERS))
    print(fleet.render(fleet_result))
    print(f"(the cross-account scan took {time.monotonic() - started:.2f} s)")
    return second
