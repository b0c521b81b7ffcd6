"""Trust: which endpoints and which security group are the tool's own, proved without tags.

Anyone with `ec2:CreateTags` can write `managed-by: vpce-remediator` (DESIGN.md §6c), so a tag
is only a claim. Ownership is decided here and handed to the planner through
`VpcSnapshot.owning`; everything else is foreign: reported, never modified, never attached,
never opened.

- With the stack's state table (`RecordedTrust`, the Lambda and `--state-table`): the tool owns
  what it recorded when it created it (`VpcLock.remember`). A group made by an earlier version,
  which only tagged, is adopted (recorded) when it passes the group proof below; endpoints are
  adopted only by an operator (`vpce-remediator adopt`).
- Without one (`ProofTrust`, the CLI): the group proof alone, and no endpoint is the tool's.

The group proof: named `OWN_SG_NAME` with exactly `OWN_SG_DESCRIPTION` (both fixed at creation,
so an application group can never acquire them) and used by no network interface but VPC
endpoints' (so a group someone made under that name for instances is refused).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from rules.records import field, mutable_record
from vpce_remediator.aws import paginate
from vpce_remediator.facts import LIVE_STATES, OWN_SG_DESCRIPTION, OWN_SG_NAME, OWNER_TAG, VpcSnapshot
from vpce_remediator.lock import VpcLock

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

# `InterfaceType` of the network interfaces AWS makes for interface endpoints (EC2 API reference,
# NetworkInterfaceType).
ENDPOINT_INTERFACE = "vpc_endpoint"


def serves_only_endpoints(ec2: EC2Client, group_id: str) -> bool:
    """Whether every network interface using the group belongs to a VPC endpoint."""
    for page in paginate(ec2, "describe_network_interfaces", Filters=[{"Name": "group-id", "Values": [group_id]}]):
        if any(n.get("InterfaceType") != ENDPOINT_INTERFACE for n in page.get("NetworkInterfaces", [])):
            return False
    return True


def provable_group(ec2: EC2Client, snap: VpcSnapshot) -> str | None:
    """The VPC's group that passes the proof (name, description, endpoint-only use), if any."""
    group = snap.named_security_group
    if group is None or group.description != OWN_SG_DESCRIPTION:
        return None
    return group.id if serves_only_endpoints(ec2, group.id) else None


def proven_by_name(ec2: EC2Client, vpc_id: str) -> str | None:
    """The proof for a group met only by name (a concurrent create said `InvalidGroup.Duplicate`)."""
    groups = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [OWN_SG_NAME]}])["SecurityGroups"]
    for g in groups:
        if g.get("Description") == OWN_SG_DESCRIPTION and serves_only_endpoints(ec2, g["GroupId"]):
            return str(g["GroupId"])
    return None


class Trust(Protocol):
    def apply(self, ec2: EC2Client, snap: VpcSnapshot) -> VpcSnapshot:
        """`snap` with the tool's own endpoints and group marked owned, everything else foreign."""
        ...


class ProofTrust:
    """No state table: the group by proof; every existing endpoint is foreign."""

    def apply(self, ec2: EC2Client, snap: VpcSnapshot) -> VpcSnapshot:
        return snap.owning((), provable_group(ec2, snap))


@mutable_record
class RecordedTrust:
    """The stack's state table: what the tool recorded. One GetItem per VPC evaluation; a second
    one only when a later snapshot shows a claim (tag or name) the first read did not know, since
    another run may have recorded it meanwhile."""

    lock: VpcLock
    _read: dict[str, tuple[frozenset[str], str | None, frozenset[str]]] = field(default_factory=dict)

    def apply(self, ec2: EC2Client, snap: VpcSnapshot) -> VpcSnapshot:
        vpc = snap.vpc_id
        claims = _claims(snap)
        cached = self._read.get(vpc)
        if cached is None or not claims <= cached[2]:
            endpoints, group = self.lock.owned(vpc)
            cached = (endpoints, group, claims | (cached[2] if cached else frozenset()))
            self._read[vpc] = cached
        endpoints, group = cached[0], cached[1]
        if group is None or group not in snap.security_groups:
            # An earlier version's group (tagged, unrecorded) is adopted when the proof holds.
            adopted = provable_group(ec2, snap)
            if adopted is not None:
                self.lock.remember_group(adopted, vpc)
                group = adopted
                self._read[vpc] = (endpoints, group, cached[2])
        return snap.owning(endpoints, group)


def _claims(snap: VpcSnapshot) -> frozenset[str]:
    return frozenset([e.id for e in snap.endpoints if e.tagged]
                     + [g.id for g in snap.security_groups.values() if g.tagged or g.name == OWN_SG_NAME])


def trust_for(lock: VpcLock | None) -> Trust:
    return RecordedTrust(lock) if lock is not None else ProofTrust()


def adoption_candidates(ec2: EC2Client, lock: VpcLock, vpc_id: str) -> list[dict[str, Any]]:
    """Live endpoints of a VPC tagged as the tool's (by an earlier version, or by anyone) that its
    records do not hold: what `vpce-remediator adopt` offers an operator to confirm."""
    recorded, _ = lock.owned(vpc_id)
    out = []
    for page in paginate(ec2, "describe_vpc_endpoints", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]):
        for e in page.get("VpcEndpoints", []):
            tags = {t["Key"]: t.get("Value", "") for t in e.get("Tags", [])}
            if (tags.get(OWNER_TAG[0]) == OWNER_TAG[1] and e.get("State", "").lower() in LIVE_STATES
                    and e["VpcEndpointId"] not in recorded):
                out.append({"endpoint_id": e["VpcEndpointId"], "service": e["ServiceName"],
                            "type": e.get("VpcEndpointType", "Interface"), "name": tags.get("Name", ""),
                            "subnet_ids": list(e.get("SubnetIds", [])),
                            "route_table_ids": list(e.get("RouteTableIds", []))})
    return sorted(out, key=lambda c: c["endpoint_id"])


def adopt(lock: VpcLock, vpc_id: str, endpoint_ids: list[str]) -> None:
    """Record endpoints as the tool's: from now on it maintains them like those it created."""
    for endpoint_id in endpoint_ids:
        lock.remember(endpoint_id, vpc_id)
