"""The legacy migration on moto: every case of issue 5, then the real handlers on the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skills_ideas.users import ORPHAN_OWNER_ID
from skills_ideas_tools import migrate
from tests.migration.conftest import moto_world, run_migration, table_dump
from tests.migration.legacy import LONG_TITLE, MESSY_PASSWORDS, build, messy
from tests.support import event, invoke

MIGRATED_AT = "2026-01-02T03:04:05.000Z"


def login(username: str, password: str) -> tuple[int, dict]:
    return invoke("login", event("POST", "/api/login", body={"username": username, "password": password}))


def get_idea(idea_id: str) -> tuple[int, dict]:
    return invoke(
        "get_idea", event("GET", f"/api/ideas/{idea_id}", resource="/api/ideas/{id}", path_params={"id": idea_id})
    )


def list_ideas(**query: str) -> tuple[int, dict]:
    return invoke("list_ideas", event("GET", "/api/ideas", query=query))


def decisions(report: migrate.Report, rule: str) -> dict[str, migrate.migration_plan.Decision]:
    return {d.legacy_id: d for d in report.decisions if d.rule == rule}


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    return messy(tmp_path / "legacy.sqlite")


def test_every_user_logs_in_with_the_legacy_password_and_finds_their_ideas(legacy, target):
    # Given the messy legacy database, migrated
    report = run_migration(legacy, target, migrated_at=MIGRATED_AT)
    assert report.completed
    assert (report.users.read, report.users.written) == (7, 7)
    assert (report.ideas.read, report.ideas.written) == (10, 10)

    # Then every user with a bcrypt hash logs in with the legacy password, under the reported name
    for legacy_id, password in MESSY_PASSWORDS.items():
        name = report.logins[str(legacy_id)]
        status, body = login(name, password)
        assert status == 200, (name, body)
        assert body["user"] == {"id": str(legacy_id), "username": name}
        # and the first login upgraded the hash: the second goes through argon2id
        assert login(name, password)[0] == 200
    assert len(MESSY_PASSWORDS[5].encode()) > 72  # eve's: bcryptjs hashed only its first 72 bytes
    assert login("alice", "wrong-password")[0] == 401

    # And their ideas resolve by legacy id, and list by user id
    status, body = get_idea("12")
    assert status == 200
    assert body["data"]["id"] == "12" and body["data"]["userId"] == "1"
    status, body = list_ideas(userId="1")
    assert [i["id"] for i in body["data"]] == ["13", "12"]  # newest first


def test_username_collisions_and_invalid_names_are_kept_and_reported(legacy, target):
    report = run_migration(legacy, target, migrated_at=MIGRATED_AT)
    collision = decisions(report, "username-collision")
    assert collision["3"].details == {"legacyUsername": "Bob", "loginAs": "Bob-legacy3"}
    assert "legacy user 2" in collision["3"].decision
    kept = decisions(report, "username-invalid-kept")
    assert set(kept) == {"4", "6"}  # "dave smith!" and "zé": unique, so they keep their exact names
    assert report.logins["4"] == "dave smith!"
    assert login("dave smith!", "dave-password")[0] == 200
    assert login("DAVE SMITH!", "dave-password")[0] == 200  # login is case-insensitive, as for everyone
    # the earliest id keeps the contested name
    assert login("bob", "bob-password")[0] == 200
    assert login("Bob", "other-bob-password")[0] == 401
    # a plaintext password in the legacy table is not carried over: no password, no login
    assert "7" in decisions(report, "password-not-bcrypt")
    assert login("plain", "not-a-hash")[0] == 401
    # the JSON report lists every user whose login needed a decision
    listed = {d["legacyId"] for d in report.as_json()["usernameDecisions"]}
    assert listed == {"3", "4", "6", "7"}


def test_orphans_statuses_timestamps_and_long_titles(legacy, target):
    report = run_migration(legacy, target, migrated_at=MIGRATED_AT)
    # Orphans: no owner, or an owner that does not exist -> the reserved owner, still readable
    assert report.orphans == ["16", "17"]
    assert set(decisions(report, "orphan-no-owner")) == {"16"}
    assert decisions(report, "orphan-owner-missing")["17"].details == {"legacyUserId": "99"}
    for idea_id in ("16", "17"):
        status, body = get_idea(idea_id)
        assert status == 200 and body["data"]["userId"] == ORPHAN_OWNER_ID
    assert {i["id"] for i in list_ideas(userId=ORPHAN_OWNER_ID)[1]["data"]} == {"16", "17"}
    assert login(ORPHAN_OWNER_ID, "")[0] in (400, 401)

    items = table_dump(target)
    orphan_owner = items[(f"USER#{ORPHAN_OWNER_ID}", "PROFILE")]
    assert "passwordHash" not in orphan_owner
    assert not any(pk == f"USERNAME#{ORPHAN_OWNER_ID}" for pk, _ in items)

    # Statuses: mapped by the default table, the original kept
    def idea(idea_id: str) -> dict:
        alias = items[(f"IDEAALIAS#{idea_id}", "ALIAS")]
        return items[(f"USER#{alias['userId']['S']}", f"IDEA#{alias['ideaKey']['S']}")]

    assert idea("12")["status"]["S"] == "Concept" and "legacyStatus" not in idea("12")
    assert (idea("13")["status"]["S"], idea("13")["legacyStatus"]["S"]) == ("Planning", "planning")
    assert (idea("14")["status"]["S"], idea("14")["legacyStatus"]["S"]) == ("In Progress", "Development")
    assert (idea("15")["status"]["S"], idea("15")["legacyStatus"]["S"]) == ("Concept", "Brainstorm")
    assert "15" in decisions(report, "status-unknown")
    assert idea("21")["status"]["S"] == "Concept"
    # the listing by status finds mapped ideas
    in_progress = {i["id"] for i in list_ideas(status="In Progress")[1]["data"]}
    assert in_progress == {"14", "16"}

    # createdAt: missing -> placed right after the dated idea with the nearest lower legacy id, marked
    assert idea("18")["createdAt"]["S"] == idea("17")["createdAt"]["S"] == "2021-03-09T06:00:00.000Z"
    assert idea("18")["createdAtEstimated"]["BOOL"] is True
    assert idea("18")["updatedAt"]["S"] == idea("18")["createdAt"]["S"]
    oldest_first = [i["id"] for i in list_ideas(order="asc", _limit="100")[1]["data"]]
    assert oldest_first.index("18") == oldest_first.index("17") + 1  # not on top of the feed
    # epoch milliseconds understood
    assert idea("12")["createdAt"]["S"] == "2021-03-04T06:00:00.000Z" and "createdAtEstimated" not in idea("12")
    assert idea("20")["createdAt"]["S"] == "2021-03-10T08:00:00.000Z"
    assert items[("USER#4", "PROFILE")]["createdAt"]["S"] == MIGRATED_AT

    # Titles over today's limit are kept whole
    assert get_idea("19")[1]["data"]["title"] == LONG_TITLE
    assert "19" in decisions(report, "title-over-limit")


def test_missing_created_at_defaults_to_the_file_time_so_every_run_agrees(legacy, target):
    # Given no --migrated-at, the estimate is the legacy file's modification time
    first = run_migration(legacy, target)
    again = run_migration(legacy, target)
    assert first.migrated_at == again.migrated_at
    assert again.users.written == again.ideas.written == 0
    # and reading the file does not change that time
    assert run_migration(legacy, target).migrated_at == first.migrated_at


def test_a_second_run_writes_nothing_and_counts_everything_as_present(legacy, target):
    run_migration(legacy, target, migrated_at=MIGRATED_AT)
    before = table_dump(target)

    report = run_migration(legacy, target, migrated_at=MIGRATED_AT)

    assert (report.users.written, report.users.already_present) == (0, 7)
    assert (report.ideas.written, report.ideas.already_present) == (0, 10)
    assert report.items_written == 0
    assert table_dump(target) == before


def test_an_interrupted_run_resumes_to_exactly_the_state_of_one_clean_run(tmp_path):
    # Given a database of 300 ideas (13 batch writes of 25) ...
    db = build(
        tmp_path / "big.sqlite",
        [(1, "alice", "alice-password", "2021-01-01 00:00:00"), (2, "Alice", "pw-2", None)],
        [(i, f"idea {i}", None, "development" if i % 3 else "Concept", (i % 3) or None, None) for i in range(1, 301)],
    )

    class Crash(Exception):
        pass

    def crash_after_five(batches: int) -> None:
        if batches == 5:
            raise Crash

    with moto_world() as target:
        # ... a run that crashes after 5 batches ...
        with pytest.raises(Crash) as crash:
            run_migration(db, target, after_batch=crash_after_five)
        partial = crash.value.report  # type: ignore[attr-defined]
        assert not partial.completed and partial.batches == 5
        assert 0 < len(table_dump(target)) < 300
        # ... is resumed by running it again
        resumed = run_migration(db, target)
        assert resumed.completed
        assert resumed.ideas.already_present > 0
        assert resumed.ideas.written + resumed.ideas.already_present == 300
        after_resume = table_dump(target)

    with moto_world() as target:
        run_migration(db, target)
        clean = table_dump(target)

    # Then the resumed state is item for item the state of one uninterrupted run
    assert after_resume == clean
    assert len(clean) == 2 * 2 + 1 + 2 * 300  # 2 users + 2 claims, the orphan owner, 300 ideas and their aliases


def test_unprocessed_items_are_retried_with_exponential_backoff(legacy, target):
    real = target.dynamodb

    class Throttling:
        """Returns half of every batch as unprocessed, twice per batch."""

        def __init__(self) -> None:
            self.throttled = 0

        def batch_get_item(self, **kwargs):
            return real.batch_get_item(**kwargs)

        def batch_write_item(self, RequestItems):  # noqa: N803 - boto3's name
            ((table, requests),) = RequestItems.items()
            if self.throttled < 2 and len(requests) > 1:
                self.throttled += 1
                half = len(requests) // 2
                real.batch_write_item(RequestItems={table: requests[:half]})
                return {"UnprocessedItems": {table: requests[half:]}}
            self.throttled = 0
            return real.batch_write_item(RequestItems=RequestItems)

    target.dynamodb = Throttling()
    sleeps: list[float] = []
    report = run_migration(legacy, target, migrated_at=MIGRATED_AT, sleep=sleeps.append)
    target.dynamodb = real

    assert report.retries == len(sleeps) > 0
    assert sleeps[:2] == [migrate.BACKOFF_BASE_SECONDS, migrate.BACKOFF_BASE_SECONDS * 2]
    # every item arrived once: 7 profiles, 7 claims, the orphan owner, 10 ideas and their 10 aliases
    assert report.items_written == len(table_dump(target)) == 7 + 7 + 1 + 10 + 10
    assert run_migration(legacy, target, migrated_at=MIGRATED_AT).items_written == 0


def test_a_table_that_keeps_throttling_stops_with_a_resume_message(legacy, target):
    class AlwaysThrottled:
        def batch_get_item(self, **kwargs):
            return {"Responses": {}, "UnprocessedKeys": {}}

        def batch_write_item(self, RequestItems):  # noqa: N803
            return {"UnprocessedItems": RequestItems}

    target.dynamodb = AlwaysThrottled()
    with pytest.raises(migrate.MigrationError, match="run the same command again"):
        run_migration(legacy, target, sleep=lambda _: None)


def test_dry_run_writes_nothing(legacy, target, tmp_path):
    skills = tmp_path / "skills.json"
    skills.write_text(
        json.dumps(
            [
                {
                    "id": 99,
                    "name": "Zig",
                    "category": "Programming Language",
                    "proficiency": "Beginner",
                    "description": "x",
                }
            ]
        )
    )
    catalogue_before = target.s3.get_object(Bucket=target.bucket, Key=target.catalogue_key)["Body"].read()
    from skills_ideas_tools.legacy_source import read_skills

    report = run_migration(legacy, target, dry_run=True, skills=read_skills(skills))

    assert table_dump(target) == {}
    assert target.s3.get_object(Bucket=target.bucket, Key=target.catalogue_key)["Body"].read() == catalogue_before
    assert report.dry_run and report.items_written == 0
    assert (report.users.written, report.ideas.written) == (7, 10)  # what it would write
    assert report.skills is not None and report.skills["added"] == [99] and not report.skills["written"]


def test_status_map_overrides_the_default_table(legacy, target):
    from skills_ideas_tools.migration_plan import load_status_map

    mapping = load_status_map('{"Development": "planning", "*": "On Hold"}')
    run_migration(legacy, target, status_map=mapping, migrated_at=MIGRATED_AT)
    assert get_idea("14")[1]["data"]["status"] == "Planning"  # overridden
    assert get_idea("15")[1]["data"]["status"] == "On Hold"  # the fallback, overridden
    assert get_idea("13")[1]["data"]["status"] == "Planning"  # the default table still applies


@pytest.mark.parametrize(
    "value, message",
    [
        ('{"Development": "Shipped"}', "not one of"),
        ("[1, 2]", "expected a JSON object"),
        ("/no/such/status-map.json", "cannot read"),
    ],
)
def test_a_bad_status_map_is_refused(value, message):
    from skills_ideas_tools.legacy_source import LegacyInputError
    from skills_ideas_tools.migration_plan import load_status_map

    with pytest.raises(LegacyInputError, match=message):
        load_status_map(value)


def test_a_few_thousand_ideas_of_one_user_list_completely(tmp_path, target):
    count = 2000
    db = build(
        tmp_path / "prolific.sqlite",
        [(1, "prolific", "prolific-pw", "2020-01-01 00:00:00")],
        [
            (i, f"Idea number {i}", "d", "Concept", 1, f"2020-01-01 00:{i // 60 % 60:02d}:{i % 60:02d}")
            for i in range(1, count + 1)
        ],
    )
    report = run_migration(db, target)
    assert report.ideas.written == count

    # Then the user's listing pages through every idea exactly once, newest first
    seen: list[str] = []
    cursor = None
    while True:
        query = {"userId": "1", "_limit": "100", **({"cursor": cursor} if cursor else {})}
        status, body = list_ideas(**query)
        assert status == 200
        seen += [i["id"] for i in body["data"]]
        cursor = body.get("nextCursor")
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == count
    # and the all-ideas feed (sharded) holds them all too
    status, body = list_ideas(_limit="100")
    assert status == 200 and len(body["data"]) == 100 and body.get("nextCursor")


def test_a_new_service_user_keeps_a_name_a_legacy_user_also_had(legacy, target):
    # Given someone registered "alice" in the new service before the migration
    status, _ = invoke(
        "register", event("POST", "/api/register", body={"username": "ALICE", "password": "new-service-pw"})
    )
    assert status == 201
    report = run_migration(legacy, target, migrated_at=MIGRATED_AT)
    taken = decisions(report, "username-taken-in-new-service")
    assert report.logins["1"] == "alice-legacy1" and "1" in taken
    assert login("alice", "new-service-pw")[0] == 200
    assert login("alice-legacy1", "alice-password")[0] == 200
    # and a re-run plans the same names
    assert run_migration(legacy, target, migrated_at=MIGRATED_AT).logins == report.logins


def test_a_rerun_after_go_live_keeps_upgraded_hashes_and_edited_ideas(legacy, target):
    run_migration(legacy, target, migrated_at=MIGRATED_AT)
    # Given alice logged in (her hash is now argon2id) and edited her idea
    status, body = login("alice", "alice-password")
    assert status == 200
    status, _ = invoke(
        "update_idea",
        event(
            "PATCH",
            "/api/ideas/12",
            resource="/api/ideas/{id}",
            path_params={"id": "12"},
            body={"status": "Completed"},
            caller={"userId": "1", "username": "alice", "role": "user"},
        ),
    )
    assert status == 200

    report = run_migration(legacy, target, migrated_at=MIGRATED_AT)

    assert report.users.written == 0 and report.users.already_present == 7
    assert report.ideas.kept_newer == 1 and report.ideas.written == 0
    assert get_idea("12")[1]["data"]["status"] == "Completed"
    assert table_dump(target)[("USER#1", "PROFILE")]["passwordHash"]["S"].startswith("$argon2id$")
    assert login("alice", "alice-password")[0] == 200


def test_names_that_read_the_same_get_one_claim_each_and_every_user_logs_in(tmp_path, target):
    # Given legacy users whose names differ only in case, width or a German sharp s
    db = build(
        tmp_path / "same.sqlite",
        users=[
            (1, "ada", "pw-ada-1", None),
            (2, "ａｄａ", "pw-ada-2", None),
            (3, "Straße", "pw-strasse-3", None),
            (4, "STRASSE", "pw-strasse-4", None),
            (5, "tab\there", "pw-tab-5", None),
        ],
    )
    report = run_migration(db, target)
    # Then the lowest id keeps each name, the others are renamed and told, and nobody's claim is lost
    assert report.logins["1"] == "ada" and report.logins["3"] == "Straße"
    assert report.logins["2"] != "ａｄａ" and report.logins["4"] != "STRASSE"
    assert set(decisions(report, "username-collision")) == {"2", "4"}
    assert report.logins["5"] == "legacy-user-5"  # a name login refuses (a control character)
    for uid, password in (("1", "pw-ada-1"), ("2", "pw-ada-2"), ("3", "pw-strasse-3"), ("4", "pw-strasse-4")):
        assert login(report.logins[uid], password)[0] == 200, uid
    claims = [pk for pk, sk in table_dump(target) if sk == "USERNAME"]
    assert len(claims) == len(set(claims)) == 5


def test_the_progress_bars_count_what_the_summary_counts(legacy, target, capsys):
    # Given legacy data with orphaned ideas (the reserved owner is written, but is no legacy user)
    report = run_migration(legacy, target, progress=True)
    bars = capsys.readouterr().err
    # Then each bar ends at the number of legacy records the summary reports
    assert report.users.read == 7 and report.ideas.read == 10
    assert "7/7" in bars and "10/10" in bars
    assert "8/8" not in bars
