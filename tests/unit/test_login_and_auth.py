"""POST /api/login, the REQUEST authorizer in front of protected routes, and GET /api/me."""

from __future__ import annotations

import os
import time
import warnings

import bcrypt
import jwt
import pytest

from skills_ideas import models, passwords, tokens, users
from skills_ideas.config import AuthConfig
from tests.support import authorize, bearer, bind_models, event, invoke

SECRET = os.environ["JWT_SECRET"]
PASSWORD = "correct-horse-9"


def register(username: str, password: str = PASSWORD) -> str:
    status, body = invoke("register", event("POST", "/api/register", body={"username": username, "password": password}))
    assert status == 201, body
    return body["data"]["id"]


def login(username: str, password: str = PASSWORD) -> tuple[int, dict]:
    return invoke("login", event("POST", "/api/login", body={"username": username, "password": password}))


def stored_hash(user_id: str) -> str:
    bind_models()
    return models.UserModel.get(users.user_key(user_id), "PROFILE").passwordHash


def legacy_user(username: str, password: str, prefix: bytes = b"2a") -> str:
    """A user migrated from the legacy service: a bcryptjs ``$2a$10$`` hash of the first 72 bytes."""
    legacy_hash = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(10, prefix=prefix)).decode()
    user = users.User("17", username, "user", "2024-03-01T10:00:00.000Z")
    bind_models()
    users.put_user(user, legacy_hash, legacy_id="17")
    return user.id


def token(*, key=SECRET, algorithm: str = "HS256", **overrides) -> str:
    now = int(time.time())
    claims = {
        "sub": "u-1",
        "username": "ada",
        "role": "user",
        "iat": now,
        "exp": now + 600,
        "iss": "skills-ideas",
        "aud": "skills-ideas-api",
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=algorithm)


# ------------------------------------------------------------------ login
def test_login_returns_a_signed_token_with_every_claim(aws):
    # Given a registered user
    user_id = register("Ada")
    # When they log in (with the name in another letter case)
    before = int(time.time())
    status, body = login("ada")
    # Then the legacy shape comes back with a 24 h token and the user
    assert status == 200
    assert body["success"] is True
    assert body["message"] == "Login successful"
    assert body["user"] == {"id": user_id, "username": "Ada"}
    assert body["expiresIn"] == 86400
    # And the token is HS256 with sub, username, role, iat, exp, iss and aud
    assert jwt.get_unverified_header(body["token"])["alg"] == "HS256"
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"], audience="skills-ideas-api", issuer="skills-ideas")
    assert claims["sub"] == user_id
    assert claims["username"] == "Ada"
    assert claims["role"] == "user"
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] - claims["iat"] == body["expiresIn"]


@pytest.mark.parametrize("body", [{}, {"username": "ada"}, {"password": PASSWORD}])
def test_login_without_credentials_is_400_with_the_legacy_message(aws, body):
    status, answer = invoke("login", event("POST", "/api/login", body=body))
    assert (status, answer) == (400, {"success": False, "message": "Username and password are required"})


def test_unknown_user_and_wrong_password_get_the_same_401(aws):
    # Given a registered user
    register("grace")
    # When someone logs in with a wrong password, and someone else with an unknown name
    wrong = login("grace", "not-the-password")
    unknown = login("nobody-here", PASSWORD)
    # Then both get exactly the same answer
    assert wrong == unknown == (401, {"success": False, "message": "Invalid credentials"})


def test_unknown_user_and_wrong_password_cost_the_same_hash_work(aws, monkeypatch):
    # Given a registered user, and a record of every password verification login performs
    # (the real verification still runs; the record only observes it)
    register("timed")
    context = passwords._context()
    verified: list[str] = []
    real_verify = context.verify

    def recording_verify(secret, stored, *args, **kwargs):
        verified.append("$".join(stored.split("$")[:4]))  # scheme and cost parameters
        return real_verify(secret, stored, *args, **kwargs)

    monkeypatch.setattr(context, "verify", recording_verify)

    # When a wrong password and an unknown user try to log in
    assert login("timed", "not-the-password")[0] == 401
    wrong_password = list(verified)
    verified.clear()
    assert login("nobody-at-all", "not-the-password")[0] == 401
    unknown_user = list(verified)

    # Then each pays exactly one argon2id verification with the same parameters, so the
    # response time does not tell whether the account exists (make bench measures speed)
    assert wrong_password == unknown_user == ["$argon2id$v=19$m=19456,t=2,p=1"]


def test_login_with_malformed_body_is_400(aws):
    status, body = invoke("login", event("POST", "/api/login", raw_body="{oops"))
    assert (status, body["success"]) == (400, False)


@pytest.mark.parametrize("prefix", [b"2a", b"2b"])
def test_a_legacy_bcrypt_hash_logs_in_and_is_upgraded_to_argon2id(aws, prefix):
    # Given a user migrated with the legacy bcryptjs hash
    user_id = legacy_user("legacy_lin", "secret1", prefix)  # legacy passwords could be 6 characters
    assert stored_hash(user_id).startswith("$" + prefix.decode() + "$10$")
    # When they log in with their password
    status, body = login("legacy_lin", "secret1")
    # Then it works, and the stored hash is now argon2id
    assert status == 200, body
    assert body["user"] == {"id": user_id, "username": "legacy_lin"}
    assert stored_hash(user_id).startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    # And the same password keeps working against the new hash; a wrong one still fails
    assert login("legacy_lin", "secret1")[0] == 200
    assert login("legacy_lin", "secret2")[0] == 401


def test_a_wrong_password_does_not_upgrade_a_legacy_hash(aws):
    user_id = legacy_user("legacy_kim", "secret1")
    before = stored_hash(user_id)
    assert login("legacy_kim", "secret9")[0] == 401
    assert stored_hash(user_id) == before


def test_a_legacy_password_longer_than_72_bytes_logs_in(aws):
    # Given a legacy user whose password is longer than bcrypt's 72 bytes (bcryptjs cut it)
    long_password = "ü" * 30 + "x" * 40  # 100 bytes of UTF-8
    user_id = legacy_user("legacy_long", long_password)
    # When they log in with the whole password
    status, _ = login("legacy_long", long_password)
    # Then it works (no "longer than 72 bytes" error) and the hash is upgraded
    assert status == 200
    assert stored_hash(user_id).startswith("$argon2id$")
    assert login("legacy_long", long_password)[0] == 200


# ------------------------------------------------------------------ the authorizer
def _hs512() -> str:
    """A token signed with our key, but not with the pinned algorithm."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns that the key is short for SHA-512
        return token(algorithm="HS512")


def test_authorizer_allows_a_valid_token_for_the_whole_api_with_the_caller_in_context(aws):
    # Given a token from login
    user_id = register("hopper")
    issued = login("hopper")[1]["token"]
    # When the authorizer checks a request to one method
    result = authorize(
        bearer(issued), "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/PATCH/api/ideas/01ABC"
    )
    # Then it allows the whole API (cacheable per token) and passes the caller on
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"
    assert result["principalId"] == user_id
    session_id = jwt.decode(issued, options={"verify_signature": False})["sid"]
    assert result["context"] == {"userId": user_id, "username": "hopper", "role": "user", "sessionId": session_id}


def test_authorizer_accepts_the_scheme_in_any_case(aws):
    register("lovelace")
    issued = login("lovelace")[1]["token"]
    assert authorize({"authorization": f"bearer {issued}"})["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def deny_message(result: dict) -> str:
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "userId" not in result["context"]
    return result["context"]["message"]


def test_authorizer_denies_a_request_without_a_token():
    assert deny_message(authorize({})) == "No token, authorization denied"
    assert deny_message(authorize(None)) == "No token, authorization denied"


def _tampered() -> str:
    header, payload, signature = token().split(".")
    forged = jwt.utils.base64url_encode(b'{"sub":"u-1","username":"ada","role":"admin"}').decode()
    return ".".join([header, forged, signature])


@pytest.mark.parametrize(
    "bad",
    # Made when the test runs, not when it is collected: the times are relative to now.
    [
        lambda: token(exp=int(time.time()) - 2 * tokens.CLOCK_SKEW_SECONDS),
        lambda: token(iat=int(time.time()) + 2 * tokens.CLOCK_SKEW_SECONDS),
        lambda: token(aud="someone-else"),
        lambda: token(iss="someone-else"),
        lambda: token(role="superuser"),
        lambda: token(sub=None),
        lambda: token(exp=None),
        lambda: token(key="another-key-of-at-least-thirty-two-bytes!"),
        lambda: token(key=None, algorithm="none"),
        _hs512,
        lambda: "not-a-jwt",
    ],
    ids=[
        "expired",
        "issued-in-the-future",
        "wrong-aud",
        "wrong-iss",
        "unknown-role",
        "no-sub",
        "no-exp",
        "other-key",
        "alg-none",
        "hs512",
        "garbage",
    ],
)
def test_authorizer_denies_a_bad_token_with_token_is_not_valid(bad):
    assert deny_message(authorize(bearer(bad()))) == "Token is not valid"


def test_a_token_from_a_clock_a_little_ahead_or_behind_is_valid_within_the_stated_skew():
    # Another instance or region whose clock runs 20 s ahead issued this one; this one expired
    # 20 s ago by this clock. Both are within the tolerated skew, a session still has to live.
    config = AuthConfig.from_env()
    now = int(time.time())
    ahead = token(iat=now + 20, exp=now + 620, sid="S" * 26)
    late = token(iat=now - 620, exp=now - 20, sid="S" * 26)
    assert tokens.verify(config, ahead).session_id == "S" * 26
    assert tokens.verify(config, late).user_id == "u-1"
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(config, token(iat=now + tokens.CLOCK_SKEW_SECONDS + 30, exp=now + 700))


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", token()])
def test_authorizer_denies_a_header_that_is_not_a_bearer_token(header):
    assert deny_message(authorize({"Authorization": header})) == "Token is not valid"


def test_authorizer_denies_a_tampered_payload():
    assert deny_message(authorize(bearer(_tampered()))) == "Token is not valid"


# ------------------------------------------------------------------ me
def test_me_returns_the_callers_profile(aws):
    # Given a registered user and the context the authorizer derives from their token
    user_id = register("Katherine")
    context = authorize(bearer(login("katherine")[1]["token"]))["context"]
    # When they ask who they are
    status, body = invoke("me", event("GET", "/api/me", caller=context))
    # Then they get id, username, role, createdAt and their own counts (none yet)
    assert status == 200
    assert body["success"] is True
    assert set(body["data"]) == {"id", "username", "role", "createdAt", "stats"}
    assert body["data"]["stats"]["ideas"] == 0
    assert body["data"]["id"] == user_id
    assert body["data"]["username"] == "Katherine"
    assert body["data"]["role"] == "user"
    assert body["data"]["createdAt"].endswith("Z")


def test_me_without_the_authorizer_context_is_401(aws):
    status, body = invoke("me", event("GET", "/api/me"))
    assert (status, body) == (401, {"success": False, "message": "No token, authorization denied"})


def test_me_for_a_user_that_no_longer_exists_is_404(aws):
    status, body = invoke("me", event("GET", "/api/me", caller={"userId": "gone", "username": "x", "role": "user"}))
    assert (status, body["success"]) == (404, False)
