"""GET /api/ideas: newest first, filters, sorts, `_limit`, signed cursor paging (one feed
partition, and four shards merged) and the legacy `_page`."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from unittest import mock

import pytest

from skills_ideas import cursors, ideas
from tests.support import (
    FEED_OWNERS,
    FEED_STATUSES,
    epoch_ms,
    event,
    expected_feed,
    feed_rows,
    fresh_models,
    idea_key,
    invoke,
    seed_feed,
    walk_pages,
)
from tests.unit.conftest import reset_world

FEED_SIZE = 57
PAGE = 7


def list_ideas(query=None) -> tuple[int, dict]:
    return invoke("list_ideas", event("GET", "/api/ideas", query=query))


def listed(query=None) -> dict:
    status, body = list_ideas(query)
    assert status == 200, body
    assert body["success"] is True
    assert body["count"] == len(body["data"])
    return body


def create_through_the_api(owner: str, fields: dict) -> dict:
    status, body = invoke(
        "create_idea",
        event("POST", "/api/ideas", body=fields, caller={"userId": owner, "username": owner, "role": "user"}),
    )
    assert status == 201, body
    return body["data"]


@pytest.fixture(scope="module", params=[1, 4], ids=["one-feed-partition", "four-feed-shards"])
def feed(_moto_world, request) -> Iterator[list[dict]]:
    """57 ideas of three owners, created through the API at controlled times, once per feed
    layout: the deployed single partition, and four shards read concurrently and merged (the
    lever for more write throughput, docs/capacity.md). Every test leaves them as it found them."""
    reset_world(_moto_world)
    with mock.patch.object(ideas, "FEED_SHARDS", request.param), fresh_models():
        yield seed_feed(create_through_the_api, feed_rows(FEED_SIZE))
    reset_world(_moto_world)


def test_the_feed_fixture_has_ties_and_spreads_over_every_shard(feed):
    # Guards the paging tests below: they only prove something if the data is uneven.
    assert {ideas.feed_shard(idea_key(i["id"])) for i in feed} == {f"FEED#{n}" for n in range(ideas.FEED_SHARDS)}
    assert len({i["createdAt"] for i in feed}) < FEED_SIZE
    assert {i["status"] for i in feed} == set(FEED_STATUSES)


def test_default_listing_is_the_newest_20_first(feed):
    # When ideas are listed without parameters
    body = listed()
    # Then the 20 newest come first, and a cursor points at the rest
    assert [i["id"] for i in body["data"]] == expected_feed(feed, "createdAt", "desc")[:20]
    assert body["count"] == 20
    assert body["nextCursor"]
    assert body["data"][0]["createdAt"] == max(i["createdAt"] for i in feed)


#: Every listing the API serves: each is one key condition on one index (docs/data-model.md).
COMBINATIONS = [
    *(
        {"sort": "createdAt", "order": order, **filters}
        for order, filters in itertools.product(("asc", "desc"), ({}, {"status": "in progress"}, {"userId": "u-bob"}))
    ),
    {"sort": "status", "order": "asc"},
    {"sort": "status", "order": "desc"},
]


@pytest.mark.parametrize("query", COMBINATIONS, ids=lambda q: "-".join(q.values()))
def test_cursor_paging_returns_every_idea_exactly_once_in_order(feed, query):
    # Given 57 ideas spread unevenly over three owners (and, in one layout, over four shards)
    status = {"in progress": "In Progress"}.get(query.get("status"), query.get("status"))
    expected = expected_feed(feed, query["sort"], query["order"], status, query.get("userId"))
    assert expected  # every combination selects something

    # When a client follows nextCursor with pages of 7
    def fetch(cursor):
        body = listed({**query, "_limit": str(PAGE), **({"cursor": cursor} if cursor else {})})
        return body["data"], body.get("nextCursor")

    # Then it sees every matching idea exactly once, in the requested order, and the last page has no cursor
    assert walk_pages(fetch, PAGE) == expected


@pytest.mark.parametrize("sort", ["createdAt", "status"])
def test_default_order_is_newest_first_for_dates_and_a_to_z_for_status(feed, sort):
    expected = expected_feed(feed, sort, "desc" if sort == "createdAt" else "asc")
    assert [i["id"] for i in listed({"sort": sort, "_limit": "100"})["data"]] == expected


def test_a_page_that_holds_everything_has_no_cursor(feed):
    body = listed({"_limit": "100"})
    assert body["count"] == FEED_SIZE
    assert "nextCursor" not in body


def test_a_listing_that_ends_exactly_on_a_page_boundary_has_no_further_page(feed):
    mine = expected_feed(feed, "createdAt", "desc", user_id="u-cy")
    body = listed({"userId": "u-cy", "_limit": str(len(mine))})
    assert [i["id"] for i in body["data"]] == mine
    assert "nextCursor" not in body


def test_filters_return_only_matching_ideas(feed):
    on_hold = listed({"status": "ON HOLD", "_limit": "100"})["data"]
    assert on_hold and all(i["status"] == "On Hold" for i in on_hold)
    adas = listed({"userId": "u-ada", "_limit": "100"})["data"]
    assert adas and all(i["userId"] == "u-ada" for i in adas)
    assert listed({"userId": "u-nobody"})["data"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "title"},
        {"sort": "TITLE", "order": "asc"},
        {"userId": "u-ada", "status": "Concept"},
        {"userId": "u-ada", "sort": "status"},
    ],
)
def test_a_listing_no_index_serves_is_refused_with_the_supported_ones(feed, query):
    # When a client asks for a combination that no key condition serves (it would read without bound)
    status, body = list_ideas(query)
    # Then it is a 400 that names what is supported
    assert status == 400
    assert body["success"] is False
    assert "Supported listings:" in body["message"]
    assert "userId=<id>" in body["message"] and "status=<status>" in body["message"]


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_accepts_1_to_100(feed, limit):
    assert listed({"_limit": limit})["count"] == min(int(limit), FEED_SIZE)


@pytest.mark.parametrize(
    "query",
    [
        {"_limit": "0"},
        {"_limit": "101"},
        {"_limit": "-5"},
        {"_limit": "ten"},
        {"_limit": "2.5"},
        {"sort": "popularity"},
        {"order": "sideways"},
        {"status": "Development"},
        {"userId": "not a user id!"},
        {"userId": "u" * 65},
        {"_page": "0"},
        {"_page": "x"},
        {"_page": "201"},
        {"_page": "11"},  # with the default _limit of 20: past the first 200 ideas
        {"_page": "3", "_limit": "100"},
    ],
)
def test_bad_listing_parameters_are_400(feed, query):
    status, body = list_ideas(query)
    assert status == 400
    assert body["success"] is False and body["message"]


def test_legacy_page_walks_the_same_pages_as_the_cursor(feed):
    # Given the cursor pages of 7
    first = listed({"_limit": str(PAGE)})
    second = listed({"_limit": str(PAGE), "cursor": first["nextCursor"]})
    # When a legacy client asks for _page=1, 2 and one past the end
    page1 = listed({"_limit": str(PAGE), "_page": "1"})
    page2 = listed({"_limit": str(PAGE), "_page": "2"})
    last = listed({"_limit": str(PAGE), "_page": "9"})
    past_end = listed({"_limit": str(PAGE), "_page": "10"})
    # Then the pages are the same, and past the end is an empty list
    assert page1["data"] == first["data"]
    assert page2["data"] == second["data"]
    assert page2["nextCursor"] == second["nextCursor"]
    assert [i["id"] for i in last["data"]] == expected_feed(feed, "createdAt", "desc")[8 * PAGE :]
    assert "nextCursor" not in last
    assert past_end["data"] == [] and "nextCursor" not in past_end


def test_cursor_and_page_together_are_400(feed):
    cursor = listed({"_limit": "5"})["nextCursor"]
    status, body = list_ideas({"_limit": "5", "cursor": cursor, "_page": "2"})
    assert (status, body["success"]) == (400, False)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _payload(cursor: str) -> dict:
    body = cursor.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _tampered_cursors(cursor: str) -> list[str]:
    body, signature = cursor.split(".")
    data = _payload(cursor)
    position = next(p for p in data["p"] if isinstance(p, list))  # a shard that gave an idea
    # the payloads a hand-edited cursor would hold, keeping the genuine signature
    edits = [
        {**data, "p": [["", "", ""]]},  # empty key parts (once a 500 from DynamoDB)
        {**data, "p": [[position[0], "01ZZZZZZZZZZZZZZZZZZZZZZZZ", position[2]]]},
        {**data, "p": ["done"]},
        {**data, "p": [position, position]},
        {**data, "v": 1},
        [1, 2],
    ]
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    return [
        f"{flipped}.{signature}",
        f"{body}.{signature[:-1] + ('A' if signature[-1] != 'A' else 'B')}",
        f"{body}.",
        body,
        "not-a-cursor",
        "e30",
        "a.b.c",
        "%00.%00",
        "x" * 5000,
        *(f"{_b64(json.dumps(edit).encode())}.{signature}" for edit in edits),
        cursors.encode(b"another-key-of-at-least-thirty-two-bytes", "|".join(["desc", "", "", ""]), data["p"]),
    ]


def test_a_tampered_cursor_is_400(feed):
    # Given a genuine cursor from the second page on
    cursor = listed({"_limit": str(PAGE)})["nextCursor"]
    assert listed({"_limit": str(PAGE), "cursor": cursor})["count"] == PAGE
    # When it is altered in any way, or signed with another key
    for bad in _tampered_cursors(cursor):
        status, body = list_ideas({"_limit": str(PAGE), "cursor": bad})
        # Then it is refused with 400, never a 500 or a wrong page
        assert (status, body) == (400, {"success": False, "message": cursors.INVALID}), bad


def test_a_cursor_reveals_no_key_layout(feed):
    cursor = listed({"_limit": str(PAGE), "status": "Concept"})["nextCursor"]
    payload = _payload(cursor)
    # Then it names no attribute, and its values carry no key prefix or separator: plain ids and a status
    assert set(payload) == {"v", "q", "p"}
    values = [part for position in payload["p"] if isinstance(position, list) for part in position]
    assert values and not any("#" in value for value in values)


@pytest.mark.parametrize(
    "other",
    [
        {"sort": "status"},
        {"order": "asc"},
        {"status": "Concept"},
        {"userId": "u-ada"},
    ],
)
def test_a_cursor_from_another_query_is_400(feed, other):
    # Given a cursor of the default listing
    cursor = listed({"_limit": str(PAGE)})["nextCursor"]
    # When it is used with other filters, sort or order
    status, body = list_ideas({"_limit": str(PAGE), "cursor": cursor, **other})
    # Then it is refused and says why
    assert status == 400
    assert body["message"] == "cursor belongs to a different query: keep the same filters, sort and order"


def test_a_cursor_keeps_working_with_another_page_size(feed):
    # The cursor records positions, not offsets: the next page may be of another size.
    expected = expected_feed(feed, "createdAt", "desc")
    first = listed({"_limit": "10"})
    second = listed({"_limit": "25", "cursor": first["nextCursor"]})
    assert [i["id"] for i in first["data"] + second["data"]] == expected[:35]


def test_ideas_created_between_pages_do_not_disturb_the_rest_of_the_walk(feed):
    # Given a client half-way through the oldest-first listing
    expected = expected_feed(feed, "createdAt", "asc")
    first = listed({"order": "asc", "_limit": "20"})
    # When a new idea is published meanwhile
    with mock.patch.object(ideas, "now_ms", return_value=epoch_ms("2026-02-01T00:00:00.000Z")):  # after all seeded
        late = create_through_the_api(FEED_OWNERS[0], {"title": "late arrival"})
    try:

        def fetch(cursor):
            body = listed({"order": "asc", "_limit": "20", "cursor": cursor or first["nextCursor"]})
            return body["data"], body.get("nextCursor")

        # Then the walk continues where it was, and the new idea (the newest) comes at the end
        assert [i["id"] for i in first["data"]] + walk_pages(fetch, 20) == expected + [late["id"]]
    finally:
        invoke(
            "delete_idea",
            event(
                "DELETE",
                f"/api/ideas/{late['id']}",
                path_params={"id": late["id"]},
                caller={"userId": FEED_OWNERS[0], "username": "ada", "role": "user"},
            ),
        )
