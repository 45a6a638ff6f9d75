"""GET / and GET /api/health."""

from __future__ import annotations

import os

import boto3

from skills_ideas import __version__
from skills_ideas.routes import ROUTES
from tests.support import event, invoke


def test_index_lists_every_route_of_the_manifest(aws):
    # Given the API
    # When a client asks for its index
    status, body = invoke("api_index", event("GET", "/"))
    # Then it answers the legacy shape with every endpoint of the manifest, in order
    assert status == 200
    assert body["success"] is True
    assert body["message"] == "Skills & Ideas API"
    assert body["version"] == __version__
    assert body["endpoints"] == [f"{r.method} {r.path}" for r in ROUTES]
    assert len(body["endpoints"]) == len(ROUTES) == len(set(body["endpoints"]))


def test_health_is_ok_when_the_table_answers(aws):
    # Given a reachable table
    # When health is checked
    status, body = invoke("health", event("GET", "/api/health"))
    # Then the service says it is ok
    assert status == 200
    assert body["success"] is True
    assert body["status"] == "ok"
    assert body["checks"]["table"] == "ok"


def test_health_is_degraded_with_503_when_the_table_is_missing(aws):
    # Given the table is gone
    boto3.client("dynamodb").delete_table(TableName=os.environ["TABLE_NAME"])
    # When health is checked
    status, body = invoke("health", event("GET", "/api/health"))
    # Then it answers 503 "degraded" in the failure envelope, naming the failing check
    assert status == 503
    assert body["success"] is False
    assert body["status"] == "degraded"
    assert body["checks"]["table"] == "unreachable"
