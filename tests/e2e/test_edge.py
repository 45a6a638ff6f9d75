"""Where the API meets its clients: cached skill reads, an admin's edit reaching readers, and
the authorizer's answers; locally (make test) and through a stage's CloudFront (make e2e).
Then the edge's own defences, on a deployed stage only."""

from __future__ import annotations

import os
import urllib.parse

import pytest

from tests.e2e import mode

from .conftest import unique

NO_TOKEN = {"success": False, "message": "No token, authorization denied"}
BAD_TOKEN = {"success": False, "message": "Token is not valid"}

pytestmark = pytest.mark.dynamodb_local  # locally, the API runs on DynamoDB Local


@pytest.mark.parametrize("path", ["/api/skills", "/api/skills/1", "/api/skills/categories"])
def test_skill_reads_are_cacheable_and_revalidate_with_304(api, path):
    # When a client reads, then revalidates what it holds
    first = api.request("GET", path)
    assert first.status == 200, first.raw
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    again = api.request("GET", path, headers={"If-None-Match": etag})
    # Then the unchanged representation costs no body
    assert (again.status, again.raw, again.headers["etag"]) == (304, b"", etag)
    # and a stale ETag gets the full answer
    stale = api.request("GET", path, headers={"If-None-Match": '"not-the-current-etag"'})
    assert stale.status == 200 and stale.body == first.body


def test_an_admin_edit_reaches_readers_and_a_plain_user_cannot_edit(api, admin_token):
    name = unique("Zig")
    skill = {"name": name, "category": "Programming Language", "proficiency": "Beginner", "description": "e2e"}
    # A plain user may not write
    _, user_token = api.new_user("reader")
    refused = api.request("POST", "/api/skills", skill, token=user_token)
    assert refused.status == 403 and refused.body["success"] is False
    # An admin may
    created = api.request("POST", "/api/skills", skill, token=admin_token)
    assert created.status == 201, created.raw
    skill_id = created.body["data"]["id"]
    try:
        # Readers see it at once, through the edge, wherever they ask for it first
        by_id = api.request("GET", f"/api/skills/{skill_id}")
        assert (by_id.status, by_id.body["data"]["name"]) == (200, name)
        searched = api.request("GET", "/api/skills", query={"q": name})
        assert [s["id"] for s in searched.body["data"]] == [skill_id]
        assert searched.headers["etag"]
    finally:
        # Leave the catalogue as it was
        deleted = api.request("DELETE", f"/api/skills/{skill_id}", token=admin_token)
        assert deleted.status == 200, deleted.raw


def test_the_authorizer_answers_in_the_envelope(api):
    _, token = api.new_user("auth")
    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload[:-2] + ("AA" if not payload.endswith("AA") else "BB"), signature])
    assert (api.request("GET", "/api/me").status, api.request("GET", "/api/me").body) == (401, NO_TOKEN)
    for bad in (tampered, "garbage", token + "x"):
        reply = api.request("GET", "/api/me", token=bad)
        assert (reply.status, reply.body) == (401, BAD_TOKEN), bad
    assert api.request("GET", "/api/me", token=token).status == 200


# ------------------------------------------------------------------ a deployed stage's edge
@pytest.mark.deployed_only
def test_the_execute_api_url_refuses_requests_that_did_not_come_through_cloudfront(api):
    # The edge's limits and rules cannot be skipped by calling the stage directly.
    direct = os.environ.get(mode.DIRECT_URL)
    assert direct, f"{mode.DIRECT_URL} unset: run make e2e"
    parsed = urllib.parse.urlsplit(direct)
    client = type(api).at(f"{parsed.scheme}://{parsed.netloc}")
    reply = client.request("GET", parsed.path.rstrip("/") + "/api/health")
    assert (reply.status, reply.body) == (403, {"success": False, "message": "Forbidden"})
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["content-type"].startswith("application/json")


@pytest.mark.deployed_only
def test_the_edge_blocks_an_attack_in_the_json_envelope(api):
    reply = api.request("GET", "/api/skills", query={"q": "<script>alert(document.cookie)</script>"})
    assert (reply.status, reply.body) == (403, {"success": False, "message": "Request blocked"})
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["content-type"].startswith("application/json")


@pytest.mark.deployed_only
def test_requests_without_a_user_agent_and_long_descriptions_pass_the_edge(api):
    # Legacy clients send no User-Agent (the contract client sends none either), and a
    # 5,000-character description in a non-Latin script is well over 8 KB of JSON.
    _, token = api.new_user("long")
    description = "説明" * 2500
    reply = api.request("POST", "/api/ideas", {"title": "Long", "description": description}, token=token)
    assert reply.status == 201, reply.raw
    assert api.request("DELETE", f"/api/ideas/{reply.body['data']['id']}", token=token).status == 200


@pytest.mark.deployed_only
def test_cloudfront_adds_the_security_headers(api):
    reply = api.request("GET", "/api/health")
    assert reply.status == 200
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
    assert "max-age=" in reply.headers["strict-transport-security"]
