"""The fix of a whole result as one list to paste: ordered so that each command finds what it
needs already made, and each command once however many findings print it. Pure.

A finding's fix is complete on its own, so findings that share a prerequisite (the VPC's DNS
attributes, the endpoints' security group) each carry it; pasted one after the other, the second
create of the group fails and private DNS is asked for before the VPC can give it. The order is
a table of the AWS CLI operations (`_STAGES`): what every later command depends on first, reads
and everything unknown last; within a stage the commands keep the order they were printed in.
"""
from __future__ import annotations

from collections.abc import Iterable

# (service, operation) -> stage. DNS support before DNS hostnames: EC2 refuses hostnames without it.
_STAGES: dict[tuple[str, str], int] = {
    ("ec2", "modify-vpc-attribute --enable-dns-support"): 0,
    ("ec2", "modify-vpc-attribute"): 1,
    ("ec2", "create-security-group"): 3,
    ("ec2", "authorize-security-group-ingress"): 4,
    ("ec2", "authorize-security-group-egress"): 4,
    ("ec2", "create-vpc-endpoint"): 5,
    ("ec2", "modify-vpc-endpoint"): 6,
    ("ec2", "create-network-acl-entry"): 7,
}
_LAST = 8


def stage(command: str) -> int:
    """Where a command goes in the pasted list (lower first)."""
    words = command.split(None, 4)
    if len(words) < 3 or words[0] != "aws":
        return _LAST
    service, operation = words[1], words[2]
    if operation == "modify-vpc-attribute" and " --enable-dns-support " in f" {command} ":
        return _STAGES[(service, "modify-vpc-attribute --enable-dns-support")]
    return _STAGES.get((service, operation), _LAST)


def ordered_fix(fixes: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """Every command of every fix once, prerequisites first (see `_STAGES`), otherwise in the
    order they come."""
    unique = list(dict.fromkeys(command for fix in fixes for command in fix))
    return tuple(sorted(unique, key=stage))  # sorted is stable: ties keep their order
