"""GET /api/skills, /api/skills/{id} and /api/skills/category/{category}: the legacy
catalogue behaviour, read from the catalogue document in S3."""

from __future__ import annotations

import json

import pytest

from tests.support import DEFAULT_CATALOGUE, event, invoke

#: The legacy service's catalogue exactly as it shipped (../shared/legacy/skills.json); its
#: clients rely on ids 1-8 keeping these values. The only addition allowed is the optional
#: ``aliases`` list (skill recommendations), a field legacy clients never read.
LEGACY = [
    {
        "id": 1,
        "name": "JavaScript",
        "category": "Programming Language",
        "proficiency": "Expert",
        "description": "Modern JavaScript including ES6+ features",
    },
    {
        "id": 2,
        "name": "Node.js",
        "category": "Runtime Environment",
        "proficiency": "Intermediate",
        "description": "Server-side JavaScript development",
    },
    {
        "id": 3,
        "name": "React",
        "category": "Frontend Framework",
        "proficiency": "Advanced",
        "description": "Building interactive user interfaces",
    },
    {
        "id": 4,
        "name": "Express.js",
        "category": "Backend Framework",
        "proficiency": "Intermediate",
        "description": "Web application framework for Node.js",
    },
    {
        "id": 5,
        "name": "Problem Solving",
        "category": "Soft Skill",
        "proficiency": "Expert",
        "description": "Analytical thinking and solution development",
    },
    {
        "id": 6,
        "name": "MongoDB",
        "category": "Database",
        "proficiency": "Intermediate",
        "description": "NoSQL database for modern applications",
    },
    {
        "id": 7,
        "name": "Git",
        "category": "Version Control",
        "proficiency": "Advanced",
        "description": "Distributed version control system",
    },
    {
        "id": 8,
        "name": "RESTful APIs",
        "category": "Web Development",
        "proficiency": "Advanced",
        "description": "Designing and implementing REST APIs",
    },
]


def as_legacy(skills: list[dict]) -> list[dict]:
    """The skills without their aliases: what the legacy service had."""
    return [{k: v for k, v in skill.items() if k != "aliases"} for skill in skills]


SHIPPED = json.loads(DEFAULT_CATALOGUE.read_text())["skills"]


def skills(query: dict[str, str] | None = None) -> list[dict]:
    status, body = invoke("list_skills", event("GET", "/api/skills", query=query))
    assert status == 200, body
    assert body["success"] is True
    assert body["count"] == len(body["data"])
    return body["data"]


def by_category(category: str) -> tuple[int, dict]:
    return invoke(
        "list_skills_by_category",
        event(
            "GET",
            f"/api/skills/category/{category}",
            resource="/api/skills/category/{category}",
            path_params={"category": category},
        ),
    )


def get_skill(raw_id: str) -> tuple[int, dict]:
    return invoke(
        "get_skill", event("GET", f"/api/skills/{raw_id}", resource="/api/skills/{id}", path_params={"id": raw_id})
    )


def test_the_shipped_catalogue_keeps_the_legacy_skills_unchanged_and_grows_to_a_few_dozen():
    # Given the legacy catalogue and the one the repository ships
    # Then ids 1-8 are exactly the legacy skills, and there are a few dozen over several categories
    assert as_legacy([s for s in SHIPPED if s["id"] <= 8]) == LEGACY
    assert 24 <= len(SHIPPED) <= 100
    assert len({s["category"] for s in SHIPPED}) >= 6
    assert len({s["id"] for s in SHIPPED}) == len(SHIPPED)


def test_list_returns_every_skill_in_the_legacy_envelope(aws):
    # When all skills are listed
    status, body = invoke("list_skills", event("GET", "/api/skills"))
    # Then they all come back with success and count
    assert status == 200
    assert body["success"] is True
    assert body["count"] == len(SHIPPED)
    assert body["data"] == SHIPPED


def test_list_served_from_the_ids_1_to_8_matches_the_legacy_api(aws):
    assert as_legacy([s for s in skills() if s["id"] <= 8]) == LEGACY


@pytest.mark.parametrize("value", ["expert", "EXPERT", "Expert"])
def test_proficiency_filter_is_an_exact_case_insensitive_match(aws, value):
    result = skills({"proficiency": value})
    assert result == [s for s in SHIPPED if s["proficiency"] == "Expert"]
    assert result  # the catalogue has experts


def test_proficiency_filter_is_not_a_substring_match(aws):
    assert skills({"proficiency": "exp"}) == []


@pytest.mark.parametrize("value", ["framework", "FRAME", "end Frame"])
def test_category_filter_is_a_case_insensitive_substring_match(aws, value):
    result = skills({"category": value})
    assert result == [s for s in SHIPPED if value.lower() in s["category"].lower()]
    assert result


def test_sort_by_name_is_alphabetical_ignoring_case(aws):
    names = [s["name"] for s in skills({"sort": "name"})]
    assert names == sorted(names, key=str.lower)
    assert len(names) == len(SHIPPED)


def test_filters_combine_with_sort(aws):
    result = skills({"category": "framework", "proficiency": "advanced", "sort": "name"})
    expected = sorted(
        (s for s in SHIPPED if "framework" in s["category"].lower() and s["proficiency"] == "Advanced"),
        key=lambda s: s["name"].lower(),
    )
    assert result == expected


@pytest.mark.parametrize("needle", ["script", "JAVASCRIPT", "version control"])
def test_q_searches_name_and_description_case_insensitively(aws, needle):
    result = skills({"q": needle})
    assert result == [
        s for s in SHIPPED if needle.lower() in s["name"].lower() or needle.lower() in s["description"].lower()
    ]
    assert result


def test_q_matching_nothing_is_an_empty_list(aws):
    assert skills({"q": "no skill is called this"}) == []


def test_an_unknown_sort_is_400(aws):
    status, body = invoke("list_skills", event("GET", "/api/skills", query={"sort": "price"}))
    assert (status, body["success"]) == (400, False)


@pytest.mark.parametrize("skill_id", [1, 5, 8])
def test_get_by_id_returns_the_legacy_skill(aws, skill_id):
    status, body = get_skill(str(skill_id))
    assert status == 200
    assert body["success"] is True and set(body) == {"success", "data"}
    assert as_legacy([body["data"]]) == [LEGACY[skill_id - 1]]
    assert set(body["data"]) - set(LEGACY[skill_id - 1]) <= {"aliases"}


def test_get_by_id_returns_a_new_skill_too(aws):
    newest = max(SHIPPED, key=lambda s: s["id"])
    assert get_skill(str(newest["id"])) == (200, {"success": True, "data": newest})


@pytest.mark.parametrize("raw_id", ["9999", "0", "abc", "1.5", "-1", "1e3", " 1", "01x"])
def test_get_an_unknown_or_non_numeric_id_is_404_skill_not_found(aws, raw_id):
    assert get_skill(raw_id) == (404, {"success": False, "message": "Skill not found"})


@pytest.mark.parametrize("category", ["Database", "database", "DATABASE"])
def test_by_category_is_an_exact_case_insensitive_match(aws, category):
    status, body = by_category(category)
    expected = [s for s in SHIPPED if s["category"] == "Database"]
    assert status == 200
    assert body == {"success": True, "count": len(expected), "data": expected}
    assert expected


def test_by_category_does_not_match_a_part_of_the_category(aws):
    status, body = by_category("Data")
    assert status == 200
    assert body["data"] == [s for s in SHIPPED if s["category"].lower() == "data"]


def test_by_unknown_category_is_an_empty_list_not_404(aws):
    assert by_category("Underwater Basket Weaving") == (200, {"success": True, "count": 0, "data": []})
