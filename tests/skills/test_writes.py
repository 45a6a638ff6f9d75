"""Admin writes of the catalogue: who may write, validation, uniqueness, ids, the static file,
the CDN invalidation and the audit trail."""

from __future__ import annotations

import json
import os

import boto3
import pytest

from skills_ideas import catalogue_edits
from skills_ideas.observability import logger
from tests.skills.conftest import ADMIN, SKILL, USER, catalogue_document, invalidations, read, write

WRITES = [
    ("create_skill", "POST", "/api/skills", {}),
    ("replace_skill", "PUT", "/api/skills/1", {"resource": "/api/skills/{id}", "path_params": {"id": "1"}}),
    ("update_skill", "PATCH", "/api/skills/1", {"resource": "/api/skills/{id}", "path_params": {"id": "1"}}),
    ("delete_skill", "DELETE", "/api/skills/1", {"resource": "/api/skills/{id}", "path_params": {"id": "1"}}),
]


def on(skill_id: int | str) -> dict:
    return {"resource": "/api/skills/{id}", "path_params": {"id": str(skill_id)}}


def names() -> list[str]:
    return [s["name"] for s in json.loads(read("list_skills", "/api/skills")["body"])["data"]]


# ---------------------------------------------------------------- who may write
@pytest.mark.parametrize(("function", "method", "path", "kwargs"), WRITES)
def test_a_non_admin_gets_403_and_nothing_changes(aws, function, method, path, kwargs):
    before = catalogue_document()
    status, payload = write(function, method, path, who=USER, body=SKILL, **kwargs)
    assert (status, payload) == (403, {"success": False, "message": "Admin access required"})
    assert catalogue_document() == before


@pytest.mark.parametrize(("function", "method", "path", "kwargs"), WRITES)
def test_without_the_authorizer_context_it_is_401(aws, function, method, path, kwargs):
    status, payload = write(function, method, path, who=None, body=SKILL, **kwargs)
    assert status == 401 and payload["message"] == "No token, authorization denied"


# ---------------------------------------------------------------- create, replace, update, delete
def test_create_assigns_next_id_and_the_skill_is_served_at_once(aws):
    next_id = catalogue_document()["nextId"]
    status, payload = write("create_skill", "POST", "/api/skills", body={**SKILL, "proficiency": "beginner"})
    assert status == 201 and payload["message"] == "Skill created successfully"
    assert payload["data"] == {"id": next_id, **SKILL}  # proficiency in its canonical spelling
    assert catalogue_document()["nextId"] == next_id + 1
    got = read("get_skill", f"/api/skills/{next_id}", **on(next_id))
    assert json.loads(got["body"])["data"]["name"] == "Elixir"
    assert "Elixir" in names()


def test_ids_are_never_reused_after_a_delete(aws):
    _, first = write("create_skill", "POST", "/api/skills", body=SKILL)
    status, _ = write("delete_skill", "DELETE", f"/api/skills/{first['data']['id']}", **on(first["data"]["id"]))
    assert status == 200
    _, second = write("create_skill", "POST", "/api/skills", body=SKILL)
    assert second["data"]["id"] == first["data"]["id"] + 1


def test_replace_sets_every_field(aws):
    body = {"name": "Git", "category": "Version Control", "proficiency": "Expert"}
    status, payload = write("replace_skill", "PUT", "/api/skills/7", body=body, **on(7))
    assert status == 200 and payload["message"] == "Skill updated successfully"
    assert payload["data"] == {"id": 7, **body, "description": ""}


def test_patch_changes_only_the_given_fields(aws):
    before = json.loads(read("get_skill", "/api/skills/7", **on(7))["body"])["data"]
    status, payload = write("update_skill", "PATCH", "/api/skills/7", body={"proficiency": "Expert"}, **on(7))
    assert status == 200
    assert payload["data"] == {**before, "proficiency": "Expert"}


def test_delete_removes_the_skill(aws):
    status, payload = write("delete_skill", "DELETE", "/api/skills/2", **on(2))
    assert (status, payload["message"]) == (200, "Skill deleted successfully")
    assert read("get_skill", "/api/skills/2", **on(2))["statusCode"] == 404


@pytest.mark.parametrize(
    "function,method", [("replace_skill", "PUT"), ("update_skill", "PATCH"), ("delete_skill", "DELETE")]
)
@pytest.mark.parametrize("raw_id", ["9999", "abc", "-1"])
def test_an_unknown_or_non_numeric_id_is_404(aws, function, method, raw_id):
    status, payload = write(function, method, f"/api/skills/{raw_id}", body=SKILL, **on(raw_id))
    assert (status, payload["message"]) == (404, "Skill not found")


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**SKILL, "name": ""}, "Name is required"),
        ({k: v for k, v in SKILL.items() if k != "name"}, "Name is required"),
        ({**SKILL, "name": 42}, "Name must be a string"),
        ({**SKILL, "name": "x" * 101}, "Name must be at most 100 characters"),
        ({**SKILL, "category": "  "}, "Category is required"),
        ({**SKILL, "category": "c" * 101}, "Category must be at most 100 characters"),
        ({**SKILL, "proficiency": None}, "Proficiency is required"),
        ({**SKILL, "proficiency": "Guru"}, "Proficiency must be one of: Beginner, Intermediate, Advanced, Expert"),
        ({**SKILL, "proficiency": 3}, "Proficiency must be one of: Beginner, Intermediate, Advanced, Expert"),
        ({**SKILL, "description": ["x"]}, "Description must be a string"),
        ({**SKILL, "description": "d" * 1001}, "Description must be at most 1000 characters"),
        ({**SKILL, "level": "high"}, "Unknown field(s): level"),
    ],
)
def test_create_rejects_invalid_skills_with_a_clear_400(aws, body, message):
    status, payload = write("create_skill", "POST", "/api/skills", body=body)
    assert (status, payload["message"]) == (400, message)


def test_a_body_that_is_not_a_json_object_is_400(aws):
    status, payload = write("create_skill", "POST", "/api/skills", raw_body="[1, 2]")
    assert (status, payload["message"]) == (400, "Request body must be a JSON object")


def test_an_empty_patch_is_400(aws):
    status, payload = write("update_skill", "PATCH", "/api/skills/1", body={}, **on(1))
    assert status == 400 and payload["message"].startswith("Provide at least one of")


def test_the_id_in_a_body_is_ignored_not_taken(aws):
    status, payload = write("replace_skill", "PUT", "/api/skills/3", body={**SKILL, "id": 1}, **on(3))
    assert status == 200 and payload["data"]["id"] == 3


# ---------------------------------------------------------------- unique names
@pytest.mark.parametrize("name", ["Python", "python", "  PYTHON  "])
def test_a_duplicate_name_in_any_case_is_409(aws, name):
    status, payload = write("create_skill", "POST", "/api/skills", body={**SKILL, "name": name})
    assert (status, payload["message"]) == (409, "A skill with this name already exists")


def test_renaming_onto_another_skill_is_409_but_keeping_ones_own_name_is_fine(aws):
    status, _ = write("update_skill", "PATCH", "/api/skills/1", body={"name": "node.js"}, **on(1))
    assert status == 409
    status, _ = write("update_skill", "PATCH", "/api/skills/1", body={"name": "JAVASCRIPT"}, **on(1))
    assert status == 200


# ---------------------------------------------------------------- the published file
def test_the_catalogue_object_is_written_as_the_static_json_cloudfront_serves(aws):
    write("create_skill", "POST", "/api/skills", body=SKILL)
    head = boto3.client("s3").head_object(Bucket=os.environ["CATALOGUE_BUCKET"], Key=os.environ["CATALOGUE_KEY"])
    assert head["ContentType"] == "application/json"
    assert head["CacheControl"] == "public, max-age=60, stale-while-revalidate=300"
    document = catalogue_document()
    assert document["schemaVersion"] == 1 and document["skills"][-1]["name"] == "Elixir"


# ---------------------------------------------------------------- CDN invalidation
def test_a_write_invalidates_every_skill_read_and_the_catalogue_file(distribution):
    status, _ = write("create_skill", "POST", "/api/skills", body=SKILL)
    assert status == 201
    assert invalidations(distribution) == [["/api/skills*", "/catalogue/skills.json"]]
    write("delete_skill", "DELETE", "/api/skills/1", **on(1))
    assert len(invalidations(distribution)) == 2


def test_a_failed_write_invalidates_nothing(distribution):
    write("create_skill", "POST", "/api/skills", body={**SKILL, "name": "Python"})
    assert invalidations(distribution) == []


def test_a_failed_invalidation_does_not_fail_the_committed_write(distribution, monkeypatch, capsys):
    from tests.support import load_handler

    store = load_handler("create_skill").STORE
    monkeypatch.setattr(store, "config", catalogue_edits_replace(store.config, distribution_id="EDOESNOTEXIST"))
    status, _ = write("create_skill", "POST", "/api/skills", body=SKILL)
    assert status == 201
    assert "Elixir" in names()
    assert "CdnInvalidationFailed" in capsys.readouterr().out


def test_without_a_distribution_no_cloudfront_call_is_made(aws, monkeypatch):
    monkeypatch.setattr(catalogue_edits, "_cloudfront", None)
    write("create_skill", "POST", "/api/skills", body=SKILL)
    assert catalogue_edits._cloudfront is None


def catalogue_edits_replace(config, **changes):
    from dataclasses import replace

    return replace(config, **changes)


# ---------------------------------------------------------------- audit
def emitted(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize(
    ("function", "method", "skill_id", "body", "metric"),
    [
        ("create_skill", "POST", None, SKILL, "SkillCreated"),
        ("replace_skill", "PUT", 5, {**SKILL, "name": "Problem Solving"}, "SkillUpdated"),
        ("update_skill", "PATCH", 5, {"proficiency": "Beginner"}, "SkillUpdated"),
        ("delete_skill", "DELETE", 5, None, "SkillDeleted"),
    ],
)
def test_every_write_is_audited_with_who_what_before_after_and_a_metric(
    aws, caplog, capsys, function, method, skill_id, body, metric
):
    level = logger.log_level
    logger.setLevel("INFO")
    try:
        before = next((s for s in catalogue_document()["skills"] if s["id"] == skill_id), None)
        path = f"/api/skills/{skill_id}" if skill_id else "/api/skills"
        kwargs = on(skill_id) if skill_id else {}
        status, payload = write(function, method, path, body=body, **kwargs)
        assert status in (200, 201)
    finally:
        logger.setLevel(level)
    audit = next(r.audit for r in caplog.records if r.getMessage() == "skills catalogue changed")
    assert audit["actor"] == {"userId": ADMIN["userId"], "username": ADMIN["username"], "role": "admin"}
    assert audit["before"] == before
    assert audit["after"] == payload.get("data")
    assert audit["skillId"] == (skill_id or payload["data"]["id"])
    assert audit["catalogueETag"]
    emf = [line for line in emitted(capsys.readouterr().out) if "_aws" in line]
    assert any(metric in line for line in emf)
