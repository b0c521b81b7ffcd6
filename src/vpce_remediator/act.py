"""Act: carry out a plan's actions in one VPC (remediate mode only).

Safety rules, in order of importance: change only what the tool owns or creates; delete nothing;
look before every create (the snapshot, then one re-read of the endpoints right before creating,
since another run may have created one since); pass a `ClientToken` derived from the request so a
retried create returns the same endpoint instead of a second one; tag everything it makes.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from rules.partitions import short_name, split_service_name
from rules.records import record
from vpce_remediator.aws import error_code, error_message, paginate
from vpce_remediator.facts import LIVE_STATES, OWN_SG_DESCRIPTION, OWN_SG_NAME, OWNER_TAG, VpcSnapshot
from vpce_remediator.fixes import client_token  # one token scheme for API calls and printed commands
from vpce_remediator.pacing import Pacer
from vpce_remediator.plan import (
    ADD_ROUTE_TABLES,
    ADD_SECURITY_GROUP,
    ADD_SUBNETS,
    AUTHORIZE_INGRESS,
    CREATE_GATEWAY,
    CREATE_INTERFACE,
    CREATE_SECURITY_GROUP,
    ENABLE_PRIVATE_DNS,
    SET_ENDPOINT_POLICY,
    Action,
    Plan,
)
from vpce_remediator.trust import proven_by_name

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import IpPermissionTypeDef, TagSpecificationTypeDef

# Actions that spend a token of EC2's CreateVpcEndpoint/ModifyVpcEndpoint bucket.
ENDPOINT_BUCKET = frozenset({CREATE_INTERFACE, CREATE_GATEWAY, ADD_SUBNETS, ADD_ROUTE_TABLES, ADD_SECURITY_GROUP,
                             ENABLE_PRIVATE_DNS, SET_ENDPOINT_POLICY})

DENIED = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})  # doctor's probe

# Actions that attach the remediator's own security group: never sent without a good one.
USES_OWN_GROUP = frozenset({CREATE_INTERFACE, ADD_SECURITY_GROUP})

# The EC2 call each action makes, named in findings.
API_CALL: dict[str, str] = {
    CREATE_SECURITY_GROUP: "CreateSecurityGroup", AUTHORIZE_INGRESS: "AuthorizeSecurityGroupIngress",
    CREATE_INTERFACE: "CreateVpcEndpoint", CREATE_GATEWAY: "CreateVpcEndpoint", ADD_SUBNETS: "ModifyVpcEndpoint",
    ADD_ROUTE_TABLES: "ModifyVpcEndpoint", ADD_SECURITY_GROUP: "ModifyVpcEndpoint",
    ENABLE_PRIVATE_DNS: "ModifyVpcEndpoint",
}

# Which IAM action each plan action calls: the template grants exactly these (contract-tested).
PERMISSIONS: dict[str, tuple[str, ...]] = {
    CREATE_SECURITY_GROUP: ("ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
                            "ec2:CreateTags"),
    AUTHORIZE_INGRESS: ("ec2:AuthorizeSecurityGroupIngress",),
    CREATE_INTERFACE: ("ec2:CreateVpcEndpoint", "ec2:CreateTags"),
    CREATE_GATEWAY: ("ec2:CreateVpcEndpoint", "ec2:CreateTags"),
    ADD_SUBNETS: ("ec2:ModifyVpcEndpoint",),
    ADD_ROUTE_TABLES: ("ec2:ModifyVpcEndpoint",),
    ADD_SECURITY_GROUP: ("ec2:ModifyVpcEndpoint",),
    ENABLE_PRIVATE_DNS: ("ec2:ModifyVpcEndpoint",),
    SET_ENDPOINT_POLICY: ("ec2:ModifyVpcEndpoint",),
}
# What a cross-Region create also needs (a permission-only action): the template grants it only
# when CrossRegionEndpoints is on.
CROSS_REGION_PERMISSION = "vpce:AllowMultiRegion"


@record
class ActionResult:
    action: Action
    status: str  # created, modified, exists, failed, planned
    resource_id: str
    error: str = ""  # the AWS error code of a failed write ("" when it was never sent)
    problem: str = ""  # the finding a failed action becomes (write_errors.classify, or why it was skipped)
    message: str = ""  # EC2's message, made safe, or why the action was skipped
    security_group: str = ""  # the own group it would have used, for the fix commands


def _tags(resource_type: Literal["security-group", "vpc-endpoint"], name: str) -> list[TagSpecificationTypeDef]:
    return [{"ResourceType": resource_type, "Tags": [
        {"Key": OWNER_TAG[0], "Value": OWNER_TAG[1]}, {"Key": "Name", "Value": name}]}]


def apply_plan(ec2: EC2Client, plan: Plan, snap: VpcSnapshot, pacer: Pacer | None = None,
               on_created: Callable[[str, str], None] | None = None) -> list[ActionResult]:
    """Execute the plan's actions; each refused write becomes a failed result, throttles propagate.

    `write_errors.classify` decides per error code: what a retry can fix (throttles, 5xx, a group
    this run created that EC2 does not show yet) propagates, so the record fails and the queue
    retries it and the next run plans only what is still missing; everything else becomes a failed
    result (a finding) and the other actions still run. An action that needs the remediator's own
    security group is not sent when there is no good one (its creation failed): it fails here,
    naming why, instead of calling AWS with an empty group id.
    """
    own = snap.own_security_group
    own_sg = own.id if own else ""
    no_group = "" if own else "the plan does not create the remediator's security group"
    created_groups: set[str] = set()
    existing = _recheck(ec2, plan, snap)
    results: list[ActionResult] = []
    for action in plan.actions:
        if action.kind in USES_OWN_GROUP and not own_sg and not (
                action.kind == CREATE_INTERFACE and action.service in existing):
            results.append(ActionResult(action, "failed", action.resource_id, problem=action.problem,
                                        message=f"not sent: no usable security group ({no_group})"))
            continue
        if pacer is not None and action.kind in ENDPOINT_BUCKET:
            pacer.take()
        try:
            if action.kind == CREATE_SECURITY_GROUP:
                group = _ensure_security_group(ec2, snap)
                created_groups.add(group)
                if on_created is not None:  # recorded before anything is opened on it
                    on_created(group, snap.vpc_id)
                _authorize(ec2, group, action.cidrs)
                own_sg = group
                results.append(ActionResult(action, "created", own_sg))
            elif action.kind == AUTHORIZE_INGRESS:
                _authorize(ec2, action.resource_id, action.cidrs)
                results.append(ActionResult(action, "modified", action.resource_id))
            elif action.kind in (CREATE_INTERFACE, CREATE_GATEWAY) and action.service in existing:
                results.append(ActionResult(action, "exists", existing[action.service]))
            elif action.kind in (CREATE_INTERFACE, CREATE_GATEWAY):
                made = _create_interface(ec2, snap, action, own_sg) if action.kind == CREATE_INTERFACE \
                    else _create_gateway(ec2, snap, action)
                if on_created is not None:
                    on_created(made, snap.vpc_id)
                results.append(ActionResult(action, "created", made))
            else:
                _modify(ec2, action, own_sg)
                results.append(ActionResult(action, "modified", action.resource_id))
        except ClientError as e:
            from vpce_remediator.write_errors import PERMISSION, RETRY, classify  # a failed write only: not at import

            status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
            verdict = classify(error_code(e), error_message(e), status,
                               just_created=bool(created_groups) and (
                                   action.kind in USES_OWN_GROUP or action.kind == CREATE_SECURITY_GROUP))
            if verdict.handling == RETRY:
                raise
            if action.kind == CREATE_SECURITY_GROUP:
                no_group = f"{API_CALL[action.kind]} failed with {verdict.code}"
            results.append(ActionResult(
                action, "failed", action.resource_id, verdict.code,
                "permission-missing" if verdict.handling == PERMISSION else verdict.handling,
                verdict.message, own_sg))
    return results


def _recheck(ec2: EC2Client, plan: Plan, snap: VpcSnapshot) -> dict[str, str]:
    """Endpoints that appeared since the snapshot for the services about to be created."""
    wanted = {a.service: a.kind for a in plan.actions if a.kind in (CREATE_INTERFACE, CREATE_GATEWAY)}
    if not wanted:
        return {}
    found: dict[str, str] = {}
    filters = [{"Name": "vpc-id", "Values": [snap.vpc_id]},
               {"Name": "service-name", "Values": sorted(wanted)}]
    for page in paginate(ec2, "describe_vpc_endpoints", Filters=filters):
        for e in page.get("VpcEndpoints", []):
            kind = CREATE_GATEWAY if e.get("VpcEndpointType") == "Gateway" else CREATE_INTERFACE
            if (e.get("State", "").lower() in LIVE_STATES and wanted.get(e["ServiceName"]) == kind):
                found.setdefault(e["ServiceName"], e["VpcEndpointId"])
    return found


def _ensure_security_group(ec2: EC2Client, snap: VpcSnapshot) -> str:
    try:
        return str(ec2.create_security_group(
            GroupName=OWN_SG_NAME, VpcId=snap.vpc_id,
            Description=OWN_SG_DESCRIPTION,
            TagSpecifications=_tags("security-group", OWN_SG_NAME))["GroupId"])
    except ClientError as e:
        # Security groups take no ClientToken: a concurrent run may have made it first. The name
        # alone proves nothing (trust.py): take the group only if the proof holds.
        if error_code(e) != "InvalidGroup.Duplicate":
            raise
        proven = proven_by_name(ec2, snap.vpc_id)
        if proven is None:
            raise
        return proven


def _authorize(ec2: EC2Client, group_id: str, cidrs: tuple[str, ...]) -> None:
    if not cidrs:
        return
    note = "HTTPS to VPC endpoints (vpce-remediator)"
    permission: IpPermissionTypeDef = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    v4, v6 = [c for c in cidrs if ":" not in c], [c for c in cidrs if ":" in c]
    if v4:
        permission["IpRanges"] = [{"CidrIp": c, "Description": note} for c in v4]
    if v6:  # the VPC's IPv6 blocks: tasks in dual-stack and IPv6-only subnets connect from them
        permission["Ipv6Ranges"] = [{"CidrIpv6": c, "Description": note} for c in v6]
    try:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission])
    except ClientError as e:
        if error_code(e) != "InvalidPermission.Duplicate":
            raise


def _create_interface(ec2: EC2Client, snap: VpcSnapshot, action: Action, own_sg: str) -> str:
    split = split_service_name(action.service)
    # A cross-Region endpoint's name tag says which Region's service it reaches: ecr.dkr@us-east-1.
    short = f"{split[1]}@{split[0]}" if action.service_region and split else short_name(action.service, snap.region)
    # A different policy is a different request: it joins the token (none keeps the old token).
    token = client_token(snap.vpc_id, action.service, "Interface", action.subnet_ids, own_sg, True,
                         *_policy_parts(action), *_ip_parts(action), *_region_parts(action))
    response = ec2.create_vpc_endpoint(
        VpcId=snap.vpc_id, ServiceName=action.service, VpcEndpointType="Interface",
        SubnetIds=list(action.subnet_ids), SecurityGroupIds=[own_sg], PrivateDnsEnabled=True,
        ClientToken=token, TagSpecifications=_tags("vpc-endpoint", f"vpce-remediator/{short}"),
        **_policy_args(action), **_ip_args(action), **_region_args(action))
    return str(response["VpcEndpoint"]["VpcEndpointId"])


def _region_parts(action: Action) -> tuple[str, ...]:
    """A cross-Region create is a different request: its ServiceRegion joins the token."""
    return ("service-region", action.service_region) if action.service_region else ()


def _region_args(action: Action) -> dict[str, Any]:
    """ServiceRegion of a cross-Region create (IAM asks vpce:AllowMultiRegion for it); S3's private DNS
    for every resolver, since no gateway endpoint here can serve another Region's S3 and EC2 refuses
    the inbound-resolver-only default without one."""
    if not action.service_region:
        return {}
    args: dict[str, Any] = {"ServiceRegion": action.service_region}
    split = split_service_name(action.service)
    if split is not None and split[1] == "s3":
        args["DnsOptions"] = {"PrivateDnsOnlyForInboundResolverEndpoint": False}
    return args


def _create_gateway(ec2: EC2Client, snap: VpcSnapshot, action: Action) -> str:
    token = client_token(snap.vpc_id, action.service, "Gateway", action.route_table_ids, *_policy_parts(action))
    response = ec2.create_vpc_endpoint(
        VpcId=snap.vpc_id, ServiceName=action.service, VpcEndpointType="Gateway",
        RouteTableIds=list(action.route_table_ids), ClientToken=token,
        TagSpecifications=_tags("vpc-endpoint", "vpce-remediator/s3"), **_policy_args(action))
    return str(response["VpcEndpoint"]["VpcEndpointId"])


def _ip_parts(action: Action) -> tuple[str, ...]:
    """A dual-stack or IPv6 create is a different request: it joins the token (IPv4 keeps the old one)."""
    return (action.ip_address_type, action.dns_record_ip_type) if action.ip_address_type else ()


def _ip_args(action: Action) -> dict[str, Any]:
    """IpAddressType and DnsOptions.DnsRecordIpType of a dual-stack or IPv6 create; none for IPv4."""
    if not action.ip_address_type:
        return {}
    args: dict[str, Any] = {"IpAddressType": action.ip_address_type}
    if action.dns_record_ip_type:
        args["DnsOptions"] = {"DnsRecordIpType": action.dns_record_ip_type}
    return args


def _policy_parts(action: Action) -> tuple[str, ...]:
    return (action.policy,) if action.policy else ()


def _policy_args(action: Action) -> dict[str, Any]:
    return {"PolicyDocument": action.policy} if action.policy else {}


def _modify(ec2: EC2Client, action: Action, own_sg: str) -> None:
    args: dict[str, Any] = {"VpcEndpointId": action.resource_id}
    if action.kind == ADD_SUBNETS:
        args["AddSubnetIds"] = list(action.subnet_ids)
    elif action.kind == ADD_ROUTE_TABLES:
        args["AddRouteTableIds"] = list(action.route_table_ids)
    elif action.kind == ADD_SECURITY_GROUP:
        args["AddSecurityGroupIds"] = [own_sg]
    elif action.kind == ENABLE_PRIVATE_DNS:
        args["PrivateDnsEnabled"] = True
    elif action.kind == SET_ENDPOINT_POLICY:
        args.update({"PolicyDocument": action.policy} if action.policy else {"ResetPolicy": True})
    else:
        raise ValueError(f"unknown action {action.kind}")
    ec2.modify_vpc_endpoint(**args)
