"""Refresh tokens: opaque, stored hashed, rotated on every use; presenting a rotated one again
ends the whole session (docs/accounts.md#refresh-tokens; OAuth 2.0 Security Best Current
Practice, refresh token rotation).

A refresh token is ``<userId>.<sessionId>.<secret>``: the key of its session is in the clear,
so a refresh reads it directly (no Scan, no index), and the secret is 32 random bytes in
URL-safe base64 (43 characters). Only the SHA-256 of the secret is stored: the first token's on
the session item, every later one on the session's rotation item ``REFRESH#<sessionId>``, with
the hash of the token it replaced. A fast hash is right for a 256-bit random secret (there is
nothing to guess), and a copy of the table yields no usable token. A refresh never writes the
session item, so under a global table's last writer wins it cannot bring back a session that
another region ended within the replication lag.

One refresh is one strongly consistent BatchGetItem of the profile, the session and its
rotation item (``sessions.check``: live, of the profile's current epoch, the account not
deleted) and one PutItem of the rotation item, conditioned on the stored hash being the
presented one (or, for the first token, on there being no rotation item yet). Of two refreshes
with one token exactly one write succeeds; the other finds the hash moved on, which is reuse,
as is a token whose hash is the one last replaced. Reuse deletes the session and its rotation
item: every access token of the family and the refresh token just issued are refused from then
on. Standard library and the domain modules below only: no password hashing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from skills_ideas import audit, contract, models, sessions
from skills_ideas.errors import BadRequest, Unauthorized
from skills_ideas.http import Client
from skills_ideas.validation import refuse_forbidden

SECRET_BYTES = 32
FIELD = "refreshToken"
#: ``<userId>.<sessionId>.<secret>``; user ids and base64url never hold a dot.
SHAPE = re.compile(r"([A-Za-z0-9_-]{1,64})\.([0-9A-HJKMNP-TV-Z]{26})\.([A-Za-z0-9_-]{43})")
INVALID = "Refresh token is not valid"
ENDED = "Session has ended; log in again"
REUSED = "Refresh token was already used; the session has ended, log in again"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_secret() -> tuple[str, str]:
    """A fresh secret and its hash (the only part stored)."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return secret, digest(secret)


def compose(user_id: str, session_id: str, secret: str) -> str:
    return f"{user_id}.{session_id}.{secret}"


def presented(body: dict[str, Any]) -> str:
    """The request's refresh token as sent; 400 when it is missing or not a sane string."""
    value = body.get(FIELD)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{FIELD} is required (a string)")
    if len(value) > contract.REFRESH_TOKEN_MAX:
        raise BadRequest(f"{FIELD} must be at most {contract.REFRESH_TOKEN_MAX} characters long")
    refuse_forbidden(value, FIELD)
    return value


@dataclass(frozen=True)
class Refreshed:
    """A rotated family: the session's current facts and its new refresh token."""

    access: sessions.Access
    refresh_token: str
    now: int

    @property
    def seconds_left(self) -> int:
        """Seconds until the session, and so its refresh token, expires."""
        return self.access.expires_at - self.now


def refresh(token: str, client: Client, *, uses_apart: bool = False) -> Refreshed:
    """Rotate the refresh token ``token``: 401 when it is not one of ours, when its session is
    over, or when it was rotated already (then the session ends too). ``uses_apart``:
    multi-region mode, where the use it records goes to an item of its own (``sessions``)."""
    shape = SHAPE.fullmatch(token)
    if shape is None:
        raise Unauthorized(INVALID)
    user_id, session_id, secret = shape.groups()
    now = int(sessions.clock())
    try:
        access = sessions.check(user_id, session_id, now, uses_apart=uses_apart, with_refresh=True)
    except sessions.Refused:
        raise Unauthorized(ENDED) from None
    hashed = digest(secret)
    if _same(access.refresh_hash, hashed):
        fresh, fresh_hash = new_secret()
        if _rotate(access, hashed, fresh_hash):
            return Refreshed(access, compose(user_id, session_id, fresh), now)
        # Another refresh with this same token rotated it first: this one is a reuse.
    elif not _same(access.previous_refresh_hash, hashed):
        raise Unauthorized(INVALID)
    models.delete_keys(
        [
            models.raw_key(models.user_key(user_id), sessions.session_key(session_id)),
            models.raw_key(models.user_key(user_id), sessions.refresh_key(session_id)),
        ]
    )
    audit.refresh_token_reused(user_id=user_id, session_id=session_id, client_ip=client.source_ip)
    raise Unauthorized(REUSED)


def _same(stored: str | None, hashed: str) -> bool:
    return stored is not None and hmac.compare_digest(stored, hashed)


def _rotate(access: sessions.Access, hashed: str, fresh_hash: str) -> bool:
    """Replace the session's refresh hash ``hashed`` with ``fresh_hash`` on its rotation item
    (``models.RefreshRotationModel``): False when another refresh replaced ``hashed`` first.
    A raw PutItem on the client the session check already made: another model's client would
    cost a cold start tens of milliseconds. The session's last use is recorded by the
    authorizer when the new access token is used."""
    item = models.raw_key(models.user_key(access.user_id), sessions.refresh_key(access.session_id))
    item |= {
        "refreshHash": {"S": fresh_hash},
        "previousRefreshHash": {"S": hashed},
        models.TTL_ATTRIBUTE: {"N": str(access.expires_at)},
    }
    if access.rotated:
        condition: dict[str, Any] = {
            "ConditionExpression": "refreshHash = :presented",
            "ExpressionAttributeValues": {":presented": {"S": hashed}},
        }
    else:
        condition = {
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": models.PARTITION_KEY},
        }
    try:
        models.dispatch("PutItem", {"Item": item, **condition})
    except Exception as error:
        if models.condition_failed(error):
            return False
        raise
    return True
