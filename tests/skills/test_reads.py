"""Public skill reads: categories, paging, ETag / Cache-Control / 304."""

from __future__ import annotations

import json

import pytest

from skills_ideas.config import CatalogueConfig
from skills_ideas.http import etag_of, none_match
from tests.skills.conftest import SKILL, read, write
from tests.support import event as make_event
from tests.support import invoke

READS = [
    ("list_skills", "/api/skills", {}),
    ("list_skill_categories", "/api/skills/categories", {}),
    ("get_skill", "/api/skills/1", {"resource": "/api/skills/{id}", "path_params": {"id": "1"}}),
    (
        "list_skills_by_category",
        "/api/skills/category/Database",
        {"resource": "/api/skills/category/{category}", "path_params": {"category": "Database"}},
    ),
]


def body(response: dict) -> dict:
    return json.loads(response["body"])


# ---------------------------------------------------------------- categories
def test_categories_are_sorted_by_name_with_their_counts(aws):
    # When
    response = read("list_skill_categories", "/api/skills/categories")
    # Then
    categories = body(response)["data"]
    names = [c["name"] for c in categories]
    assert names == sorted(names, key=str.lower)
    assert body(response)["count"] == len(categories)
    everything = body(read("list_skills", "/api/skills"))["data"]
    assert sum(c["count"] for c in categories) == len(everything)
    database = next(c for c in categories if c["name"] == "Database")
    assert database["count"] == sum(1 for s in everything if s["category"] == "Database")


def test_categories_follow_a_write(aws):
    write("create_skill", "POST", "/api/skills", body={**SKILL, "category": "Zz Brand New"})
    categories = body(read("list_skill_categories", "/api/skills/categories"))["data"]
    assert categories[-1] == {"name": "Zz Brand New", "count": 1}


# ---------------------------------------------------------------- HTTP caching
@pytest.mark.parametrize(("function", "path", "kwargs"), READS)
def test_every_public_read_carries_etag_and_cache_control(aws, function, path, kwargs):
    response = read(function, path, **kwargs)
    assert response["statusCode"] == 200
    assert response["headers"]["ETag"] == etag_of(response["body"])
    assert response["headers"]["Cache-Control"] == "public, max-age=60, stale-while-revalidate=300"


@pytest.mark.parametrize(("function", "path", "kwargs"), READS)
def test_matching_if_none_match_gets_304_without_body(aws, function, path, kwargs):
    # Given the client holds the current representation
    tag = read(function, path, **kwargs)["headers"]["ETag"]
    # When it revalidates (also as the weak tag CloudFront forwards after compressing, in a list)
    for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        response = read(function, path, headers={"If-None-Match": header}, **kwargs)
        # Then
        assert response["statusCode"] == 304, header
        assert response["body"] == ""
        assert response["headers"]["ETag"] == tag
        assert response["headers"]["Cache-Control"].startswith("public, max-age=")


def test_a_stale_if_none_match_gets_the_full_response(aws):
    response = read("list_skills", "/api/skills", headers={"If-None-Match": '"not-this-one"'})
    assert response["statusCode"] == 200
    assert body(response)["data"]


def test_etag_changes_after_a_write_and_the_old_one_no_longer_matches(aws):
    old = read("list_skills", "/api/skills")["headers"]["ETag"]
    status, _ = write("create_skill", "POST", "/api/skills", body=SKILL)
    assert status == 201
    response = read("list_skills", "/api/skills", headers={"If-None-Match": old})
    assert response["statusCode"] == 200
    assert response["headers"]["ETag"] != old
    assert any(s["name"] == "Elixir" for s in body(response)["data"])


def test_different_queries_have_different_etags(aws):
    a = read("list_skills", "/api/skills", query={"category": "database"})["headers"]["ETag"]
    b = read("list_skills", "/api/skills", query={"category": "frontend"})["headers"]["ETag"]
    assert a != b


def test_errors_are_not_marked_cacheable(aws):
    response = read("get_skill", "/api/skills/999", resource="/api/skills/{id}", path_params={"id": "999"})
    assert response["statusCode"] == 404
    assert "ETag" not in response["headers"]
    assert response["headers"]["Cache-Control"] == "no-store"  # a cached 404 would outlive a new skill


def test_none_match_rules():
    assert not none_match(None, '"a"')
    assert not none_match('"b"', '"a"')
    assert none_match(' W/"a" ', '"a"')


def test_cache_control_comes_from_configuration():
    config = CatalogueConfig.from_env(
        {"CATALOGUE_BUCKET": "b", "SKILLS_MAX_AGE_SECONDS": "10", "SKILLS_STALE_WHILE_REVALIDATE_SECONDS": "20"}
    )
    assert config.cache_control == "public, max-age=10, stale-while-revalidate=20"
    assert CatalogueConfig.from_env({"CATALOGUE_BUCKET": "b"}).cache_control == (
        "public, max-age=60, stale-while-revalidate=300"
    )


# ---------------------------------------------------------------- paging
def pages(query: dict[str, str]) -> list[list[dict]]:
    result, cursor = [], None
    while True:
        params = {**query, **({"cursor": cursor} if cursor else {})}
        status, payload = invoke("list_skills", make_event("GET", "/api/skills", query=params))
        assert status == 200, payload
        result.append(payload["data"])
        assert payload["count"] == len(payload["data"])
        cursor = payload.get("nextCursor")
        if cursor is None:
            return result


def test_without_limit_the_whole_list_comes_back_as_before(aws):
    status, payload = invoke("list_skills", make_event("GET", "/api/skills"))
    assert status == 200 and "nextCursor" not in payload
    assert payload["count"] == len(payload["data"]) >= 40


def test_paging_walks_every_skill_once_in_id_order(aws):
    everything = body(read("list_skills", "/api/skills"))["data"]
    walked = pages({"_limit": "7"})
    assert all(len(p) == 7 for p in walked[:-1]) and 1 <= len(walked[-1]) <= 7
    flat = [s for p in walked for s in p]
    assert [s["id"] for s in flat] == sorted(s["id"] for s in everything)


def test_paging_with_filters_and_sort(aws):
    query = {"sort": "name", "q": "a", "_limit": "4"}
    expected = body(read("list_skills", "/api/skills", query={"sort": "name", "q": "a"}))["data"]
    flat = [s for p in pages(query) for s in p]
    assert flat == expected


def test_last_page_has_no_next_cursor(aws):
    status, payload = invoke("list_skills", make_event("GET", "/api/skills", query={"_limit": "100"}))
    assert status == 200 and "nextCursor" not in payload


def test_a_skill_added_between_pages_is_neither_skipped_nor_repeated(aws):
    status, first = invoke("list_skills", make_event("GET", "/api/skills", query={"_limit": "10"}))
    write("create_skill", "POST", "/api/skills", body=SKILL)
    rest = pages({"_limit": "10", "cursor": first["nextCursor"]})
    ids = [s["id"] for s in first["data"]] + [s["id"] for p in rest for s in p]
    assert len(ids) == len(set(ids))
    assert "Elixir" in {s["name"] for p in rest for s in p}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"_limit": "0"}, "_limit must be an integer from 1 to 100"),
        ({"_limit": "101"}, "_limit must be an integer from 1 to 100"),
        ({"_limit": "ten"}, "_limit must be an integer from 1 to 100"),
        ({"cursor": "not-a-cursor"}, "cursor is not valid"),
        ({"cursor": "eyJ2IjoyfQ"}, "cursor is not valid"),  # {"v":2}
        ({"sort": "category"}, "sort must be one of: name"),
    ],
)
def test_bad_paging_values_are_400(aws, query, message):
    status, payload = invoke("list_skills", make_event("GET", "/api/skills", query=query))
    assert status == 400
    assert payload["message"].startswith(message)


def test_a_cursor_of_another_query_is_400(aws):
    _, first = invoke("list_skills", make_event("GET", "/api/skills", query={"_limit": "5"}))
    status, payload = invoke(
        "list_skills",
        make_event("GET", "/api/skills", query={"_limit": "5", "sort": "name", "cursor": first["nextCursor"]}),
    )
    assert status == 400
    assert "different query" in payload["message"]
