"""Sessions, login limits and account deletion on DynamoDB Local (AWS's engine): the raw
BatchGetItem / BatchWriteItem requests, atomic counters under concurrency, the transaction of
a password change, and deletion in bounded batches."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from skills_ideas import account, ideas, login_limits, models, passwords, sessions, users
from skills_ideas.errors import TooManyRequests
from skills_ideas.http import Caller

pytestmark = pytest.mark.dynamodb_local


def _user(name: str = "ada") -> users.User:
    user = users.User(f"u-{name}", name, "user", models.now_iso())
    users.put_user(user, passwords.hash_password("correct-horse-9"))
    return user


def _session(user: users.User, now: float) -> sessions.Session:
    return sessions.create(user.id, epoch=user.session_epoch, ttl_seconds=600, now=now, user_agent="t", source_ip="::1")


def test_the_authorizers_check_reads_profile_and_session_and_sees_every_ending(table):
    user = _user()
    now = time.time()
    one, two = _session(user, now), _session(user, now + 0.01)
    assert sessions.check(user.id, one.id, now).role == "user"
    sessions.end(user.id, one.id)
    with pytest.raises(sessions.Refused):
        sessions.check(user.id, one.id, now)
    # A password change (new epoch, kept session) refuses the rest at once
    three = _session(user, now + 0.02)
    stored = users.check_password(user.id, "correct-horse-9")
    users.change_password(stored[0], stored[1], passwords.hash_password("new-horse-77"), keep_session=two.id)
    assert sessions.check(user.id, two.id, now).session_id == two.id
    with pytest.raises(sessions.Refused):
        sessions.check(user.id, three.id, now)


def test_concurrent_failures_are_all_counted(table):
    standing = login_limits.Standing("ada", "198.51.100.1")
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = sorted(pool.map(lambda _: login_limits.record_failure(standing), range(16)))
    assert counts == list(range(1, 17))
    with pytest.raises(TooManyRequests):
        login_limits.standing("ADA", "198.51.100.1")  # every spelling of the name shares the counters


def test_a_run_that_is_over_starts_again_at_one(table, monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(login_limits, "clock", lambda: now[0])
    standing = login_limits.Standing("ada", "198.51.100.1")
    for _ in range(3):
        login_limits.record_failure(standing)
    now[0] += login_limits.WINDOW_SECONDS + 1
    assert login_limits.standing("ada", "198.51.100.1").client_failures == 0
    assert login_limits.record_failure(standing) == 1


def test_deleting_an_account_removes_ideas_in_bounded_batches(table, client, monkeypatch):
    user = _user()
    other = _user("bob")
    for n in range(130):
        ideas.create(user.id, {"title": f"idea {n}", "description": None, "status": "Concept"})
    item, alias = ideas.aliased_item(user.id, "9", "2024-01-01T00:00:00.000Z", 9, title="old", status="Concept")
    item.updatedAt = item.createdAt
    alias.save()
    item.save()
    ideas.create(other.id, {"title": "stays", "description": None, "status": "Concept"})
    session = _session(user, time.time())
    monkeypatch.setattr(account, "DELETE_IDEAS_PER_REQUEST", 100)
    caller = Caller(user.id, user.username, "user", session.id)
    deletion = account.delete_account(caller, {"password": "correct-horse-9"}, _client())
    assert (deletion.ideas_deleted, deletion.complete) == (100, False)
    assert users.find_login("ada") is None
    # The 31 ideas left are listed nowhere from the deleting request on
    feed = ideas.list_page(ideas.ListQuery("desc", 10), None, cursor_key=b"k" * 32)[0]
    assert [i["title"] for i in feed] == ["stays"]
    assert ideas.list_page(ideas.ListQuery("desc", 10, user_id=user.id), None, cursor_key=b"k" * 32)[0] == []
    # And the scheduled sweep removes them
    (finished,) = account.finish_pending_deletions(lambda: 1.0)
    assert (finished.user_id, finished.ideas_deleted, finished.complete) == (user.id, 31, True)
    left = client.query(
        TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": f"USER#{user.id}"}}
    )
    assert left["Items"] == []
    assert "Item" not in client.get_item(TableName=table, Key={"PK": {"S": "IDEAALIAS#9"}, "SK": {"S": "ALIAS"}})
    assert [i["title"] for i in ideas.list_page(ideas.ListQuery("desc", 10), None, cursor_key=b"k" * 32)[0]] == [
        "stays"
    ]


def _client():
    from skills_ideas.http import Client

    return Client("198.51.100.2", "pytest")
