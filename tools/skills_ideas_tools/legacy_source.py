"""Reading the legacy service's data: its SQLite database and its skills file.

Everything here is read-only and validates before anything is written: a missing file, a file
that is not SQLite, or a database without the legacy tables raises ``LegacyInputError`` with a
message an operator can act on. Values come back as SQLite stored them (SQLite does not
enforce column types, so a "DATETIME" may hold text, a number or NULL); deciding what they
become is ``migration_plan``'s job.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from skills_ideas.catalogue import PROFICIENCIES

SQLITE_MAGIC = b"SQLite format 3\x00"
#: Columns the legacy code always had; userId and createdAt on ideas came later (ALTER TABLE).
REQUIRED_COLUMNS = {
    "users": ("id", "username", "password"),
    "ideas": ("id", "title"),
}
OPTIONAL_COLUMNS = {
    "users": ("createdAt",),
    "ideas": ("description", "status", "userId", "createdAt"),
}


class LegacyInputError(ValueError):
    """The legacy input cannot be read as the legacy service wrote it; the message says why."""


@dataclass(frozen=True)
class LegacyUser:
    id: int
    username: Any
    password: Any
    created_at: Any


@dataclass(frozen=True)
class LegacyIdea:
    id: int
    title: Any
    description: Any
    status: Any
    user_id: Any
    created_at: Any


@dataclass(frozen=True)
class LegacyData:
    path: Path
    users: tuple[LegacyUser, ...]
    ideas: tuple[LegacyIdea, ...]
    #: Optional columns the database does not have (read as NULL), e.g. "ideas.userId".
    missing_columns: tuple[str, ...]
    #: The file's modification time: when the legacy service last wrote it.
    modified_at: datetime


def _text(raw: bytes) -> str:
    # The legacy service never validated its input: keep undecodable bytes visible, not fatal.
    return raw.decode("utf-8", errors="replace")


def read_database(path: str | Path) -> LegacyData:
    """Every user and idea of the legacy database at ``path``, in id order."""
    file = Path(path)
    if not file.exists():
        raise LegacyInputError(f"{file}: no such file")
    if not file.is_file():
        raise LegacyInputError(f"{file}: not a file")
    try:
        with file.open("rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise LegacyInputError(f"{file}: cannot read: {error.strerror or error}") from None
    if magic != SQLITE_MAGIC:
        raise LegacyInputError(f"{file}: not an SQLite database")
    modified_at = datetime.fromtimestamp(file.stat().st_mtime, UTC)
    # Read-only: the migration must never change the legacy file (nor its modification time).
    uri = f"file:{quote(str(file.resolve()))}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as error:
        raise LegacyInputError(f"{file}: cannot open as SQLite: {error}") from None
    connection.text_factory = _text
    try:
        columns = {table: _columns(connection, table) for table in REQUIRED_COLUMNS}
        problems = []
        for table, required in REQUIRED_COLUMNS.items():
            if not columns[table]:
                problems.append(f"table {table!r} is missing")
                continue
            missing = [name for name in required if name not in columns[table]]
            if missing:
                problems.append(f"table {table!r} lacks column(s) {', '.join(missing)}")
        if problems:
            raise LegacyInputError(
                f"{file}: not the legacy Skills & Ideas schema: {'; '.join(problems)} "
                "(expected users(id, username, password, createdAt) and "
                "ideas(id, title, description, status, userId, createdAt))"
            )
        absent = tuple(
            f"{table}.{name}"
            for table, names in OPTIONAL_COLUMNS.items()
            for name in names
            if name not in columns[table]
        )
        users = tuple(
            LegacyUser(*row)
            for row in _select(connection, "users", ("id", "username", "password", "createdAt"), columns["users"])
        )
        ideas = tuple(
            LegacyIdea(*row)
            for row in _select(
                connection, "ideas", ("id", "title", "description", "status", "userId", "createdAt"), columns["ideas"]
            )
        )
    except sqlite3.DatabaseError as error:
        raise LegacyInputError(f"{file}: cannot read as SQLite: {error}") from None
    finally:
        connection.close()
    return LegacyData(file, users, ideas, absent, modified_at)


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def _select(connection: sqlite3.Connection, table: str, wanted: tuple[str, ...], present: set[str]) -> list[tuple]:
    # Table and column names come from our own constants, never from the input.
    expressions = ", ".join(f'"{name}"' if name in present else "NULL" for name in wanted)
    return connection.execute(f"SELECT {expressions} FROM {table} ORDER BY id").fetchall()  # noqa: S608


# ---------------------------------------------------------------------------- skills file


@dataclass(frozen=True)
class SkillsFile:
    path: Path
    skills: tuple[dict[str, Any], ...]
    next_id: int | None


def read_skills(path: str | Path) -> SkillsFile:
    """The skills of a legacy ``skills.json`` (a list) or of a catalogue document
    (``{"schemaVersion": 1, "nextId": N, "skills": [...]}``), validated: every skill has a
    positive integer id, a name, a category and a known proficiency; ids are unique and names
    unique case-insensitively. All problems are reported at once."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LegacyInputError(f"{file}: no such file") from None
    except OSError as error:
        raise LegacyInputError(f"{file}: cannot read: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LegacyInputError(f"{file}: not valid JSON: {error}") from None
    next_id = None
    if isinstance(data, dict):
        if data.get("schemaVersion", 1) != 1 or not isinstance(data.get("skills"), list):
            raise LegacyInputError(
                f"{file}: expected a list of skills or a catalogue document "
                '{"schemaVersion": 1, "nextId": N, "skills": [...]}'
            )
        raw_next = data.get("nextId")
        if raw_next is not None and (not isinstance(raw_next, int) or isinstance(raw_next, bool) or raw_next < 1):
            raise LegacyInputError(f"{file}: nextId must be a positive integer")
        next_id, data = raw_next, data["skills"]
    if not isinstance(data, list):
        raise LegacyInputError(f"{file}: expected a list of skills")
    problems = validate_skills(data)
    if problems:
        listed = "\n  ".join(problems)
        raise LegacyInputError(f"{file}: {len(problems)} problem(s), nothing was written:\n  {listed}")
    if next_id is not None and data and next_id <= max(s["id"] for s in data):
        raise LegacyInputError(f"{file}: nextId {next_id} must be greater than every skill id")
    return SkillsFile(file, tuple(data), next_id)


def validate_skills(skills: list[Any]) -> list[str]:
    problems: list[str] = []
    ids: dict[int, int] = {}
    names: dict[str, int] = {}
    for position, skill in enumerate(skills):
        where = f"skill #{position + 1}"
        if not isinstance(skill, dict):
            problems.append(f"{where}: not an object")
            continue
        skill_id = skill.get("id")
        if not isinstance(skill_id, int) or isinstance(skill_id, bool) or skill_id < 1:
            problems.append(f"{where}: id must be a positive integer, got {skill_id!r}")
        else:
            where = f"skill id {skill_id}"
            if skill_id in ids:
                problems.append(f"{where}: duplicate id (also skill #{ids[skill_id] + 1})")
            ids.setdefault(skill_id, position)
        for name in ("name", "category"):
            value = skill.get(name)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}: {name} is required (a non-empty string)")
        if skill.get("proficiency") not in PROFICIENCIES:
            problems.append(
                f"{where}: proficiency must be one of {', '.join(PROFICIENCIES)}, got {skill.get('proficiency')!r}"
            )
        if "description" in skill and skill["description"] is not None and not isinstance(skill["description"], str):
            problems.append(f"{where}: description must be a string")
        skill_name = skill.get("name")
        if isinstance(skill_name, str) and skill_name.strip():
            lower = skill_name.strip().lower()
            if lower in names:
                problems.append(
                    f"{where}: name {skill_name!r} is not unique (case-insensitively; also skill #{names[lower] + 1})"
                )
            names.setdefault(lower, position)
    return problems
