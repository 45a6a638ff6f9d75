"""Sessions that end, roles that take effect, password changes, account deletion and the
brute-force limits of login, through the handlers and the authorizer on moto."""

from __future__ import annotations

import time

import jwt
import pytest

from skills_ideas import account, ideas, login_limits, models, sessions, users
from tests.support import LambdaContext, authorize, bearer, bind_models, event, invoke, load_handler

PASSWORD = "correct-horse-9"


class Clock:
    """The one clock of sessions and login limits, moved by the test (nothing sleeps)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(sessions, "clock", fake)
    monkeypatch.setattr(login_limits, "clock", fake)
    return fake


def register(username: str, password: str = PASSWORD) -> str:
    status, body = invoke("register", event("POST", "/api/register", body={"username": username, "password": password}))
    assert status == 201, body
    return body["data"]["id"]


def login(username: str, password: str = PASSWORD, ip: str = "127.0.0.1", agent: str = "pytest") -> tuple[int, dict]:
    evt = event("POST", "/api/login", body={"username": username, "password": password}, headers={"User-Agent": agent})
    evt["requestContext"]["identity"] = {"sourceIp": ip, "userAgent": agent}
    return invoke("login", evt)


def token_of(username: str, password: str = PASSWORD, **kwargs) -> str:
    status, body = login(username, password, **kwargs)
    assert status == 200, body
    return body["token"]


def allowed(token: str) -> dict | None:
    """The authorizer's context when it allows ``token``, else None."""
    result = authorize(bearer(token))
    return result["context"] if result["policyDocument"]["Statement"][0]["Effect"] == "Allow" else None


def as_caller(token: str, method: str, path: str, *, body=None, resource: str | None = None, path_params=None):
    """A protected request, with the context the authorizer gives this token."""
    context = allowed(token)
    assert context is not None, "the token was refused"
    return invoke(
        function_for(method, resource or path),
        event(method, path, resource=resource, body=body, path_params=path_params, caller=context),
    )


def function_for(method: str, resource: str) -> str:
    from skills_ideas.routes import ROUTES

    return next(r.function for r in ROUTES if (r.method, r.path) == (method, resource))


def sid(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["sid"]


# ------------------------------------------------------------------ sessions
def test_login_starts_a_session_the_token_names_and_lists_as_current(aws, clock):
    # Given a user who logs in from two devices
    register("ada")
    phone = token_of("ada", agent="Phone/1.0")
    clock.advance(1)
    laptop = token_of("ada", agent="Laptop/2.0")
    # When they list their sessions from the laptop
    status, body = as_caller(laptop, "GET", "/api/me/sessions")
    # Then both are there, newest first, the laptop's marked current
    assert status == 200 and body["count"] == 2
    listed = body["data"]
    assert [s["id"] for s in listed] == [sid(laptop), sid(phone)]
    assert [s["current"] for s in listed] == [True, False]
    assert [s["userAgent"] for s in listed] == ["Laptop/2.0", "Phone/1.0"]
    assert all(s["createdAt"] and s["lastUsedAt"] and s["sourceIp"] == "127.0.0.1" for s in listed)


def test_the_login_response_keeps_its_legacy_fields_and_the_session_outlives_the_token(aws, clock):
    register("ada")
    status, body = login("ada")
    assert status == 200 and {"token", "expiresIn", "user", "message"} <= set(body)
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    bind_models()
    stored = models.SessionModel.get(users.user_key(claims["sub"]), sessions.session_key(claims["sid"]))
    # The session lasts the refresh lifetime (docs/accounts.md#refresh-tokens), the token 24 h
    assert claims["exp"] == claims["iat"] + body["expiresIn"]
    assert int(stored.expiresAt) == claims["iat"] + body["refreshExpiresIn"] > claims["exp"]


def test_logout_refuses_that_token_and_no_other(aws, clock):
    register("ada")
    first, second = token_of("ada"), token_of("ada")
    status, _ = as_caller(first, "POST", "/api/logout")
    assert status == 204
    assert allowed(first) is None
    assert allowed(second) is not None


def test_ending_one_session_by_id_refuses_its_token(aws, clock):
    register("ada")
    register("bob")
    mine, other = token_of("ada"), token_of("ada")
    bobs = token_of("bob")
    resource = "/api/me/sessions/{id}"
    # Someone else's session, an unknown id and garbage are all 404, and nothing ends
    for target in (sid(bobs), "01JD5X8Q3ZK2M4N6P8R0T2V4S5", "not-a-session"):
        status, body = as_caller(
            mine, "DELETE", f"/api/me/sessions/{target}", resource=resource, path_params={"id": target}
        )
        assert (status, body["message"]) == (404, "Session not found")
    assert allowed(bobs) is not None
    # Their own other session ends
    status, _ = as_caller(
        mine, "DELETE", f"/api/me/sessions/{sid(other)}", resource=resource, path_params={"id": sid(other)}
    )
    assert status == 204
    assert allowed(other) is None and allowed(mine) is not None


def test_a_token_without_a_session_id_is_refused(aws, clock):
    user_id = register("ada")
    legacy = jwt.encode(
        {"sub": user_id, "username": "ada", "role": "user", "iat": int(clock()), "exp": int(clock()) + 600}
        | {"iss": "skills-ideas", "aud": "skills-ideas-api"},
        __import__("os").environ["JWT_SECRET"],
        algorithm="HS256",
    )
    result = authorize(bearer(legacy))
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert result["context"]["message"] == "Session has ended; log in again"


def test_a_session_past_its_expiry_is_refused_before_ttl_removes_it(aws, clock):
    register("ada")
    issued = token_of("ada")
    bind_models()
    claims = jwt.decode(issued, options={"verify_signature": False})
    access = sessions.check(claims["sub"], claims["sid"], clock())
    sessions.check(access.user_id, access.session_id, access.expires_at - 1)
    with pytest.raises(sessions.Refused):
        sessions.check(access.user_id, access.session_id, access.expires_at)


def test_last_use_is_recorded_at_most_once_per_touch_period(aws, clock):
    register("ada")
    issued = token_of("ada")
    claims = jwt.decode(issued, options={"verify_signature": False})
    bind_models()

    def last_used() -> int:
        return int(models.SessionModel.get(users.user_key(claims["sub"]), sessions.session_key(claims["sid"])).lastUsed)

    created = last_used()
    clock.advance(sessions.TOUCH_SECONDS - 1)
    assert allowed(issued) is not None
    assert last_used() == created  # within the period: no write
    clock.advance(2)
    assert allowed(issued) is not None
    assert last_used() == int(clock())


# ------------------------------------------------------------------ roles
def test_a_revoked_admins_old_token_loses_the_role_and_a_granted_one_gains_it(aws, clock):
    register("ada")
    bind_models()
    users.set_role("ada", "admin")
    issued = token_of("ada")
    assert allowed(issued)["role"] == "admin"
    users.set_role("ada", "user")
    assert allowed(issued)["role"] == "user"
    status, body = as_caller(
        issued,
        "POST",
        "/api/skills",
        body={"name": "Kotlin", "category": "Programming Language", "proficiency": "Intermediate"},
    )
    assert status == 403, body


# ------------------------------------------------------------------ password change
def test_a_password_change_ends_every_other_session_and_keeps_this_one(aws, clock):
    register("ada")
    here, elsewhere, third = token_of("ada"), token_of("ada"), token_of("ada")
    # A wrong current password is a 403 that says so, and changes nothing
    status, body = as_caller(
        here, "PUT", "/api/me/password", body={"currentPassword": "wrong-password", "newPassword": "new-horse-77"}
    )
    assert (status, body["message"]) == (403, "Password is incorrect")
    assert allowed(elsewhere) is not None
    # The right one changes it and ends the others
    status, body = as_caller(
        here, "PUT", "/api/me/password", body={"currentPassword": PASSWORD, "newPassword": "new-horse-77"}
    )
    assert status == 200 and body["data"] == {"endedSessions": 2}
    assert allowed(here) is not None
    assert allowed(elsewhere) is None and allowed(third) is None
    assert login("ada")[0] == 401
    assert login("ada", "new-horse-77")[0] == 200


def test_a_password_change_refuses_other_sessions_even_those_it_did_not_delete(aws, clock):
    # Sessions beyond what one request deletes are refused by the epoch all the same
    user_id = register("ada")
    here, other = token_of("ada"), token_of("ada")
    bind_models()
    user, stored = users.check_password(user_id, PASSWORD)
    users.change_password(user, stored, "x" * 20, keep_session=sid(here))  # no deletes at all
    assert allowed(other) is None
    assert allowed(here) is not None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"newPassword": "new-horse-77"}, "currentPassword is required (a string)"),
        ({"currentPassword": PASSWORD}, "newPassword is required (a string)"),
        ({"currentPassword": PASSWORD, "newPassword": "short"}, "newPassword must be 8-128 characters long"),
        ({"currentPassword": PASSWORD, "newPassword": "a\x00bcdefghi"}, "newPassword must not contain"),
    ],
)
def test_a_password_change_with_bad_input_is_a_400(aws, clock, body, message):
    register("ada")
    status, answer = as_caller(token_of("ada"), "PUT", "/api/me/password", body=body)
    assert status == 400 and answer["message"].startswith(message)


# ------------------------------------------------------------------ deletion
def _ideas_of(user_id: str) -> list[dict]:
    status, body = invoke("list_ideas", event("GET", "/api/ideas", query={"userId": user_id}))
    assert status == 200
    return body["data"]


def _feed() -> list[dict]:
    return invoke("list_ideas", event("GET", "/api/ideas"))[1]["data"]


def test_deleting_an_account_removes_it_its_sessions_and_ideas_and_frees_the_name(aws, clock):
    user_id = register("ada")
    keeper = register("bob")
    issued, other = token_of("ada"), token_of("ada")
    for n in range(3):
        assert as_caller(issued, "POST", "/api/ideas", body={"title": f"idea {n}"})[0] == 201
    assert as_caller(token_of("bob"), "POST", "/api/ideas", body={"title": "bob's"})[0] == 201
    # A wrong password is a 403 and deletes nothing
    status, body = as_caller(issued, "DELETE", "/api/me", body={"password": "wrong-password"})
    assert (status, body["message"]) == (403, "Password is incorrect")
    assert len(_ideas_of(user_id)) == 3
    # The right one deletes everything of theirs
    assert as_caller(issued, "DELETE", "/api/me", body={"password": PASSWORD})[0] == 204
    assert allowed(issued) is None and allowed(other) is None
    assert login("ada")[0] == 401
    assert _ideas_of(user_id) == []
    assert [i["userId"] for i in _feed()] == [keeper]
    bind_models()
    assert list(models.SessionModel.query(users.user_key(user_id))) == []  # nothing left in the partition
    # The name is free again, for a new account with a new id
    assert register("ADA") != user_id


def test_deleting_removes_the_alias_of_a_migrated_idea(aws, clock):
    user_id = register("ada")
    bind_models()
    item, alias = ideas.aliased_item(user_id, "77", "2024-01-01T00:00:00.000Z", 77, title="old", status="Concept")
    item.updatedAt = item.createdAt
    alias.save()
    item.save()
    assert as_caller(token_of("ada"), "DELETE", "/api/me", body={"password": PASSWORD})[0] == 204
    assert (
        invoke("get_idea", event("GET", "/api/ideas/77", resource="/api/ideas/{id}", path_params={"id": "77"}))[0]
        == 404
    )
    with pytest.raises(models.IdeaAliasModel.DoesNotExist):
        models.IdeaAliasModel.get("IDEAALIAS#77", "ALIAS")


class ScheduledRun(LambdaContext):
    """The context of a scheduled run with ``seconds`` of its timeout left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


SCHEDULED_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def _stored_ideas(user_id: str) -> list[str]:
    """The idea items the table still holds in the account's partition, listed or not."""
    bind_models()
    return [i.title for i in models.IdeaModel.query(users.user_key(user_id), models.IdeaModel.sk.startswith("IDEA#"))]


def _ideas_with_more(token: str, user_id: str, titles: list[str]) -> None:
    for title in titles:
        assert as_caller(token, "POST", "/api/ideas", body={"title": title})[0] == 201


def test_a_large_account_is_deleted_at_once_its_ideas_unlisted_at_once_and_removed_soon(aws, clock, monkeypatch):
    # Given an account with more ideas than one request removes, and another account's idea
    monkeypatch.setattr(account, "DELETE_IDEAS_PER_REQUEST", 3)
    user_id = register("ada")
    issued = token_of("ada")
    register("bob")
    _ideas_with_more(issued, user_id, [f"idea {n}" for n in range(5)])
    _ideas_with_more(token_of("bob"), "", ["bob's idea"])
    # When it is deleted, Then the answer is 202 and the account is refused everywhere
    status, body = as_caller(issued, "DELETE", "/api/me", body={"password": PASSWORD})
    assert status == 202 and body["data"] == {"ideasDeleted": 3, "complete": False}
    assert allowed(issued) is None and login("ada")[0] == 401
    # And its remaining ideas are listed nowhere from that answer on, though not yet removed
    assert len(_stored_ideas(user_id)) == 2
    assert _ideas_of(user_id) == []
    assert [i["title"] for i in _feed()] == ["bob's idea"]
    # When the scheduled function runs with less time than one step needs, it leaves the work
    finish = load_handler("finish_deletions").lambda_handler
    assert finish(SCHEDULED_EVENT, ScheduledRun(5)) == {"accounts": 1, "complete": 0, "ideasDeleted": 0}
    # And its next run removes the rest, then the profile and the marker
    assert finish(SCHEDULED_EVENT, ScheduledRun(55)) == {"accounts": 1, "complete": 1, "ideasDeleted": 2}
    assert _stored_ideas(user_id) == []
    bind_models()
    assert list(models.PendingDeletionModel.query(models.DELETIONS)) == []
    with pytest.raises(models.UserModel.DoesNotExist):
        models.UserModel.get(users.user_key(user_id), "PROFILE")
    assert finish(SCHEDULED_EVENT, ScheduledRun(55)) == {"accounts": 0, "complete": 0, "ideasDeleted": 0}


def test_pages_skip_the_ideas_of_an_account_being_deleted_and_their_cursors_go_past_them(aws, clock, monkeypatch):
    # Given a feed where a deleted account's many ideas sit between the ideas of others
    monkeypatch.setattr(account, "DELETE_IDEAS_PER_REQUEST", 1)
    register("ada")
    register("bob")
    ada, bob = token_of("ada"), token_of("bob")
    _ideas_with_more(bob, "", ["bob 1", "bob 2"])
    _ideas_with_more(ada, "", [f"ada {n}" for n in range(7)])
    _ideas_with_more(bob, "", ["bob 3"])
    assert as_caller(ada, "DELETE", "/api/me", body={"password": PASSWORD})[0] == 202
    # When the feed is paged two at a time, oldest first
    seen, cursor, pages = [], None, 0
    while True:
        query = {"_limit": "2", "order": "asc", **({"cursor": cursor} if cursor else {})}
        status, body = invoke("list_ideas", event("GET", "/api/ideas", query=query))
        assert status == 200
        seen += [i["title"] for i in body["data"]]
        cursor, pages = body.get("nextCursor"), pages + 1
        if not cursor:
            break
        assert pages < 10, "the cursor must move on"
    # Then every other idea comes once, in order, and none of the deleted account's
    assert seen == ["bob 1", "bob 2", "bob 3"]


# ------------------------------------------------------------------ brute-force limits
def test_five_failures_from_one_client_back_off_exponentially_then_the_right_password_works(aws, clock):
    register("ada")
    for _ in range(login_limits.CLIENT.free_failures):
        assert login("ada", "wrong-password")[0] == 401
    # Locked for 1 s: even the right password waits, and the answer says how long
    response = invoke_raw_login("ada", PASSWORD)
    assert response["statusCode"] == 429 and response["headers"]["Retry-After"] == "1"
    clock.advance(1)
    assert login("ada", "wrong-password")[0] == 401  # the 6th failure: now 2 s
    assert invoke_raw_login("ada", PASSWORD)["headers"]["Retry-After"] == "2"
    clock.advance(2)
    # After the back-off the right password logs in, and the client's run is cleared
    assert login("ada")[0] == 200
    assert login("ada", "wrong-password")[0] == 401


def test_another_client_is_not_locked_out_by_one_clients_failures(aws, clock):
    register("ada")
    for _ in range(8):
        login("ada", "wrong-password", ip="198.51.100.9")
    assert login("ada", "wrong-password", ip="198.51.100.9")[0] == 429
    assert login("ada", ip="203.0.113.7")[0] == 200


def test_the_account_limit_stops_guesses_spread_over_many_addresses(aws, clock):
    register("ada")
    for n in range(login_limits.ACCOUNT.free_failures):
        assert login("ada", "wrong-password", ip=f"10.0.{n // 250}.{n % 250}")[0] == 401
    assert login("ada", ip="203.0.113.7")[0] == 429
    # A run is forgotten 15 minutes after it began
    clock.advance(login_limits.WINDOW_SECONDS)
    assert login("ada", ip="203.0.113.7")[0] == 200


def test_unknown_names_are_limited_exactly_like_known_ones(aws, clock):
    register("ada")
    for name in ("ada", "nobody"):
        answers = [login(name, "wrong-password", ip="198.51.100.1")[0] for _ in range(6)]
        assert answers == [401] * 5 + [429], name


def test_a_wrong_current_password_counts_towards_the_limit(aws, clock):
    register("ada")
    issued = token_of("ada")
    for _ in range(login_limits.CLIENT.free_failures):
        status, _ = as_caller(issued, "DELETE", "/api/me", body={"password": "wrong-password"})
        assert status == 403
    assert as_caller(issued, "DELETE", "/api/me", body={"password": PASSWORD})[0] == 429


def test_the_wait_doubles_from_one_second_to_fifteen_minutes():
    waits = [login_limits.wait_after(n, login_limits.CLIENT) for n in range(3, 20)]
    assert waits[:2] == [0, 0]
    assert waits[2:8] == [1, 2, 4, 8, 16, 32]
    assert max(waits) == 900 and waits[-1] == 900


def invoke_raw_login(username: str, password: str) -> dict:
    from tests.support import LambdaContext, load_handler

    evt = event("POST", "/api/login", body={"username": username, "password": password})
    return load_handler("login").lambda_handler(evt, LambdaContext())
