"""What people do with their own account: log in and out, see and end their sessions, change
their password, delete the account (docs/accounts.md). Each step is a function of the
domain modules below it (users, sessions, login_limits, ideas) plus its audit event."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from skills_ideas import audit, ideas, login_limits, models, passwords, refresh_tokens, sessions, users
from skills_ideas.errors import BadRequest, Forbidden, Unauthorized
from skills_ideas.http import Caller, Client
from skills_ideas.validation import SECRET, refuse_forbidden

#: Ideas one account deletion removes in its own request. A larger account is deleted all the
#: same (refused everywhere at once, its name free, its ideas hidden from every listing); the
#: scheduled ``finish_deletions`` function removes the rest, this many per step. At ~25 deletes
#: per BatchWriteItem this keeps the request within the time budget.
DELETE_IDEAS_PER_REQUEST = 1000


@dataclass(frozen=True)
class Login:
    user: users.User
    session: sessions.Session
    #: The session's first refresh token (only its hash is stored).
    refresh_token: str
    #: When the session started (epoch seconds): its first access token's ``iat``.
    now: int


def log_in(username: str, password: str, client: Client, *, ttl_seconds: int) -> Login:
    """A new session, valid for ``ttl_seconds`` (the refresh lifetime), and its first refresh
    token, for the right password. 429 while this name is locked for this client
    or for everyone (``login_limits``); 401 otherwise, after the same work whether or not the
    name exists. The limits' read runs beside the user's look-up (one step of the time budget)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        looked_up = pool.submit(users.find_login, username)
        standing = login_limits.standing(username, client.source_ip)  # raises 429 while locked
        found = looked_up.result()
    user = users.verified(found, password)
    if user is None:
        failures = login_limits.record_failure(standing)
        audit.login_failed(user_id=found[0].id if found else None, client_ip=client.source_ip, failures=failures)
        raise Unauthorized("Invalid credentials")
    login_limits.forget_client(standing)
    now = int(sessions.clock())
    secret, refresh_hash = refresh_tokens.new_secret()
    session = sessions.create(
        user.id,
        epoch=user.session_epoch,
        ttl_seconds=ttl_seconds,
        now=now,
        user_agent=client.user_agent,
        source_ip=client.source_ip,
        refresh_hash=refresh_hash,
    )
    return Login(user, session, refresh_tokens.compose(user.id, session.id, secret), now)


def _password(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{field} is required (a string)")
    refuse_forbidden(value, field, SECRET)
    return value


def _verify(caller: Caller, password: str, client: Client, action: str) -> tuple[users.User, str]:
    """The caller's profile and hash when ``password`` is theirs. The same brute-force limits
    as login apply (a stolen token must not become a password oracle): 429 while locked, and
    a wrong password counts as a failed login of the account."""
    standing = login_limits.standing(caller.username, client.source_ip)
    try:
        return users.check_password(caller.user_id, password)
    except Forbidden:
        login_limits.record_failure(standing)
        audit.password_check_failed(user_id=caller.user_id, action=action, client_ip=client.source_ip)
        raise


def change_password(caller: Caller, body: dict[str, Any], client: Client) -> int:
    """Set a new password and end every other session of the caller. Returns how many ended."""
    current, new = _password(body, "currentPassword"), _password(body, "newPassword")
    if not passwords.MIN_LENGTH <= len(new) <= passwords.MAX_LENGTH:
        raise BadRequest(f"newPassword must be {passwords.MIN_LENGTH}-{passwords.MAX_LENGTH} characters long")
    user, stored = _verify(caller, current, client, "change-password")
    users.change_password(user, stored, passwords.hash_password(new), keep_session=caller.session_id)
    ended = sessions.end_all(user.id, keep=caller.session_id)
    audit.password_changed(user_id=user.id, sessions_ended=ended, client_ip=client.source_ip)
    return ended


def log_out(caller: Caller) -> None:
    """End the caller's own session (done already is fine: logging out twice is not an error)."""
    models.SessionModel(models.user_key(caller.user_id), sessions.session_key(caller.session_id)).delete()
    audit.sessions_ended(user_id=caller.user_id, how="logout", ended=1, session_id=caller.session_id)


def end_session(caller: Caller, session_id: str) -> None:
    """End one of the caller's sessions; 404 for an unknown id or someone else's."""
    sessions.end(caller.user_id, session_id)
    audit.sessions_ended(user_id=caller.user_id, how="ended", ended=1, session_id=session_id)


def list_sessions(caller: Caller, *, uses_apart: bool = False) -> list[dict[str, Any]]:
    """The caller's live sessions; ``uses_apart``: multi-region mode (``sessions``)."""
    user = users.get(caller.user_id)
    now = sessions.clock()
    live = sessions.list_live(user.id, user.session_epoch, now, uses_apart=uses_apart)
    return [session.public(caller.session_id) for session in live]


@dataclass(frozen=True)
class Deletion:
    ideas_deleted: int
    complete: bool  # False: ideas remain for `skills-ideas admin finish-deletions`


def delete_account(caller: Caller, body: dict[str, Any], client: Client) -> Deletion:
    """Delete the caller's account after checking their password. Order matters: the profile
    is marked deleted first (login and the authorizer refuse it from that write on), and a
    pending-deletion marker is written before anything is removed, so a request cut short
    (a timeout, a throttled batch) leaves work that ``finish-deletions`` finds; then the name is
    released and the sessions and ideas go; the profile and the marker go last."""
    user, stored = _verify(caller, _password(body, "password"), client, "delete-account")
    users.mark_deleted(user.id, stored)
    models.PendingDeletionModel(sk=models.user_key(user.id), userId=user.id, deletedAt=models.now_iso()).save()
    ideas.forget_hidden_owners()
    users.release_name(user.id, user.username)
    return finish_deletion(user.id)


def finish_deletion(user_id: str, max_ideas: int | None = None) -> Deletion:
    """Remove what is left of a deleted account: sessions, up to ``max_ideas`` ideas, then,
    when no idea remains, the profile and the pending-deletion marker."""
    limit = DELETE_IDEAS_PER_REQUEST if max_ideas is None else max_ideas
    ended = sessions.end_all(user_id)
    deleted, remain = ideas.delete_owned(user_id, max_items=limit)
    if not remain:
        users.delete_profile(user_id)
        models.PendingDeletionModel(sk=models.user_key(user_id)).delete()
    audit.sessions_ended(user_id=user_id, how="deleted", ended=ended)
    audit.account_deleted(user_id=user_id, ideas_deleted=deleted, complete=not remain)
    return Deletion(deleted, not remain)


@dataclass(frozen=True)
class Finished:
    user_id: str
    ideas_deleted: int
    complete: bool


def finish_pending_deletions(seconds_left: Callable[[], float]) -> list[Finished]:
    """Finish the accounts being deleted, oldest marker first, ``DELETE_IDEAS_PER_REQUEST``
    ideas per step, while ``seconds_left()`` is positive (the scheduled function passes its
    remaining time less a reserve for one step). An account cut short stays pending and the
    next run goes on with it; running twice at once only repeats idempotent deletes."""
    finished: list[Finished] = []
    for marker in models.PendingDeletionModel.query(models.DELETIONS, consistent_read=True):
        total, complete = 0, False
        while not complete and seconds_left() > 0:
            deletion = finish_deletion(marker.userId)
            total, complete = total + deletion.ideas_deleted, deletion.complete
        finished.append(Finished(marker.userId, total, complete))
        if not complete:
            break
    return finished
