"""Response headers: nothing that carries a token or private data is kept by a cache
(``Cache-Control: no-store``), every response says ``nosniff``, and public skill reads keep
their caching headers (docs/security.md, "Response headers")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from skills_ideas.config import CatalogueConfig
from skills_ideas.events import stats
from skills_ideas.routes import ROUTES
from tests.support import LambdaContext, event, load_handler

PASSWORD = "correct-horse-9"
ADA = {"userId": "u-ada", "username": "ada", "role": "user"}
ADMIN = {"userId": "u-root", "username": "root", "role": "admin"}
PUBLIC_SKILL_CACHE = CatalogueConfig.from_env().cache_control


def raw(function: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """The whole proxy result of a real handler, headers included."""
    return load_handler(function).lambda_handler(event(method, path, **kwargs), LambdaContext())


def registered(username: str = "ada") -> dict[str, Any]:
    response = raw("register", "POST", "/api/register", body={"username": username, "password": PASSWORD})
    assert response["statusCode"] == 201
    return json.loads(response["body"])["data"]


def test_the_login_response_carrying_the_token_is_no_store(aws):
    # Given a registered user
    registered()
    # When they log in
    response = raw("login", "POST", "/api/login", body={"username": "ada", "password": PASSWORD})
    # Then the token comes back marked for no cache to keep, and not to be sniffed
    assert response["statusCode"] == 200 and "token" in json.loads(response["body"])
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"


def test_register_and_the_profile_are_no_store(aws):
    response = raw("register", "POST", "/api/register", body={"username": "grace", "password": PASSWORD})
    user = json.loads(response["body"])["data"]
    me = raw("me", "GET", "/api/me", caller={"userId": user["id"], "username": "grace", "role": "user"})
    assert (response["statusCode"], me["statusCode"]) == (201, 200)
    assert response["headers"]["Cache-Control"] == me["headers"]["Cache-Control"] == "no-store"


def test_every_authenticated_response_is_no_store(aws):
    # Given an idea of ada's
    created = raw("create_idea", "POST", "/api/ideas", body={"title": "Private draft"}, caller=ADA)
    idea_id = json.loads(created["body"])["data"]["id"]
    on_idea = {"resource": "/api/ideas/{id}", "path_params": {"id": idea_id}, "caller": ADA}
    # When she changes it, replaces it and deletes it, and an admin adds a skill
    answers = [
        created,
        raw("update_idea", "PATCH", f"/api/ideas/{idea_id}", body={"status": "Planning"}, **on_idea),
        raw("replace_idea", "PUT", f"/api/ideas/{idea_id}", body={"title": "Still private"}, **on_idea),
        raw("delete_idea", "DELETE", f"/api/ideas/{idea_id}", **on_idea),
        raw(
            "create_skill",
            "POST",
            "/api/skills",
            body={"name": "Zig", "category": "Programming Language", "proficiency": "Beginner"},
            caller=ADMIN,
        ),
    ]
    # Then every answer succeeded and says no-store
    assert [a["statusCode"] for a in answers] == [201, 200, 200, 200, 201]
    assert {a["headers"]["Cache-Control"] for a in answers} == {"no-store"}


@pytest.mark.parametrize(
    ("function", "method", "path", "kwargs", "status"),
    [
        ("login", "POST", "/api/login", {"body": {"username": "nobody", "password": PASSWORD}}, 401),
        ("register", "POST", "/api/register", {"raw_body": "{"}, 400),
        ("me", "GET", "/api/me", {}, 401),
        ("get_idea", "GET", "/api/ideas/x", {"resource": "/api/ideas/{id}", "path_params": {"id": "x"}}, 404),
        ("get_skill", "GET", "/api/skills/999", {"resource": "/api/skills/{id}", "path_params": {"id": "999"}}, 404),
        ("list_skills", "GET", "/api/skills", {"query": {"sort": "price"}}, 400),
        ("create_skill", "POST", "/api/skills", {"body": {"name": "X"}, "caller": ADA}, 403),
    ],
)
def test_every_error_is_no_store(aws, function, method, path, kwargs, status):
    # An error must not be kept either: a cached 404 or 401 outlives its cause
    response = raw(function, method, path, **kwargs)
    assert response["statusCode"] == status
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("function", "path", "kwargs"),
    [
        ("list_skills", "/api/skills", {}),
        ("list_skill_categories", "/api/skills/categories", {}),
        ("get_skill", "/api/skills/1", {"resource": "/api/skills/{id}", "path_params": {"id": "1"}}),
        (
            "list_skills_by_category",
            "/api/skills/category/database",
            {"resource": "/api/skills/category/{category}", "path_params": {"category": "database"}},
        ),
    ],
)
def test_public_skill_reads_keep_their_caching_headers(aws, function, path, kwargs):
    # Given a public skill read
    first = raw(function, "GET", path, **kwargs)
    # When it is asked for again with its ETag
    again = raw(function, "GET", path, headers={"If-None-Match": first["headers"]["ETag"]}, **kwargs)
    # Then both the 200 and the 304 are cacheable as configured, never no-store
    assert (first["statusCode"], again["statusCode"]) == (200, 304)
    assert first["headers"]["Cache-Control"] == again["headers"]["Cache-Control"] == PUBLIC_SKILL_CACHE
    assert "no-store" not in PUBLIC_SKILL_CACHE
    assert first["headers"]["X-Content-Type-Options"] == again["headers"]["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_says_nosniff_and_only_public_skill_reads_may_be_cached(aws, route):
    caller = ADMIN if route.protected else None
    path_params = {"id": "1"} if "{id}" in route.path else {"category": "database"} if "{" in route.path else None
    response = raw(
        route.function, route.method, route.path, resource=route.path, path_params=path_params, caller=caller
    )
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"
    cacheable = route.method == "GET" and route.path.startswith("/api/skills") and response["statusCode"] == 200
    # the public statistics are cacheable too, briefly (docs/events.md)
    statistics = route.path == "/api/stats" and response["statusCode"] == 200
    expected = PUBLIC_SKILL_CACHE if cacheable else stats.CACHE_CONTROL if statistics else "no-store"
    assert response["headers"]["Cache-Control"] == expected
