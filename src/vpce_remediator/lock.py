"""One remediation per VPC at a time: a DynamoDB conditional write with an expiry.

Two batches may carry events for the same VPC and run at once; each would see the endpoint
missing and create one. Before changing a VPC the engine takes this lock, re-reads the VPC, and
only then acts; the holder's item expires on its own (TTL attribute `expiration`, the same layout
as Powertools idempotency records, so one table serves both) if a function dies holding it.
"""
from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from vpce_remediator.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The table holds the VPC locks, Powertools idempotency records (which also read and update) and
# the launch verdicts shared between containers (read with their epoch in one BatchGetItem).
LOCK_ACTIONS: tuple[str, ...] = ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
                                 "dynamodb:UpdateItem", "dynamodb:BatchGetItem")


class VpcBusy(RuntimeError):
    """Another run holds the VPC's lock for longer than we wait: the record is retried later."""


class VpcLock:
    def __init__(self, dynamodb: DynamoDBClient, table: str, lease_seconds: int = 120, wait_seconds: float = 30.0,
                 poll_seconds: float = 0.5) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.lease = lease_seconds
        self.wait = wait_seconds
        self.poll = poll_seconds
        self.owner = uuid.uuid4().hex  # this invocation
        # The organization path keeps every member account's locks and records in the central
        # table: each account's items are named under its id ("" in a single-account stack).
        self.ns = ""

    def for_account(self, account: str) -> VpcLock:
        """The same lock and record, for one member account's VPCs (the organization path)."""
        other = copy.copy(self)
        other.ns = f"{account}#" if account else ""
        return other

    def key(self, vpc_id: str) -> dict[str, Any]:
        return {"id": {"S": f"vpc-lock#{self.ns}{vpc_id}"}}

    def acquire(self, vpc_id: str) -> None:
        """Take the lock, waiting up to `wait_seconds`; raises `VpcBusy` after that."""
        deadline = time.monotonic() + self.wait
        while True:
            now = int(time.time())
            try:
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item={**self.key(vpc_id), "owner": {"S": self.owner},
                          "expiration": {"N": str(now + self.lease)}},
                    ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                )
                return
            except ClientError as e:
                if error_code(e) != "ConditionalCheckFailedException":
                    raise
            if time.monotonic() >= deadline:
                raise VpcBusy(f"VPC {vpc_id} is being remediated by another run; retry later")
            time.sleep(self.poll)

    # The same table keeps the tool's own record of what it made: an `endpoint#<id>` item per
    # endpoint (so the VPC of a deleted endpoint is known even after EC2 stops describing it) and one
    # `owned#<vpc-id>` item per VPC holding the ids it owns there (a string set of endpoints, its
    # security group), read in one GetItem. Ownership is that record, never a tag (DESIGN.md §6c):
    # the owned item has no expiration, since forgetting would turn the tool's own into foreign.
    RECORD_DAYS = 400

    def owned_key(self, vpc_id: str) -> dict[str, Any]:
        return {"id": {"S": f"owned#{self.ns}{vpc_id}"}}

    def remember(self, resource_id: str, vpc_id: str) -> None:
        """Record a resource the tool just created (an endpoint, or its security group `sg-...`)."""
        if resource_id.startswith("sg-"):
            self.remember_group(resource_id, vpc_id)
            return
        self.dynamodb.put_item(TableName=self.table, Item={
            "id": {"S": f"endpoint#{self.ns}{resource_id}"}, "vpc": {"S": vpc_id},
            "expiration": {"N": str(int(time.time()) + self.RECORD_DAYS * 86400)}})
        self.remember_endpoints([resource_id], vpc_id)

    def remember_endpoints(self, endpoint_ids: Iterable[str], vpc_id: str) -> None:
        ids = sorted(set(endpoint_ids))
        if ids:
            self.dynamodb.update_item(TableName=self.table, Key=self.owned_key(vpc_id),
                                      UpdateExpression="ADD endpoints :ids",
                                      ExpressionAttributeValues={":ids": {"SS": ids}})

    def remember_group(self, group_id: str, vpc_id: str) -> None:
        self.dynamodb.update_item(TableName=self.table, Key=self.owned_key(vpc_id),
                                  UpdateExpression="SET security_group = :g",
                                  ExpressionAttributeValues={":g": {"S": group_id}})

    def owned(self, vpc_id: str) -> tuple[frozenset[str], str | None]:
        """The endpoints and the security group the tool recorded as its own in a VPC."""
        item = self.dynamodb.get_item(TableName=self.table, Key=self.owned_key(vpc_id),
                                      ConsistentRead=True).get("Item") or {}
        return frozenset(item.get("endpoints", {}).get("SS", ())), item.get("security_group", {}).get("S")

    def vpc_of(self, endpoint_id: str) -> str | None:
        item = self.dynamodb.get_item(TableName=self.table, Key={"id": {"S": f"endpoint#{self.ns}{endpoint_id}"}}).get("Item")
        return item["vpc"]["S"] if item and "vpc" in item else None

    def release(self, vpc_id: str) -> None:
        try:
            self.dynamodb.delete_item(TableName=self.table, Key=self.key(vpc_id),
                                      ConditionExpression="#o = :me", ExpressionAttributeNames={"#o": "owner"},
                                      ExpressionAttributeValues={":me": {"S": self.owner}})
        except ClientError as e:
            # Expired and taken over by another run: theirs to release.
            if error_code(e) != "ConditionalCheckFailedException":
                raise
