"""Over HTTP: the skills catalogue and the ideas, with ownership enforced and the feed paged."""

from __future__ import annotations

import json

import pytest

from tests.support import DEFAULT_CATALOGUE, idea_key

SHIPPED = json.loads(DEFAULT_CATALOGUE.read_text())["skills"]

pytestmark = pytest.mark.dynamodb_local  # the API runs on DynamoDB Local


# ------------------------------------------------------------------ skills
def test_skills_list_filters_and_sorts_like_the_legacy_api(api):
    # When skills are listed, filtered and sorted
    everything = api.request("GET", "/api/skills")
    experts = api.request("GET", "/api/skills", query={"proficiency": "EXPERT"})
    frameworks = api.request("GET", "/api/skills", query={"category": "framework", "sort": "name"})
    searched = api.request("GET", "/api/skills", query={"q": "JavaScript"})
    # Then the legacy envelope carries exactly the matching skills
    assert everything.status == 200
    assert everything.body == {"success": True, "count": len(SHIPPED), "data": SHIPPED}
    assert experts.body["data"] == [s for s in SHIPPED if s["proficiency"] == "Expert"]
    assert frameworks.body["data"] == sorted(
        (s for s in SHIPPED if "framework" in s["category"].lower()), key=lambda s: s["name"].lower()
    )
    assert searched.body["data"] == [
        s for s in SHIPPED if "javascript" in s["name"].lower() or "javascript" in s["description"].lower()
    ]
    assert experts.body["data"] and frameworks.body["data"] and searched.body["data"]


def test_a_skill_by_id_and_the_404s(api):
    assert api.request("GET", "/api/skills/1").body == {"success": True, "data": SHIPPED[0]}
    for raw in ("9999", "abc"):
        reply = api.request("GET", f"/api/skills/{raw}")
        assert (reply.status, reply.body) == (404, {"success": False, "message": "Skill not found"})


def test_skills_by_category_exact_case_insensitive_and_empty(api):
    reply = api.request("GET", "/api/skills/category/version%20control")
    assert reply.status == 200
    assert reply.body["data"] == [s for s in SHIPPED if s["category"] == "Version Control"] != []
    empty = api.request("GET", "/api/skills/category/Nothing%20Here")
    assert (empty.status, empty.body) == (200, {"success": True, "count": 0, "data": []})


# ------------------------------------------------------------------ ideas
def test_the_life_of_an_idea(api):
    # Given a signed-in user
    user_id, token = api.new_user("owner")
    # When they create an idea
    created = api.request("POST", "/api/ideas", {"title": "Rain harvester", "description": "d"}, token=token)
    # Then it is 201 with the whole idea, and anyone can read it
    assert created.status == 201
    assert created.body["message"] == "Idea created successfully"
    idea = created.body["data"]
    assert idea["userId"] == user_id and idea["status"] == "Concept"
    assert set(idea) == {"id", "title", "description", "status", "userId", "createdAt", "updatedAt"}
    assert api.request("GET", f"/api/ideas/{idea['id']}").body == {"success": True, "data": idea}
    # And it is the newest in the feed
    assert api.request("GET", "/api/ideas").body["data"][0] == idea
    # When they replace it, then change only its status
    replaced = api.request("PUT", f"/api/ideas/{idea['id']}", {"title": "Rain barrel"}, token=token)
    assert replaced.status == 200 and replaced.body["message"] == "Idea updated successfully"
    assert replaced.body["data"]["description"] is None
    patched = api.request("PATCH", f"/api/ideas/{idea['id']}", {"status": "on hold"}, token=token)
    assert patched.status == 200
    assert (patched.body["data"]["title"], patched.body["data"]["status"]) == ("Rain barrel", "On Hold")
    # And finally delete it
    deleted = api.request("DELETE", f"/api/ideas/{idea['id']}", token=token)
    assert (deleted.status, deleted.body) == (200, {"success": True, "message": "Idea deleted successfully"})
    gone = api.request("GET", f"/api/ideas/{idea['id']}")
    assert (gone.status, gone.body) == (404, {"success": False, "message": "Idea not found"})


def test_create_validation_over_http(api):
    _, token = api.new_user("validator")
    no_title = api.request("POST", "/api/ideas", {"description": "x"}, token=token)
    assert (no_title.status, no_title.body) == (400, {"success": False, "message": "Title is required"})
    for body in ({"title": "x" * 201}, {"title": "t", "description": "d" * 5001}, {"title": "t", "status": "Done"}):
        assert api.request("POST", "/api/ideas", body, token=token).status == 400


@pytest.mark.parametrize(
    ("method", "body"), [("PUT", {"title": "mine now"}), ("PATCH", {"status": "Completed"}), ("DELETE", None)]
)
def test_someone_elses_idea_is_403_without_a_token_401_and_stays_unchanged(api, method, body):
    # Given Ada's idea
    _, ada = api.new_user("ada")
    idea = api.request("POST", "/api/ideas", {"title": "Ada's", "status": "Planning"}, token=ada).body["data"]
    _, bob = api.new_user("bob")
    # When Bob, then nobody, tries to change it
    as_bob = api.request(method, f"/api/ideas/{idea['id']}", body, token=bob)
    anonymous = api.request(method, f"/api/ideas/{idea['id']}", body)
    # Then Bob is forbidden, the anonymous client unauthenticated, and the idea is unchanged
    assert (as_bob.status, as_bob.body["success"]) == (403, False)
    assert (anonymous.status, anonymous.body) == (401, {"success": False, "message": "No token, authorization denied"})
    assert api.request("GET", f"/api/ideas/{idea['id']}").body["data"] == idea


@pytest.mark.parametrize(("method", "body"), [("PUT", {"title": "x"}), ("PATCH", {"title": "x"}), ("DELETE", None)])
def test_changing_an_unknown_idea_is_404(api, method, body):
    _, token = api.new_user("lost")
    reply = api.request(method, "/api/ideas/01JZZZZZZZZZZZZZZZZZZZZZZZ", body, token=token)
    assert (reply.status, reply.body) == (404, {"success": False, "message": "Idea not found"})


def test_one_users_ideas_page_by_cursor_and_by_legacy_page(api):
    # Given a user with 11 ideas in two statuses
    user_id, token = api.new_user("prolific")
    made = [
        api.request(
            "POST", "/api/ideas", {"title": f"Idea {n:02d}", "status": "Planning" if n % 3 else "Concept"}, token=token
        ).body["data"]
        for n in range(11)
    ]
    newest_first = [i["id"] for i in sorted(made, key=lambda i: (i["createdAt"], idea_key(i["id"])), reverse=True)]
    # When their ideas are paged by 4 with the cursor
    seen, cursor, pages = [], None, 0
    while True:
        query = {"userId": user_id, "_limit": "4", **({"cursor": cursor} if cursor else {})}
        page = api.request("GET", "/api/ideas", query=query).body
        seen += [i["id"] for i in page["data"]]
        pages += 1
        cursor = page.get("nextCursor")
        if not cursor:
            break
    # Then every idea comes once, newest first, in three pages
    assert (seen, pages) == (newest_first, 3)
    # And the legacy _page gives the same second page
    legacy = api.request("GET", "/api/ideas", query={"userId": user_id, "_limit": "4", "_page": "2"}).body
    assert [i["id"] for i in legacy["data"]] == newest_first[4:8]
    # And oldest first is the same list reversed, while a filter no index serves is a 400 that says what is
    oldest = api.request("GET", "/api/ideas", query={"userId": user_id, "order": "asc", "_limit": "100"}).body
    assert [i["id"] for i in oldest["data"]] == newest_first[::-1]
    refused = api.request("GET", "/api/ideas", query={"userId": user_id, "status": "concept"})
    assert refused.status == 400 and "Supported listings" in refused.body["message"]


@pytest.mark.parametrize(
    "query",
    [
        {"_limit": "0"},
        {"_limit": "101"},
        {"sort": "size"},
        {"order": "up"},
        {"status": "Dreaming"},
        {"cursor": "not-a-cursor"},
    ],
)
def test_bad_listing_parameters_are_400(api, query):
    reply = api.request("GET", "/api/ideas", query=query)
    assert reply.status == 400 and reply.body["success"] is False
