"""Parse the strings a task definition points with: image references and ARNs."""
from __future__ import annotations

import re
from typing import Literal

from rules.partitions import dns_suffixes
from rules.records import record

# Private ECR: ACCOUNT.dkr.ecr[-fips].REGION.DNS-SUFFIX/repo, in every partition's DNS suffix
# (amazonaws.com, amazonaws.com.cn, amazonaws.eu, c2s.ic.gov, sc2s.sgov.gov...: rules/partitions.py),
# and the dual-stack ACCOUNT.dkr-ecr[-fips].REGION.on.aws/repo form.
_HOSTS = sorted((*dns_suffixes(), "on.aws"), key=lambda h: (-len(h), h))
_ECR = re.compile(
    r"^(?P<account>\d{12})\.dkr(?:\.ecr|-ecr)(?:-fips)?\.(?P<region>[a-z0-9-]+)"
    r"\.(?:" + "|".join(re.escape(h) for h in _HOSTS) + r")(?::\d+)?/"
)

# Registries on the public internet that no VPC endpoint can serve, mapped to the upstream URL an
# ECR pull-through cache rule takes and whether that upstream requires stored credentials. A key
# `*.SUFFIX` stands for every registry host under SUFFIX: its upstream URL is the host itself, its
# prefix the row's followed by the registry's name (one rule per upstream registry).
PUBLIC_REGISTRIES: dict[str, tuple[str, str, bool]] = {
    # host: (pull-through cache prefix, upstream registry URL, credentials required)
    "docker.io": ("docker-hub", "registry-1.docker.io", True),
    "registry-1.docker.io": ("docker-hub", "registry-1.docker.io", True),
    "index.docker.io": ("docker-hub", "registry-1.docker.io", True),
    "public.ecr.aws": ("ecr-public", "public.ecr.aws", False),
    "quay.io": ("quay", "quay.io", False),
    "ghcr.io": ("github", "ghcr.io", True),
    "registry.k8s.io": ("kubernetes", "registry.k8s.io", False),
    "registry.gitlab.com": ("gitlab", "registry.gitlab.com", True),
    # Microsoft Azure Container Registry: upstream `<registry>.azurecr.io`, with credentials (ECR
    # API reference, CreatePullThroughCacheRule `upstreamRegistryUrl`: "azure-container-registry").
    "*.azurecr.io": ("azure", "", True),
    "mcr.microsoft.com": ("", "", False),  # no pull-through cache upstream: mirror or NAT
    "gcr.io": ("", "", False),
}


@record
class ImageRef:
    """Where an image is pulled from."""

    image: str
    registry: str  # host, "docker.io" for short Docker Hub names
    kind: Literal["ecr", "public", "other"]
    region: str | None = None  # ECR only
    account: str | None = None  # ECR only


def pull_through_upstream(host: str) -> tuple[str, str, bool] | None:
    """(pull-through cache prefix, upstream registry URL, credentials required) of a public registry
    host (prefix and URL "" where no pull-through cache serves it); None for any other host."""
    if host in PUBLIC_REGISTRIES:
        return PUBLIC_REGISTRIES[host]
    for pattern, (prefix, _, credentials) in PUBLIC_REGISTRIES.items():
        suffix = pattern[1:]  # ".azurecr.io" of "*.azurecr.io"
        if pattern.startswith("*.") and host.endswith(suffix) and len(host) > len(suffix):
            # ECR prefixes are 2-30 characters of the repository-name format.
            name = re.sub(r"[^a-z0-9]+", "-", host[:-len(suffix)]).strip("-")
            return f"{prefix}-{name}"[:30].rstrip("-"), host, credentials
    return None


def parse_image(image: str) -> ImageRef:
    """Classify an image reference by the registry that serves it."""
    match = _ECR.match(image)
    if match:
        return ImageRef(image, image.split("/", 1)[0], "ecr", match["region"], match["account"])
    first, sep, _ = image.partition("/")
    # Docker's rule: the first component is a registry host only if it has a dot or a port or
    # is "localhost"; otherwise the image lives on Docker Hub ("nginx", "bitnami/redis").
    host = "docker.io" if not sep or not ("." in first or ":" in first or first == "localhost") else first.lower()
    return ImageRef(image, host, "public" if pull_through_upstream(host) is not None else "other")


@record
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(value: str) -> Arn | None:
    """Split an ARN into its parts; None when the string is not an ARN."""
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])
