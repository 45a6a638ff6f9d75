"""Over HTTP, through the local gateway and its REQUEST authorizer (which does not cache, so a
revocation takes effect at once): logout, sessions, password change, account deletion, role
revocation and the login limits."""

from __future__ import annotations

import pytest

from skills_ideas import login_limits, sessions, users
from tests.support import bind_models

from .conftest import unique

pytestmark = pytest.mark.dynamodb_local
ENDED = {"success": False, "message": "Session has ended; log in again"}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    import time

    fake = Clock(time.time())
    monkeypatch.setattr(sessions, "clock", fake)
    monkeypatch.setattr(login_limits, "clock", fake)
    return fake


def test_logout_over_http_refuses_the_token_at_once(api):
    _, token = api.new_user("out")
    assert api.request("GET", "/api/me", token=token).status == 200
    reply = api.request("POST", "/api/logout", token=token)
    assert (reply.status, reply.raw) == (204, b"")
    refused = api.request("GET", "/api/me", token=token)
    assert (refused.status, refused.body) == (401, ENDED)


def test_sessions_are_listed_and_one_can_be_ended(api):
    name = unique("sess")
    assert api.register(name).status == 201
    first = api.login(name).body["token"]
    second = api.login(name).body["token"]
    listed = api.request("GET", "/api/me/sessions", token=second)
    assert listed.status == 200 and listed.body["count"] == 2
    current = [s for s in listed.body["data"] if s["current"]]
    other = [s for s in listed.body["data"] if not s["current"]]
    assert len(current) == 1 and len(other) == 1
    assert api.request("DELETE", f"/api/me/sessions/{other[0]['id']}", token=second).status == 204
    assert api.request("GET", "/api/me", token=first).body == ENDED
    assert api.request("GET", "/api/me", token=second).status == 200
    missing = api.request("DELETE", f"/api/me/sessions/{other[0]['id']}", token=second)
    assert (missing.status, missing.body["message"]) == (404, "Session not found")


def test_another_users_session_is_404_and_stays(api):
    _, mine = api.new_user("mine")
    _, theirs = api.new_user("theirs")
    their_id = api.request("GET", "/api/me/sessions", token=theirs).body["data"][0]["id"]
    assert api.request("DELETE", f"/api/me/sessions/{their_id}", token=mine).status == 404
    assert api.request("GET", "/api/me", token=theirs).status == 200


def test_a_password_change_over_http_ends_the_other_sessions(api):
    name = unique("pw")
    api.register(name)
    here, there = api.login(name).body["token"], api.login(name).body["token"]
    wrong = api.request(
        "PUT", "/api/me/password", {"currentPassword": "nope-nope-1", "newPassword": "new-horse-77"}, token=here
    )
    assert (wrong.status, wrong.body["message"]) == (403, "Password is incorrect")
    changed = api.request(
        "PUT", "/api/me/password", {"currentPassword": "correct-horse-9", "newPassword": "new-horse-77"}, token=here
    )
    assert changed.status == 200 and changed.body["data"]["endedSessions"] == 1
    assert api.request("GET", "/api/me", token=there).body == ENDED
    assert api.request("GET", "/api/me", token=here).status == 200
    assert api.login(name).status == 401
    assert api.login(name, "new-horse-77").status == 200


def test_a_deleted_users_token_and_ideas_are_gone_at_once(api):
    name = unique("gone")
    user_id = api.register(name).body["data"]["id"]
    token = api.login(name).body["token"]
    created = api.request("POST", "/api/ideas", {"title": "Soon gone"}, token=token)
    assert created.status == 201
    reply = api.request("DELETE", "/api/me", {"password": "correct-horse-9"}, token=token)
    assert reply.status == 204
    assert api.request("GET", "/api/me", token=token).body == ENDED
    assert api.request("POST", "/api/ideas", {"title": "ghost"}, token=token).status == 401
    assert api.login(name).status == 401
    assert api.request("GET", "/api/ideas", query={"userId": user_id}).body["data"] == []
    assert api.request("GET", f"/api/ideas/{created.body['data']['id']}").status == 404
    assert all(i["userId"] != user_id for i in api.request("GET", "/api/ideas").body["data"])
    # The name is free for a new account
    assert api.register(name).status == 201


def test_a_revoked_admins_old_token_can_no_longer_edit_the_catalogue(api):
    name = unique("admin")
    api.register(name)
    bind_models()
    users.set_role(name, "admin")
    token = api.login(name).body["token"]
    skill = {"name": unique("Skill"), "category": "Tool", "proficiency": "Beginner", "description": "x"}
    created = api.request("POST", "/api/skills", skill, token=token)
    assert created.status == 201
    # (removed again: other tests compare the catalogue with the legacy one)
    assert api.request("DELETE", f"/api/skills/{created.body['data']['id']}", token=token).status == 200
    users.set_role(name, "user")
    again = {**skill, "name": unique("Skill")}
    refused = api.request("POST", "/api/skills", again, token=token)
    assert refused.status == 403, refused.raw


def test_login_answers_429_after_the_threshold_and_logs_in_after_the_back_off(api, clock):
    name = unique("brute")
    api.register(name)
    for _ in range(login_limits.CLIENT.free_failures):
        assert api.login(name, "wrong-password").status == 401
    locked = api.login(name)
    assert locked.status == 429
    assert locked.headers["retry-after"] == "1"
    assert locked.body == {"success": False, "message": "Too many failed logins; try again in 1 s"}
    clock.now += 1
    assert api.login(name).status == 200


def test_refresh_tokens_rotate_over_http_and_a_reused_one_ends_the_session_at_once(api):
    # Given a login, which keeps its legacy fields and adds a refresh token
    name = unique("refresh")
    assert api.register(name).status == 201
    login = api.login(name).body
    assert {"token", "expiresIn", "user", "message", "refreshToken", "refreshExpiresIn"} <= set(login)
    # When the client refreshes (a public route: no bearer token)
    refreshed = api.request("POST", "/api/token/refresh", {"refreshToken": login["refreshToken"]})
    # Then it gets a new token of the same session, accepted by the authorizer, and a new refresh token
    assert refreshed.status == 200, refreshed.raw
    assert refreshed.headers["cache-control"] == "no-store"
    fresh = refreshed.body
    assert fresh["sessionId"] == login["sessionId"] and fresh["refreshToken"] != login["refreshToken"]
    assert api.request("GET", "/api/me", token=fresh["token"]).status == 200
    # When the old refresh token comes back, it is a 401 and every token of the session is refused
    reused = api.request("POST", "/api/token/refresh", {"refreshToken": login["refreshToken"]})
    assert (reused.status, reused.body["success"]) == (401, False)
    assert reused.body["message"].startswith("Refresh token was already used")
    assert api.request("GET", "/api/me", token=fresh["token"]).body == ENDED
    assert api.request("GET", "/api/me", token=login["token"]).body == ENDED
    assert api.request("POST", "/api/token/refresh", {"refreshToken": fresh["refreshToken"]}).body == ENDED


def test_refresh_refuses_bad_input_with_a_400_and_a_stranger_token_with_a_401(api):
    missing = api.request("POST", "/api/token/refresh", {})
    assert (missing.status, missing.body["message"]) == (400, "refreshToken is required (a string)")
    not_json = api.request("POST", "/api/token/refresh", raw=b"refreshToken=x")
    assert (not_json.status, not_json.body["success"]) == (400, False)
    stranger = api.request("POST", "/api/token/refresh", {"refreshToken": "not-one-of-ours"})
    assert (stranger.status, stranger.body["message"]) == (401, "Refresh token is not valid")


def test_logout_over_http_ends_the_refresh_token_too(api):
    name = unique("refout")
    assert api.register(name).status == 201
    login = api.login(name).body
    assert api.request("POST", "/api/logout", token=login["token"]).status == 204
    refused = api.request("POST", "/api/token/refresh", {"refreshToken": login["refreshToken"]})
    assert (refused.status, refused.body) == (401, ENDED)
