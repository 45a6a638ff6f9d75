"""Skill links in the table: the three endpoints and the interface the event consumer calls
(refresh_idea, forget_idea, refresh_for_catalogue_change), on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from botocore.client import BaseClient

from skills_ideas import ideas, models, recommendations
from skills_ideas.skill_matcher import LIMIT
from tests.support import DEFAULT_CATALOGUE, bind_models, epoch_ms, event, invoke, walk_pages

SKILLS = json.loads(DEFAULT_CATALOGUE.read_text())["skills"]
ID = {s["name"]: s["id"] for s in SKILLS}
ADA = {"userId": "u-ada", "username": "ada", "role": "user"}
BOB = {"userId": "u-bob", "username": "bob", "role": "user"}
K8S_IDEA = {
    "title": "k8s cost explorer",
    "description": "Show Kubernetes spend per namespace as charts and dashboards.",
}


@pytest.fixture
def world(aws) -> Iterator[None]:
    """The moto world, models bound, and no catalogue copy kept from another test."""
    bind_models()
    recommendations._store = None
    yield
    recommendations._store = None


def create(fields: dict, who: dict = ADA, at: str | None = None) -> dict:
    with mock.patch.object(ideas, "now_ms", return_value=epoch_ms(at)) if at else _nothing():
        status, body = invoke("create_idea", event("POST", "/api/ideas", body=fields, caller=who))
    assert status == 201, body
    return body["data"]


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def idea_skills(idea_id: str) -> tuple[int, dict]:
    return invoke(
        "get_idea_skills",
        event("GET", f"/api/ideas/{idea_id}/skills", resource="/api/ideas/{id}/skills", path_params={"id": idea_id}),
    )


def skill_ideas(skill_id: int | str, query: dict | None = None) -> tuple[int, dict]:
    return invoke(
        "list_skill_ideas",
        event(
            "GET",
            f"/api/skills/{skill_id}/ideas",
            resource="/api/skills/{id}/ideas",
            path_params={"id": str(skill_id)},
            query=query,
        ),
    )


def confirm(idea_id: str, body: object, who: dict = ADA) -> tuple[int, dict]:
    return invoke(
        "confirm_idea_skills",
        event(
            "PUT",
            f"/api/ideas/{idea_id}/skills",
            resource="/api/ideas/{id}/skills",
            path_params={"id": idea_id},
            body=body,
            caller=who,
        ),
    )


@contextmanager
def dynamodb_calls(monkeypatch) -> Iterator[list[str]]:
    calls: list[str] = []
    original = BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation_name)
        return original(self, operation_name, api_params)

    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", recording)
        yield calls


def linked_ids(skill_id: int) -> list[str]:
    status, body = skill_ideas(skill_id, {"_limit": "100"})
    assert status == 200, body
    return [i["id"] for i in body["data"]]


# ---------------------------------------------------------------- GET /api/ideas/{id}/skills
def test_an_ideas_skills_come_best_first_with_scores_and_the_words_that_matched(world):
    idea = create(K8S_IDEA)
    assert recommendations.refresh_idea(idea) is True
    status, body = idea_skills(idea["id"])
    assert status == 200, body
    skills = body["data"]
    assert [s["name"] for s in skills] == ["Kubernetes", "Data Visualization"]
    assert body["count"] == 2
    kubernetes = skills[0]
    assert kubernetes["id"] == ID["Kubernetes"] and kubernetes["category"] == "DevOps"
    assert kubernetes["matched"][:2] == ["k8s", "Kubernetes"] or "k8s" in kubernetes["matched"]
    assert kubernetes["score"] > skills[1]["score"] > 0
    assert {"charts", "dashboards"} <= set(skills[1]["matched"])
    assert not any(s["confirmed"] for s in skills)


def test_before_its_first_ranking_an_idea_answers_pending_and_nothing_is_ranked_or_written(world, monkeypatch):
    # Given an idea whose event the consumer has not processed yet
    idea = create(K8S_IDEA)
    ranked = mock.Mock(side_effect=AssertionError("ranked on a read"))
    monkeypatch.setattr(recommendations, "rank", ranked)
    # When its skills are asked for
    with dynamodb_calls(monkeypatch) as calls:
        status, body = idea_skills(idea["id"])
    # Then the answer is empty and says it is pending, from two reads, without ranking it
    assert (status, body) == (200, {"success": True, "count": 0, "data": [], "pending": True})
    assert calls == ["GetItem", "GetItem"]  # the idea, and its (absent) links
    assert linked_ids(ID["Kubernetes"]) == []


def test_once_ranked_an_idea_is_no_longer_pending(world):
    idea = create(K8S_IDEA)
    recommendations.refresh_idea(idea)
    status, body = idea_skills(idea["id"])
    assert status == 200 and body["pending"] is False and body["count"] == 2


def test_an_idea_that_matches_nothing_has_no_skills(world):
    idea = create({"title": "Community garden rota", "description": "Neighbours water the plots on weekends."})
    recommendations.refresh_idea(idea)
    assert idea_skills(idea["id"]) == (200, {"success": True, "count": 0, "data": [], "pending": False})


def test_skills_of_an_unknown_idea_are_404(world):
    assert idea_skills("u-ada-01JDQ3A9X8Q7W6E5R4T3Y2U1I0")[0] == 404
    assert idea_skills("nonsense")[1] == {"success": False, "message": "Idea not found"}


def test_an_idea_links_at_most_ten_skills(world):
    idea = create({"title": "Everything", "description": " ".join(s["name"] for s in SKILLS)})
    recommendations.refresh_idea(idea)
    assert idea_skills(idea["id"])[1]["count"] == LIMIT
    linked = [s["id"] for s in SKILLS if idea["id"] in linked_ids(s["id"])]
    assert len(linked) == LIMIT


# ---------------------------------------------------------------- GET /api/skills/{id}/ideas
def test_the_ideas_of_a_skill_come_newest_first_in_pages_of_one_query(world, monkeypatch):
    created = [
        create({"title": f"Postgres idea {n}", "description": "Tune PostgreSQL."}, at=f"2026-01-01T00:{n:02d}:00.000Z")
        for n in range(7)
    ]
    created.append(create({"title": "Postgres twin", "description": "Same minute."}, at="2026-01-01T00:06:00.000Z"))
    create({"title": "A Redis cache", "description": "Nothing relational."})
    for idea in created:
        recommendations.refresh_idea(idea)
    expected = [i["id"] for i in sorted(created, key=lambda i: (i["createdAt"], i["id"]), reverse=True)]

    monkeypatch.setattr(ideas, "HIDDEN_OWNERS_TTL_SECONDS", 3600.0)

    def fetch(cursor):
        query = {"_limit": "3", **({"cursor": cursor} if cursor else {})}
        ideas.hidden_owners()  # a warm instance knows the accounts being deleted (docs/accounts.md)
        with dynamodb_calls(monkeypatch) as calls:
            status, body = skill_ideas(ID["PostgreSQL"], query)
        assert status == 200, body
        assert calls == ["Query"]  # one Query per page, nothing else
        return body["data"], body.get("nextCursor")

    assert walk_pages(fetch, 3) == expected
    first = skill_ideas(ID["PostgreSQL"], {"_limit": "1"})[1]["data"][0]
    assert set(first) == {"id", "title", "status", "userId", "createdAt", "score", "confirmed"}
    newest = next(i for i in created if i["id"] == expected[0])
    assert (first["id"], first["title"], first["status"]) == (newest["id"], newest["title"], newest["status"])
    assert first["confirmed"] is False and first["score"] >= 1


def test_a_skill_lists_no_idea_of_an_account_being_deleted_and_its_cursor_goes_past_them(world):
    # Given a skill's ideas, the newest three by an account that is being deleted
    bobs = create({"title": "Postgres for Bob", "description": "PostgreSQL."}, who=BOB, at="2026-01-01T00:00:00.000Z")
    adas = [
        create({"title": f"Postgres {n}", "description": "PostgreSQL."}, at=f"2026-01-01T00:0{n + 1}:00.000Z")
        for n in range(3)
    ]
    for idea in [bobs, *adas]:
        recommendations.refresh_idea(idea)
    models.PendingDeletionModel(sk=models.user_key("u-ada"), userId="u-ada", deletedAt=models.now_iso()).save()
    ideas.forget_hidden_owners()
    # When the skill's ideas are paged two at a time
    status, first = skill_ideas(ID["PostgreSQL"], {"_limit": "2"})
    assert status == 200 and first["data"] == [] and first["nextCursor"]
    status, second = skill_ideas(ID["PostgreSQL"], {"_limit": "2", "cursor": first["nextCursor"]})
    # Then only the other account's idea is listed, on the page after the hidden ones
    assert status == 200 and [i["id"] for i in second["data"]] == [bobs["id"]]
    assert "nextCursor" not in second


@pytest.mark.parametrize("skill_id", ["999", "abc", "-1"])
def test_ideas_of_an_unknown_skill_are_404(world, skill_id):
    assert skill_ideas(skill_id) == (404, {"success": False, "message": "Skill not found"})


def test_a_changed_or_foreign_cursor_is_a_400(world):
    for n in range(3):
        recommendations.refresh_idea(create({"title": f"Go tool {n}", "description": "Written in Go."}))
    cursor = skill_ideas(ID["Go"], {"_limit": "1"})[1]["nextCursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    assert skill_ideas(ID["Go"], {"cursor": tampered})[0] == 400
    status, body = skill_ideas(ID["Rust"], {"cursor": cursor})
    assert status == 400 and "different query" in body["message"]
    assert skill_ideas(ID["Go"], {"_limit": "0"})[0] == 400
    assert skill_ideas(ID["Go"], {"_limit": "101"})[0] == 400


# ---------------------------------------------------------------- PUT /api/ideas/{id}/skills
def test_the_owner_confirms_skills_and_they_replace_the_suggestions_on_both_sides(world):
    idea = create(K8S_IDEA)
    recommendations.refresh_idea(idea)
    status, body = confirm(idea["id"], {"skillIds": [ID["Kubernetes"], ID["Go"]]})
    assert status == 200, body
    assert body["message"] == "Skills confirmed"
    assert [(s["name"], s["confirmed"]) for s in body["data"]] == [("Kubernetes", True), ("Go", True)]
    assert idea_skills(idea["id"])[1]["data"] == body["data"]
    assert idea["id"] in linked_ids(ID["Go"])
    assert idea["id"] not in linked_ids(ID["Data Visualization"])  # the suggestion is gone
    link = skill_ideas(ID["Kubernetes"])[1]["data"][0]
    assert link["confirmed"] is True


def test_a_refresh_keeps_confirmed_skills_and_follows_the_ideas_edits(world):
    idea = create(K8S_IDEA)
    confirm(idea["id"], {"skillIds": [ID["Go"]]})
    edited = {**idea, "title": "Renamed: Terraform for k8s", "status": "Planning"}
    assert recommendations.refresh_idea(edited) is True
    assert [s["name"] for s in idea_skills(idea["id"])[1]["data"]] == ["Go"]
    link = skill_ideas(ID["Go"])[1]["data"][0]
    assert (link["title"], link["status"], link["confirmed"]) == ("Renamed: Terraform for k8s", "Planning", True)


def test_confirming_no_skills_says_the_idea_needs_none(world):
    idea = create(K8S_IDEA)
    recommendations.refresh_idea(idea)
    assert confirm(idea["id"], {"skillIds": []}) == (
        200,
        {"success": True, "message": "Skills confirmed", "count": 0, "data": []},
    )
    assert linked_ids(ID["Kubernetes"]) == []
    recommendations.refresh_idea(idea)
    assert idea_skills(idea["id"])[1]["data"] == []


def test_only_the_owner_confirms(world):
    idea = create(K8S_IDEA)
    assert confirm(idea["id"], {"skillIds": [1]}, who=BOB) == (
        403,
        {"success": False, "message": "You can only change your own ideas"},
    )
    assert confirm("u-ada-01JDQ3A9X8Q7W6E5R4T3Y2U1I0", {"skillIds": [1]})[0] == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "skillIds is required"),
        ({"skillIds": [1], "extra": 1}, "Unknown field(s): extra"),
        ({"skillIds": "1"}, "skillIds must be a list of at most 10 skill ids"),
        ({"skillIds": list(range(1, 12))}, "skillIds must be a list of at most 10 skill ids"),
        ({"skillIds": [1, "2"]}, "skillIds must hold skill ids (integers)"),
        ({"skillIds": [True]}, "skillIds must hold skill ids (integers)"),
        ({"skillIds": [1, 1]}, "skillIds must not repeat a skill"),
        ({"skillIds": [1, 999, 1000]}, "Unknown skill id(s): 999, 1000"),
    ],
)
def test_a_malformed_confirmation_is_a_400_that_says_why(world, body, message):
    idea = create(K8S_IDEA)
    assert confirm(idea["id"], body) == (400, {"success": False, "message": message})


# ---------------------------------------------------------------- the event consumer's interface
def test_refreshing_an_unchanged_idea_writes_nothing(world, monkeypatch):
    idea = create(K8S_IDEA)
    assert recommendations.refresh_idea(idea) is True
    with dynamodb_calls(monkeypatch) as calls:
        assert recommendations.refresh_idea(idea) is False
    assert calls == ["GetItem"]


def test_an_edit_moves_the_links_to_the_skills_the_new_text_needs(world):
    idea = create(K8S_IDEA)
    recommendations.refresh_idea(idea)
    recommendations.refresh_idea({**idea, "title": "Redis leaderboard", "description": "Sorted sets."})
    assert linked_ids(ID["Kubernetes"]) == []
    assert linked_ids(ID["Redis"]) == [idea["id"]]


def test_forgetting_an_idea_removes_both_sides(world):
    idea = create(K8S_IDEA)
    recommendations.refresh_idea(idea)
    assert recommendations.forget_idea(idea["id"]) is True
    assert linked_ids(ID["Kubernetes"]) == []
    assert recommendations.forget_idea(idea["id"]) is False
    status, _ = invoke(
        "delete_idea",
        event(
            "DELETE", f"/api/ideas/{idea['id']}", resource="/api/ideas/{id}", path_params={"id": idea["id"]}, caller=ADA
        ),
    )
    assert status == 200
    assert idea_skills(idea["id"])[0] == 404


def test_an_idea_whose_id_does_not_name_its_owner_is_forgotten_with_the_owner_given(world):
    item, alias = ideas.aliased_item(
        "u-ada", "42", "2026-01-01T00:00:00.000Z", 42, title="Go and k8s", status="Concept", updatedAt="x"
    )
    item.save()
    alias.save()
    idea = ideas.get("42")
    recommendations.refresh_idea(idea)
    assert linked_ids(ID["Kubernetes"]) == ["42"]
    with pytest.raises(ValueError, match="owner"):
        recommendations.forget_idea("42")
    assert recommendations.forget_idea("42", owner_id="u-ada") is True
    assert linked_ids(ID["Kubernetes"]) == []


def _catalogue_with(change) -> object:
    from skills_ideas.catalogue import parse

    document = json.loads(DEFAULT_CATALOGUE.read_text())
    change(document["skills"])
    return parse(json.dumps(document).encode(), '"edited"')


def test_a_new_alias_reaches_ideas_that_use_it(world):
    idea = create({"title": "Tofu modules", "description": "Reusable tofu modules for our VPCs."})
    recommendations.refresh_idea(idea)
    assert linked_ids(ID["Terraform"]) == []
    before = next(s for s in SKILLS if s["id"] == ID["Terraform"])
    after = {**before, "aliases": [*before["aliases"], "tofu"]}
    edited = _catalogue_with(lambda skills: skills[skills.index(before)].update(after))
    assert recommendations.refresh_for_catalogue_change(before, after, catalogue=edited) == 1
    assert linked_ids(ID["Terraform"]) == [idea["id"]]


def test_a_deleted_skill_leaves_the_ideas_it_was_linked_to(world):
    linked = create(K8S_IDEA)
    other = create({"title": "Redis queue", "description": "Jobs."})
    for idea in (linked, other):
        recommendations.refresh_idea(idea)
    gone = next(s for s in SKILLS if s["id"] == ID["Kubernetes"])
    edited = _catalogue_with(lambda skills: skills.remove(gone))
    assert recommendations.refresh_for_catalogue_change(gone, None, catalogue=edited) == 1
    assert linked_ids(ID["Kubernetes"]) == []
    stored = models.IdeaSkillsModel.get(f"USER#{linked['userId']}", f"IDEASKILLS#{linked['id']}")
    assert [e["id"] for e in stored.skills] == [ID["Data Visualization"]]


def test_sync_follows_the_idea_as_stored_whatever_order_events_come_in(world):
    idea = create(K8S_IDEA)
    assert recommendations.sync_idea(idea["id"]) == "refreshed"
    assert recommendations.sync_idea(idea["id"]) == "unchanged"  # a repeated event
    status, _ = invoke(
        "update_idea",
        event(
            "PATCH",
            f"/api/ideas/{idea['id']}",
            resource="/api/ideas/{id}",
            path_params={"id": idea["id"]},
            body={"title": "Redis queue", "description": "Jobs."},
            caller=ADA,
        ),
    )
    assert status == 200
    assert recommendations.sync_idea(idea["id"]) == "refreshed"
    assert linked_ids(ID["Redis"]) == [idea["id"]] and linked_ids(ID["Kubernetes"]) == []
    invoke(
        "delete_idea",
        event(
            "DELETE", f"/api/ideas/{idea['id']}", resource="/api/ideas/{id}", path_params={"id": idea["id"]}, caller=ADA
        ),
    )
    assert recommendations.sync_idea(idea["id"]) == "forgotten"
    assert recommendations.sync_idea(idea["id"]) == "absent"
    assert linked_ids(ID["Redis"]) == []


# ---------------------------------------------------------------- races
def _stored_list(idea: dict) -> models.IdeaSkillsModel:
    return models.IdeaSkillsModel.get(f"USER#{idea['userId']}", f"IDEASKILLS#{idea['id']}", consistent_read=True)


def test_a_refresh_that_races_the_owners_confirmation_keeps_the_confirmation(world, monkeypatch):
    # Given an idea with suggestions stored
    idea = create(K8S_IDEA)
    recommendations.refresh_idea(idea)
    # When a refresh has read the list and ranks while the owner confirms other skills
    original_rank = recommendations.rank
    raced = []

    def rank_while_the_owner_confirms(*args, **kwargs):
        if not raced:
            raced.append(True)
            assert confirm(idea["id"], {"skillIds": [ID["Redis"]]})[0] == 200
        return original_rank(*args, **kwargs)

    monkeypatch.setattr(recommendations, "rank", rank_while_the_owner_confirms)
    changed = {**idea, "title": "k8s cost explorer v2"}
    recommendations.refresh_idea(changed)
    # Then the refresh's first write failed on the version and its second kept the confirmation
    assert raced
    stored = _stored_list(idea)
    assert stored.confirmed is True
    assert [e["id"] for e in stored.skills] == [ID["Redis"]]
    assert stored.title == "k8s cost explorer v2"  # and the refresh's own change landed
    assert linked_ids(ID["Redis"]) == [idea["id"]]
    assert linked_ids(ID["Kubernetes"]) == []


def test_a_confirmation_that_races_a_refresh_leaves_no_stale_link(world, monkeypatch):
    # Given an idea about Redis, stored
    idea = create({"title": "Redis queue", "description": "Jobs."})
    recommendations.refresh_idea(idea)
    # When the owner confirms while a refresh (the idea now says Kubernetes) writes in between
    edited = {**idea, **K8S_IDEA}
    original_list_item = recommendations._list_item
    raced = []

    def after_the_owners_read_a_refresh_lands(item, entries, confirmed, catalogue):
        if confirmed and not raced:
            raced.append(True)
            recommendations.refresh_idea(edited)
        return original_list_item(item, entries, confirmed, catalogue)

    monkeypatch.setattr(recommendations, "_list_item", after_the_owners_read_a_refresh_lands)
    assert confirm(idea["id"], {"skillIds": [ID["Python"]]})[0] == 200
    # Then only the confirmed skill is linked: the refresh's links were removed too
    assert raced
    assert [e["id"] for e in _stored_list(idea).skills] == [ID["Python"]]
    assert linked_ids(ID["Python"]) == [idea["id"]]
    assert linked_ids(ID["Kubernetes"]) == [] and linked_ids(ID["Redis"]) == []


def test_an_idea_deleted_while_it_is_ranked_is_left_without_links(world, monkeypatch):
    # Given an idea's creation being processed: the idea was read, nothing is stored yet
    idea = create(K8S_IDEA)
    original_rank = recommendations.rank
    raced = []

    def rank_while_the_owner_deletes(*args, **kwargs):
        if not raced:  # the owner deletes it, and its deletion's event finds nothing to forget
            raced.append(True)
            path = {"id": idea["id"]}
            deleted = invoke(
                "delete_idea",
                event("DELETE", f"/api/ideas/{idea['id']}", resource="/api/ideas/{id}", path_params=path, caller=ADA),
            )
            assert deleted[0] == 200
            assert recommendations.sync_idea(idea["id"]) == "absent"
        return original_rank(*args, **kwargs)

    monkeypatch.setattr(recommendations, "rank", rank_while_the_owner_deletes)
    # When the creation's processing writes
    outcome = recommendations.sync_idea(idea["id"])
    # Then the write failed on the idea being gone, and nothing links the deleted idea
    assert raced and outcome == "absent"
    assert recommendations._stored(idea["userId"], idea["id"]) is None
    assert linked_ids(ID["Kubernetes"]) == [] and linked_ids(ID["Data Visualization"]) == []


def test_writes_that_keep_conflicting_give_up_with_a_409(world, monkeypatch):
    idea = create(K8S_IDEA)
    recommendations.refresh_idea(idea)
    original_stored = recommendations._stored

    def stale(owner, idea_id):  # every read returns a list someone else has written since
        item = original_stored(owner, idea_id)
        if item is not None:
            item.version = (item.version or 0) - 1
        return item

    monkeypatch.setattr(recommendations, "_stored", stale)
    status, body = confirm(idea["id"], {"skillIds": [ID["Redis"]]})
    assert (status, body["success"]) == (409, False)
    assert "at the same time" in body["message"]


# ---------------------------------------------------------------- catalogue walks, one step at a time
KEY = b"k" * 32


def _steps(skill_id: int, catalogue, pages: int = 1) -> list[recommendations.Step]:
    steps: list[recommendations.Step] = []
    resume = None
    while True:
        step = recommendations.refresh_for_skill(
            skill_id, catalogue=catalogue, resume=resume, cursor_key=KEY, pages=pages
        )
        steps.append(step)
        resume = step.resume
        if resume is None:
            return steps
        assert len(steps) < 20, "the walk does not end"


def test_a_new_alias_is_walked_in_bounded_steps_rewriting_only_the_ideas_it_touches(world, monkeypatch):
    # Given five ideas, all ranked, one of which uses a word that is no alias yet
    monkeypatch.setattr(recommendations, "WALK_PAGE", 2)
    tofu = create({"title": "Tofu modules", "description": "Reusable tofu modules for our VPCs."})
    others = [create(K8S_IDEA), create({"title": "Redis queue", "description": "Jobs."})]
    others += [create({"title": f"Garden rota {n}", "description": "Water the plots."}) for n in range(2)]
    for idea in [tofu, *others]:
        recommendations.refresh_idea(idea)
    before = {i["id"]: _stored_list(i).version for i in others}
    # When Terraform gets the alias "tofu" and the walk runs a page of two ideas per step
    terraform = next(s for s in SKILLS if s["id"] == ID["Terraform"])
    edited = _catalogue_with(lambda skills: skills[skills.index(terraform)].update(aliases=["tofu"]))
    steps = _steps(ID["Terraform"], edited)
    # Then every idea was looked at once, in three bounded steps, and only the one it reaches
    # was rewritten (the others' scores may move with the word weights: not worth a write)
    assert [s.examined for s in steps] == [2, 2, 1]
    assert sum(s.rewritten for s in steps) == 1
    assert linked_ids(ID["Terraform"]) == [tofu["id"]]
    assert {i["id"]: _stored_list(i).version for i in others} == before
    # and running the walk again (a redelivered event) writes nothing
    assert sum(s.rewritten for s in _steps(ID["Terraform"], edited, pages=5)) == 0


def test_a_catalogue_walk_ranks_ideas_that_have_no_stored_list_yet(world):
    idea = create(K8S_IDEA)  # from before the consumer ran: nothing stored
    kubernetes = next(s for s in SKILLS if s["id"] == ID["Kubernetes"])
    edited = _catalogue_with(lambda skills: skills[skills.index(kubernetes)].update(description="Containers."))
    assert sum(s.rewritten for s in _steps(ID["Kubernetes"], edited)) == 1
    assert linked_ids(ID["Kubernetes"]) == [idea["id"]]


def test_a_deleted_skill_loses_every_link_step_by_step_orphans_included(world, monkeypatch):
    # Given three ideas linked to Kubernetes, and an orphan link whose idea is gone
    monkeypatch.setattr(recommendations, "WALK_PAGE", 2)
    linked = [create({**K8S_IDEA, "title": f"k8s cost explorer {n}"}) for n in range(3)]
    for idea in linked:
        recommendations.refresh_idea(idea)
    models.SkillIdeaModel(
        f"SKILL#{ID['Kubernetes']}",
        "2020-01-01T00:00:00.000Z#gone",
        ideaId="gone",
        userId="u-x",
        title="t",
        status="Concept",
        createdAt="2020-01-01T00:00:00.000Z",
        score=3.0,
    ).save()
    assert len(linked_ids(ID["Kubernetes"])) == 4
    # When Kubernetes is deleted and its links are walked two per step
    gone = next(s for s in SKILLS if s["id"] == ID["Kubernetes"])
    edited = _catalogue_with(lambda skills: skills.remove(gone))
    steps = _steps(ID["Kubernetes"], edited)
    # Then no link to it is left, each idea's list lost it, and the steps were bounded
    assert [s.examined for s in steps] == [2, 2]
    assert [s.resume for s in steps] == [recommendations.MORE_LINKS, None]
    assert linked_ids(ID["Kubernetes"]) == []
    assert all(ID["Kubernetes"] not in [e["id"] for e in _stored_list(i).skills] for i in linked)


def test_a_backfill_ranks_only_the_ideas_that_have_nothing_stored(world):
    from skills_ideas_tools.recommendations_command import backfill

    # Given ideas from before the consumer existed, and one whose owner confirmed its skills
    waiting = [create(K8S_IDEA), create({"title": "Redis queue", "description": "Jobs."})]
    confirmed = create({"title": "Tofu modules"})
    assert confirm(confirmed["id"], {"skillIds": [ID["Terraform"]]})[0] == 200
    version = _stored_list(confirmed).version
    # When the backfill walks them, paced (a page of two a step)
    pauses: list[float] = []
    with mock.patch.object(recommendations, "WALK_PAGE", 2):
        progress = backfill(recommendations._catalogue(None), pages_per_second=4, sleep=pauses.append)
    # Then the waiting ideas have their skills, the confirmed one was left alone
    assert (progress.examined, progress.ranked, progress.steps) == (3, 2, 2)
    assert pauses == [0.25]
    assert idea_skills(waiting[0]["id"])[1]["pending"] is False
    assert linked_ids(ID["Redis"]) == [waiting[1]["id"]]
    assert _stored_list(confirmed).version == version
