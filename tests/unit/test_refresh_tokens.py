"""Refresh tokens through the login and refresh handlers and the authorizer, on moto: rotated on
every use, stored hashed, reuse ends the session family, and everything that ends a session
ends its refresh tokens too."""

from __future__ import annotations

import hashlib
import json
import logging

import jwt
import pytest

from skills_ideas import models, observability, refresh_tokens, sessions, users
from skills_ideas.config import AuthConfig, ConfigError
from tests.support import bind_models, event, invoke
from tests.unit.test_accounts_people_control import PASSWORD, allowed, as_caller, login, register, sid
from tests.unit.test_accounts_people_control import clock as clock  # noqa: F401 - the tests' fake clock fixture

DAY = 86400
ACCESS_SECONDS = DAY
REFRESH_SECONDS = 30 * DAY


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def security_log():
    """The security events the layer's logger writes (the tests' LOG_LEVEL hides INFO)."""
    records, level = Records(), observability.logger.log_level
    observability.logger.addHandler(records)
    observability.logger.setLevel(logging.INFO)
    yield records
    observability.logger.removeHandler(records)
    observability.logger.setLevel(level)


def logged_in(username: str = "ada", **kwargs) -> dict:
    status, body = login(username, **kwargs)
    assert status == 200, body
    return body


def refresh(token, *, ip: str = "127.0.0.1") -> tuple[int, dict]:
    evt = event("POST", "/api/token/refresh", body={"refreshToken": token})
    evt["requestContext"]["identity"] = {"sourceIp": ip, "userAgent": "pytest"}
    return invoke("refresh_token", evt)


def stored_session(token: str) -> models.SessionModel | None:
    bind_models()
    claims = jwt.decode(token, options={"verify_signature": False})
    try:
        return models.SessionModel.get(users.user_key(claims["sub"]), sessions.session_key(claims["sid"]))
    except models.SessionModel.DoesNotExist:
        return None


# ------------------------------------------------------------------ login
def test_login_adds_a_refresh_token_and_keeps_its_legacy_fields(aws, clock):
    user_id = register("ada")
    body = logged_in()
    # The legacy fields are unchanged: a 24 h token and its lifetime
    assert {"token", "expiresIn", "user", "message"} <= set(body) and body["expiresIn"] == ACCESS_SECONDS
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == ACCESS_SECONDS
    # The refresh token names the session and carries a 256-bit URL-safe secret
    owner, session_id, secret = body["refreshToken"].split(".")
    assert (owner, session_id) == (user_id, body["sessionId"]) == (claims["sub"], claims["sid"])
    assert len(secret) == 43 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert body["refreshExpiresIn"] == REFRESH_SECONDS
    # The session lasts the refresh lifetime and holds only the secret's hash
    stored = stored_session(body["token"])
    assert stored is not None and int(stored.expiresAt) == claims["iat"] + REFRESH_SECONDS
    assert stored.refreshHash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(stored.to_simple_dict())


def test_two_logins_get_different_refresh_tokens(aws, clock):
    register("ada")
    first, second = logged_in()["refreshToken"], logged_in()["refreshToken"]
    assert first.split(".")[2] != second.split(".")[2]


# ------------------------------------------------------------------ rotation
def test_a_refresh_rotates_the_token_and_issues_an_access_token_of_the_same_session(aws, clock):
    register("ada")
    first = logged_in()
    clock.advance(10)  # within the tokens' clock tolerance: the authorizer checks iat on the real clock
    status, body = refresh(first["refreshToken"])
    assert status == 200 and body["success"] is True and body["message"] == "Token refreshed"
    assert body["sessionId"] == first["sessionId"] == sid(body["token"])
    assert body["refreshToken"] != first["refreshToken"]
    assert body["refreshToken"].rsplit(".", 1)[0] == first["refreshToken"].rsplit(".", 1)[0]
    # The access token is a full-length one; the session's end does not move (not sliding)
    assert body["expiresIn"] == ACCESS_SECONDS
    assert body["refreshExpiresIn"] == REFRESH_SECONDS - 10
    # Both access tokens of the session work, with the account's name and role
    assert allowed(body["token"])["username"] == "ada"
    assert allowed(first["token"]) is not None
    # And the new refresh token rotates in turn
    status, again = refresh(body["refreshToken"])
    assert status == 200 and again["refreshToken"] not in (body["refreshToken"], first["refreshToken"])


def test_a_refresh_carries_the_accounts_current_role(aws, clock):
    register("ada")
    first = logged_in()
    bind_models()
    users.set_role("ada", "admin")
    status, body = refresh(first["refreshToken"])
    assert status == 200 and jwt.decode(body["token"], options={"verify_signature": False})["role"] == "admin"


def test_reusing_a_rotated_refresh_token_ends_the_whole_family(aws, clock, capsys, security_log):
    register("ada")
    other_session = logged_in()
    first = logged_in()
    status, rotated = refresh(first["refreshToken"])
    assert status == 200
    capsys.readouterr()
    # When the rotated token comes back (an attacker's copy, or the legitimate client's)
    status, body = refresh(first["refreshToken"], ip="198.51.100.9")
    # Then it is a 401 that says so, and the session is over for every token of it
    assert (status, body) == (401, {"success": False, "message": refresh_tokens.REUSED})
    assert stored_session(first["token"]) is None
    assert allowed(first["token"]) is None and allowed(rotated["token"]) is None
    assert refresh(rotated["refreshToken"]) == (401, {"success": False, "message": refresh_tokens.ENDED})
    # Other sessions of the account are untouched
    assert allowed(other_session["token"]) is not None
    assert refresh(other_session["refreshToken"])[0] == 200
    # And it is a security event, counted and logged with the client that presented the token
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [line["RefreshTokenReused"] for line in emitted if "RefreshTokenReused" in line] == [[1.0]]
    reused = [r for r in security_log.records if getattr(r, "securityEvent", None) == "RefreshTokenReused"]
    assert len(reused) == 1 and reused[0].clientIp == "198.51.100.9"
    assert reused[0].session == first["sessionId"][:8]
    assert first["refreshToken"].split(".")[2] not in str([vars(r) for r in security_log.records])


def test_a_wrong_secret_for_a_live_session_is_refused_and_ends_nothing(aws, clock):
    register("ada")
    first = logged_in()
    forged = first["refreshToken"].rsplit(".", 1)[0] + "." + "A" * 43
    assert refresh(forged) == (401, {"success": False, "message": refresh_tokens.INVALID})
    assert allowed(first["token"]) is not None
    assert refresh(first["refreshToken"])[0] == 200


@pytest.mark.parametrize(
    "token",
    [
        "not-a-refresh-token",
        "a.b.c",
        "01JD5X8Q3ZK2M4N6P8R0T2V4W6.01JD5X8Q3ZK2M4N6P8R0T2V4S5." + "A" * 43,  # nobody's session
        "01JD5X8Q3ZK2M4N6P8R0T2V4W6.01JD5X8Q3ZK2M4N6P8R0T2V4S5." + "A" * 42 + "=",
    ],
)
def test_a_token_that_is_not_ours_is_a_401(aws, clock, token):
    status, body = refresh(token)
    assert status == 401 and body["message"] in (refresh_tokens.INVALID, refresh_tokens.ENDED)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "refreshToken is required (a string)"),
        ({"refreshToken": ""}, "refreshToken is required (a string)"),
        ({"refreshToken": 42}, "refreshToken is required (a string)"),
        ({"refreshToken": ["x"]}, "refreshToken is required (a string)"),
        ({"refreshToken": "x" * 257}, "refreshToken must be at most 256 characters long"),
        ({"refreshToken": "abc\ndef"}, "refreshToken must not contain"),
        ({"refreshToken": "abc\ud800"}, "refreshToken must not contain"),
    ],
)
def test_bad_input_is_a_400_that_says_what_is_wrong(aws, clock, body, message):
    status, answer = invoke("refresh_token", event("POST", "/api/token/refresh", body=body))
    assert status == 400 and answer["success"] is False and answer["message"].startswith(message)


def test_a_body_that_is_not_json_is_a_400(aws, clock):
    evt = event("POST", "/api/token/refresh")
    evt["body"] = "refreshToken=abc"
    status, answer = invoke("refresh_token", evt)
    assert status == 400 and answer["success"] is False


# ------------------------------------------------------------------ lifetime
def test_the_refresh_token_works_until_the_session_ends_and_access_tokens_never_outlive_it(aws, clock):
    register("ada")
    first = logged_in()
    # An hour before the session's end, the new access token lasts just that hour
    clock.advance(REFRESH_SECONDS - 3600)
    status, late = refresh(first["refreshToken"])
    assert status == 200 and (late["expiresIn"], late["refreshExpiresIn"]) == (3600, 3600)
    claims = jwt.decode(late["token"], options={"verify_signature": False})
    assert claims["exp"] == int(stored_session(first["token"]).expiresAt)
    # After it, the refresh token is refused, before DynamoDB's TTL removes the item
    clock.advance(3600)
    assert refresh(late["refreshToken"]) == (401, {"success": False, "message": refresh_tokens.ENDED})
    assert stored_session(first["token"]) is not None


def test_the_refresh_lifetime_is_configurable_and_never_shorter_than_the_access_token():
    env = {"JWT_SECRET": "x" * 32, "JWT_TTL_SECONDS": "900", "REFRESH_TTL_SECONDS": "3600"}
    assert (AuthConfig.from_env(env).ttl_seconds, AuthConfig.from_env(env).refresh_ttl_seconds) == (900, 3600)
    assert AuthConfig.from_env({"JWT_SECRET": "x" * 32}).refresh_ttl_seconds == REFRESH_SECONDS
    with pytest.raises(ConfigError, match="REFRESH_TTL_SECONDS must be at least JWT_TTL_SECONDS"):
        AuthConfig.from_env({**env, "REFRESH_TTL_SECONDS": "600"})


# ------------------------------------------------------------------ what ends a session ends its refresh tokens
def test_logout_ends_the_sessions_refresh_token(aws, clock):
    register("ada")
    first = logged_in()
    assert as_caller(first["token"], "POST", "/api/logout")[0] == 204
    assert refresh(first["refreshToken"]) == (401, {"success": False, "message": refresh_tokens.ENDED})


def test_ending_a_session_from_another_ends_its_refresh_token(aws, clock):
    register("ada")
    phone, laptop = logged_in(), logged_in()
    status, _ = as_caller(
        laptop["token"],
        "DELETE",
        f"/api/me/sessions/{phone['sessionId']}",
        resource="/api/me/sessions/{id}",
        path_params={"id": phone["sessionId"]},
    )
    assert status == 204
    assert refresh(phone["refreshToken"])[0] == 401
    assert refresh(laptop["refreshToken"])[0] == 200


def test_a_password_change_ends_the_other_sessions_refresh_tokens_and_keeps_this_ones(aws, clock):
    register("ada")
    here, elsewhere = logged_in(), logged_in()
    status, _ = as_caller(
        here["token"], "PUT", "/api/me/password", body={"currentPassword": PASSWORD, "newPassword": "new-horse-77"}
    )
    assert status == 200
    assert refresh(elsewhere["refreshToken"]) == (401, {"success": False, "message": refresh_tokens.ENDED})
    status, body = refresh(here["refreshToken"])
    assert status == 200 and allowed(body["token"]) is not None


def test_a_password_change_refuses_refresh_tokens_of_sessions_it_did_not_delete(aws, clock):
    user_id = register("ada")
    here, other = logged_in(), logged_in()
    bind_models()
    user, stored = users.check_password(user_id, PASSWORD)
    users.change_password(user, stored, "x" * 20, keep_session=here["sessionId"])  # the epoch moves, no deletes
    assert refresh(other["refreshToken"]) == (401, {"success": False, "message": refresh_tokens.ENDED})


def test_deleting_the_account_ends_its_refresh_tokens(aws, clock):
    register("ada")
    first, second = logged_in(), logged_in()
    assert as_caller(first["token"], "DELETE", "/api/me", body={"password": PASSWORD})[0] == 204
    assert refresh(first["refreshToken"])[0] == 401
    assert refresh(second["refreshToken"])[0] == 401
