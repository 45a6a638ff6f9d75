"""Skill recommendations: which catalogue skills an idea needs, and which ideas need a skill
(docs/recommendations.md, docs/data-model.md "Skill links").

Both directions are items of the single table, written together:

- ``USER#<owner>`` / ``IDEASKILLS#<ideaId>``: the idea's skills, best first, each with its
  score, the words that matched and whether the owner confirmed it (at most ``LIMIT``);
- ``SKILL#<skillId>`` / ``<createdAt>#<ideaId>``: one item per skill of that list, with the
  idea's summary, so the ideas of a skill are one Query per page, newest first.

The event consumer keeps them current (docs/recommendations.md, "Wiring"): ``refresh_idea``
after an idea is created or changed, ``forget_idea`` after it is deleted, and
``refresh_for_catalogue_change`` after an admin changes the catalogue. No request calls
them; the one request that writes links is the owner's confirmation (``confirm``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from skills_ideas import cursors, ideas, models
from skills_ideas.catalogue import Catalogue, CatalogueStore, find
from skills_ideas.config import CatalogueConfig
from skills_ideas.errors import BadRequest, Forbidden, NotFound
from skills_ideas.models import now_iso, user_key
from skills_ideas.skill_matcher import LIMIT, Match, matcher_for
from skills_ideas.validation import bounded_int

PAGE_MAX = 100
PAGE_DEFAULT = 20
_SORT = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]{5,20}Z#[A-Za-z0-9_-]{1,100}")
_PUBLIC_ID = re.compile(r"(?P<owner>[A-Za-z0-9_-]{1,64})-[0-9A-HJKMNP-TV-Z]{26}")

_store: CatalogueStore | None = None


def _catalogue(catalogue: Catalogue | None) -> Catalogue:
    """The catalogue given, or (event consumers) the one this function's environment names."""
    global _store
    if catalogue is not None:
        return catalogue
    if _store is None:
        _store = CatalogueStore(CatalogueConfig.from_env())
    return _store.current()


# ---------------------------------------------------------------- keys
def idea_skills_key(idea_id: str) -> str:
    return f"IDEASKILLS#{idea_id}"


def skill_key(skill_id: int) -> str:
    return f"SKILL#{skill_id}"


def idea_sort(idea: dict[str, Any]) -> str:
    """An idea's sort key in a skill's partition: its creation time, then its id (unique)."""
    return f"{idea['createdAt']}#{idea['id']}"


# ---------------------------------------------------------------- ranking (pure)
def _entry(match: Match | None, skill_id: int, confirmed: bool) -> dict[str, Any]:
    return {
        "id": skill_id,
        "score": match.score if match else 0.0,
        "matched": list(match.matched) if match else [],
        "confirmed": confirmed,
    }


def rank(idea: dict[str, Any], catalogue: Catalogue, confirmed: list[int] | None = None) -> list[dict[str, Any]]:
    """The idea's skills, best first: the model's suggestions, or, once the owner confirmed
    some, exactly those (in the owner's order, with the model's evidence where it has any)."""
    matcher = matcher_for(catalogue.skills, catalogue.etag)
    if confirmed is None:
        return [_entry(m, m.skill_id, False) for m in matcher.recommend(idea["title"], idea.get("description"))]
    known = {s.get("id") for s in catalogue.skills}
    evidence = {m.skill_id: m for m in matcher.score(idea["title"], idea.get("description"))}
    return [_entry(evidence.get(sid), sid, True) for sid in confirmed if sid in known]


def shown(entries: list[dict[str, Any]], catalogue: Catalogue) -> list[dict[str, Any]]:
    """Stored entries as the API shows them: with the skill's current name and category,
    skipping skills the catalogue no longer has."""
    by_id = {s.get("id"): s for s in catalogue.skills}
    return [
        {"id": e["id"], "name": by_id[e["id"]].get("name"), "category": by_id[e["id"]].get("category")}
        | {k: e[k] for k in ("score", "matched", "confirmed")}
        for e in entries
        if e["id"] in by_id
    ]


# ---------------------------------------------------------------- reads and writes
def _owner_of(idea_id: str, owner_id: str | None) -> str:
    if owner_id:
        return owner_id
    match = _PUBLIC_ID.fullmatch(idea_id)
    if match is None:
        raise ValueError(f"the owner of idea {idea_id!r} is not in its id: pass owner_id")
    return match["owner"]


def _stored(owner_id: str, idea_id: str) -> models.IdeaSkillsModel | None:
    try:
        return models.IdeaSkillsModel.get(user_key(owner_id), idea_skills_key(idea_id), consistent_read=True)
    except DoesNotExist:
        return None


def _link(idea: dict[str, Any], entry: dict[str, Any]) -> models.SkillIdeaModel:
    return models.SkillIdeaModel(
        skill_key(entry["id"]),
        idea_sort(idea),
        ideaId=idea["id"],
        userId=idea["userId"],
        title=idea["title"],
        status=idea["status"],
        createdAt=idea["createdAt"],
        score=entry["score"],
        confirmed=entry["confirmed"],
    )


def _list_item(
    idea: dict[str, Any], entries: list[dict[str, Any]], confirmed: bool, catalogue: Catalogue
) -> models.IdeaSkillsModel:
    return models.IdeaSkillsModel(
        user_key(idea["userId"]),
        idea_skills_key(idea["id"]),
        ideaId=idea["id"],
        userId=idea["userId"],
        ideaSort=idea_sort(idea),
        title=idea["title"],
        status=idea["status"],
        confirmed=confirmed,
        skills=entries,
        catalogueVersion=catalogue.etag or None,
        updatedAt=now_iso(),
    )


_COMPARED = ("userId", "ideaSort", "title", "status", "confirmed", "skills")


def _write(after: models.IdeaSkillsModel, before: models.IdeaSkillsModel | None, idea: dict[str, Any]) -> bool:
    """Both sides of an idea's links in one transaction: the idea's list, a link per skill
    (with the idea's summary), and the removal of links the list no longer has: at most
    2 × LIMIT + 1 items. Nothing is written when nothing would change; returns whether
    anything was."""
    if before is not None and all(getattr(before, a) == getattr(after, a) for a in _COMPARED):
        return False
    kept = {e["id"] for e in after.skills} if before is None or before.ideaSort == after.ideaSort else set()
    stale = [e["id"] for e in (before.skills if before else []) if e["id"] not in kept]
    with TransactWrite(connection=models.connection()) as transaction:
        transaction.save(after)
        for entry in after.skills:
            transaction.save(_link(idea, entry))
        for skill_id in stale:
            assert before is not None
            transaction.delete(models.SkillIdeaModel(skill_key(skill_id), before.ideaSort))
    return True


def refresh_idea(idea: dict[str, Any], *, catalogue: Catalogue | None = None) -> bool:
    """Rank ``idea`` (the API's representation: id, userId, title, description, status,
    createdAt) against the catalogue and store both sides of its links. An idea whose owner
    confirmed its skills keeps them; its links' summary follows the idea. Idempotent, and
    writes nothing when nothing changed. Returns whether it wrote."""
    current = _catalogue(catalogue)
    before = _stored(idea["userId"], idea["id"])
    confirmed = bool(before and before.confirmed)
    entries = rank(idea, current, [e["id"] for e in before.skills] if before and confirmed else None)
    return _write(_list_item(idea, entries, confirmed, current), before, idea)


def forget_idea(idea_id: str, owner_id: str | None = None) -> bool:
    """Remove both sides of a deleted idea's links (one transaction). ``owner_id`` is needed
    only for ids that do not name their owner (migrated numeric ids). Returns whether there
    was anything to remove."""
    owner = _owner_of(idea_id, owner_id)
    before = _stored(owner, idea_id)
    if before is None:
        return False
    with TransactWrite(connection=models.connection()) as transaction:
        transaction.delete(before)
        for entry in before.skills:
            transaction.delete(models.SkillIdeaModel(skill_key(entry["id"]), before.ideaSort))
    return True


def sync_idea(idea_id: str, owner_id: str | None = None, *, catalogue: Catalogue | None = None) -> str:
    """Bring an idea's links in line with the idea as the table has it now: refreshed while it
    exists, forgotten once it is gone. Safe to call for any event of the idea, in any order and
    any number of times (EventBridge does not keep order). Returns what it did: "refreshed",
    "unchanged" or "forgotten" ("absent" when there was nothing to forget)."""
    try:
        idea = ideas.get(idea_id)
    except NotFound:
        return "forgotten" if forget_idea(idea_id, owner_id) else "absent"
    return "refreshed" if refresh_idea(idea, catalogue=catalogue) else "unchanged"


def refresh_for_catalogue_change(
    before: dict[str, Any] | None, after: dict[str, Any] | None, *, catalogue: Catalogue | None = None
) -> int:
    """Bring links up to date after an admin changed one skill (``before`` -> ``after``;
    None for a create or a delete). A deleted skill can only leave the ideas linked to it:
    those are read from its partition. A new or changed skill (name, aliases, description)
    can reach any idea: every idea is re-ranked, read from the feed index page by page
    (Queries, never a Scan), writing only the ideas whose links change. Not a request path:
    an event consumer runs it. Returns the number of ideas whose links were rewritten."""
    current = _catalogue(catalogue)
    if after is None:
        if before is None:
            return 0
        return sum(refresh_idea(idea, catalogue=current) for idea in _linked_ideas(int(before["id"])))
    return sum(refresh_idea(idea, catalogue=current) for idea in _every_idea())


def _linked_ideas(skill_id: int) -> Iterator[dict[str, Any]]:
    for link in list(models.SkillIdeaModel.query(skill_key(skill_id), page_size=PAGE_MAX)):
        try:
            yield ideas.get(link.ideaId)
        except NotFound:  # deleted meanwhile: its own event removes its links
            continue


def _every_idea() -> Iterator[dict[str, Any]]:
    key = os.urandom(32)  # cursors that never leave this process
    query = ideas.ListQuery("desc", PAGE_MAX)
    cursor: str | None = None
    while True:
        page, cursor = ideas.list_page(query, cursor, cursor_key=key)
        yield from page
        if cursor is None:
            return


# ---------------------------------------------------------------- the endpoints
def suggestions(idea_id: str, catalogue: Catalogue) -> list[dict[str, Any]]:
    """GET /api/ideas/{id}/skills: the stored list, or, before the idea was first ranked
    (its event not processed yet), the model's answer computed now and not stored."""
    idea = ideas.get(idea_id)
    stored = _stored(idea["userId"], idea["id"])
    entries = stored.skills if stored is not None else rank(idea, catalogue)
    return shown(entries, catalogue)


def parse_confirmation(body: dict[str, Any], catalogue: Catalogue) -> list[int]:
    """``{"skillIds": [...]}``: at most LIMIT distinct ids of catalogue skills, best first."""
    if set(body) != {"skillIds"}:
        unknown = sorted(set(body) - {"skillIds"})
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}" if unknown else "skillIds is required")
    value = body["skillIds"]
    if not isinstance(value, list) or len(value) > LIMIT:
        raise BadRequest(f"skillIds must be a list of at most {LIMIT} skill ids")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise BadRequest("skillIds must hold skill ids (integers)")
    if len(set(value)) != len(value):
        raise BadRequest("skillIds must not repeat a skill")
    known = {s.get("id") for s in catalogue.skills}
    unknown_ids = [v for v in value if v not in known]
    if unknown_ids:
        raise BadRequest(f"Unknown skill id(s): {', '.join(map(str, unknown_ids))}")
    return list(value)


def confirm(caller_id: str, idea_id: str, skill_ids: list[int], catalogue: Catalogue) -> list[dict[str, Any]]:
    """PUT /api/ideas/{id}/skills (owner): the confirmed skills replace the suggestions, in
    both directions, marked ``confirmed``; later refreshes keep them."""
    idea = ideas.get(idea_id)
    if idea["userId"] != caller_id:
        raise Forbidden("You can only change your own ideas")
    before = _stored(idea["userId"], idea["id"])
    entries = rank(idea, catalogue, skill_ids)
    _write(_list_item(idea, entries, True, catalogue), before, idea)
    return shown(entries, catalogue)


class IdeasOfSkill(NamedTuple):
    skill_id: int
    limit: int
    cursor: str | None

    def signature(self) -> str:
        return f"skill-ideas|{self.skill_id}"


def parse_ideas_of_skill(raw_id: str, params: dict[str, str], catalogue: Catalogue) -> IdeasOfSkill:
    skill = find(catalogue.skills, raw_id)  # 404 Skill not found
    limit = bounded_int(params.get("_limit"), name="_limit", default=PAGE_DEFAULT, minimum=1, maximum=PAGE_MAX)
    return IdeasOfSkill(int(skill["id"]), limit, params.get("cursor") or None)


def ideas_of_skill(q: IdeasOfSkill, *, cursor_key: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """GET /api/skills/{id}/ideas: newest first, one Query of at most ``limit + 1`` items per
    page (the extra one tells whether there is more), resumed from a signed cursor."""
    start = None
    if q.cursor:
        position = cursors.decode(cursor_key, q.cursor, q.signature())
        if not isinstance(position, str) or not _SORT.fullmatch(position):
            raise BadRequest(cursors.INVALID)
        start = {"PK": {"S": skill_key(q.skill_id)}, "SK": {"S": position}}
    items = list(
        models.SkillIdeaModel.query(
            skill_key(q.skill_id),
            scan_index_forward=False,
            limit=q.limit + 1,
            page_size=q.limit + 1,
            last_evaluated_key=start,
        )
    )
    page = items[: q.limit]
    more = len(items) > q.limit
    next_cursor = cursors.encode(cursor_key, q.signature(), page[-1].sk) if more and page else None
    return [
        {
            "id": link.ideaId,
            "title": link.title,
            "status": link.status,
            "userId": link.userId,
            "createdAt": link.createdAt,
            "score": float(link.score),
            "confirmed": bool(link.confirmed),
        }
        for link in page
    ], next_cursor
