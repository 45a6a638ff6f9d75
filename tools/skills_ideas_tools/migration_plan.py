"""What every legacy record becomes: the decisions of the migration, as pure functions.

Nothing here reads or writes AWS. Given the same legacy data and the same options, the plan is
the same, item for item: that is what makes the migration idempotent and resumable (see
docs/migration.md for the rules in prose).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from skills_ideas import ideas, users
from skills_ideas.users import ORPHAN_OWNER_ID, USERNAME_RE, User
from skills_ideas.validation import caseless

from .legacy_source import LegacyData, LegacyIdea, LegacyInputError, LegacyUser

#: The login handler looks up at most this many characters (users.find_login).
LOGIN_NAME_MAX = 255
USERNAME_MAX = 50
BCRYPT_HASH_RE = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")
FALLBACK_KEY = "*"

#: Legacy status (trimmed, lower-cased) -> today's status. ``*`` is every other value.
DEFAULT_STATUS_MAP: dict[str, str] = {
    **{status.lower(): status for status in ideas.STATUSES},
    "development": "In Progress",
    "in development": "In Progress",
    "in-progress": "In Progress",
    "inprogress": "In Progress",
    "on-hold": "On Hold",
    "onhold": "On Hold",
    "paused": "On Hold",
    "planned": "Planning",
    "done": "Completed",
    "complete": "Completed",
    "idea": "Concept",
    FALLBACK_KEY: ideas.DEFAULT_STATUS,
}


@dataclass(frozen=True)
class Decision:
    """One record that needed a decision, and the decision."""

    table: str  # "users" or "ideas"
    legacy_id: str
    rule: str
    decision: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "legacyId": self.legacy_id,
            "rule": self.rule,
            "decision": self.decision,
            **self.details,
        }


@dataclass(frozen=True)
class PlannedItem:
    kind: str  # "profile", "claim" or "idea"
    item: dict[str, dict[str, Any]]  # DynamoDB JSON, as BatchWriteItem takes it

    @property
    def key(self) -> dict[str, dict[str, Any]]:
        return {"PK": self.item["PK"], "SK": self.item["SK"]}


@dataclass(frozen=True)
class Record:
    """One legacy row and the items it becomes."""

    table: str
    legacy_id: str
    items: tuple[PlannedItem, ...]


@dataclass
class Plan:
    users: list[Record]
    ideas: list[Record]
    decisions: list[Decision]
    logins: dict[str, str]  # legacy user id -> the name it logs in with
    orphans: list[str]  # legacy idea ids now owned by ORPHAN_OWNER_ID


# ------------------------------------------------------------------------------ options


def load_status_map(value: str | None) -> dict[str, str]:
    """The default map with the operator's overrides: ``value`` is a JSON object, inline or
    in a file, of legacy status -> today's status (``"*"`` for every unlisted value)."""
    mapping = dict(DEFAULT_STATUS_MAP)
    if not value:
        return mapping
    text = value
    if not value.lstrip().startswith(("{", "[")):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as error:
            raise LegacyInputError(f"--status-map: cannot read {value}: {error.strerror or error}") from None
    try:
        overrides = json.loads(text)
    except json.JSONDecodeError as error:
        raise LegacyInputError(f"--status-map: not valid JSON: {error}") from None
    if not isinstance(overrides, dict):
        raise LegacyInputError('--status-map: expected a JSON object such as {"Development": "In Progress"}')
    for raw, target in overrides.items():
        canonical = _canonical_status(target)
        if canonical is None:
            raise LegacyInputError(
                f"--status-map: {raw!r} maps to {target!r}, which is not one of {', '.join(ideas.STATUSES)}"
            )
        mapping[raw.strip().lower()] = canonical
    return mapping


def _canonical_status(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return next((s for s in ideas.STATUSES if s.lower() == value.strip().lower()), None)


def iso(moment: datetime) -> str:
    """The timestamp format of the table: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(raw: Any) -> str | None:
    """A legacy timestamp as stored (SQLite ``CURRENT_TIMESTAMP`` text in UTC, ISO-8601 with or
    without an offset, or epoch seconds/milliseconds) in the table's format; None if absent or
    unreadable. Naive values are UTC, as SQLite's ``CURRENT_TIMESTAMP`` is."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        try:
            raw = float(text)
        except ValueError:
            try:
                moment = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
            except ValueError:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return iso(moment)
    if isinstance(raw, int | float):
        seconds = raw / 1000 if abs(raw) >= 1e11 else raw  # epoch ms (JavaScript) or seconds
        try:
            return iso(datetime.fromtimestamp(seconds, UTC))
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


# ------------------------------------------------------------------------------ usernames


def login_usable(name: str) -> bool:
    """Can the login handler find this exact name? It refuses control characters and lone
    surrogates, and nothing else of the format."""
    return 0 < len(name) <= LOGIN_NAME_MAX and not any(unicodedata.category(c) in ("Cc", "Cs") for c in name)


def _suffixed(base: str, suffix: str) -> str:
    limit = USERNAME_MAX if USERNAME_RE.match(base) else LOGIN_NAME_MAX
    return base[: max(0, limit - len(suffix))] + suffix


def plan_usernames(legacy_users: Iterable[LegacyUser], taken: Mapping[str, str]) -> dict[int, tuple[str, str | None]]:
    """The login name of every legacy user and, when it is not the legacy name, why.

    ``taken``: lower-cased names already claimed in the target by users that are not legacy
    users (registered in the new service), mapped to their user id. Rules, applied in this
    order so the result never depends on anything but the inputs:

    1. A name the login handler can look up (1-255 characters) is kept exactly, even if
       today's registration rules would reject it, unless another holder has it
       case-insensitively: a new-service user always keeps theirs; among legacy users the
       lowest id keeps it.
    2. Every other legacy user gets ``<legacy name>-legacy<id>`` (cut so a valid name stays
       within 50 characters), or ``legacy-user-<id>`` when the legacy name is empty or too
       long to log in with; ``-2``, ``-3``... is appended while that is taken too.
    """
    ordered = sorted(legacy_users, key=lambda u: u.id)
    claimed: dict[str, str] = {name: f"new-service user {uid}" for name, uid in taken.items()}
    result: dict[int, tuple[str, str | None]] = {}
    for user in ordered:
        name = _as_text(user.username)
        if login_usable(name) and caseless(name) not in claimed:
            claimed[caseless(name)] = f"legacy user {user.id}"
            result[user.id] = (name, None)
    for user in ordered:
        if user.id in result:
            continue
        name = _as_text(user.username)
        if not login_usable(name):
            base, reason = f"legacy-user-{user.id}", "username-unusable"
        else:
            base = _suffixed(name, f"-legacy{user.id}")
            holder = claimed[caseless(name)]
            reason = "username-taken-in-new-service" if holder.startswith("new-service") else "username-collision"
        candidate, n = base, 2
        while caseless(candidate) in claimed:
            candidate, n = _suffixed(base, f"-{n}"), n + 1
        claimed[caseless(candidate)] = f"legacy user {user.id}"
        result[user.id] = (candidate, reason)
    return result


def _holder_of(name: str, plan: Mapping[int, tuple[str, str | None]], taken: Mapping[str, str]) -> str:
    if caseless(name) in taken:
        return f"user {taken[caseless(name)]} (registered in the new service)"
    for uid, (login, _) in plan.items():
        if caseless(login) == caseless(name):
            return f"legacy user {uid} ({login!r})"
    return "another user"


# ------------------------------------------------------------------------------ the plan


def build(data: LegacyData, *, status_map: Mapping[str, str], migrated_at: str, taken: Mapping[str, str]) -> Plan:
    """Every item the migration writes, and every decision it took."""
    decisions: list[Decision] = []
    logins = plan_usernames(data.users, taken)
    user_records = [_user_record(user, logins[user.id], migrated_at, logins, taken, decisions) for user in data.users]
    user_ids = {user.id for user in data.users}
    idea_records: list[Record] = []
    orphans: list[str] = []
    placed = undated_placement(data.ideas, migrated_at)
    for idea in data.ideas:
        record, orphaned = _idea_record(idea, user_ids, status_map, placed.get(idea.id, migrated_at), decisions)
        idea_records.append(record)
        if orphaned:
            orphans.append(record.legacy_id)
    if orphans:
        orphan_owner = User(ORPHAN_OWNER_ID, ORPHAN_OWNER_ID, "user", migrated_at)
        profile, _ = users.user_items(orphan_owner, None)  # no claim, no password: nobody logs in
        user_records.append(Record("users", ORPHAN_OWNER_ID, (PlannedItem("profile", profile.serialize()),)))
    return Plan(user_records, idea_records, decisions, {str(uid): name for uid, (name, _) in logins.items()}, orphans)


def _user_record(
    user: LegacyUser,
    login: tuple[str, str | None],
    migrated_at: str,
    logins: Mapping[int, tuple[str, str | None]],
    taken: Mapping[str, str],
    decisions: list[Decision],
) -> Record:
    legacy_id = str(user.id)
    legacy_name = _as_text(user.username)
    name, reason = login
    if reason == "username-unusable":
        decisions.append(
            Decision(
                "users",
                legacy_id,
                reason,
                f"the legacy name cannot be used to log in (empty or over {LOGIN_NAME_MAX} "
                f"characters): logs in as {name!r}",
                {"legacyUsername": legacy_name, "loginAs": name},
            )
        )
    elif reason is not None:
        decisions.append(
            Decision(
                "users",
                legacy_id,
                reason,
                f"{legacy_name!r} is held case-insensitively by "
                f"{_holder_of(legacy_name, logins, taken)}: logs in as {name!r}",
                {"legacyUsername": legacy_name, "loginAs": name},
            )
        )
    elif not USERNAME_RE.match(name):
        decisions.append(
            Decision(
                "users",
                legacy_id,
                "username-invalid-kept",
                "rejected by today's registration rules but unique: kept, logs in with "
                "its exact legacy name (login checks no format)",
                {"legacyUsername": legacy_name, "loginAs": name},
            )
        )
    password = _as_text(user.password)
    password_hash: str | None = password
    if not BCRYPT_HASH_RE.match(password):
        password_hash = None
        decisions.append(
            Decision(
                "users",
                legacy_id,
                "password-not-bcrypt",
                "the stored password is not a bcrypt hash: migrated without a password, "
                "cannot log in until an operator sets one",
                {"loginAs": name},
            )
        )
    created_at = parse_timestamp(user.created_at)
    if created_at is None:
        created_at = migrated_at
        decisions.append(_estimated("users", legacy_id, user.created_at, migrated_at))
    profile, claim = users.user_items(User(legacy_id, name, "user", created_at), password_hash, legacy_id)
    return Record(
        "users", legacy_id, (PlannedItem("profile", profile.serialize()), PlannedItem("claim", claim.serialize()))
    )


def _estimated(table: str, legacy_id: str, raw: Any, stamp: str, how: str = "the migration time") -> Decision:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Decision(
            table,
            legacy_id,
            "created-at-missing",
            f"no createdAt: set to {stamp}, {how} (createdAtEstimated)",
        )
    return Decision(
        table,
        legacy_id,
        "created-at-unreadable",
        f"createdAt {raw!r} is not a timestamp: set to {stamp}, {how} (createdAtEstimated)",
        {"legacyCreatedAt": _as_text(raw)},
    )


def undated_placement(legacy_ideas: Sequence[LegacyIdea], migrated_at: str) -> dict[Any, str]:
    """The createdAt an undated legacy idea gets: that of the dated idea with the nearest lower
    legacy id (ids were handed out in insertion order), else of the nearest higher one, else the
    migration time. Its key breaks the tie by legacy id, so undated ideas keep their legacy
    order among their dated neighbours instead of jumping to the top of the feed."""
    dated = sorted(
        (idea.id, stamp)
        for idea in legacy_ideas
        if isinstance(idea.id, int) and (stamp := parse_timestamp(idea.created_at)) is not None
    )
    placed: dict[Any, str] = {}
    for idea in legacy_ideas:
        if parse_timestamp(idea.created_at) is not None or not isinstance(idea.id, int):
            continue
        before = [stamp for legacy_id, stamp in dated if legacy_id < idea.id]
        after = [stamp for legacy_id, stamp in dated if legacy_id > idea.id]
        placed[idea.id] = before[-1] if before else after[0] if after else migrated_at
    return placed


def _idea_record(
    idea: LegacyIdea, user_ids: set[int], status_map: Mapping[str, str], estimate: str, decisions: list[Decision]
) -> tuple[Record, bool]:
    legacy_id = str(idea.id)
    owner_known = isinstance(idea.user_id, int) and not isinstance(idea.user_id, bool) and idea.user_id in user_ids
    owner = str(idea.user_id) if owner_known else ORPHAN_OWNER_ID
    if not owner_known:
        if idea.user_id is None:
            decisions.append(
                Decision(
                    "ideas",
                    legacy_id,
                    "orphan-no-owner",
                    f"no userId: owned by {ORPHAN_OWNER_ID!r}, still publicly readable",
                )
            )
        else:
            decisions.append(
                Decision(
                    "ideas",
                    legacy_id,
                    "orphan-owner-missing",
                    f"userId {idea.user_id!r} names no user: owned by {ORPHAN_OWNER_ID!r}, still publicly readable",
                    {"legacyUserId": _as_text(idea.user_id)},
                )
            )

    raw_status = idea.status
    legacy_status: str | None = None
    if raw_status is None:
        status = ideas.DEFAULT_STATUS
        decisions.append(Decision("ideas", legacy_id, "status-missing", f"no status: {status!r}, the legacy default"))
    else:
        text = _as_text(raw_status)
        key = text.strip().lower()
        status = status_map.get(key) or status_map[FALLBACK_KEY]
        if status != text:
            legacy_status = text
            rule = "status-mapped" if key in status_map else "status-unknown"
            decisions.append(
                Decision(
                    "ideas",
                    legacy_id,
                    rule,
                    f"status {text!r} -> {status!r} (kept in legacyStatus)",
                    {"legacyStatus": text, "status": status},
                )
            )

    created_at = parse_timestamp(idea.created_at)
    estimated = created_at is None
    if created_at is None:
        created_at = estimate
        decisions.append(
            _estimated("ideas", legacy_id, idea.created_at, estimate, "placed among its legacy neighbours")
        )

    title = _as_text(idea.title)
    if len(title) > ideas.TITLE_MAX:
        decisions.append(
            Decision(
                "ideas",
                legacy_id,
                "title-over-limit",
                f"title of {len(title)} characters (today's limit {ideas.TITLE_MAX}): kept whole",
            )
        )
    elif not title.strip():
        decisions.append(Decision("ideas", legacy_id, "title-empty", "empty title: kept as it was"))
    description = None if idea.description is None else _as_text(idea.description)
    if description is not None and len(description) > ideas.DESCRIPTION_MAX:
        decisions.append(
            Decision(
                "ideas",
                legacy_id,
                "description-over-limit",
                f"description of {len(description)} characters (today's limit {ideas.DESCRIPTION_MAX}): kept whole",
            )
        )

    item, alias = ideas.aliased_item(
        owner,
        legacy_id,  # the public id stays the legacy one
        created_at,
        idea.id if isinstance(idea.id, int) else None,
        title=title,
        description=description,
        status=status,
        updatedAt=created_at,
        legacyId=legacy_id,
        legacyStatus=legacy_status,
        createdAtEstimated=True if estimated else None,
        version=1,  # what a create writes; the API's optimistic locking starts from here
    )
    return Record(
        "ideas", legacy_id, (PlannedItem("idea", item.serialize()), PlannedItem("alias", alias.serialize()))
    ), not owner_known
