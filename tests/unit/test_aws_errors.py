"""`aws.error_code` / `aws.error_message`: what every `except ClientError` branches on."""
from __future__ import annotations

from botocore.exceptions import ClientError

from vpce_remediator.aws import error_code, error_message


def refused(error: dict[str, str]) -> ClientError:
    return ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "CreateVpcEndpoint")


def test_the_code_and_message_are_the_ones_aws_sent() -> None:
    e = refused({"Code": "InvalidGroup.Duplicate", "Message": "The security group already exists"})

    assert (error_code(e), error_message(e)) == ("InvalidGroup.Duplicate", "The security group already exists")


def test_a_response_without_an_error_gives_empty_strings() -> None:
    e = ClientError({}, "CreateVpcEndpoint")

    assert (error_code(e), error_message(e)) == ("", "")
