"""The formats AWS gives the names and ids a fix command carries. Pure: no boto3.

A value read from a task definition, an event or a tag was written by someone else; before it goes
into a printed command it must look like what AWS would accept there. Each check is a full match
of the format the API reference documents (CreateLogGroup, CreateRepository, PutParameter,
CreateSecret, CreatePullThroughCacheRule, the EC2 resource ids), so a value that passes can hold
no shell syntax beyond what quoting already neutralises.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

_PARTITION = r"aws(?:-cn|-us-gov|-iso(?:-[a-z])?|-iso[a-z])?"
_REGION = r"[a-z]{2,4}(?:-[a-z]+){1,3}-\d{1,2}"  # eusc-de-east-1 has four letters first
_ACCOUNT = r"\d{12}"
# ECR repository names and pull-through prefixes: lowercase path components separated by "/".
_ECR_PATH = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
_SECRET_NAME = r"[A-Za-z0-9/_+=.@-]{1,512}"
_PARAMETER_NAME = r"[A-Za-z0-9_.\-/]{1,2048}"
_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"

# Compiled when first used (`_pattern`): compiling them all cost ~1 ms of every cold start, and an
# event uses a few, or none when it has nothing to fix.
_SOURCES: dict[str, str] = {
    "region": _REGION,
    "account": _ACCOUNT,
    # arn:partition:service:region:account:resource; region and account may be empty (S3, IAM).
    "arn": rf"arn:{_PARTITION}:[a-z0-9-]{{1,64}}:(?:{_REGION})?:(?:{_ACCOUNT}|aws)?:[!-~]{{1,1900}}",
    # Secrets Manager: ...:secret:NAME-SUFFIX, optionally :json-key:version-stage:version-id (ECS).
    "secret_arn": rf"arn:{_PARTITION}:secretsmanager:{_REGION}:{_ACCOUNT}:secret:{_SECRET_NAME}"
                  r"(?::[A-Za-z0-9_+=.@/-]*){0,3}",
    "secret_name": _SECRET_NAME,
    "parameter_arn": rf"arn:{_PARTITION}:ssm:{_REGION}:{_ACCOUNT}:parameter/?{_PARAMETER_NAME}",
    "parameter_name": _PARAMETER_NAME,
    "log_group": r"[.\-_/#A-Za-z0-9]{1,512}",
    "ecr_repository": _ECR_PATH,
    "ecr_prefix": _ECR_PATH,
    "hostname": rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})+",
    "endpoint_service": r"[a-z0-9]+(?:[.-][a-z0-9]+)*",
    "iam_action": r"[a-z0-9-]{1,64}:[A-Za-z0-9*]{1,128}",
    "stream_name": r"[a-zA-Z0-9_.-]{1,128}",
    "bucket_name": r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    # EFS API reference, CreateMountTarget FileSystemId (the id form; ECS takes the id).
    "efs_file_system": r"fs-[0-9a-f]{8,40}",
}

_EC2_PREFIXES = ("vpc", "subnet", "sg", "vpce", "rtb", "acl", "pl", "dopt")


_COMPILED: dict[str, re.Pattern[str]] = {}


def _pattern(kind: str) -> re.Pattern[str]:
    pattern = _COMPILED.get(kind)
    if pattern is None:
        pattern = _COMPILED[kind] = re.compile(_SOURCES[kind])
    return pattern


def _matches(kind: str, value: str, lo: int = 1, hi: int = 4096) -> bool:
    return lo <= len(value) <= hi and _pattern(kind).fullmatch(value) is not None


def is_region(value: str) -> bool:
    """us-east-1, us-gov-west-1, cn-north-1, eu-isoe-west-1, eusc-de-east-1 ..."""
    return _matches("region", value, 9, 25)


def is_account(value: str) -> bool:
    return _matches("account", value, 12, 12)


def is_arn(value: str) -> bool:
    """arn:partition:service:region:account:resource (printable ASCII, no spaces, at most 2048)."""
    return _matches("arn", value, 1, 2048)


def is_ec2_id(value: str, prefix: str) -> bool:
    """An EC2 resource id: `prefix-` then 8 or 17 lowercase hex digits (vpc-, subnet-, sg-, vpce-, rtb-, acl-,
    dopt-)."""
    if prefix not in _EC2_PREFIXES:
        raise ValueError(f"unknown EC2 id prefix {prefix!r}")
    head, sep, tail = value.partition("-")
    return (head == prefix and sep == "-" and len(tail) in (8, 17)
            and all(c in "0123456789abcdef" for c in tail))


def is_secret_arn(value: str) -> bool:
    """A Secrets Manager secret ARN as ECS takes it in `valueFrom` (with an optional JSON key suffix)."""
    return _matches("secret_arn", value, 1, 2048)


def is_secret_name(value: str) -> bool:
    """ASCII letters, digits and /_+=.@-, 1-512 characters (CreateSecret `Name`)."""
    return _matches("secret_name", value, 1, 512)


def is_parameter_name(value: str) -> bool:
    """a-zA-Z0-9_.- and "/" for hierarchies, at most 2048 characters (PutParameter `Name`)."""
    return _matches("parameter_name", value, 1, 2048) and "//" not in value


def is_parameter_arn(value: str) -> bool:
    return _matches("parameter_arn", value, 1, 2048) and "//" not in value.split(":", 5)[5]


def is_log_group(value: str) -> bool:
    """1-512 characters of [.-_/#A-Za-z0-9] (CreateLogGroup `logGroupName`)."""
    return _matches("log_group", value, 1, 512)


def is_ecr_repository(value: str) -> bool:
    """Lowercase components separated by "/", 2-256 characters (CreateRepository `repositoryName`)."""
    return _matches("ecr_repository", value, 2, 256)


def is_ecr_prefix(value: str) -> bool:
    """A pull-through cache repository prefix: the repository-name format, 2-30 characters."""
    return _matches("ecr_prefix", value, 2, 30)


def is_upstream_registry(value: str) -> bool:
    """An upstream registry URL as the pull-through cache rule takes it: a lowercase host name."""
    return _matches("hostname", value, 3, 253)


def is_stream_name(value: str) -> bool:
    """A Kinesis data stream or Firehose stream name: 1-128 of [a-zA-Z0-9_.-] (CreateStream `StreamName`)."""
    return _matches("stream_name", value, 1, 128)


def is_bucket_name(value: str) -> bool:
    """An S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end
    (S3 user guide, general purpose bucket naming rules)."""
    return _matches("bucket_name", value, 3, 63) and ".." not in value


def is_endpoint_service(value: str) -> bool:
    """com.amazonaws.REGION.SERVICE (or cn.com..., aws.sagemaker...): lowercase dotted words."""
    return _matches("endpoint_service", value, 3, 255)


def is_efs_file_system_id(value: str) -> bool:
    """fs- and 8 to 40 lowercase hex digits (the EFS API's FileSystemId pattern, id form)."""
    return _matches("efs_file_system", value, 11, 43)


def is_iam_action(value: str) -> bool:
    return _matches("iam_action", value, 3, 200)


def is_cidr(value: str) -> bool:
    if not value or value.strip() != value or "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Untrusted text (account names, AWS messages, event values) as it may be printed on a
    terminal: every C0 and C1 control character replaced by "?"."""
    return _UNPRINTABLE.sub("?", text)


def safe_repr(value: str, limit: int = 60) -> str:
    """The value for a message: ASCII-escaped (no newline, quote or control character survives
    unescaped), cut at `limit` characters."""
    cut = value[:limit]
    return ascii(cut) + ("..." if len(value) > limit else "")


Check = Callable[[str], bool]


def ec2_id(prefix: str) -> Check:
    def check(value: str) -> bool:
        return is_ec2_id(value, prefix)
    check.__name__ = f"is_{prefix}_id"
    return check
