"""Ideas on DynamoDB Local: conditional ownership writes, lookups through the GSIs and LSIs,
and the exactness of the sharded feed's cursor paging."""

from __future__ import annotations

import itertools

import pytest

from skills_ideas import ideas, models
from skills_ideas.errors import BadRequest, Conflict, Forbidden, NotFound
from skills_ideas.users import user_key
from tests.support import FEED_STATUSES, expected_feed, feed_rows, seed_feed, walk_pages

from .conftest import items

pytestmark = pytest.mark.dynamodb_local
PAGE = 7


def create(owner_id: str, body: dict) -> dict:
    """What POST /api/ideas does below the handler: validate, then the conditional put."""
    return ideas.create(owner_id, ideas.validate_full(body))


def listing(params: dict[str, str]) -> tuple[list[dict], str | None]:
    query, cursor, page = ideas.parse_list_query(params)
    return ideas.list_ideas(query, cursor, page)


@pytest.fixture
def feed(table) -> list[dict]:
    return seed_feed(create, feed_rows(57))


# ------------------------------------------------------------------ ownership
def test_only_the_owner_can_update_or_delete_and_others_change_nothing(table, client):
    # Given Ada's idea
    idea = create("u-ada", {"title": "Tide clock", "description": "d", "status": "Planning"})
    before = items(client, table, "USER#u-ada")
    # When Bob tries to update and to delete it
    with pytest.raises(Forbidden):
        ideas.update("u-bob", idea["id"], {"title": "Bob's now"})
    with pytest.raises(Forbidden):
        ideas.delete("u-bob", idea["id"])
    # Then the item is untouched, and Bob's partition got nothing either
    assert items(client, table, "USER#u-ada") == before
    assert items(client, table, "USER#u-bob") == []
    # And Ada can update, then delete it
    assert ideas.update("u-ada", idea["id"], {"status": "Completed"})["status"] == "Completed"
    ideas.delete("u-ada", idea["id"])
    assert items(client, table, "USER#u-ada") == []


def test_writes_to_an_unknown_idea_are_404_and_create_nothing(table, client):
    for write in (
        lambda: ideas.update("u-ada", "01JZZZZZZZZZZZZZZZZZZZZZZZ", {"title": "x"}),
        lambda: ideas.delete("u-ada", "01JZZZZZZZZZZZZZZZZZZZZZZZ"),
    ):
        with pytest.raises(NotFound):
            write()
    assert items(client, table, "USER#") == []


def test_a_stale_write_cannot_overwrite_a_newer_version(table):
    # Given a copy of Ada's idea read before someone else's edit
    idea = create("u-ada", {"title": "v1"})
    stale = models.IdeaModel.get(user_key("u-ada"), ideas.idea_key(idea["id"]), consistent_read=True)
    ideas.update("u-ada", idea["id"], {"title": "v2"})
    # When the stale copy is written back
    stale.title = "stale"
    with pytest.raises(Exception) as raised:
        stale.save()
    # Then the version condition refuses it and the newer edit stays
    assert getattr(raised.value, "cause_response_code", None) == "ConditionalCheckFailedException"
    assert ideas.get(idea["id"])["title"] == "v2"


def test_an_update_of_an_idea_deleted_meanwhile_does_not_bring_it_back(table):
    # Given an update that read the idea, then lost it to a delete before writing
    idea = create("u-ada", {"title": "doomed"})
    item = models.IdeaModel.get(user_key("u-ada"), ideas.idea_key(idea["id"]), consistent_read=True)
    ideas.delete("u-ada", idea["id"])
    item.title = "resurrected"
    # When it writes, the version condition fails and the idea stays deleted
    with pytest.raises(Exception):  # noqa: B017 - pynamodb's PutError, checked by its effect below
        item.save()
    with pytest.raises(NotFound):
        ideas.get(idea["id"])


def test_conflicting_update_maps_to_409(table, monkeypatch):
    # Given an update whose read is overtaken by another edit before its write
    idea = create("u-ada", {"title": "v1"})
    original_own = ideas._own

    def read_then_overtaken(owner_id, idea_id):
        item = original_own(owner_id, idea_id)
        # another writer commits between our read and our write (pynamodb bumps the version)
        models.IdeaModel.get(user_key(owner_id), ideas.idea_key(idea_id)).update(
            actions=[models.IdeaModel.title.set("someone else's edit")]
        )
        return item

    monkeypatch.setattr(ideas, "_own", read_then_overtaken)
    # When the update writes, it gets 409 instead of silently overwriting
    with pytest.raises(Conflict):
        ideas.update("u-ada", idea["id"], {"title": "mine"})
    assert ideas.get(idea["id"])["title"] == "someone else's edit"


# ------------------------------------------------------------------ indexes
def test_an_idea_is_found_by_id_through_the_gsi_and_legacy_ids_work(table):
    # Given a new idea and a migrated one that kept its legacy numeric id
    new = create("u-ada", {"title": "new"})
    legacy = ideas.new_item(
        "u-old",
        "12",
        title="legacy",
        description=None,
        status="Concept",
        createdAt="2023-05-05T00:00:00.000Z",
        updatedAt="2023-05-05T00:00:00.000Z",
    )
    legacy.save()
    # Then both are one read away by id, and an unknown id is 404
    assert ideas.get(new["id"]) == new
    assert ideas.get("12")["title"] == "legacy"
    with pytest.raises(NotFound):
        ideas.get("13")


def test_one_users_ideas_come_from_their_partition_in_every_order(feed):
    # Given the feed of three owners
    for sort, order in itertools.product(("createdAt", "title", "status"), ("asc", "desc")):
        # When one owner's ideas are listed in one page
        got, cursor = listing({"userId": "u-bob", "sort": sort, "order": order, "_limit": "100"})
        # Then they are exactly that owner's, in order
        assert [i["id"] for i in got] == expected_feed(feed, sort, order, user_id="u-bob")
        assert cursor is None


# ------------------------------------------------------------------ the sharded feed
COMBINATIONS = [
    {"sort": sort, "order": order, **filters}
    for sort, order, filters in itertools.product(
        ("createdAt", "title", "status"),
        ("asc", "desc"),
        ({}, {"status": "On Hold"}, {"userId": "u-ada"}, {"status": "planning", "userId": "u-cy"}),
    )
]


def test_cursor_paging_over_the_shards_is_exact_for_every_sort_and_filter(feed):
    # Given 57 ideas over every shard, with tied times and titles
    for query in COMBINATIONS:
        status = {"planning": "Planning"}.get(query.get("status"), query.get("status"))
        expected = expected_feed(feed, query["sort"], query["order"], status, query.get("userId"))
        assert expected, query

        # When a client follows nextCursor with pages of 7
        def fetch(cursor, query=query):
            return listing({**query, "_limit": str(PAGE), **({"cursor": cursor} if cursor else {})})

        # Then it gets every matching idea exactly once, in order
        assert walk_pages(fetch, PAGE) == expected, query


def test_the_feed_reflects_updates_and_deletes(feed):
    # Given the newest idea is renamed and the oldest deleted
    newest = max(feed, key=lambda i: (i["createdAt"], i["id"]))
    oldest = min(feed, key=lambda i: (i["createdAt"], i["id"]))
    renamed = ideas.update(newest["userId"], newest["id"], {"title": "aaa first by title", "status": "Completed"})
    ideas.delete(oldest["userId"], oldest["id"])
    remaining = [renamed if i["id"] == newest["id"] else i for i in feed if i["id"] != oldest["id"]]
    # Then every index the feed reads was maintained
    for sort in ("createdAt", "title", "status"):
        got = walk_pages(
            lambda c, sort=sort: listing({"sort": sort, "_limit": "20", **({"cursor": c} if c else {})}), 20
        )
        assert got == expected_feed(remaining, sort, "desc" if sort == "createdAt" else "asc")
    assert listing({"sort": "title", "_limit": "1"})[0][0]["id"] == newest["id"]
    assert [i["id"] for i in listing({"status": "Completed", "_limit": "100"})[0]] == expected_feed(
        remaining, "createdAt", "desc", "Completed"
    )


def test_a_cursor_from_another_query_is_refused(feed):
    _, cursor = listing({"_limit": str(PAGE)})
    with pytest.raises(BadRequest):
        listing({"_limit": str(PAGE), "sort": "title", "cursor": cursor})


def test_every_status_of_the_feed_is_reachable_by_filter(feed):
    for status in FEED_STATUSES:
        got, _ = listing({"status": status.upper(), "_limit": "100"})
        assert [i["id"] for i in got] == expected_feed(feed, "createdAt", "desc", status)
