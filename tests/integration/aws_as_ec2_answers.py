"""`aws`, as the paste test runs it: the real AWS CLI, after two refusals EC2 makes and moto does not
(DESIGN.md §7, measured with the real AWS CLI against moto). It stands in front of `aws` on PATH,
reads what it needs through the real CLI, and never changes a request.

- `CreateVpcEndpoint` with a security group id that is no id (`None`, the text a failed lookup
  prints): EC2 answers InvalidSecurityGroupId.Malformed; moto creates the endpoint.
- Private DNS on an interface endpoint (create or modify) while the VPC has enableDnsSupport or
  enableDnsHostnames off: EC2 refuses it (InvalidParameter); moto accepts it.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

REAL_AWS = os.environ["PASTE_REAL_AWS"]


def _values(argv: list[str], option: str) -> list[str]:
    """The words after `option` up to the next option."""
    if option not in argv:
        return []
    out = []
    for word in argv[argv.index(option) + 1:]:
        if word.startswith("--"):
            break
        out.append(word)
    return out


def _refuse(code: str, message: str, operation: str) -> None:
    print(f"\nAn error occurred ({code}) when calling the {operation} operation: {message} "
          "[emulated by the paste test: moto accepts this]", file=sys.stderr)
    sys.exit(254)


def _ask(*args: str) -> str:
    """One read through the real AWS CLI (its botocore is its own: no import of it here)."""
    done = subprocess.run([REAL_AWS, *args, "--output", "text"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _vpc_dns(vpc_id: str) -> tuple[bool, bool]:
    support = _ask("ec2", "describe-vpc-attribute", "--vpc-id", vpc_id, "--attribute", "enableDnsSupport",
                   "--query", "EnableDnsSupport.Value")
    names = _ask("ec2", "describe-vpc-attribute", "--vpc-id", vpc_id, "--attribute", "enableDnsHostnames",
                 "--query", "EnableDnsHostnames.Value")
    return support == "True", names == "True"


def _endpoint_vpc(endpoint_id: str) -> str:
    return _ask("ec2", "describe-vpc-endpoints", "--vpc-endpoint-ids", endpoint_id, "--query", "VpcEndpoints[0].VpcId")


def check(argv: list[str]) -> None:
    if argv[:1] != ["ec2"] or len(argv) < 2:
        return
    op = argv[1]
    if op == "create-vpc-endpoint":
        for group in _values(argv, "--security-group-ids"):
            if not re.fullmatch(r"sg-[0-9a-f]{8,17}", group):
                _refuse("InvalidSecurityGroupId.Malformed", f'Invalid id: "{group}"', "CreateVpcEndpoint")
    if op in ("create-vpc-endpoint", "modify-vpc-endpoint") and "--private-dns-enabled" in argv:
        vpc = (_values(argv, "--vpc-id") or [""])[0] if op == "create-vpc-endpoint" else \
            _endpoint_vpc(_values(argv, "--vpc-endpoint-id")[0])
        if vpc and not all(_vpc_dns(vpc)):
            _refuse("InvalidParameter", "Enabling private DNS requires both enableDnsSupport and "
                    "enableDnsHostnames VPC attributes set to true for " + vpc,
                    "CreateVpcEndpoint" if op == "create-vpc-endpoint" else "ModifyVpcEndpoint")


if __name__ == "__main__":
    check(sys.argv[1:])
    os.execv(REAL_AWS, [REAL_AWS, *sys.argv[1:]])
