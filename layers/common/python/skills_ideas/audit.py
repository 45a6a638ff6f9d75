"""The security audit trail: one structured log line and one Powertools count per event.

Every line says ``"message": "security event"`` and carries ``securityEvent`` (the name below),
``userId`` where one is known, and only the facts listed for the event: never a password, a
hash, a token or a session's full id (``session`` is its first 8 characters, enough to match
the line with ``GET /api/me/sessions``). CloudWatch Logs Insights finds them all with
``filter message = "security event"``; docs/accounts.md lists the events.
"""

from __future__ import annotations

from typing import Any

from skills_ideas.observability import count, logger


def _log(event: str, **facts: Any) -> None:
    logger.info("security event", extra={"securityEvent": event, **{k: v for k, v in facts.items() if v is not None}})


def short(session_id: str | None) -> str | None:
    return session_id[:8] if session_id else None


def login_failed(*, user_id: str | None, client_ip: str, failures: int) -> None:
    """A wrong password, or a name nobody has (``userId`` absent)."""
    count("LoginFailed")
    _log("LoginFailed", userId=user_id, clientIp=client_ip, failuresFromClient=failures)


def login_locked_out(*, scope: str, client_ip: str, retry_after: int) -> None:
    """A login refused with 429 before any password was looked at."""
    count("LoginLockedOut")
    _log("LoginLockedOut", scope=scope, clientIp=client_ip, retryAfter=retry_after)


def password_check_failed(*, user_id: str, action: str, client_ip: str) -> None:
    """A wrong current password on a password change or an account deletion."""
    count("PasswordCheckFailed")
    _log("PasswordCheckFailed", userId=user_id, action=action, clientIp=client_ip)


def password_changed(*, user_id: str, sessions_ended: int, client_ip: str) -> None:
    count("PasswordChanged")
    _log("PasswordChanged", userId=user_id, sessionsEnded=sessions_ended, clientIp=client_ip)


def sessions_ended(*, user_id: str, how: str, ended: int, session_id: str | None = None) -> None:
    """``how``: logout, ended (one of the user's own), admin (an operator ended them all),
    reused (a rotated refresh token came back)."""
    count("SessionEnded", ended)
    _log("SessionEnded", userId=user_id, how=how, ended=ended, session=short(session_id))


def refresh_token_reused(*, user_id: str, session_id: str, client_ip: str) -> None:
    """A rotated refresh token was presented again (stolen, or a client that raced itself):
    its session has been ended, with every token of the family."""
    count("RefreshTokenReused")
    _log("RefreshTokenReused", userId=user_id, session=short(session_id), clientIp=client_ip)
    sessions_ended(user_id=user_id, how="reused", ended=1, session_id=session_id)


def account_deleted(*, user_id: str, ideas_deleted: int, complete: bool) -> None:
    count("AccountDeleted")
    _log("AccountDeleted", userId=user_id, ideasDeleted=ideas_deleted, complete=complete)


def role_changed(*, user_id: str, role: str, by: str) -> None:
    count("RoleChanged")
    _log("RoleChanged", userId=user_id, role=role, by=by)
