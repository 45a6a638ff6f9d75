"""Skill links on DynamoDB Local (AWS's own engine): the link transactions, and the skill ->
ideas paging, exact across pages and one bounded Query per page."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from skills_ideas import ideas, recommendations
from skills_ideas.catalogue import parse
from skills_ideas_tools.capacity_meter import CapacityMeter
from tests.support import DEFAULT_CATALOGUE, epoch_ms, walk_pages

pytestmark = pytest.mark.dynamodb_local
CATALOGUE = parse(DEFAULT_CATALOGUE.read_bytes(), '"default"')
POSTGRES = next(s["id"] for s in json.loads(DEFAULT_CATALOGUE.read_text())["skills"] if s["name"] == "PostgreSQL")
KEY = b"dynamodb-local-cursor-key-of-32-bytes-or-more"
PAGE = 4


def create(owner: str, title: str, at: str) -> dict:
    with mock.patch.object(ideas, "now_ms", return_value=epoch_ms(at)):
        return ideas.create(owner, ideas.validate_full({"title": title, "description": "Tuning Postgres."}))


def page(cursor: str | None) -> tuple[list[dict], str | None]:
    q = recommendations.parse_ideas_of_skill(
        str(POSTGRES), {"_limit": str(PAGE), **({"cursor": cursor} if cursor else {})}, CATALOGUE
    )
    return recommendations.ideas_of_skill(q, cursor_key=KEY)


def test_a_skills_ideas_page_exactly_newest_first_one_bounded_query_each(table, monkeypatch):
    # Given 15 ideas that need PostgreSQL, some created in the same millisecond, linked by refresh_idea
    created = [create(f"u-{n % 3}", f"Idea {n}", f"2026-01-01T00:00:{n - n % 4:02d}.000Z") for n in range(15)]
    for idea in created:
        assert recommendations.refresh_idea(idea, catalogue=CATALOGUE) is True
    # When the skill's ideas are walked page by page (by a warm instance, which already knows
    # the accounts being deleted: one small Query every few seconds, see the ideas' tests)
    monkeypatch.setattr(ideas, "HIDDEN_OWNERS_TTL_SECONDS", 3600.0)
    ideas.hidden_owners()
    pages = []
    with CapacityMeter() as meter:
        ids = walk_pages(lambda cursor: pages.append(page(cursor)) or pages[-1], PAGE)
    # Then every idea comes once, newest first (ties by id), each page one Query of at most PAGE + 1 items
    assert ids == [i["id"] for i in sorted(created, key=lambda i: (i["createdAt"], i["id"]), reverse=True)]
    assert meter.operations() == ["Query"] * len(pages)
    assert all(call.items <= PAGE + 1 for call in meter.calls)
    assert all(call.units <= 0.5 for call in meter.calls)  # 5 links of about 200 bytes: one 4 KB read


def test_an_edit_moves_links_in_one_transaction_and_forget_removes_them(table):
    idea = create("u-ada", "Postgres idea", "2026-01-01T00:00:00.000Z")
    recommendations.refresh_idea(idea, catalogue=CATALOGUE)
    with CapacityMeter() as meter:
        assert (
            recommendations.refresh_idea(
                {**idea, "title": "Redis idea", "description": "Redis only."}, catalogue=CATALOGUE
            )
            is True
        )
    assert meter.operations() == ["GetItem", "TransactWriteItems"]
    assert page(None) == ([], None)
    assert recommendations.forget_idea(idea["id"]) is True
