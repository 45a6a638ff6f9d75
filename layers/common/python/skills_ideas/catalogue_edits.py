"""Admin edits of the skills catalogue: validation, compare-and-swap writes, the CDN
invalidation and the audit trail.

Every write reads the catalogue object as S3 has it now, applies one change to that version
and puts the result with ``If-Match: <the ETag it read>``. S3 applies a conditional put
atomically: if anyone wrote in between, the put fails (412 PreconditionFailed, or 409
ConditionalRequestConflict while another conditional write is in flight) and the change is
re-applied to the newer version, a bounded number of times. So two admins editing at once
never lose each other's work, and ids come from ``nextId`` of the version actually replaced,
so none is ever handed out twice.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skills_ideas import contract
from skills_ideas.catalogue import Catalogue, CatalogueStore, forget_all
from skills_ideas.errors import BadRequest, Conflict, Forbidden, NotFound
from skills_ideas.http import Caller
from skills_ideas.observability import count, logger
from skills_ideas.validation import choice, reject_unknown, text

# The limits and enums are the contract's (docs/openapi.json shows the same ones).
NAME_MAX = contract.SKILL_NAME_MAX
CATEGORY_MAX = contract.SKILL_CATEGORY_MAX
DESCRIPTION_MAX = contract.SKILL_DESCRIPTION_MAX
PROFICIENCIES = contract.PROFICIENCIES
ALIASES_MAX = contract.SKILL_ALIASES_MAX
ALIAS_MAX = contract.SKILL_ALIAS_MAX
FIELDS = set(contract.SKILL_INPUT.fields)
READ_ONLY_FIELDS = frozenset(contract.SKILL_INPUT.ignored)
#: What an edit invalidates at the edge: every public skill read (the wildcard covers
#: /api/skills, /api/skills/{id}, /categories, /category/... and every query string).
API_PATHS = ("/api/skills*",)
METRICS = {"create": "SkillCreated", "replace": "SkillUpdated", "update": "SkillUpdated", "delete": "SkillDeleted"}
BACKOFF_BASE_SECONDS = 0.02
BACKOFF_CAP_SECONDS = 0.5

#: A change: the version read -> (its skills after the change, nextId, before, after).
Change = Callable[[Catalogue], tuple[list[dict[str, Any]], int, dict[str, Any] | None, dict[str, Any] | None]]


@dataclass(frozen=True)
class Edit:
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    catalogue: Catalogue
    version_id: str | None
    attempts: int


def require_admin(who: Caller) -> Caller:
    if who.role != "admin":
        raise Forbidden("Admin access required")
    return who


# ---------------------------------------------------------------- validation
def _proficiency(body: dict[str, Any]) -> str:
    value = body.get("proficiency")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadRequest("Proficiency is required")
    if not isinstance(value, str):
        raise BadRequest(f"Proficiency must be one of: {', '.join(PROFICIENCIES)}")
    return choice(value, PROFICIENCIES, name="Proficiency")


_VALIDATORS: dict[str, Callable[[dict[str, Any]], str]] = {
    "name": lambda body: text(body, "name", max_length=NAME_MAX, required=True),
    "category": lambda body: text(body, "category", max_length=CATEGORY_MAX, required=True),
    "proficiency": _proficiency,
    "description": lambda body: text(
        body,
        "description",
        max_length=DESCRIPTION_MAX,
        required=False,
        multiline=not contract.SKILL_DESCRIPTION.single_line,
    ),
}


def _aliases(body: dict[str, Any]) -> list[str]:
    """Optional other names of the skill (``k8s`` for Kubernetes) that skill recommendations
    match like the name: at most ``ALIASES_MAX`` distinct strings of 1 to ``ALIAS_MAX`` characters."""
    value = body.get("aliases")
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > ALIASES_MAX:
        raise BadRequest(f"Aliases must be a list of at most {ALIASES_MAX} strings")
    aliases: list[str] = []
    for n, alias in enumerate(value):
        checked = text({"alias": alias}, "alias", max_length=ALIAS_MAX, required=True, label=f"Alias {n + 1}")
        if checked.lower() in (a.lower() for a in aliases):
            raise BadRequest(f"Alias {n + 1} repeats {checked!r}")
        aliases.append(checked)
    return aliases


def _optional(body: dict[str, Any]) -> dict[str, Any]:
    """Fields a skill has only when given (so a skill written without them keeps the legacy shape)."""
    return {"aliases": _aliases(body)} if "aliases" in body else {}


def validate_full(body: dict[str, Any]) -> dict[str, Any]:
    """A complete skill (create, replace): name, category and proficiency required."""
    reject_unknown(body, FIELDS, READ_ONLY_FIELDS)
    return {**{name: check(body) for name, check in _VALIDATORS.items()}, **_optional(body)}


def validate_patch(body: dict[str, Any]) -> dict[str, Any]:
    reject_unknown(body, FIELDS, READ_ONLY_FIELDS)
    changes = {name: check(body) for name, check in _VALIDATORS.items() if name in body} | _optional(body)
    if not changes:
        raise BadRequest("Provide at least one of: name, category, proficiency, description, aliases")
    return changes


def skill_id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise NotFound("Skill not found")
    return int(raw)


# ---------------------------------------------------------------- changes (pure)
def _index(skills: list[dict[str, Any]], wanted: int) -> int:
    for position, skill in enumerate(skills):
        if skill.get("id") == wanted:
            return position
    raise NotFound("Skill not found")


def _unique_name(skills: list[dict[str, Any]], name: str, except_id: int | None = None) -> None:
    lowered = name.lower()
    for skill in skills:
        if skill.get("id") != except_id and str(skill.get("name", "")).lower() == lowered:
            raise Conflict("A skill with this name already exists")


def create(fields: dict[str, Any]) -> Change:
    def change(current: Catalogue) -> tuple[list[dict[str, Any]], int, None, dict[str, Any]]:
        skills = list(current.skills)
        _unique_name(skills, fields["name"])
        used = max((s["id"] for s in skills if isinstance(s.get("id"), int)), default=0)
        new_id = max(current.next_id, used + 1)
        skill = {"id": new_id, **fields}
        return [*skills, skill], new_id + 1, None, skill

    return change


def modify(raw_id: str, fields: dict[str, Any], *, replace: bool) -> Change:
    """PUT (``replace``: the fields given are the whole skill) or PATCH (merged)."""
    wanted = skill_id(raw_id)

    def change(current: Catalogue) -> tuple[list[dict[str, Any]], int, dict[str, Any], dict[str, Any]]:
        skills = list(current.skills)
        position = _index(skills, wanted)
        before = skills[position]
        after = {"id": wanted, **fields} if replace else {**before, **fields}
        if "name" in fields:
            _unique_name(skills, after["name"], except_id=wanted)
        skills[position] = after
        return skills, current.next_id, before, after

    return change


def delete(raw_id: str) -> Change:
    wanted = skill_id(raw_id)

    def change(current: Catalogue) -> tuple[list[dict[str, Any]], int, dict[str, Any], None]:
        skills = list(current.skills)
        before = skills.pop(_index(skills, wanted))
        return skills, current.next_id, before, None  # nextId stays: a deleted id is never reused

    return change


# ---------------------------------------------------------------- the conditional write
def _conflict(error: Any) -> bool:
    """S3's answers to a lost compare-and-swap: 412 (the ETag moved on) or 409 (another
    conditional write to the key was in flight)."""
    response = error.response
    code = response.get("Error", {}).get("Code")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412)


def _latest_or_empty(store: CatalogueStore) -> Catalogue | None:
    from botocore.exceptions import ClientError

    try:
        return store.latest()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None  # first write ever: create the object, on condition it still does not exist
        raise


def commit(store: CatalogueStore, action: str, change: Change, *, sleep: Callable[[float], None] = time.sleep) -> Edit:
    """Apply ``change`` to the current catalogue with a compare-and-swap on its ETag, retried
    (with jittered exponential backoff) up to ``write_attempts`` times. The change's own
    errors (404, 409 duplicate name, 400) are not retried."""
    from botocore.exceptions import ClientError

    config = store.config
    for attempt in range(1, config.write_attempts + 1):
        current = _latest_or_empty(store)
        base = current or Catalogue((), 1, "")
        skills, next_id, before, after = change(base)
        document = Catalogue(tuple(skills), next_id, "").document()
        condition = {"IfMatch": current.etag} if current is not None else {"IfNoneMatch": "*"}
        try:
            response = store.client().put_object(
                Bucket=config.bucket,
                Key=config.key,
                Body=json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8"),
                ContentType="application/json",
                CacheControl=config.cache_control,
                **condition,
            )
        except ClientError as error:
            if not _conflict(error):
                raise
            count("CatalogueWriteConflict")
            logger.info("catalogue changed concurrently: retrying", extra={"attempt": attempt})
            sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))  # noqa: S311
            continue
        written = Catalogue(tuple(skills), next_id, response["ETag"])
        store.remember(written)
        return Edit(action, before, after, written, response.get("VersionId"), attempt)
    count("CatalogueWriteGaveUp")
    raise Conflict("The skills catalogue is being changed by others at the same time; try again")


# ---------------------------------------------------------------- after a write
_cloudfront: Any = None


def invalidate(store: CatalogueStore) -> None:
    """Make the edge forget every public skill read and the catalogue file it serves. Locally
    (no ``CDN_DISTRIBUTION_ID``) there is no CDN: the in-process copies of the handlers the
    gateway runs are dropped instead. The write has already succeeded, so a failed
    invalidation is logged and counted, not returned to the admin: caches expire anyway
    after max-age."""
    config = store.config
    paths = [*API_PATHS, f"/{config.key}"]
    forget_all(keep=store)
    if not config.distribution_id:
        logger.debug("no CDN_DISTRIBUTION_ID: local in-process caches dropped", extra={"paths": paths})
        return
    global _cloudfront
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if _cloudfront is None:
            import boto3

            _cloudfront = boto3.client("cloudfront")
        _cloudfront.create_invalidation(
            DistributionId=config.distribution_id,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": str(uuid.uuid4())},
        )
    except (BotoCoreError, ClientError) as error:
        logger.error("CloudFront invalidation failed", extra={"error": str(error), "paths": paths})
        count("CdnInvalidationFailed")


def audit(edit: Edit, who: Caller) -> None:
    """One structured line per write (who, what, before, after, which catalogue version) and
    one business metric."""
    subject = edit.after or edit.before or {}
    logger.info(
        "skills catalogue changed",
        extra={
            "audit": {
                "action": edit.action,
                "skillId": subject.get("id"),
                "actor": {"userId": who.user_id, "username": who.username, "role": who.role},
                "before": edit.before,
                "after": edit.after,
                "catalogueETag": edit.catalogue.etag,
                "catalogueVersionId": edit.version_id,
                "attempts": edit.attempts,
            }
        },
    )
    count(METRICS[edit.action])


def apply(store: CatalogueStore, who: Caller, action: str, change: Change) -> Edit:
    """The whole admin write: conditional commit, edge invalidation, audit."""
    edit = commit(store, action, change)
    invalidate(store)
    audit(edit, who)
    announce(edit)
    return edit


def announce(edit: Edit) -> None:
    """``SkillCatalogueChanged`` on the stage's bus (a no-op without one)."""
    from skills_ideas.events import bus, domain

    subject = edit.after or edit.before or {}
    bus.publish_after_write(
        domain.catalogue_changed(edit.action, subject.get("id"), edit.catalogue.etag, edit.version_id)
    )
