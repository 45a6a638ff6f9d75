"""POST /api/ideas, GET /api/ideas/{id}, PUT, PATCH and DELETE /api/ideas/{id}."""

from __future__ import annotations

import re
from unittest import mock

import pytest

from skills_ideas import ideas
from tests.support import event, invoke

ADA = {"userId": "u-ada", "username": "ada", "role": "user"}
BOB = {"userId": "u-bob", "username": "bob", "role": "user"}
STATUS_RULE = "Status must be one of: Concept, Planning, In Progress, On Hold, Completed"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def create(body, caller=ADA, **kwargs):
    return invoke("create_idea", event("POST", "/api/ideas", body=body, caller=caller, **kwargs))


def created(body=None, caller=ADA) -> dict:
    status, answer = create(body or {"title": "Solar kettle"}, caller)
    assert status == 201, answer
    return answer["data"]


def on_idea(function: str, method: str, idea_id: str, body=None, caller=ADA, **kwargs):
    return invoke(
        function,
        event(
            method,
            f"/api/ideas/{idea_id}",
            resource="/api/ideas/{id}",
            path_params={"id": idea_id},
            body=body,
            caller=caller,
            **kwargs,
        ),
    )


def get(idea_id: str):
    return on_idea("get_idea", "GET", idea_id, caller=None)


def replace(idea_id, body, caller=ADA):
    return on_idea("replace_idea", "PUT", idea_id, body, caller)


def patch(idea_id, body, caller=ADA):
    return on_idea("update_idea", "PATCH", idea_id, body, caller)


def delete(idea_id, caller=ADA):
    return on_idea("delete_idea", "DELETE", idea_id, caller=caller)


# ------------------------------------------------------------------ create
def test_create_answers_201_with_the_whole_idea(aws):
    # Given a signed-in user
    # When they publish an idea
    status, body = create({"title": "Solar kettle", "description": "Boils water with sunlight", "status": "Planning"})
    # Then it is 201 in the legacy envelope, with the idea as stored
    assert status == 201
    assert body["success"] is True
    assert body["message"] == "Idea created successfully"
    idea = body["data"]
    assert set(idea) == {"id", "title", "description", "status", "userId", "createdAt", "updatedAt"}
    assert (idea["title"], idea["description"], idea["status"]) == (
        "Solar kettle",
        "Boils water with sunlight",
        "Planning",
    )
    assert idea["userId"] == "u-ada"
    assert ISO.match(idea["createdAt"]) and idea["updatedAt"] == idea["createdAt"]
    # And it can be read back by id by anyone
    assert get(idea["id"]) == (200, {"success": True, "data": idea})


def test_create_defaults_the_status_to_concept_and_description_to_null(aws):
    idea = created({"title": "Just a title"})
    assert idea["status"] == "Concept"
    assert idea["description"] is None


@pytest.mark.parametrize(
    ("given", "stored"),
    [("concept", "Concept"), ("IN PROGRESS", "In Progress"), ("on hold", "On Hold"), ("Completed", "Completed")],
)
def test_create_accepts_a_status_in_any_letter_case_and_stores_its_canonical_form(aws, given, stored):
    assert created({"title": "t", "status": given})["status"] == stored


@pytest.mark.parametrize("body", [{}, {"title": ""}, {"title": "   "}, {"title": None}, {"description": "no title"}])
def test_create_without_a_title_is_400_title_is_required(aws, body):
    assert create(body) == (400, {"success": False, "message": "Title is required"})


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"title": "x" * 201}, "Title must be at most 200 characters"),
        ({"title": 42}, "Title must be a string"),
        ({"title": "t", "description": "d" * 5001}, "Description must be at most 5000 characters"),
        ({"title": "t", "status": "Development"}, STATUS_RULE),
        ({"title": "t", "status": 3}, "Status must be a string"),
        ({"title": "t", "owner": "someone"}, "Unknown field(s): owner"),
    ],
)
def test_create_rejects_invalid_fields_with_400(aws, body, fragment):
    status, answer = create(body)
    assert status == 400
    assert answer == {"success": False, "message": fragment}


def test_create_accepts_the_maximum_lengths(aws):
    idea = created({"title": "x" * 200, "description": "d" * 5000})
    assert len(idea["title"]) == 200 and len(idea["description"]) == 5000


def test_create_ignores_read_only_fields_it_cannot_take_from_the_client(aws):
    # Given a client that tries to choose the owner, id and dates
    idea = created({"title": "mine", "userId": "u-bob", "id": "X", "createdAt": "1999-01-01T00:00:00.000Z"})
    # Then the server decides them
    assert idea["userId"] == "u-ada"
    assert idea["id"] != "X"
    assert not idea["createdAt"].startswith("1999")


def test_create_without_the_authorizer_context_is_401(aws):
    assert create({"title": "t"}, caller=None) == (401, {"success": False, "message": "No token, authorization denied"})


@pytest.mark.parametrize("raw", ["{bad json", "[]"])
def test_create_with_a_body_that_is_not_a_json_object_is_400(aws, raw):
    status, body = create(None, raw_body=raw)
    assert (status, body["success"]) == (400, False)


# ------------------------------------------------------------------ get and list
def test_an_empty_table_lists_no_ideas_and_no_cursor(aws):
    assert invoke("list_ideas", event("GET", "/api/ideas")) == (200, {"success": True, "count": 0, "data": []})


def test_a_new_idea_is_first_in_the_feed(aws):
    # (two creations can share a millisecond; the clock is set so that they do not)
    with mock.patch.object(ideas, "now_ms", return_value=1772359200000):
        older = created({"title": "first"})
    with mock.patch.object(ideas, "now_ms", return_value=1772359200001):
        newer = created({"title": "second"}, caller=BOB)
    status, body = invoke("list_ideas", event("GET", "/api/ideas"))
    assert status == 200
    assert body["data"] == [newer, older]


@pytest.mark.parametrize("idea_id", ["01JZZZZZZZZZZZZZZZZZZZZZZZ", "12", "x" * 65, "%00"])
def test_get_an_unknown_idea_is_404(aws, idea_id):
    assert get(idea_id) == (404, {"success": False, "message": "Idea not found"})


# ------------------------------------------------------------------ replace (PUT)
def test_put_replaces_every_field_of_the_owners_idea(aws):
    # Given Ada's idea with a description and a status
    idea = created({"title": "Old", "description": "old text", "status": "Planning"})
    # When she replaces it with only a title
    status, body = replace(idea["id"], {"title": "New"})
    # Then the idea is exactly the new one: description cleared, status back to the default
    assert status == 200
    assert body["message"] == "Idea updated successfully"
    new = body["data"]
    assert (new["title"], new["description"], new["status"]) == ("New", None, "Concept")
    assert (new["id"], new["userId"], new["createdAt"]) == (idea["id"], "u-ada", idea["createdAt"])
    assert new["updatedAt"] >= idea["updatedAt"]
    assert get(idea["id"])[1]["data"] == new


def test_put_without_a_title_is_400_and_changes_nothing(aws):
    idea = created({"title": "Keep me"})
    assert replace(idea["id"], {"description": "no title"}) == (400, {"success": False, "message": "Title is required"})
    assert get(idea["id"])[1]["data"] == idea


# ------------------------------------------------------------------ update (PATCH)
def test_patch_changes_only_the_fields_sent(aws):
    # Given Ada's idea
    idea = created({"title": "Wind sock", "description": "Measures wind", "status": "Concept"})
    # When she changes the status alone
    status, body = patch(idea["id"], {"status": "in progress"})
    # Then only the status (and updatedAt) changed
    assert status == 200
    assert body["message"] == "Idea updated successfully"
    after = body["data"]
    assert after["status"] == "In Progress"
    assert (after["title"], after["description"], after["createdAt"]) == (
        "Wind sock",
        "Measures wind",
        idea["createdAt"],
    )
    assert get(idea["id"])[1]["data"] == after


def test_patch_can_clear_the_description(aws):
    idea = created({"title": "t", "description": "d"})
    assert patch(idea["id"], {"description": None})[1]["data"]["description"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Provide at least one of: title, description, status"),
        ({"title": ""}, "Title is required"),
        ({"status": None}, STATUS_RULE),
        ({"status": "Shipped"}, STATUS_RULE),
        ({"title": "t" * 201}, "Title must be at most 200 characters"),
    ],
)
def test_patch_with_invalid_changes_is_400_and_changes_nothing(aws, body, message):
    idea = created({"title": "Stable"})
    assert patch(idea["id"], body) == (400, {"success": False, "message": message})
    assert get(idea["id"])[1]["data"] == idea


# ------------------------------------------------------------------ delete
def test_delete_removes_the_owners_idea(aws):
    # Given Ada's idea
    idea = created()
    # When she deletes it
    assert delete(idea["id"]) == (200, {"success": True, "message": "Idea deleted successfully"})
    # Then it is gone, and deleting it again is 404
    assert get(idea["id"])[0] == 404
    assert delete(idea["id"]) == (404, {"success": False, "message": "Idea not found"})


# ------------------------------------------------------------------ ownership
#: The three owner-only writes, each with a body it would accept from the owner.
OWNER_WRITES = [
    ("replace_idea", "PUT", {"title": "Hijacked"}),
    ("update_idea", "PATCH", {"status": "Completed"}),
    ("delete_idea", "DELETE", None),
]


@pytest.mark.parametrize(("function", "method", "body"), OWNER_WRITES, ids=["PUT", "PATCH", "DELETE"])
def test_someone_elses_idea_cannot_be_changed_403_and_stays_unchanged(aws, function, method, body):
    # Given Ada's idea
    idea = created({"title": "Ada's own", "description": "hers", "status": "Planning"})
    # When Bob tries to replace, update or delete it
    status, answer = on_idea(function, method, idea["id"], body, caller=BOB)
    # Then he is refused with 403 and the idea is exactly as it was
    assert (status, answer["success"]) == (403, False)
    assert get(idea["id"]) == (200, {"success": True, "data": idea})


@pytest.mark.parametrize(("function", "method", "body"), OWNER_WRITES, ids=["PUT", "PATCH", "DELETE"])
def test_changing_an_unknown_idea_is_404(aws, function, method, body):
    for idea_id in ("01JZZZZZZZZZZZZZZZZZZZZZZZ", "y" * 65):
        status, answer = on_idea(function, method, idea_id, body)
        assert (status, answer) == (404, {"success": False, "message": "Idea not found"})


@pytest.mark.parametrize(("function", "method", "body"), OWNER_WRITES, ids=["PUT", "PATCH", "DELETE"])
def test_changing_an_idea_without_the_authorizer_context_is_401_and_changes_nothing(aws, function, method, body):
    idea = created()
    status, answer = on_idea(function, method, idea["id"], body, caller=None)
    assert (status, answer) == (401, {"success": False, "message": "No token, authorization denied"})
    assert get(idea["id"])[1]["data"] == idea
