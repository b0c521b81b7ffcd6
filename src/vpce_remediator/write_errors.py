"""What a failed EC2 write means: retry it, report a missing permission, or report a finding.

Every error of the four write calls (CreateVpcEndpoint, ModifyVpcEndpoint, CreateSecurityGroup,
AuthorizeSecurityGroupIngress) has a home here, from the EC2 API reference ("Error codes for the
Amazon EC2 API": common client errors, client errors for specific actions, server errors):

- `RETRY`: the error passes with time, so it propagates, the SQS record fails and is received
  again (5 times, then the dead-letter queue). Throttles (botocore has already retried them),
  server errors (5xx), `ConcurrentTagAccess` ("allow sufficient wait time ... then retry"),
  `RequestExpired` (expired temporary credentials: the next invocation gets fresh ones).
- `CONSISTENCY`: `InvalidGroup.NotFound` / `InvalidSecurityGroupID.NotFound`. The reference says a
  recently created group may not have propagated yet. Retried only when the group was created by
  this very run a moment ago (the retry then sees it); otherwise it is reported as
  `resource-not-found`, so a group deleted for good does not end in the dead-letter queue.
- `PERMISSION`: the role lacks an IAM action (or an SCP denies it): `permission-missing`.
- a finding kind: the request cannot succeed as sent, however often it is retried: the record
  succeeds, the VPC gets a finding naming the code and EC2's message, and the plan's other
  actions still run. Other ids we write with (VPC, subnets, route tables, endpoints) were read by
  a Describe moments before, so their `NotFound` means they were deleted meanwhile: reported.

A code not in the table: retried when EC2 answered 5xx, reported as `write-refused` otherwise.
"""
from __future__ import annotations

import re

from rules.records import record

RETRY, CONSISTENCY, PERMISSION = "retry", "consistency", "permission"

# What each refused write becomes, besides the specific rows below.
REFUSED = "write-refused"
NOT_FOUND = "resource-not-found"

_THROTTLES = ("RequestLimitExceeded", "Throttling", "ThrottlingException", "ThrottledException",
              "RequestThrottled", "RequestThrottledException", "TooManyRequestsException",
              "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException")
_SERVER = ("InternalError", "InternalFailure", "ServerInternal", "ServiceUnavailable", "Unavailable",
           "RetryableError", "InsufficientAddressCapacity", "InsufficientCapacity", "RequestTimeout",
           "RequestTimeoutException")
_NOT_FOUND = ("InvalidVpcID.NotFound", "InvalidSubnetID.NotFound", "InvalidSubnetId.NotFound",
              "InvalidSubnet", "InvalidRouteTableID.NotFound", "InvalidRouteTableId.NotFound",
              "InvalidVpcEndpointId.NotFound", "InvalidVpcEndpoint.NotFound", "InvalidPrefixListID.NotFound")
_MALFORMED = ("InvalidVpcID.Malformed", "InvalidSubnetID.Malformed", "InvalidRouteTableId.Malformed",
              "InvalidVpcEndpointId.Malformed", "InvalidGroupId.Malformed", "InvalidSecurityGroupId.Malformed",
              "InvalidPermission.Malformed", "InvalidParameter", "InvalidParameterValue",
              "InvalidParameterCombination", "InvalidParameterDependency", "ClientInvalidParameterValue",
              "MissingParameter", "UnknownParameter", "InvalidVpcEndpointType", "DuplicateSubnetsInSameZone",
              "InvalidPolicyDocument", "InvalidGroup.Reserved", "InvalidClientToken", "InvalidRequest",
              "InvalidInput", "ValidationError", "InvalidCharacter", "InvalidAction", "MalformedQueryString",
              "InvalidQueryParameter", "MissingAction")
_REFUSED = ("IdempotentParameterMismatch", "DryRunOperation", "TagPolicyViolation", "TagLimitExceeded",
            "InvalidState", "IncorrectState", "OperationNotPermitted", "UnsupportedOperation", "Unsupported",
            "InvalidVpcState", "InsufficientFreeAddressesInSubnet", "OptInRequired", "PendingVerification",
            "Blocked", "AccountDisabled", "UnsupportedProtocol", "InvalidGroup.InUse")

# error code -> RETRY | CONSISTENCY | PERMISSION | finding kind (a row of fixes.PROBLEMS)
WRITE_ERRORS: dict[str, str] = {
    **dict.fromkeys(_THROTTLES, RETRY),
    **dict.fromkeys(_SERVER, RETRY),
    "ConcurrentTagAccess": RETRY,
    "RequestExpired": RETRY,
    "InvalidGroup.NotFound": CONSISTENCY,
    "InvalidSecurityGroupID.NotFound": CONSISTENCY,
    **dict.fromkeys(("UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "AuthFailure",
                     "Client.UnauthorizedOperation"), PERMISSION),
    **dict.fromkeys(_NOT_FOUND, NOT_FOUND),
    **dict.fromkeys(_MALFORMED, REFUSED),
    **dict.fromkeys(_REFUSED, REFUSED),
    "InvalidServiceName": "endpoint-service-invalid",
    "InvalidVpcEndpointService.NotFound": "endpoint-service-invalid",
    "InvalidVpcEndpointServiceId.NotFound": "endpoint-service-invalid",
    "VpcEndpointLimitExceeded": "endpoint-quota-reached",
    "SecurityGroupLimitExceeded": "security-group-quota-reached",
    "RulesPerSecurityGroupLimitExceeded": "security-group-quota-reached",
    "SecurityGroupsPerInterfaceLimitExceeded": "security-group-quota-reached",
}

# (code, pattern in EC2's message, case-insensitive) -> finding kind: refinements the code alone
# cannot tell. Sources, compiled (and cached by `re`) at the first failed write, not at every cold start.
MESSAGE_RULES: tuple[tuple[str, str, str], ...] = (
    ("UnauthorizedOperation", r"does not support shared VPCs", "shared-vpc-participant"),
    ("InvalidParameter", r"conflicting DNS domain", "private-dns-conflict"),
    ("InvalidParameterValue", r"conflicting DNS domain", "private-dns-conflict"),
)


@record
class Verdict:
    """What to do with one failed write: `RETRY`, `PERMISSION`, or the finding kind to raise."""

    handling: str
    code: str
    message: str


def classify(code: str, message: str = "", http_status: int = 400, just_created: bool = False) -> Verdict:
    """The table's answer for one error; `just_created`: the group it names was made by this run."""
    clean = safe_message(message)
    for rule_code, pattern, kind in MESSAGE_RULES:
        if code == rule_code and re.search(pattern, message or "", re.IGNORECASE):
            return Verdict(kind, code, clean)
    handling = WRITE_ERRORS.get(code)
    if handling is None:
        handling = RETRY if http_status >= 500 else REFUSED
    if handling == CONSISTENCY:
        handling = RETRY if just_created else NOT_FOUND
    return Verdict(handling, code, clean)


_UNSAFE = r"[^\x20-\x7e]+"


def safe_message(message: str, limit: int = 300) -> str:
    """EC2's message as one printable line (no control characters), cut to `limit` characters."""
    line = re.sub(_UNSAFE, " ", message or "").strip()
    return line if len(line) <= limit else line[: limit - 3] + "..."
