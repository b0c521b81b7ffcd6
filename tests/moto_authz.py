"""moto's IAM enforcement, with one fix, for the fleet tests (tests/integration/test_fleet_scan.py).

moto 5.2.5 re-signs each request to check its signature, building the canonical request with the
request's query parameters as its body when the body is empty: a GET with a query string
(`route53.ListHostedZonesByVPC?vpcid=...`, which every scan of a VPC missing an endpoint makes)
then never matches what botocore signed (an empty body), and is refused as SignatureDoesNotMatch.
The fix: a GET's canonical request has an empty body, as SigV4 has it. Access keys, session
tokens, signatures and policies are still all checked.

`python tests/moto_authz.py -H 127.0.0.1 -p PORT` runs a moto_server with the fix.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def fix_get_signatures() -> Callable[[], None]:
    """Apply the fix in this process; returns the function that takes it back."""
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase._create_aws_request

    def canonical(self: Any) -> Any:
        if self._method != "GET":
            return original(self)
        data = self._data
        self._data = b""
        try:
            return original(self)
        finally:
            self._data = data

    IAMRequestBase._create_aws_request = canonical

    def undo() -> None:
        IAMRequestBase._create_aws_request = original

    return undo


if __name__ == "__main__":
    from moto.server import main

    fix_get_signatures()
    main(sys.argv[1:])
