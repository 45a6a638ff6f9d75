"""Over HTTP: the index, health, unknown routes and methods, register, login, me and the
authorizer's 401s, and the race on one username."""

from __future__ import annotations

import threading
import time

import jwt
import pytest

from skills_ideas import tokens
from skills_ideas.routes import ROUTES

from .conftest import unique

NO_TOKEN = {"success": False, "message": "No token, authorization denied"}
BAD_TOKEN = {"success": False, "message": "Token is not valid"}

pytestmark = pytest.mark.dynamodb_local  # the API runs on DynamoDB Local


def test_index_lists_every_endpoint_of_the_manifest(api):
    # When a client opens the API's root
    reply = api.request("GET", "/")
    # Then it gets the legacy index as JSON, with every endpoint
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.body["success"] is True
    assert reply.body["message"] and reply.body["version"]
    assert reply.body["endpoints"] == [route.signature for route in ROUTES]


def test_health_reports_the_table_answers(api):
    reply = api.request("GET", "/api/health")
    assert reply.status == 200
    assert reply.body["status"] == "ok" and reply.body["checks"]["table"] == "ok"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/nothing"),
        ("GET", "/api"),
        ("POST", "/api/users"),
        ("GET", "/api/ideas/1/comments"),
        ("GET", "/api/skills/1/extra"),
    ],
)
def test_an_unknown_route_is_404_route_not_found(api, method, path):
    reply = api.request(method, path)
    assert (reply.status, reply.body) == (404, {"success": False, "message": "Route not found"})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/health"),
        ("DELETE", "/api/register"),
        ("GET", "/api/login"),
        ("POST", "/api/me"),
    ],
)
def test_a_known_path_with_the_wrong_method_is_405(api, method, path):
    reply = api.request(method, path)
    assert reply.status == 405
    assert reply.body["success"] is False
    assert method not in reply.headers["allow"]


# ------------------------------------------------------------------ register
def test_register_then_login_then_me(api):
    # Given a new user registers
    name = unique("Ada")
    registered = api.register(name)
    assert registered.status == 201
    assert registered.body["message"] == "User registered successfully"
    assert registered.body["data"]["username"] == name
    user_id = registered.body["data"]["id"]
    # When they log in with the name in another case
    logged_in = api.login(name.lower())
    # Then they get a 24 h token and their public profile
    assert logged_in.status == 200
    assert logged_in.body["message"] == "Login successful"
    assert logged_in.body["expiresIn"] == 86400
    assert logged_in.body["user"] == {"id": user_id, "username": name}
    # And the token opens /api/me
    me = api.request("GET", "/api/me", token=logged_in.body["token"])
    assert me.status == 200
    assert me.body["data"]["id"] == user_id
    assert me.body["data"]["username"] == name
    assert me.body["data"]["role"] == "user"
    assert me.body["data"]["createdAt"]


@pytest.mark.parametrize("body", [{}, {"username": "someone"}, {"password": "correct-horse-9"}])
def test_register_without_credentials_is_400_with_the_legacy_message(api, body):
    reply = api.request("POST", "/api/register", body)
    assert (reply.status, reply.body) == (400, {"success": False, "message": "Username and password are required"})


def test_register_with_a_short_password_or_a_bad_name_is_400(api):
    assert api.register(unique("pw"), "short").status == 400
    assert api.register("no spaces allowed", "correct-horse-9").status == 400


def test_register_a_taken_name_in_another_case_is_409(api):
    name = unique("Grace")
    assert api.register(name).status == 201
    reply = api.register(name.upper())
    assert (reply.status, reply.body) == (409, {"success": False, "message": "User already exists"})


@pytest.mark.parametrize("raw", [b"{not json", b"[1]", b"\xff\xfe\x00binary"])
def test_register_with_a_body_that_is_not_a_json_object_is_400(api, raw):
    # (a non-UTF-8 body reaches the handler base64-encoded, as API Gateway sends it)
    reply = api.request("POST", "/api/register", raw=raw, headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.body["success"] is False


@pytest.mark.local_only  # reads the table / signs with the local key
def test_concurrent_registrations_of_one_name_over_http_create_exactly_one_user(api):
    # Given ten clients about to register one name in different letter cases
    name = unique("racer")
    spellings = [name, name.upper(), name.capitalize(), name.swapcase()] * 2 + [name, name.title()]
    start = threading.Barrier(len(spellings))
    replies = []

    def attempt(spelling: str) -> None:
        start.wait()
        replies.append(api.register(spelling))

    # When they all send their request at once
    threads = [threading.Thread(target=attempt, args=(spelling,)) for spelling in spellings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one gets 201 and all the others 409 User already exists
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [201] + [409] * (len(spellings) - 1), [r.raw for r in replies]
    assert {reply.body["message"] for reply in replies if reply.status == 409} == {"User already exists"}
    # And there is exactly one such user: the winner, who can log in under any case
    winner = next(reply for reply in replies if reply.status == 201).body["data"]
    users = [
        item
        for page in api.services.client("dynamodb").get_paginator("scan").paginate(TableName=api.services.table_name)
        for item in page["Items"]
        if item.get("usernameLower", {}).get("S") == name.lower()
    ]
    assert [u["userId"]["S"] for u in users] == [winner["id"]]
    assert api.login(name.swapcase()).body["user"] == winner


# ------------------------------------------------------------------ login
def test_unknown_user_and_wrong_password_get_the_same_401(api):
    name = unique("kim")
    assert api.register(name).status == 201
    wrong, unknown = api.login(name, "wrong-password!"), api.login(unique("nobody"))
    assert wrong.status == unknown.status == 401
    assert wrong.body == unknown.body == {"success": False, "message": "Invalid credentials"}


def test_login_without_credentials_is_400(api):
    reply = api.request("POST", "/api/login", {"username": "x"})
    assert (reply.status, reply.body) == (400, {"success": False, "message": "Username and password are required"})


# ------------------------------------------------------------------ the authorizer in front
def forged(api, **changes) -> str:
    now = int(time.time())
    claims = {
        "sub": "u-forged",
        "username": "x",
        "role": "user",
        "iat": now,
        "exp": now + 600,
        "iss": "skills-ideas",
        "aud": "skills-ideas-api",
        **changes,
    }
    return jwt.encode(claims, api.services.env()["JWT_SECRET"], algorithm="HS256")


def test_a_protected_route_without_a_token_is_401_no_token(api):
    for method, path in (("GET", "/api/me"), ("POST", "/api/ideas"), ("DELETE", "/api/ideas/1")):
        reply = api.request(method, path, {"title": "x"} if method == "POST" else None)
        assert (reply.status, reply.body) == (401, NO_TOKEN), (method, path)


@pytest.mark.local_only  # reads the table / signs with the local key
def test_a_bad_expired_or_tampered_token_is_401_token_is_not_valid(api):
    # Given a genuine token, and variants of it
    _, token = api.new_user("tok")
    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload[:-2] + ("AA" if not payload.endswith("AA") else "BB"), signature])
    for bad in (
        tampered,
        forged(api, exp=int(time.time()) - 2 * tokens.CLOCK_SKEW_SECONDS),  # expired beyond the tolerated skew
        forged(api, aud="elsewhere"),
        "garbage",
        jwt.encode({"sub": "u"}, "k" * 40, algorithm="HS256"),
    ):
        # When one of them is sent
        reply = api.request("GET", "/api/me", token=bad)
        # Then the gateway answers 401 Token is not valid, and the handler never ran
        assert (reply.status, reply.body) == (401, BAD_TOKEN), bad
    # And the genuine token still works
    assert api.request("GET", "/api/me", token=token).status == 200


@pytest.mark.local_only  # reads the table / signs with the local key
def test_a_valid_token_for_a_deleted_or_unknown_user_cannot_see_a_profile(api):
    # The authorizer finds no live session of that user, so the request never reaches /api/me
    reply = api.request("GET", "/api/me", token=forged(api, sub="u-nobody"))
    assert reply.status == 401
    assert reply.body == {"success": False, "message": "Session has ended; log in again"}
