"""Registration uniqueness and the legacy hash upgrade, on DynamoDB Local."""

from __future__ import annotations

import threading

import bcrypt
import pytest

from skills_ideas import models, passwords, users
from skills_ideas.errors import Conflict

from .conftest import items

pytestmark = pytest.mark.dynamodb_local
PASSWORD = "correct-horse-9"


def test_concurrent_registrations_of_one_name_create_exactly_one_user(table, client):
    # Given twelve clients about to register one name, in different letter cases, at the same moment
    names = ["Racer", "racer", "RACER", "rAcer", "racER", "RaCeR", "raceR", "RACEr", "Racer", "rACER", "racer", "RaceR"]
    start = threading.Barrier(len(names))
    outcomes: list[object] = []

    def attempt(name: str) -> None:
        start.wait()
        try:
            outcomes.append(users.register(name, PASSWORD))
        except Conflict as conflict:
            outcomes.append(conflict)

    # When they all register concurrently against the real engine
    threads = [threading.Thread(target=attempt, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly one succeeds, every other one is a 409 conflict
    winners = [o for o in outcomes if isinstance(o, users.User)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1 and len(losers) == len(names) - 1, outcomes
    assert {loser.message for loser in losers} == {"User already exists"}
    # And the table holds one user and one username claim, which point at each other
    [user] = items(client, table, "USER#")
    [claim] = items(client, table, "USERNAME#")
    assert claim["PK"]["S"] == "USERNAME#racer"
    assert user["userId"]["S"] == claim["userId"]["S"] == winners[0].id
    # And the winner can log in under any letter case
    assert users.authenticate("rAcEr", PASSWORD) == winners[0]


def test_a_taken_name_is_a_conflict_and_writes_nothing(table, client):
    users.register("Grace", PASSWORD)
    with pytest.raises(Conflict):
        users.register("GRACE", "another-pass-1")
    assert len(items(client, table, "USER#")) == 1


def test_a_legacy_bcrypt_hash_is_upgraded_once_on_login(table):
    # Given a migrated user with a bcryptjs hash of a password longer than 72 bytes
    password = "p" * 80
    legacy = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(4, prefix=b"2a")).decode()
    user = users.User("42", "legacy_lee", "user", "2024-02-02T00:00:00.000Z")
    users.put_user(user, legacy, legacy_id="42")
    # When they log in
    assert users.authenticate("legacy_lee", password) == user
    # Then the stored hash is argon2id and verifies the same password
    upgraded = models.UserModel.get(users.user_key("42"), "PROFILE").passwordHash
    assert upgraded.startswith("$argon2id$")
    assert passwords.verify(password, upgraded)
    assert users.authenticate("legacy_lee", password) == user


def test_the_hash_upgrade_never_overwrites_a_hash_changed_meanwhile(table):
    # Given a legacy user whose hash another login has already upgraded
    legacy = bcrypt.hashpw(b"secret1", bcrypt.gensalt(4, prefix=b"2a")).decode()
    users.put_user(users.User("43", "legacy_max", "user", "2024-02-02T00:00:00.000Z"), legacy, legacy_id="43")
    users.upgrade_hash("43", legacy, "$argon2id$first-upgrade")
    # When a second, slower login tries to upgrade from the hash it had verified
    users.upgrade_hash("43", legacy, "$argon2id$second-upgrade")
    # Then the condition refuses it quietly and the first upgrade stays
    assert models.UserModel.get(users.user_key("43"), "PROFILE").passwordHash == "$argon2id$first-upgrade"
