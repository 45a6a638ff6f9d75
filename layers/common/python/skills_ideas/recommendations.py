"""Skill recommendations: which catalogue skills an idea needs, and which ideas need a skill
(docs/recommendations.md, docs/data-model.md "Skill links").

Both directions are items of the single table, written together:

- ``USER#<owner>`` / ``IDEASKILLS#<ideaId>``: the idea's skills, best first, each with its
  score, the words that matched and whether the owner confirmed it (at most ``LIMIT``);
- ``SKILL#<skillId>`` / ``<createdAt>#<ideaId>``: one item per skill of that list, with the
  idea's summary, so the ideas of a skill are one Query per page, newest first.

The ``recommendations_consumer`` function keeps them current (docs/recommendations.md,
"Wiring"): ``sync_idea`` for every event of an idea, ``refresh_for_skill`` (one bounded step
at a time) after an admin changes the catalogue. No request ranks an idea: the one request
that writes links is the owner's confirmation (``confirm``).

Every write of an idea's list is conditioned on the version of the list it read
(``IdeaSkillsModel.version``), so a refresh that read the list before the owner confirmed
cannot overwrite the confirmation: it reads again and keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from skills_ideas import cursors, ideas, models
from skills_ideas.catalogue import Catalogue, CatalogueStore, find
from skills_ideas.config import CatalogueConfig
from skills_ideas.contract import IDEA_SKILLS_MAX as LIMIT
from skills_ideas.errors import BadRequest, Conflict, Forbidden, NotFound
from skills_ideas.models import now_iso, user_key
from skills_ideas.validation import bounded_int

if TYPE_CHECKING:  # the model loads where ideas are ranked (the consumer, the owner's PUT), not on reads
    from skills_ideas.skill_matcher import Match

PAGE_MAX = 100
PAGE_DEFAULT = 20
#: Ideas per feed Query of a catalogue walk, and pages one step of the walk reads: one
#: consumer message handles ``WALK_PAGES_PER_STEP * WALK_PAGE`` ideas, then hands on.
WALK_PAGE = 100
WALK_PAGES_PER_STEP = 2
#: Attempts of one idea's write when its stored list changed under it (a concurrent write).
WRITE_ATTEMPTS = 3
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


def catalogue_of_change(etag: str) -> Catalogue:
    """The catalogue to apply an admin's change announced with ``etag`` to: the copy this
    function holds when it is that version, else the one S3 has now (never an older one)."""
    current = _catalogue(None)
    if current.etag != etag:
        assert _store is not None
        _store.forget()
        current = _store.current()
    return current


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
    from skills_ideas.skill_matcher import matcher_for

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


def _conflicted(error: TransactWriteError) -> bool:
    """The transaction failed a condition: the stored list changed since it was read."""
    return any(getattr(r, "code", None) == "ConditionalCheckFailed" for r in (error.cancellation_reasons or []) if r)


def _retrying[T](attempt: Callable[[], T]) -> T:
    """``attempt`` (which reads the stored list afresh) again while another write of the same
    list got in between its read and its write; a 409 when that keeps happening."""
    for _ in range(WRITE_ATTEMPTS):
        try:
            return attempt()
        except TransactWriteError as error:
            if not _conflicted(error):
                raise
    raise Conflict("The idea's skills are being changed at the same time; try again")


def _write(after: models.IdeaSkillsModel, before: models.IdeaSkillsModel | None, idea: dict[str, Any]) -> bool:
    """Both sides of an idea's links in one transaction: the idea's list, a link per skill
    (with the idea's summary), and the removal of links the list no longer has: at most
    2 × LIMIT + 2 items. The list's write is conditioned on the version read with ``before``
    (absent: on there being no list), and the transaction on the idea still existing, so a
    write that raced another (or the idea's deletion) fails whole (``TransactWriteError``)
    instead of overwriting it or linking a deleted idea. Nothing is written when nothing would
    change; returns whether anything was."""
    if before is not None and all(getattr(before, a) == getattr(after, a) for a in _COMPARED):
        return False
    if before is not None and before.version is not None:
        after.version = before.version  # the write is conditioned on it (absent: on its absence)
    condition = None if before is not None else models.IdeaSkillsModel.pk.does_not_exist()
    kept = {e["id"] for e in after.skills} if before is None or before.ideaSort == after.ideaSort else set()
    stale = [e["id"] for e in (before.skills if before else []) if e["id"] not in kept]
    location = ideas.locate(idea["id"])
    with TransactWrite(connection=models.connection()) as transaction:
        if location is not None:
            owner, key = location
            transaction.condition_check(
                models.IdeaModel, user_key(owner), ideas.idea_key(key), condition=models.IdeaModel.pk.exists()
            )
        transaction.save(after, condition=condition)
        for entry in after.skills:
            transaction.save(_link(idea, entry))
        for skill_id in stale:
            assert before is not None
            transaction.delete(models.SkillIdeaModel(skill_key(skill_id), before.ideaSort))
    return True


def _ranked(idea: dict[str, Any], before: models.IdeaSkillsModel | None, current: Catalogue) -> models.IdeaSkillsModel:
    """The list ``idea`` gets now: the model's suggestions, or the owner's confirmed skills."""
    confirmed = bool(before and before.confirmed)
    entries = rank(idea, current, [e["id"] for e in before.skills] if before and confirmed else None)
    return _list_item(idea, entries, confirmed, current)


def _refresh_once(idea: dict[str, Any], current: Catalogue) -> bool:
    before = _stored(idea["userId"], idea["id"])
    return _write(_ranked(idea, before, current), before, idea)


def _forget_once(owner: str, idea_id: str) -> bool:
    before = _stored(owner, idea_id)
    if before is None:
        return False
    with TransactWrite(connection=models.connection()) as transaction:
        transaction.delete(before)  # on the version read, like every write of the list
        for entry in before.skills:
            transaction.delete(models.SkillIdeaModel(skill_key(entry["id"]), before.ideaSort))
    return True


def refresh_idea(idea: dict[str, Any], *, catalogue: Catalogue | None = None) -> bool:
    """Rank ``idea`` (the API's representation: id, userId, title, description, status,
    createdAt) against the catalogue and store both sides of its links. An idea whose owner
    confirmed its skills keeps them; its links' summary follows the idea. Idempotent, and
    writes nothing when nothing changed. Returns whether it wrote. (Event consumers call
    ``sync_idea``, which also reads the idea again when a write raced its deletion.)"""
    current = _catalogue(catalogue)
    return _retrying(lambda: _refresh_once(idea, current))


def forget_idea(idea_id: str, owner_id: str | None = None) -> bool:
    """Remove both sides of a deleted idea's links (one transaction). ``owner_id`` is needed
    only for ids that do not name their owner (migrated numeric ids). Returns whether there
    was anything to remove."""
    owner = _owner_of(idea_id, owner_id)
    return _retrying(lambda: _forget_once(owner, idea_id))


def sync_idea(idea_id: str, owner_id: str | None = None, *, catalogue: Catalogue | None = None) -> str:
    """Bring an idea's links in line with the idea as the table has it now: refreshed while it
    exists, forgotten once it is gone. Safe to call for any event of the idea, in any order and
    any number of times (EventBridge does not keep order), and concurrently with other calls:
    a write that raced another, or the idea's deletion, is tried again from a fresh read of the
    idea. Returns what it did: "refreshed", "unchanged" or "forgotten" ("absent" when there was
    nothing to forget)."""
    current = _catalogue(catalogue)

    def attempt() -> str:
        try:
            idea = ideas.get(idea_id)
        except NotFound:
            return "forgotten" if _forget_once(_owner_of(idea_id, owner_id), idea_id) else "absent"
        return "refreshed" if _refresh_once(idea, current) else "unchanged"

    return _retrying(attempt)


# ---------------------------------------------------------------- catalogue changes
@dataclass(frozen=True)
class Step:
    """One bounded step of a catalogue refresh: ideas looked at, ideas whose links were
    rewritten, and where the next step starts (None: the refresh is complete)."""

    examined: int
    rewritten: int
    resume: str | None


#: ``Step.resume`` of a deleted skill's refresh: its partition still holds links (each step
#: removes the links it handled, so the next one starts from the partition's beginning again).
MORE_LINKS = "links"


def refresh_for_skill(
    skill_id: int,
    *,
    catalogue: Catalogue | None = None,
    resume: str | None = None,
    cursor_key: bytes,
    pages: int = WALK_PAGES_PER_STEP,
) -> Step:
    """One step of bringing links up to date after an admin changed skill ``skill_id``, as
    the catalogue has it now: at most ``pages`` Queries of ``WALK_PAGE`` items, so one step
    takes a bounded time and bounded read capacity; run the next one from ``Step.resume``.

    * The skill is gone: only the ideas linked to it can change. Its partition is read a page
      at a time; each idea is re-ranked without it and each link removed (an orphan too).
    * The skill is new or changed (name, aliases, description): it can reach any idea. Every
      idea is read from the feed index, page by page (Queries, never a Scan) with the stored
      lists of the page (one BatchGetItem), and re-ranked in memory; an idea's links are
      rewritten only when the skill is (or was) among them, its skills or their order changed,
      or it had none stored yet. A score that moved only because the catalogue's word weights
      did is not worth a rewrite: it is rewritten with the idea's next edit.

    ``cursor_key`` signs the feed position in ``resume`` (the handler's ``CURSOR_KEY``), so a
    step may run in another process than the one before. Idempotent: a step run twice
    rewrites nothing the second time."""
    current = _catalogue(catalogue)
    if not any(s.get("id") == skill_id for s in current.skills):
        return _unlink_step(skill_id, current, pages)
    return _walk_step(skill_id, current, resume, cursor_key, pages)


def _unlink_step(skill_id: int, current: Catalogue, pages: int) -> Step:
    budget = pages * WALK_PAGE
    links = list(models.SkillIdeaModel.query(skill_key(skill_id), limit=budget + 1, page_size=WALK_PAGE))
    rewritten = 0
    for link in links[:budget]:
        rewritten += sync_idea(link.ideaId, link.userId, catalogue=current) in ("refreshed", "forgotten")
        link.delete()  # the skill is gone: no idea keeps a link to it (an orphan neither)
    return Step(min(len(links), budget), rewritten, MORE_LINKS if len(links) > budget else None)


def _touches(before: models.IdeaSkillsModel | None, after: models.IdeaSkillsModel, skill_id: int | None) -> bool:
    """Whether a walk for ``skill_id`` (None: a backfill) rewrites the idea's list."""
    if before is None or skill_id is None:
        return before is None
    ids_before = [e["id"] for e in before.skills]
    ids_after = [e["id"] for e in after.skills]
    return ids_before != ids_after or skill_id in ids_before or skill_id in ids_after


def backfill_step(
    *,
    catalogue: Catalogue | None = None,
    resume: str | None = None,
    cursor_key: bytes,
    pages: int = WALK_PAGES_PER_STEP,
) -> Step:
    """One step of ranking the ideas that have no stored list at all (written before the
    consumer existed): the walk of ``refresh_for_skill``, rewriting nothing else."""
    return _walk_step(None, _catalogue(catalogue), resume, cursor_key, pages)


def _walk_step(skill_id: int | None, current: Catalogue, resume: str | None, cursor_key: bytes, pages: int) -> Step:
    query = ideas.ListQuery("desc", WALK_PAGE)
    cursor, examined, rewritten = resume, 0, 0
    for _ in range(pages):
        page, cursor = ideas.list_page(query, cursor, cursor_key=cursor_key)
        keys = [(user_key(i["userId"]), idea_skills_key(i["id"])) for i in page]
        stored = {m.ideaId: m for m in models.IdeaSkillsModel.batch_get(keys)} if keys else {}
        for idea in page:
            examined += 1
            after = _ranked(idea, stored.get(idea["id"]), current)
            if not _touches(stored.get(idea["id"]), after, skill_id):
                continue
            try:
                rewritten += _write(after, stored.get(idea["id"]), idea)
            except TransactWriteError as error:  # changed since the page was read: read it again
                if not _conflicted(error):
                    raise
                rewritten += sync_idea(idea["id"], idea["userId"], catalogue=current) == "refreshed"
        if cursor is None:
            break
    return Step(examined, rewritten, cursor)


def refresh_for_catalogue_change(
    before: dict[str, Any] | None, after: dict[str, Any] | None, *, catalogue: Catalogue | None = None
) -> int:
    """Every step of ``refresh_for_skill`` for the skill ``before`` -> ``after`` (None for a
    create or a delete), in this process (operators, tests; the consumer runs one step per
    message). Returns the number of ideas whose links were rewritten."""
    subject = after or before
    if subject is None:
        return 0
    import os

    key = os.urandom(32)  # positions that never leave this process
    rewritten, resume = 0, None
    while True:
        step = refresh_for_skill(int(subject["id"]), catalogue=catalogue, resume=resume, cursor_key=key)
        rewritten += step.rewritten
        resume = step.resume
        if resume is None:
            return rewritten


# ---------------------------------------------------------------- the endpoints
def suggestions(idea_id: str, catalogue: Catalogue) -> tuple[list[dict[str, Any]], bool]:
    """GET /api/ideas/{id}/skills: the stored list (two GetItems: the idea, its list), and
    whether it is still pending: an idea whose event the consumer has not processed yet (the
    seconds after its creation) has no list, and answers none rather than ranking on a read."""
    idea = ideas.get(idea_id)
    stored = _stored(idea["userId"], idea["id"])
    if stored is None:
        return [], True
    return shown(stored.skills, catalogue), False


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
    entries = rank(idea, catalogue, skill_ids)

    def attempt() -> bool:  # on the list as stored now: a refresh may have written it meanwhile
        before = _stored(idea["userId"], idea["id"])
        return _write(_list_item(idea, entries, True, catalogue), before, idea)

    _retrying(attempt)
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
    consumed = items[: q.limit]
    more = len(items) > q.limit
    next_cursor = cursors.encode(cursor_key, q.signature(), consumed[-1].sk) if more and consumed else None
    # Ideas of accounts being deleted are listed nowhere (docs/accounts.md): the page may be
    # shorter, and its cursor goes past them.
    hidden = ideas.hidden_owners(via=models.SkillIdeaModel) if consumed else frozenset()
    page = [link for link in consumed if link.userId not in hidden]
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
