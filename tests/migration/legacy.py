"""Synthetic legacy databases with the exact schema of the legacy service."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import bcrypt

# The legacy schema, as the service created it: userId and createdAt were added to ideas
# later by ALTER TABLE, so both may be NULL; foreign keys were never enforced.
SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL,
                    password TEXT NOT NULL, createdAt DATETIME DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE ideas (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, description TEXT,
                    status TEXT DEFAULT 'Concept');
ALTER TABLE ideas ADD COLUMN userId INTEGER;
ALTER TABLE ideas ADD COLUMN createdAt DATETIME;
"""

LONG_PASSWORD = "correct horse battery staple " * 4  # 116 bytes: bcryptjs used the first 72
LONG_TITLE = "A title from before there were limits " * 10  # 380 characters


@cache
def bcrypt_hash(password: str) -> str:
    """A bcryptjs-style hash: prefix 2a, first 72 bytes; cost 4 keeps the tests fast."""
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(4, prefix=b"2a")).decode()


def build(path: Path, users: Iterable[Sequence[Any]] = (), ideas: Iterable[Sequence[Any]] = ()) -> Path:
    """users: (id, username, password-or-hash, createdAt); ideas: (id, title, description,
    status, userId, createdAt). A password is hashed here unless it is a hash already ("$...")
    or marked "raw:" (stored as it is, like a plaintext seed row)."""
    connection = sqlite3.connect(path)
    with connection:
        connection.executescript(SCHEMA)
        connection.executemany(
            "INSERT INTO users (id, username, password, createdAt) VALUES (?, ?, ?, ?)",
            [(uid, name, _stored(pw), created) for uid, name, pw, created in users],
        )
        connection.executemany(
            "INSERT INTO ideas (id, title, description, status, userId, createdAt) VALUES (?, ?, ?, ?, ?, ?)",
            list(ideas),
        )
    connection.close()
    return path


def _stored(password: str) -> str:
    if password.startswith("$"):
        return password
    return password.removeprefix("raw:") if password.startswith("raw:") else bcrypt_hash(password)


#: Every case of issue 5 in one small database. Passwords are the users' legacy passwords.
MESSY_USERS = [
    (1, "alice", "alice-password", "2021-03-04 05:06:07"),
    (2, "bob", "bob-password", "2021-03-05 10:00:00"),
    (3, "Bob", "other-bob-password", "2021-04-01 00:00:00"),  # collides case-insensitively with 2
    (4, "dave smith!", "dave-password", None),  # invalid today, unique; createdAt NULL
    (5, "eve", LONG_PASSWORD, "2022-01-01T12:30:00.000Z"),  # > 72-byte password
    (6, "zé", "ze-password-1", "2022-02-02 02:02:02"),  # too short and non-ASCII: kept
    (7, "plain", "raw:not-a-hash", "2022-02-02 02:02:02"),  # legacy seed row with a plaintext password
]
MESSY_PASSWORDS = {
    1: "alice-password",
    2: "bob-password",
    3: "other-bob-password",
    4: "dave-password",
    5: LONG_PASSWORD,
    6: "ze-password-1",
}
MESSY_IDEAS = [
    (12, "Alice's idea", "first", "Concept", 1, "2021-03-04 06:00:00"),
    (13, "lower-case status", None, "planning", 1, "2021-03-05 06:00:00"),
    (14, "Development status", "dev", "Development", 2, "2021-03-06 06:00:00"),
    (15, "Unknown status", None, "Brainstorm", 3, "2021-03-07 06:00:00"),
    (16, "No owner", "orphan", "In Progress", None, "2021-03-08 06:00:00"),
    (17, "Owner gone", "orphan too", "On Hold", 99, "2021-03-09 06:00:00"),
    (18, "No createdAt", None, "Completed", 4, None),
    (19, LONG_TITLE, "long", "completed", 5, "2021-03-10 06:00:00"),
    (20, "Epoch ms createdAt", None, "Concept", 6, 1615363200000),
    (21, "Null status", None, None, 5, "2021-03-11 06:00:00"),
]


def messy(path: Path) -> Path:
    return build(path, MESSY_USERS, MESSY_IDEAS)
