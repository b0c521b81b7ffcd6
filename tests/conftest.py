"""Shared fixtures: dummy credentials always, an in-process moto account on request."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach AWS: fake credentials, no profile, one region."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(autouse=True)
def _cold_container() -> Iterator[None]:
    """Each test is a cold Lambda container: the queue handler's memory of recent launches is
    module-level (it lives across warm invocations), so it is emptied around every test."""
    from vpce_remediator.batch import CONTAINER_MEMORY
    from vpce_remediator.engine import _ORGANIZATIONS
    from vpce_remediator.guardduty import forget
    from vpce_remediator.registries import forget as forget_cache_rules

    CONTAINER_MEMORY.clear()
    _ORGANIZATIONS.clear()
    forget()
    forget_cache_rules()
    yield
    CONTAINER_MEMORY.clear()
    _ORGANIZATIONS.clear()
    forget()
    forget_cache_rules()


@pytest.fixture
def aws() -> Iterator[Any]:
    """An in-process moto account; yields the boto3 module (clients are made after the mock starts)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """One `moto_server` on 127.0.0.1 for every CLI test (each empties it first): the CLI runs as
    a separate process, as a user runs it."""
    from moto_server import running_moto_server

    with running_moto_server() as url:
        yield url


@pytest.fixture
def account(server: str) -> Any:
    """The server's account, emptied, with boto3 clients pointed at it."""
    from moto_server import reset

    reset(server)

    class Account:
        url = server

        @staticmethod
        def client(name: str) -> Any:
            import boto3

            return boto3.client(name, region_name="us-east-1", endpoint_url=server)

    return Account
