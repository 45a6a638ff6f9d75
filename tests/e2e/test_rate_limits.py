"""A deployed stage's per-client limit, answered in the envelope. It runs last (make e2e orders
it so): it blocks registrations from this machine's address for the window (5 minutes)."""

from __future__ import annotations

import http.client
import json
import os

import pytest

from tests.e2e import mode

pytestmark = pytest.mark.deployed_only


def _limits():
    from infra.config import STAGES

    return STAGES[os.environ.get(mode.STAGE, "dev")].client_limits


def test_one_client_over_the_registration_limit_gets_429_in_the_envelope(api):
    limits = _limits()
    # Given one client that keeps registering (invalid bodies: no user is created)
    connection_class = http.client.HTTPSConnection if api.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(api.host, api.port, timeout=30)
    statuses: list[int] = []
    try:
        # WAF counts over its window and acts within about a minute: send until it does, or
        # give up after ten times the limit.
        for _ in range(limits.registrations * 10):
            connection.request("POST", "/api/register", body=b"{}", headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            raw = response.read()
            statuses.append(response.status)
            if response.status == 429:
                break
            assert response.status == 400, raw  # the API's own answer to an empty body
    finally:
        connection.close()
    # Then it is stopped with the envelope and told when to come back
    assert statuses[-1] == 429, f"no 429 after {len(statuses)} registrations (limit {limits.registrations})"
    assert json.loads(raw) == {"success": False, "message": "Too many requests, please try again later"}
    assert response.getheader("Retry-After") == str(limits.window_seconds)
    assert response.getheader("X-Content-Type-Options") == "nosniff"
