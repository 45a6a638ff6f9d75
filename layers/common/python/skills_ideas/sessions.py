"""Sessions: one item per login, so a token can end before it expires (docs/accounts.md).

A session lives in its user's partition, ``USER#<userId>`` / ``SESSION#<sessionId>``, with
``expiresAt`` (the table's TTL attribute) at the end of its refresh lifetime: the session is the
family of the access tokens and rotated refresh tokens of one login (``refresh_tokens``). The token carries the
session id (``sid``). The request authorizer reads the user's profile and the session in one
BatchGetItem (``check``) and allows the token only while the session exists, belongs to the
profile's current session epoch and the account is not deleted; the role it passes on is the
profile's current one. Ending a session deletes its item.

Multi-region mode (``uses_apart``): the session item is written only when the session starts,
moves to a new epoch or ends, and its last use goes to an item of its own,
``USER#<userId>`` / ``SESSIONUSE#<sessionId>``. A global table settles concurrent writes of one
item by last writer wins, so recording a use on the session item in one region while the
session ends in another (within the replication lag) would bring the session back everywhere.
The authorizer reads the use item in the same BatchGetItem, the listing with one more Query.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError, UpdateError

from skills_ideas import models
from skills_ideas.errors import NotFound
from skills_ideas.ids import ulid
from skills_ideas.models import user_key

#: Seconds since the epoch, for the authorizer and session writes; tests put a fake clock here.
clock: Callable[[], float] = time.time
PREFIX = "SESSION#"
#: Sort key prefix of the use items of multi-region mode (not matched by ``PREFIX``).
USE_PREFIX = "SESSIONUSE#"
#: A session's rotated refresh token (``models.RefreshRotationModel``).
REFRESH_PREFIX = "REFRESH#"
#: A session id is a ULID; anything else names no session (404 without a read).
SESSION_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
#: The authorizer records a session's last use at most this often. API Gateway caches the
#: authorizer's answer per token (60 s in dev, 300 s in prod), so in the cloud a session is
#: touched at most once per cache period; the local gateway does not cache, and this bound
#: keeps its writes as rare.
TOUCH_SECONDS = 60
#: Most sessions one listing shows (newest first), and most sessions one request ends; any
#: further ones are refused by their epoch or their deleted account, and expire by TTL.
PAGE = 100
USER_AGENT_MAX = 256


def session_key(session_id: str) -> str:
    return f"{PREFIX}{session_id}"


def use_key(session_id: str) -> str:
    return f"{USE_PREFIX}{session_id}"


def refresh_key(session_id: str) -> str:
    return f"{REFRESH_PREFIX}{session_id}"


def iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _printable(text: str, limit: int) -> str:
    """A client-supplied string fit to store and show: no control characters, bounded."""
    return "".join(c for c in text[: limit * 2] if c.isprintable())[:limit]


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    created_at: str
    last_used_at: str
    user_agent: str | None
    source_ip: str | None
    expires_at: int

    def public(self, current_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "createdAt": self.created_at,
            "lastUsedAt": self.last_used_at,
            "userAgent": self.user_agent,
            "sourceIp": self.source_ip,
            "expiresAt": iso(self.expires_at),
            "current": self.id == current_id,
        }


def _session(item: models.SessionModel) -> Session:
    return Session(
        item.sessionId,
        item.userId,
        item.createdAt,
        item.lastUsedAt,
        item.userAgent,
        item.sourceIp,
        int(item.expiresAt),
    )


def create(
    user_id: str,
    *,
    epoch: int,
    ttl_seconds: int,
    now: float,
    user_agent: str,
    source_ip: str,
    refresh_hash: str | None = None,
) -> Session:
    """Write a new session of ``user_id``, valid for ``ttl_seconds`` (the refresh lifetime),
    holding the hash of its first refresh token."""
    session_id = ulid(int(now * 1000))
    stamp = iso(now)
    item = models.SessionModel(
        user_key(user_id),
        session_key(session_id),
        sessionId=session_id,
        userId=user_id,
        createdAt=stamp,
        lastUsedAt=stamp,
        lastUsed=int(now),
        userAgent=_printable(user_agent, USER_AGENT_MAX) or None,
        sourceIp=_printable(source_ip, 64) or None,
        epoch=epoch,
        expiresAt=int(now) + ttl_seconds,
        refreshHash=refresh_hash,
    )
    item.save(condition=models.SessionModel.pk.does_not_exist())
    return _session(item)


# ---------------------------------------------------------------- the authorizer's check
@dataclass(frozen=True)
class Access:
    """What the authorizer passes on for a live session: the profile's current name and role."""

    user_id: str
    username: str
    role: str
    session_id: str
    last_used: int
    expires_at: int = 0
    #: Multi-region mode: the last use is recorded on a use item, never on the session.
    uses_apart: bool = False
    #: Hashes of the session's current refresh token and of the one it replaced (or None),
    #: read only by a refresh (``check(..., with_refresh=True)``); ``rotated``: they come from
    #: the session's rotation item, not from the session item (its first token).
    refresh_hash: str | None = None
    previous_refresh_hash: str | None = None
    rotated: bool = False


class Refused(Exception):
    """The session is over (logged out, ended, superseded, expired) or the account is gone."""


def check(user_id: str, session_id: str, now: float, *, uses_apart: bool = False, with_refresh: bool = False) -> Access:
    """The live session ``session_id`` of ``user_id``, with the profile's current role: one
    strongly consistent BatchGetItem of the profile and the session (2 RCU; with ``uses_apart``
    the session's use item too, with ``with_refresh`` its rotation item). ``Refused`` when the
    session or the account is over."""
    keys = [models.raw_key(user_key(user_id), "PROFILE"), models.raw_key(user_key(user_id), session_key(session_id))]
    if uses_apart:
        keys.append(models.raw_key(user_key(user_id), use_key(session_id)))
    if with_refresh:
        keys.append(models.raw_key(user_key(user_id), refresh_key(session_id)))
    request = {"RequestItems": {"Keys": keys, "ConsistentRead": True}}
    found: dict[str, dict] = {}
    for _ in range(models.BATCH_ROUNDS):
        response = models.dispatch("BatchGetItem", request)
        for item in next(iter(response.get("Responses", {}).values()), []):
            found[item["SK"]["S"]] = item
        unprocessed = next(iter((response.get("UnprocessedKeys") or {}).values()), None)
        if not unprocessed:
            break
        request = {"RequestItems": unprocessed}
    else:
        raise models.busy()
    profile, session = found.get("PROFILE"), found.get(session_key(session_id))
    if profile is None or profile.get("status", {}).get("S") == "deleted":
        raise Refused("account deleted")
    if session is None:
        raise Refused("session ended")
    if int(session["expiresAt"]["N"]) <= now:
        raise Refused("session expired")  # TTL removes items late: the time decides
    if int(session.get("epoch", {}).get("N", "0")) != int(profile.get("sessionEpoch", {}).get("N", "0")):
        raise Refused("session ended by a password change")
    used = found.get(use_key(session_id), {})
    rotation = found.get(refresh_key(session_id))
    hashes = rotation if rotation is not None else {"refreshHash": session.get("refreshHash", {})}
    return Access(
        user_id,
        profile["username"]["S"],
        profile.get("role", {}).get("S", "user"),
        session_id,
        int(float(max(session, used, key=_last_used).get("lastUsed", {}).get("N", "0"))),
        int(session["expiresAt"]["N"]),
        uses_apart,
        hashes.get("refreshHash", {}).get("S"),
        hashes.get("previousRefreshHash", {}).get("S"),
        rotation is not None,
    )


def _last_used(item: dict) -> float:
    return float(item.get("lastUsed", {}).get("N", "0"))


def touch(access: Access, now: float) -> bool:
    """Record the session's use, at most once per ``TOUCH_SECONDS``; never revives an ended
    session (the write is conditioned on it existing). True when it wrote."""
    if now - access.last_used < TOUCH_SECONDS:
        return False
    if access.uses_apart:
        # An item of its own, not conditioned on the session: a use recorded after the session
        # ended is an orphan that expires with it, never a session brought back.
        models.SessionUseModel(
            user_key(access.user_id),
            use_key(access.session_id),
            lastUsedAt=iso(now),
            lastUsed=int(now),
            expiresAt=access.expires_at or int(now) + TOUCH_SECONDS,
        ).save()
        return True
    item = models.SessionModel(user_key(access.user_id), session_key(access.session_id))
    try:
        item.update(
            actions=[models.SessionModel.lastUsedAt.set(iso(now)), models.SessionModel.lastUsed.set(int(now))],
            condition=models.SessionModel.pk.exists(),
        )
    except UpdateError as error:
        if not models.condition_failed(error):
            raise
        return False
    return True


# ---------------------------------------------------------------- listing and ending
def _newest(model: Any, prefix: str, user_id: str, limit: int) -> list[Any]:
    """The user's newest ``limit`` items of ``model`` (sort keys ``prefix`` + a ULID): one Query."""
    return list(
        model.query(
            user_key(user_id),
            model.sk.startswith(prefix),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            consistent_read=True,
        )
    )


def _query(user_id: str, limit: int) -> list[models.SessionModel]:
    return _newest(models.SessionModel, PREFIX, user_id, limit)


def list_live(user_id: str, epoch: int, now: float, *, uses_apart: bool = False) -> list[Session]:
    """The user's live sessions, newest first: at most ``PAGE`` of them, one Query (with
    ``uses_apart``, one more for their use items)."""
    live = [
        _session(item) for item in _query(user_id, PAGE) if int(item.expiresAt) > now and int(item.epoch or 0) == epoch
    ]
    if not uses_apart or not live:
        return live
    uses = _newest(models.SessionUseModel, USE_PREFIX, user_id, PAGE)
    used = {use.sk.removeprefix(USE_PREFIX): use.lastUsedAt for use in uses}
    return [replace(s, last_used_at=max(s.last_used_at, used.get(s.id, ""))) for s in live]


def end(user_id: str, session_id: str) -> None:
    """End one of the user's own sessions; NotFound when they have no such session."""
    if not SESSION_ID.fullmatch(session_id):
        raise NotFound("Session not found")
    item = models.SessionModel(user_key(user_id), session_key(session_id))
    try:
        item.delete(condition=models.SessionModel.pk.exists())
    except DeleteError as error:
        if not models.condition_failed(error):
            raise
        raise NotFound("Session not found") from None
    # On the session model's client: another model's would cost a cold start a second client.
    models.dispatch(
        "DeleteItem", {"Key": models.raw_key(user_key(user_id), refresh_key(session_id))}, via=models.SessionModel
    )


def end_all(user_id: str, *, keep: str | None = None) -> int:
    """End the user's sessions but ``keep``: at most ``PAGE`` in this call (one Query, then
    BatchWriteItem deletes). Returns how many were ended."""
    doomed = [item for item in _query(user_id, PAGE) if item.sessionId != keep]
    models.delete_keys(
        [models.raw_key(item.pk, key) for item in doomed for key in (item.sk, refresh_key(item.sessionId))]
    )
    return len(doomed)
