"""The multi-region rules in one region (moto): the regions a function knows, the stamp every
write of a user or idea carries, which region announces a change, and the per-region counters
(docs/multi-region.md; the two-region proof is tests/multiregion)."""

from __future__ import annotations

import os

import boto3
import pytest

from skills_ideas import models, sessions
from skills_ideas.config import ConfigError, RegionConfig
from skills_ideas.events import domain, stats
from skills_ideas_tools.stats_command import rebuild
from tests.support import event, invoke

PASSWORD = "correct-horse-battery"
TWO = {"AWS_REGION": "eu-west-1", "HOME_REGION": "us-east-1", "REGIONS": "us-east-1,eu-west-1"}


# ------------------------------------------------------------------ configuration
def test_without_home_region_a_function_is_single_region():
    regions = RegionConfig.from_env({"AWS_REGION": "us-east-1"})
    assert (regions.region, regions.home, regions.regions) == ("us-east-1", "us-east-1", ("us-east-1",))
    assert not regions.multi_region and regions.is_home


def test_home_region_and_regions_make_a_function_multi_region():
    regions = RegionConfig.from_env({**TWO, "HOME_DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:1"})
    assert regions.multi_region and not regions.is_home
    assert regions.regions == ("eu-west-1", "us-east-1")
    assert regions.home_endpoint_url == "http://127.0.0.1:1"
    # Without REGIONS, the home region and the function's own
    derived = RegionConfig.from_env({"AWS_REGION": "eu-west-1", "HOME_REGION": "us-east-1"})
    assert derived.regions == ("eu-west-1", "us-east-1")


@pytest.mark.parametrize(
    "env",
    [
        {"AWS_REGION": "eu-west-1", "HOME_REGION": "Virginia"},
        {"AWS_REGION": "eu-west-1", "HOME_REGION": "us-east-1", "REGIONS": "us-east-1,ap-southeast-1"},
        {"AWS_REGION": "eu-west-1", "HOME_REGION": "us-east-1", "REGIONS": "us-east-1,eu-west-1,mars"},
    ],
)
def test_a_malformed_region_setting_fails_at_start(env):
    with pytest.raises(ConfigError):
        RegionConfig.from_env(env)


# ------------------------------------------------------------------ the origin rule
@pytest.mark.parametrize(
    ("event_name", "old", "new", "here", "published"),
    [
        ("INSERT", {}, {"writtenIn": "eu-west-1"}, "eu-west-1", True),
        ("INSERT", {}, {"writtenIn": "eu-west-1"}, "us-east-1", False),
        ("MODIFY", {"writtenIn": "us-east-1"}, {"writtenIn": "eu-west-1"}, "us-east-1", False),
        ("MODIFY", {"writtenIn": "us-east-1"}, {"writtenIn": "eu-west-1"}, "eu-west-1", True),
        # a delete: the region that wrote the deleted version announces it, whoever deleted it
        ("REMOVE", {"writtenIn": "us-east-1"}, {}, "us-east-1", True),
        ("REMOVE", {"writtenIn": "us-east-1"}, {}, "eu-west-1", False),
        # written before writes were stamped: the home region announces it
        ("MODIFY", {}, {}, "us-east-1", True),
        ("REMOVE", {}, {}, "eu-west-1", False),
    ],
)
def test_each_change_is_announced_by_exactly_the_region_it_was_written_in(event_name, old, new, here, published):
    regions = RegionConfig.from_env({**TWO, "AWS_REGION": here})
    assert domain.publishes(domain.origin(event_name, old, new), regions) is published


def test_in_one_region_every_change_is_announced_stamped_or_not():
    regions = RegionConfig.from_env({"AWS_REGION": "us-east-1"})
    assert domain.publishes(None, regions)
    assert domain.publishes("us-east-1", regions)


# ------------------------------------------------------------------ stamps
def _items(prefix: str, sk: str | None = None) -> list[dict]:
    client = boto3.client("dynamodb")
    found = client.scan(TableName=os.environ["TABLE_NAME"])["Items"]
    return [i for i in found if i["PK"]["S"].startswith(prefix) and (sk is None or i["SK"]["S"].startswith(sk))]


def test_every_write_of_a_user_or_an_idea_carries_the_region_it_was_written_in(aws, monkeypatch):
    status, body = invoke("register", event("POST", "/api/register", body={"username": "ada", "password": PASSWORD}))
    assert status == 201
    user = {"userId": body["data"]["id"], "username": "ada", "role": "user"}
    code, created = invoke("create_idea", event("POST", "/api/ideas", body={"title": "Swap"}, caller=user))
    assert code == 201
    (profile,) = _items("USER#", "PROFILE")
    (idea,) = _items("USER#", "IDEA#")
    assert profile["writtenIn"] == idea["writtenIn"] == {"S": "us-east-1"}
    # And an update stamps the item again: after another region's write (as replicated), a
    # role change, a password change and the start of a deletion here each take the stamp back
    from skills_ideas import users

    code, login = invoke("login", event("POST", "/api/login", body={"username": "ada", "password": PASSWORD}))
    assert code == 200
    models.bind(stats.TableConfig.from_env())
    found = users.find_login("ada")
    assert found is not None
    elsewhere = {"UpdateExpression": "SET writtenIn = :r", "ExpressionAttributeValues": {":r": {"S": "eu-west-1"}}}
    key = {"PK": profile["PK"], "SK": profile["SK"]}
    client = boto3.client("dynamodb")
    steps = [
        lambda: users.set_role("ada", "admin"),
        lambda: users.change_password(users.get(user["userId"]), found[1], "new-hash", login["sessionId"]),
        lambda: users.mark_deleted(user["userId"], "new-hash"),
    ]
    for step in steps:
        client.update_item(TableName=os.environ["TABLE_NAME"], Key=key, **elsewhere)
        step()
        (profile,) = _items("USER#", "PROFILE")
        assert profile["writtenIn"] == {"S": "us-east-1"}, step


# ------------------------------------------------------------------ per-region counters
def _event(kind: str, event_id: str, **data) -> dict:
    return {"id": event_id, "type": kind, "version": 1, "time": "2026-11-29T00:00:00.000Z", "data": data}


def test_each_region_counts_into_its_own_items_and_reads_sum_every_region_and_the_old_item(aws):
    table = stats.TableConfig.from_env()
    client = boto3.client("dynamodb")
    # Given counts from before multi-region in the single-region items
    client.put_item(TableName=table.table_name, Item={**stats.GLOBAL_KEY, "users": {"N": "5"}})
    client.put_item(TableName=table.table_name, Item={**stats.user_key("u1"), "ideas": {"N": "1"}})
    home = RegionConfig.from_env({**TWO, "AWS_REGION": "us-east-1"})
    second = RegionConfig.from_env(TWO)
    idea = {"ideaId": "u1-x", "userId": "u1", "status": "Concept", "createdAt": "2026-11-29T00:00:00.000Z"}
    # When each region applies the events it announced
    assert stats.apply(_event("UserRegistered", "e1", userId="u2"), table, regions=home)
    assert stats.apply(_event("IdeaCreated", "e2", **idea), table, regions=second)
    # Then each wrote its own items only
    keys = {(i["PK"]["S"], i["SK"]["S"]) for i in _items("STATS") + _items("USERSTATS#")}
    assert keys == {
        ("STATS", "GLOBAL"),
        ("STATS", "GLOBAL#us-east-1"),
        ("STATS", "GLOBAL#eu-west-1"),
        ("USERSTATS#u1", "STATS"),
        ("USERSTATS#u1", "STATS#eu-west-1"),
    }
    # And every region reads the sum
    for regions in (home, second):
        numbers = stats.totals(table, regions=regions)
        assert (numbers["users"], numbers["ideas"], numbers["ideasByStatus"]["Concept"]) == (6, 1, 1)
        assert stats.user_counts("u1", table, regions)["ideas"] == 2
    # While a single-region function reads (and writes) only the single-region items, as before
    assert stats.totals(table)["users"] == 5 and stats.user_counts("u1", table)["ideas"] == 1


def test_a_rebuild_corrects_the_sum_through_the_old_item_and_leaves_the_regions_items_alone(aws):
    table = stats.TableConfig.from_env()
    client = boto3.client("dynamodb")
    second = RegionConfig.from_env(TWO)
    # Given one user and one idea in the table, and counters that drifted: the second region
    # counted two users, and an old single-region item says one more
    invoke("register", event("POST", "/api/register", body={"username": "bob", "password": PASSWORD}))
    client.put_item(TableName=table.table_name, Item={**stats.GLOBAL_KEY, "users": {"N": "1"}})
    client.put_item(TableName=table.table_name, Item={**stats.global_key("eu-west-1"), "users": {"N": "2"}})
    # When the statistics are rebuilt
    report = rebuild(client, table.table_name, sleep=lambda _: None)
    # Then the drift is reported against the sum, and corrected in the old item alone
    assert report.corrected == [{"item": "STATS", "stored": {"users": 3}, "counted": {"users": 1}}]
    region_item = client.get_item(TableName=table.table_name, Key=stats.global_key("eu-west-1"))["Item"]
    assert region_item["users"] == {"N": "2"}
    assert stats.totals(table, regions=second)["users"] == 1
    assert rebuild(client, table.table_name, sleep=lambda _: None).corrected == []


# ------------------------------------------------------------------ sessions
def test_in_multi_region_mode_a_session_use_is_recorded_apart_from_the_session(aws):
    # Given a user with a session (login writes it)
    invoke("register", event("POST", "/api/register", body={"username": "cyd", "password": PASSWORD}))
    code, login = invoke("login", event("POST", "/api/login", body={"username": "cyd", "password": PASSWORD}))
    assert code == 200
    user_id, session_id = login["user"]["id"], login["sessionId"]
    models.bind(stats.TableConfig.from_env())
    (session_before,) = _items("USER#", "SESSION#")
    # When the session is used a while later, in multi-region mode
    later = sessions.clock() + 2 * sessions.TOUCH_SECONDS
    access = sessions.check(user_id, session_id, later, uses_apart=True)
    assert sessions.touch(access, later)
    # Then the session item is untouched and the use is an item of its own, expiring with it
    (session_after,) = _items("USER#", "SESSION#")
    assert session_after == session_before
    (use,) = _items("USER#", "SESSIONUSE#")
    assert use["lastUsed"] == {"N": str(int(later))} and use["expiresAt"] == session_before["expiresAt"]
    # And the next check sees that use (no second write within the touch interval)
    again = sessions.check(user_id, session_id, later + 1, uses_apart=True)
    assert again.last_used == int(later) and not sessions.touch(again, later + 1)
    # And the listing shows it as the session's last use
    (listed,) = sessions.list_live(user_id, 0, later + 1, uses_apart=True)
    assert listed.last_used_at == sessions.iso(later)
    # While in one region the use is recorded on the session, as before
    (single,) = sessions.list_live(user_id, 0, later + 1)
    assert single.last_used_at == session_before["lastUsedAt"]["S"]
