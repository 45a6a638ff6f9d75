"""Refresh token rotation on DynamoDB Local: the conditional write that rotates a refresh token
under real concurrency. Two refreshes with one token: exactly one gets the new tokens, the other
is a reuse, and the reuse ends the whole session (the winner's new tokens included)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from skills_ideas import models, passwords, refresh_tokens, sessions, users
from skills_ideas.errors import Unauthorized
from skills_ideas.http import Client

pytestmark = pytest.mark.dynamodb_local

CLIENT = Client("198.51.100.7", "pytest")


def _family() -> tuple[users.User, str]:
    """A user with one session and that session's refresh token."""
    user = users.User("u-ada", "ada", "user", models.now_iso())
    users.put_user(user, passwords.hash_password("correct-horse-9"))
    secret, hashed = refresh_tokens.new_secret()
    session = sessions.create(
        user.id,
        epoch=user.session_epoch,
        ttl_seconds=3600,
        now=time.time(),
        user_agent="t",
        source_ip="::1",
        refresh_hash=hashed,
    )
    return user, refresh_tokens.compose(user.id, session.id, secret)


def _attempt(token: str) -> refresh_tokens.Refreshed | str:
    try:
        return refresh_tokens.refresh(token, CLIENT)
    except Unauthorized as refused:
        return refused.message


@pytest.mark.parametrize("both_read_first", [True, False], ids=["both-read-before-either-writes", "as-they-come"])
def test_two_concurrent_refreshes_with_one_token_one_wins_and_the_reuse_ends_the_family(
    table, monkeypatch, both_read_first
):
    user, token = _family()
    if both_read_first:
        # Both requests read the session (and see the presented hash as current) before either
        # writes: the conditional write alone must decide between them.
        both_read = threading.Barrier(2, timeout=30)
        real_check = sessions.check

        def check_then_wait(*args, **kwargs):
            found = real_check(*args, **kwargs)
            both_read.wait()
            return found

        monkeypatch.setattr(sessions, "check", check_then_wait)
    # When two refreshes with the same token run at once
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(_attempt, [token, token]))
    monkeypatch.undo()
    # Then exactly one rotated the token and the other was answered as a reuse
    won = [o for o in outcomes if isinstance(o, refresh_tokens.Refreshed)]
    assert len(won) == 1 and [o for o in outcomes if isinstance(o, str)] == [refresh_tokens.REUSED]
    # And the reuse ended the session: the winner's new refresh token is refused too
    with pytest.raises(sessions.Refused):
        sessions.check(user.id, won[0].access.session_id, time.time())
    assert _attempt(won[0].refresh_token) == refresh_tokens.ENDED


def test_a_rotation_keeps_one_previous_hash_stores_no_secret_and_never_rewrites_the_session(table, client):
    user, first = _family()
    session_id = first.split(".")[1]
    session_before = client.get_item(
        TableName=table, Key=models.raw_key(models.user_key(user.id), sessions.session_key(session_id))
    )["Item"]
    second = refresh_tokens.refresh(first, CLIENT).refresh_token
    third = refresh_tokens.refresh(second, CLIENT).refresh_token
    rotation = models.RefreshRotationModel.get(models.user_key(user.id), sessions.refresh_key(session_id))
    assert rotation.refreshHash == refresh_tokens.digest(third.split(".")[2])
    assert rotation.previousRefreshHash == refresh_tokens.digest(second.split(".")[2])
    # The session item is as login wrote it: a refresh in one region cannot, under last writer
    # wins, bring back a session another region ended (docs/multi-region.md)
    session_after = client.get_item(
        TableName=table, Key=models.raw_key(models.user_key(user.id), sessions.session_key(session_id))
    )["Item"]
    assert session_after == session_before
    raw = str(client.scan(TableName=models.SessionModel.Meta.table_name)["Items"])
    assert not any(token.split(".")[2] in raw for token in (first, second, third))
