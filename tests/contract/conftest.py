"""HTTP contract tests: the local API Gateway on a free port, in a thread, in front of the
real handlers, with DynamoDB Local (AWS's engine) and S3 (moto) behind it. Requests go over
real HTTP, through the REQUEST authorizer for protected routes, exactly as a client sends them.

With ``E2E_BASE_URL`` set (``make e2e``), the same tests run against a deployed stage instead
(tests/e2e/mode.py); tests marked ``local_only`` are left out there."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from skills_ideas_tools.gateway import running_gateway
from skills_ideas_tools.local_env import LocalServices, local_stack
from tests.e2e import mode
from tests.support import isolated_handler, reset_warm_state


def pytest_configure(config: pytest.Config) -> None:
    mode.register_markers(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mode.deselect_for_mode(config, items)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)


@dataclass
class Api:
    """A client of the running API: the local one (with its services) or a deployed stage."""

    host: str
    port: int
    services: LocalServices | None
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @classmethod
    def at(cls, base_url: str) -> Api:
        parsed = urllib.parse.urlsplit(base_url)
        assert parsed.hostname and not parsed.path.strip("/"), f"a base URL without a path, not {base_url!r}"
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        return cls(parsed.hostname, port, None, parsed.scheme)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        query: dict[str, str] | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if data else {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        connection_class = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(self.host, self.port, timeout=30)
        try:
            connection.request(method, target, body=data, headers=all_headers)
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    # ---- the few calls most tests start from
    def register(self, username: str, password: str = "correct-horse-9") -> Reply:
        return self.request("POST", "/api/register", {"username": username, "password": password})

    def login(self, username: str, password: str = "correct-horse-9") -> Reply:
        return self.request("POST", "/api/login", {"username": username, "password": password})

    def new_user(self, prefix: str = "user") -> tuple[str, str]:
        """Register and log in a fresh user; returns (user id, token)."""
        name = unique(prefix)
        registered = self.register(name)
        assert registered.status == 201, registered.raw
        logged_in = self.login(name)
        assert logged_in.status == 200, logged_in.raw
        return registered.body["data"]["id"], logged_in.body["token"]


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="package")
def api(tmp_path_factory) -> Iterator[Api]:
    """The API over HTTP for the whole contract package (DynamoDB Local; fails without Java),
    or the deployed stage at E2E_BASE_URL."""
    deployed = mode.deployed_url()
    if deployed:
        yield Api.at(deployed)
        return
    reset_warm_state()
    try:
        with (
            local_stack(tmp_path_factory.mktemp("contract-state"), engine="java", reuse=False) as services,
            running_gateway(lambda function: isolated_handler(function, "_contract")) as gateway,
        ):
            yield Api(gateway.host, gateway.port, services)
    finally:
        reset_warm_state()
