"""Ideas on DynamoDB Local: conditional ownership writes, lookups by id, the exactness of the
feed's cursor paging, and the documented bounds on what every request costs."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import pytest

from skills_ideas import ideas, models, schema
from skills_ideas.config import TableConfig
from skills_ideas.errors import BadRequest, Conflict, Forbidden, NotFound
from skills_ideas.users import user_key
from skills_ideas_tools.capacity_meter import CapacityMeter, eventual_read_units, item_bytes
from tests.support import FEED_STATUSES, expected_feed, feed_rows, seed_feed, walk_pages

from .conftest import items

pytestmark = pytest.mark.dynamodb_local
PAGE = 7


def create(owner_id: str, body: dict) -> dict:
    """What POST /api/ideas does below the handler: validate, then the conditional put."""
    return ideas.create(owner_id, ideas.validate_full(body))


CURSOR_KEY = b"dynamodb-local-cursor-key-of-32-bytes-or-more"


def listing(params: dict[str, str]) -> tuple[list[dict], str | None]:
    query, cursor, page = ideas.parse_list_query(params)
    return ideas.list_ideas(query, cursor, page, cursor_key=CURSOR_KEY)


@pytest.fixture(autouse=True)
def warm_instance(monkeypatch) -> None:
    """Listings as a warm function serves them: it keeps the accounts being deleted for the
    test's length (one small Query per instance every few seconds, measured on its own)."""
    monkeypatch.setattr(ideas, "HIDDEN_OWNERS_TTL_SECONDS", 3600.0)


def page_meter() -> CapacityMeter:
    """A meter of a page's own reads: the instance has read the accounts being deleted."""
    ideas.hidden_owners()
    return CapacityMeter()


def stored(idea: dict) -> models.IdeaModel:
    owner, key = idea["id"].rsplit("-", 1)
    return models.IdeaModel.get(user_key(owner), ideas.idea_key(key), consistent_read=True)


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
    stale = stored(idea)
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
    item = stored(idea)
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
        stored({"id": idea_id}).update(actions=[models.IdeaModel.title.set("someone else's edit")])
        return item

    monkeypatch.setattr(ideas, "_own", read_then_overtaken)
    # When the update writes, it gets 409 instead of silently overwriting
    with pytest.raises(Conflict):
        ideas.update("u-ada", idea["id"], {"title": "mine"})
    assert ideas.get(idea["id"])["title"] == "someone else's edit"


# ------------------------------------------------------------------ ids
def test_an_idea_is_one_consistent_read_by_id_and_legacy_ids_resolve_through_an_alias(table):
    # Given a new idea and a migrated one that kept its legacy numeric id
    new = create("u-ada", {"title": "new"})
    legacy, alias = ideas.aliased_item(
        "u-old",
        "12",
        "2023-05-05T00:00:00.000Z",
        12,
        title="legacy",
        status="Concept",
        updatedAt="2023-05-05T00:00:00.000Z",
    )
    legacy.save()
    alias.save()
    # Then the new id names its owner and is one strongly consistent GetItem, straight after the create
    assert new["id"].startswith("u-ada-")
    with CapacityMeter() as meter:
        assert ideas.get(new["id"]) == new
    assert meter.operations() == ["GetItem"]
    # And the legacy id is two (the alias, then the idea); an unknown id is 404
    with CapacityMeter() as meter:
        assert ideas.get("12")["title"] == "legacy"
    assert meter.operations() == ["GetItem", "GetItem"]
    for unknown in ("13", "u-ada-01JZZZZZZZZZZZZZZZZZZZZZZZ", "u-ada", "not an id"):
        with pytest.raises(NotFound):
            ideas.get(unknown)
    # And deleting the legacy idea removes its alias too
    ideas.delete("u-old", "12")
    assert items(client_of(table), table, "IDEAALIAS#") == []


def client_of(table: str):
    import boto3

    endpoint = models.IdeaModel.Meta.host
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


def test_one_users_ideas_come_from_their_partition_in_both_orders(feed):
    for order in ("asc", "desc"):
        # When one owner's ideas are listed in one page
        with page_meter() as meter:
            got, cursor = listing({"userId": "u-bob", "order": order, "_limit": "100"})
        # Then they are exactly that owner's, in order, from one Query on the base table
        assert [i["id"] for i in got] == expected_feed(feed, "createdAt", order, user_id="u-bob")
        assert cursor is None
        assert [(c.operation, c.index) for c in meter.calls] == [("Query", None)]


# ------------------------------------------------------------------ the feed
COMBINATIONS = [
    *(
        {"sort": "createdAt", "order": order, **filters}
        for order, filters in itertools.product(("asc", "desc"), ({}, {"status": "On Hold"}, {"userId": "u-ada"}))
    ),
    {"sort": "status", "order": "asc"},
    {"sort": "status", "order": "desc"},
]


def test_cursor_paging_is_exact_for_every_supported_listing(feed):
    # Given 57 ideas with tied creation times
    for query in COMBINATIONS:
        expected = expected_feed(feed, query["sort"], query["order"], query.get("status"), query.get("userId"))
        assert expected, query

        # When a client follows nextCursor with pages of 7
        def fetch(cursor, query=query):
            return listing({**query, "_limit": str(PAGE), **({"cursor": cursor} if cursor else {})})

        # Then it gets every matching idea exactly once, in order
        assert walk_pages(fetch, PAGE) == expected, query


def test_the_feed_reflects_updates_and_deletes(feed):
    # Given the newest idea is renamed and completed, and the oldest deleted
    newest = max(feed, key=lambda i: (i["createdAt"], i["id"].rsplit("-", 1)[1]))
    oldest = min(feed, key=lambda i: (i["createdAt"], i["id"].rsplit("-", 1)[1]))
    renamed = ideas.update(newest["userId"], newest["id"], {"title": "renamed", "status": "Completed"})
    ideas.delete(oldest["userId"], oldest["id"])
    remaining = [renamed if i["id"] == newest["id"] else i for i in feed if i["id"] != oldest["id"]]
    # Then both indexes the feed reads were maintained
    for sort in ("createdAt", "status"):
        got = walk_pages(
            lambda c, sort=sort: listing({"sort": sort, "_limit": "20", **({"cursor": c} if c else {})}), 20
        )
        assert got == expected_feed(remaining, sort, "desc" if sort == "createdAt" else "asc")
    assert listing({"_limit": "1"})[0][0]["title"] == "renamed"
    assert [i["id"] for i in listing({"status": "Completed", "_limit": "100"})[0]] == expected_feed(
        remaining, "createdAt", "desc", "Completed"
    )


def test_a_cursor_from_another_query_is_refused(feed):
    _, cursor = listing({"_limit": str(PAGE)})
    with pytest.raises(BadRequest):
        listing({"_limit": str(PAGE), "sort": "status", "cursor": cursor})


def test_every_status_of_the_feed_is_reachable_by_filter(feed):
    for status in FEED_STATUSES:
        got, _ = listing({"status": status.upper(), "_limit": "100"})
        assert [i["id"] for i in got] == expected_feed(feed, "createdAt", "desc", status)


# ------------------------------------------------------------------ what a request costs
IDEA_BYTES = 1024  # a "1 KB idea", the size the targets are stated for
LARGE_FEED = 10_000


def one_kb_idea(n: int, owner: str, status: str) -> models.IdeaModel:
    created = "2026-01-01T00:00:00.000Z"
    key = ideas.key_for(created, n)
    item = ideas.new_item(
        owner,
        key,
        title=f"Idea number {n:05d}",
        description="",
        status=status,
        createdAt=created,
        updatedAt=created,
        version=1,
    )
    item.description = "d" * (IDEA_BYTES - item_bytes(item.serialize()))
    assert item_bytes(item.serialize()) == IDEA_BYTES
    return item


@pytest.fixture(scope="module")
def large_feed(dynamodb_local, client) -> Iterator[str]:
    """10,000 ideas of 1 KB in a table of their own: 1% Completed, one owner with 2,000."""
    table = f"large-{uuid.uuid4().hex[:12]}"
    client.create_table(**schema.create_table_kwargs(table))
    rows = []
    for n in range(LARGE_FEED):
        status = "Completed" if n % 100 == 0 else ("Concept", "Planning", "In Progress", "On Hold")[n % 4]
        rows.append(one_kb_idea(n, "u-many" if n % 5 == 0 else f"u-{n % 50}", status).serialize())
    for start in range(0, len(rows), 25):
        requests = [{"PutRequest": {"Item": row}} for row in rows[start : start + 25]]
        while requests:
            left = client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = left.get(table, [])
    yield table
    client.delete_table(TableName=table)


@pytest.fixture
def on_large_feed(large_feed, dynamodb_local) -> Iterator[None]:
    models.unbind()
    models.bind(TableConfig(table_name=large_feed, region="us-east-1", endpoint_url=dynamodb_local))
    yield
    models.unbind()


#: Every supported listing, with the page a client would ask for (legacy `_page` at its cap).
BOUNDED_LISTINGS = [
    {},
    {"order": "asc"},
    {"status": "Completed"},
    {"status": "Concept", "order": "asc"},
    {"sort": "status"},
    {"sort": "status", "order": "desc"},
    {"userId": "u-many"},
    {"userId": "u-many", "order": "asc"},
    {"_limit": "100"},
    {"_limit": "20", "_page": "10"},
]


@pytest.mark.parametrize("params", BOUNDED_LISTINGS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "feed")
def test_every_listing_costs_one_bounded_query_whatever_the_table_holds(on_large_feed, params):
    # Given 10,000 ideas of 1 KB, one status on only 1% of them
    query, _, page = ideas.parse_list_query(params)
    limit = query.limit
    skip = (page - 1) * limit
    # When the first page and the page after it are read
    with page_meter() as first:
        got, cursor = listing(params)
    assert len(got) == limit and cursor
    with page_meter() as second:
        later, _ = listing({**params, "cursor": cursor, "_page": ""})
    assert len(later) == limit
    # Then each is one Query of at most skip + limit + 1 items: the documented bound, whatever the table size
    for meter in (first, second):
        assert meter.operations() == ["Query"]
    assert first.items_read <= skip + limit + 1
    assert first.read_units <= eventual_read_units(skip + limit + 1, IDEA_BYTES)
    assert second.read_units <= eventual_read_units(limit + 1, IDEA_BYTES)
    # And a page reads at most 1.5 times the capacity of the items it returns (the target)
    assert second.read_units <= 1.5 * eventual_read_units(limit, IDEA_BYTES)


def test_knowing_the_accounts_being_deleted_costs_one_small_query_per_instance_every_few_seconds(on_large_feed):
    # Given a function instance that has not yet read the accounts being deleted
    ideas.forget_hidden_owners()
    query, _, _ = ideas.parse_list_query({})
    # When it serves a listing, and another right after
    with CapacityMeter() as cold:
        ideas.list_ideas(query, None, cursor_key=CURSOR_KEY)
    with CapacityMeter() as warm:
        ideas.list_ideas(query, None, cursor_key=CURSOR_KEY)
    # Then the first makes one more Query, of the base table's DELETIONS partition, which holds
    # nothing here: DynamoDB bills it as one 4 KB read (0.5 RCU); DynamoDB Local reports 0
    assert cold.operations() == ["Query", "Query"] and warm.operations() == ["Query"]
    extra = [c for c in cold.calls if c not in warm.calls]
    assert [(c.operation, c.index, c.items) for c in extra] == [("Query", None, 0)]
    assert cold.read_units - warm.read_units <= 0.5


@pytest.mark.parametrize("params", [{"sort": "title"}, {"userId": "u-many", "status": "Completed"}])
def test_a_listing_no_key_condition_serves_is_refused_before_any_read(on_large_feed, params):
    with CapacityMeter() as meter, pytest.raises(BadRequest, match="Supported listings"):
        listing(params)
    assert meter.calls == []


def test_idea_writes_cost_what_the_data_model_says(table):
    # Given a 1 KB idea (the size the targets are stated for; the padding is measured)
    probe = create("u-probe", {"title": "t" * 100, "description": "", "status": "Planning"})
    size = item_bytes(stored(probe).serialize())
    body = {"title": "t" * 100, "description": "d" * (IDEA_BYTES - size - len("description")), "status": "Planning"}
    # When it is created, edited, moved to another status and deleted
    with CapacityMeter() as create_cost:
        idea = create("u-ada", body)
    with CapacityMeter() as edit_cost:
        ideas.update("u-ada", idea["id"], {"title": "u" * 100})
    with CapacityMeter() as status_cost:
        ideas.update("u-ada", idea["id"], {"status": "Completed"})
    with CapacityMeter() as delete_cost:
        ideas.delete("u-ada", idea["id"])
    # Then: create 3 WCU (the item and its two index entries; target <= 4), an edit 3 WCU and a
    # status change 4 WCU (target <= 5) after one consistent read, a delete 3 WCU
    assert create_cost.write_units == 3
    assert (edit_cost.read_units, edit_cost.write_units) == (1, 3)
    assert (status_cost.read_units, status_cost.write_units) == (1, 4)
    assert delete_cost.write_units == 3
