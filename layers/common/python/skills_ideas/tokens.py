"""JSON Web Tokens: HS256 pinned, with sub, username, role, sid, iat, exp, iss and aud.

``sid`` names the session the login created (``skills_ideas.sessions``); the request
authorizer refuses a token whose session is over, and a token without one (issued before
sessions existed). ``role`` and ``username`` are what they were at login: the authorizer
passes on the account's current ones instead.

The signing key comes from configuration: in the cloud from Secrets Manager through the
Powertools parameters utility (cached for five minutes), locally from ``JWT_SECRET``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from skills_ideas.config import AuthConfig, ConfigError

ALGORITHM = "HS256"
SECRET_CACHE_SECONDS = 300
#: Longest token looked at. Ours stay under 3 KB (a 255-character legacy name escaped in
#: the payload); API Gateway caps all headers at 10 KB anyway.
MAX_TOKEN_CHARS = 8192
#: Seconds of clock difference tolerated on ``iat`` and ``exp``: a token issued by an instance
#: (or a region) whose clock runs a little ahead is not "not yet valid" elsewhere. Sessions end
#: on their own clock (``sessions.check``), so this never lengthens a session.
CLOCK_SKEW_SECONDS = 30


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired or not ours."""


@dataclass(frozen=True)
class Claims:
    user_id: str
    username: str
    role: str
    session_id: str | None = None


def signing_key(config: AuthConfig) -> str:
    if config.secret is not None:
        return config.secret
    # Imported here: only the cloud path pays for the parameters utility (and boto3).
    from aws_lambda_powertools.utilities import parameters

    key = parameters.get_secret(config.secret_name or "", max_age=SECRET_CACHE_SECONDS)
    if not isinstance(key, str) or len(key.encode()) < 32:
        raise ConfigError("the JWT signing key must be a string of at least 32 bytes")
    return key


def issue(
    config: AuthConfig,
    *,
    user_id: str,
    username: str,
    role: str,
    session_id: str | None = None,
    now: float | None = None,
    ttl_seconds: int | None = None,
) -> str:
    """A signed token valid for ``ttl_seconds`` (the configured lifetime by default)."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "sub": user_id,
        "username": username,
        "role": role,
        "iat": issued,
        "exp": issued + (config.ttl_seconds if ttl_seconds is None else ttl_seconds),
        "iss": config.issuer,
        "aud": config.audience,
    }
    if session_id is not None:
        claims["sid"] = session_id
    return jwt.encode(claims, signing_key(config), algorithm=ALGORITHM)


def verify(config: AuthConfig, token: str) -> Claims:
    """The claims of a token we issued; ``InvalidToken`` for anything else, however hostile
    (non-ASCII or unpaired surrogates, a header nested deep, an oversized token)."""
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise InvalidToken("not a compact JWS of a sane size")
    try:
        claims = jwt.decode(
            token,
            signing_key(config),
            algorithms=[ALGORITHM],
            audience=config.audience,
            issuer=config.issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["sub", "exp", "iat", "iss", "aud"]},
        )
    except (jwt.PyJWTError, ValueError, RecursionError) as error:
        raise InvalidToken(str(error) or type(error).__name__) from None
    role = claims.get("role")
    sid = claims.get("sid")
    if not isinstance(claims.get("sub"), str) or role not in ("user", "admin") or not isinstance(sid, str | None):
        raise InvalidToken("unexpected claims")
    return Claims(claims["sub"], str(claims.get("username") or ""), role, sid)
