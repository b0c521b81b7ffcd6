"""The demo's organization act: a central account and two member accounts on the same embedded
moto, one CloudTrail event from each member arriving at the central queue, each remediated in its
own account with its member role (moto honours cross-account AssumeRole), then run again."""
from __future__ import annotations

import json
import uuid
from typing import Any

from vpce_remediator.demo import REGION, container, private_vpc, register_task_definition
from vpce_remediator.samples import load_event

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
    s = member_session(boto3, account)
    ec2, ecs = s.client("ec2"), s.client("ecs")
    net = private_vpc(ec2, name, cidr, "ab")
    ecs.create_cluster(clusterName=name)
    image = f"{account}.dkr.ecr.{REGION}.amazonaws.com/{name}:1"
    td = register_task_definition(ecs, name, [container(name, image)])
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
    return second
