"""`aliases` in the catalogue document: optional, validated on every admin write, and kept
out of skills written without them (the legacy shape)."""

from __future__ import annotations

import pytest

from tests.skills.conftest import SKILL, catalogue_document, write


def stored(skill_id: int) -> dict:
    return next(s for s in catalogue_document()["skills"] if s["id"] == skill_id)


def test_a_skill_is_created_and_changed_with_aliases(aws):
    status, body = write("create_skill", "POST", "/api/skills", body={**SKILL, "aliases": [" ex ", "BEAM lang"]})
    assert status == 201, body
    skill_id = body["data"]["id"]
    assert stored(skill_id)["aliases"] == ["ex", "BEAM lang"]
    status, body = write(
        "update_skill",
        "PATCH",
        f"/api/skills/{skill_id}",
        resource="/api/skills/{id}",
        path_params={"id": str(skill_id)},
        body={"aliases": ["exs"]},
    )
    assert status == 200, body
    assert stored(skill_id)["aliases"] == ["exs"]
    assert stored(skill_id)["name"] == SKILL["name"]


def test_a_skill_written_without_aliases_has_none(aws):
    status, body = write("create_skill", "POST", "/api/skills", body=SKILL)
    assert status == 201, body
    assert "aliases" not in stored(body["data"]["id"])


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ("k8s", "Aliases must be a list of at most 20 strings"),
        ([f"a{n}" for n in range(21)], "Aliases must be a list of at most 20 strings"),
        (["ok", 3], "Alias 2 must be a string"),
        (["ok", "  "], "Alias 2 is required"),
        (["x" * 51], "Alias 1 must be at most 50 characters"),
        (["Ex", "ex"], "Alias 2 repeats 'ex'"),
        (["bad\u0000"], "Alias 1"),
    ],
)
def test_malformed_aliases_are_a_400_that_says_why(aws, aliases, message):
    status, body = write("create_skill", "POST", "/api/skills", body={**SKILL, "aliases": aliases})
    assert status == 400
    assert body["success"] is False
    assert body["message"].startswith(message)
