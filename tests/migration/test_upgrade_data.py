"""`skills-ideas upgrade-data`: a table of key layout 1 (1.0.x) copied into layout 2 without
losing an idea, an id a client holds, a version or a login."""

from __future__ import annotations

import os

import pytest

from skills_ideas import ideas
from skills_ideas_tools import upgrade
from tests.support import bind_models

LAYOUT_1_TABLE = "skills-ideas-layout-1"
ULID_ID = "01JD0000000000000000000001"


def layout_1_table(client) -> None:
    """The 1.0 key schema: IdeaById and three feed GSIs, three LSIs, all projecting everything."""
    gsi = [("IdeaById", "ideaId", None)] + [
        (f"FeedBy{n}", "feedShard", f"{n.lower()}Sort") for n in ("Created", "Title", "Status")
    ]
    lsi = [(f"By{n}", f"{n.lower()}Sort") for n in ("Created", "Title", "Status")]

    def keys(hash_key, range_key):
        return [{"AttributeName": hash_key, "KeyType": "HASH"}] + (
            [{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else []
        )

    names = {"PK", "SK", "ideaId", "feedShard", "createdSort", "titleSort", "statusSort"}
    client.create_table(
        TableName=LAYOUT_1_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in sorted(names)],
        KeySchema=keys("PK", "SK"),
        GlobalSecondaryIndexes=[
            {"IndexName": n, "KeySchema": keys(h, r), "Projection": {"ProjectionType": "ALL"}} for n, h, r in gsi
        ],
        LocalSecondaryIndexes=[
            {"IndexName": n, "KeySchema": keys("PK", r), "Projection": {"ProjectionType": "ALL"}} for n, r in lsi
        ],
    )


def layout_1_idea(idea_id: str, owner: str, created: str, title: str, status: str, version: int) -> dict:
    return {
        "PK": {"S": f"USER#{owner}"},
        "SK": {"S": f"IDEA#{idea_id}"},
        "ideaId": {"S": idea_id},
        "userId": {"S": owner},
        "title": {"S": title},
        "status": {"S": status},
        "createdAt": {"S": created},
        "updatedAt": {"S": created},
        "feedShard": {"S": "FEED#2"},
        "createdSort": {"S": f"{created}#{idea_id}"},
        "titleSort": {"S": f"{title.lower()}\x01{idea_id}"},
        "statusSort": {"S": f"{status.lower()}#{created}#{idea_id}"},
        "version": {"N": str(version)},
    }


@pytest.fixture
def old_table(target):
    client = target.dynamodb
    layout_1_table(client)
    rows = [
        {"PK": {"S": "USER#u1"}, "SK": {"S": "PROFILE"}, "userId": {"S": "u1"}, "username": {"S": "ada"}},
        {"PK": {"S": "USERNAME#ada"}, "SK": {"S": "USERNAME"}, "userId": {"S": "u1"}, "username": {"S": "ada"}},
        layout_1_idea(ULID_ID, "u1", "2026-01-01T00:00:00.000Z", "New style", "Planning", 3),
        layout_1_idea("12", "u1", "2021-03-04T06:00:00.000Z", "Migrated", "Completed", 1),
    ]
    for row in rows:
        client.put_item(TableName=LAYOUT_1_TABLE, Item=row)
    assert upgrade.is_layout_1(client.describe_table(TableName=LAYOUT_1_TABLE)["Table"])
    return client, rows


def test_a_layout_1_table_is_copied_with_every_id_still_resolving(old_table):
    client, rows = old_table
    target = os.environ["TABLE_NAME"]  # the current (layout 2) table
    # When the layout-1 table is copied into the current table, twice (an interrupted run repeated)
    first = upgrade.copy(client, LAYOUT_1_TABLE, target)
    again = upgrade.copy(client, LAYOUT_1_TABLE, target)
    # Then every item was read, ideas became an idea and an alias, and the second run changed nothing
    assert first == again == {"read": 4, "ideas": 2, "written": 6}
    bind_models()
    # And the ids clients hold still resolve, with their fields and versions
    assert ideas.get(ULID_ID)["title"] == "New style"
    assert ideas.get("12")["status"] == "Completed"
    # And listings serve them in creation order; the owner can still edit (version carried over)
    query, _, _ = ideas.parse_list_query({})
    listed, _ = ideas.list_ideas(query, None, cursor_key=b"k" * 32)
    assert [i["id"] for i in listed] == [ULID_ID, "12"]
    assert ideas.update("u1", ULID_ID, {"title": "Edited"})["title"] == "Edited"
    # And users and claims came over unchanged
    assert (
        client.get_item(TableName=target, Key={"PK": {"S": "USERNAME#ada"}, "SK": {"S": "USERNAME"}})["Item"] == rows[1]
    )


def test_a_local_table_is_upgraded_in_place_once(old_table):
    client, _ = old_table
    # When make dev finds its table in layout 1
    counts = upgrade.upgrade_in_place(client, LAYOUT_1_TABLE)
    # Then it is recreated in layout 2 with every item converted, and a second start changes nothing
    assert counts == {"read": 4, "ideas": 2, "written": 6}
    assert not upgrade.is_layout_1(client.describe_table(TableName=LAYOUT_1_TABLE)["Table"])
    assert upgrade.upgrade_in_place(client, LAYOUT_1_TABLE) is None
    keys = {item["PK"]["S"] for item in client.scan(TableName=LAYOUT_1_TABLE)["Items"]}
    assert keys == {"USER#u1", "USERNAME#ada", f"IDEAALIAS#{ULID_ID}", "IDEAALIAS#12"}
