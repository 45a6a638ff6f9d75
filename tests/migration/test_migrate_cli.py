"""``skills-ideas migrate`` as an operator runs it: arguments, bad input, report, skills, stages."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import boto3
import pytest

from skills_ideas_tools import cli, migrate
from tests.migration.conftest import table_dump
from tests.migration.legacy import messy
from tests.support import event, invoke

SKILLS = [
    {
        "id": 1,
        "name": "JavaScript",
        "category": "Programming Language",
        "proficiency": "Expert",
        "description": "Modern JavaScript including ES6+ features",
    },
    {"id": 90, "name": "COBOL", "category": "Programming Language", "proficiency": "Beginner", "description": "old"},
]


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch) -> Path:
    """make dev's state for these runs: where reports land by default."""
    monkeypatch.setenv("LOCAL_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def written_report(tmp_path: Path, name: str = "legacy.sqlite.migration-report.json") -> Path:
    return tmp_path / "state" / "migration-reports" / name


def run(argv: list[str], target: migrate.Target | None = None) -> int:
    args = cli.build_parser().parse_args(["migrate", *argv, "--no-progress"])

    @contextlib.contextmanager
    def given_target(_args):
        assert target is not None, "bad input must be refused before a target is opened"
        yield target

    return migrate.run(args, open_target=given_target)


def skills_file(tmp_path: Path, skills: object, name: str = "skills.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(skills))
    return path


def catalogue(target: migrate.Target) -> dict:
    return json.loads(target.s3.get_object(Bucket=target.bucket, Key=target.catalogue_key)["Body"].read())


def test_the_report_is_printed_and_written_to_the_state_dir_not_beside_the_input(tmp_path, target, capsys):
    db = messy(tmp_path / "legacy.sqlite")
    assert run([str(db), "--migrated-at", "2026-01-01T00:00:00Z"], target) == 0

    printed = capsys.readouterr().out
    assert "users: 7 read, 7 written, 0 already present" in printed
    assert "legacy user 3: 'Bob' is held case-insensitively by legacy user 2" in printed
    report = json.loads(written_report(tmp_path).read_text())
    assert not list(tmp_path.glob("*.json"))  # nothing beside the input
    assert report["completed"] is True and report["dryRun"] is False
    assert report["users"] == {"read": 7, "written": 7, "alreadyPresent": 0, "keptChangedSinceMigration": 0}
    assert report["ideas"]["read"] == 10
    assert report["migratedAt"] == "2026-01-01T00:00:00.000Z"
    assert report["orphanIdeas"] == ["16", "17"]
    assert {d["legacyId"]: d["loginAs"] for d in report["usernameDecisions"]}["3"] == "Bob-legacy3"
    assert {(d["table"], d["legacyId"], d["rule"]) for d in report["decisions"]} >= {
        ("ideas", "14", "status-mapped"),
        ("ideas", "18", "created-at-missing"),
        ("ideas", "19", "title-over-limit"),
    }

    # a second run, reported elsewhere, finds everything present
    elsewhere = tmp_path / "second.json"
    assert run([str(db), "--migrated-at", "2026-01-01T00:00:00Z", "--report", str(elsewhere)], target) == 0
    assert json.loads(elsewhere.read_text())["ideas"]["alreadyPresent"] == 10


def test_a_dry_run_reports_beside_the_real_report_and_writes_nothing(tmp_path, target, capsys):
    db = messy(tmp_path / "legacy.sqlite")
    assert run([str(db), "--dry-run"], target) == 0
    assert "DRY RUN: nothing was written" in capsys.readouterr().out
    assert (
        json.loads(written_report(tmp_path, "legacy.sqlite.migration-report.dry-run.json").read_text())["dryRun"]
        is True
    )
    assert not written_report(tmp_path).exists()
    assert table_dump(target) == {}


def _not_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "notes.sqlite"
    path.write_text("just some text, not a database\n")
    return path


def _other_schema(tmp_path: Path) -> Path:
    path = tmp_path / "other.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: tmp / "missing.sqlite", "no such file"),
        (_not_sqlite, "not an SQLite database"),
        (
            _other_schema,
            "not the legacy Skills & Ideas schema: table 'users' lacks column(s) username, password; "
            "table 'ideas' is missing",
        ),
    ],
)
def test_bad_input_is_a_clear_message_and_a_non_zero_exit(tmp_path, capsys, make, message):
    assert run([str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--status-map", '{"Development": "Shipped"}'], "not one of"),
        (["--migrated-at", "yesterday"], "not an ISO-8601 timestamp"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(tmp_path, capsys, argv, message):
    assert run([str(messy(tmp_path / "legacy.sqlite")), *argv]) == 2
    assert message in capsys.readouterr().err


def test_an_invalid_skills_file_stops_everything_before_the_first_write(tmp_path, target, capsys):
    bad = [
        {"id": 1, "name": "Go", "category": "Language", "proficiency": "Expert"},
        {"id": 1, "name": "go", "category": "", "proficiency": "Guru"},
        {"name": "No id", "category": "X", "proficiency": "Beginner"},
    ]
    db = messy(tmp_path / "legacy.sqlite")
    assert run([str(db), "--skills", str(skills_file(tmp_path, bad))], target) == 2
    err = capsys.readouterr().err
    for problem in (
        "duplicate id",
        "name 'go' is not unique",
        "category is required",
        "proficiency must be one of",
        "id must be a positive integer",
    ):
        assert problem in err
    assert table_dump(target) == {}


def test_skills_merge_by_id_into_the_catalogue(tmp_path, target, capsys):
    before = catalogue(target)
    db = messy(tmp_path / "legacy.sqlite")
    assert run([str(db), "--skills", str(skills_file(tmp_path, SKILLS))], target) == 0

    after = catalogue(target)
    assert len(after["skills"]) == len(before["skills"]) + 1  # id 1 replaced, id 90 added
    assert after["nextId"] > max(s["id"] for s in after["skills"])
    assert after["nextId"] >= before["nextId"]
    report = json.loads(written_report(tmp_path).read_text())["skills"]
    assert report["added"] == [90] and report["written"] is True
    status, body = invoke(
        "get_skill", event("GET", "/api/skills/90", resource="/api/skills/{id}", path_params={"id": "90"})
    )
    assert status == 200 and body["data"]["name"] == "COBOL"
    # a second run changes nothing
    assert run([str(db), "--skills", str(skills_file(tmp_path, SKILLS))], target) == 0
    assert json.loads(written_report(tmp_path).read_text())["skills"]["written"] is False


def test_skills_replace_the_catalogue(tmp_path, target):
    db = messy(tmp_path / "legacy.sqlite")
    assert run([str(db), "--skills", str(skills_file(tmp_path, SKILLS)), "--skills-mode", "replace"], target) == 0
    after = catalogue(target)
    assert [s["id"] for s in after["skills"]] == [1, 90]
    assert after["nextId"] == 91 and after["schemaVersion"] == 1


def test_a_replace_never_lowers_next_id_so_ids_are_never_reused(tmp_path, target):
    # Given the live catalogue (ids up to 44, nextId 45)
    before = catalogue(target)
    # When it is replaced by a file holding only low ids
    db = messy(tmp_path / "legacy.sqlite")
    assert run([str(db), "--skills", str(skills_file(tmp_path, SKILLS[:1])), "--skills-mode", "replace"], target) == 0
    # Then the next skill an admin adds still gets an id no skill ever had
    after = catalogue(target)
    assert [s["id"] for s in after["skills"]] == [SKILLS[0]["id"]]
    assert after["nextId"] >= before["nextId"]


def test_a_merge_that_would_duplicate_a_name_is_refused_before_writing(tmp_path, target, capsys):
    clash = [{"id": 500, "name": "javascript", "category": "Programming Language", "proficiency": "Expert"}]
    db = messy(tmp_path / "legacy.sqlite")
    assert run([str(db), "--skills", str(skills_file(tmp_path, clash))], target) == 2
    assert "ids 1 and 500 are both named 'javascript'" in capsys.readouterr().err
    assert table_dump(target) == {}


def _stack(outputs: dict[str, str], name: str = "SkillsIdeas-test") -> None:
    template = {
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_a_stage_target_comes_from_the_stack_outputs(tmp_path, target):
    # Given the stage's stack publishes the table and the bucket (moto stands in for the account)
    _stack({migrate.OUTPUT_TABLE: target.table_name, migrate.OUTPUT_BUCKET: target.bucket})
    args = cli.build_parser().parse_args(["migrate", "legacy.sqlite", "--stage", "test"])
    with migrate.stage_target(args) as stage:
        assert (stage.table_name, stage.bucket, stage.catalogue_key) == (
            target.table_name,
            target.bucket,
            "catalogue/skills.json",
        )
        assert "stack SkillsIdeas-test" in stage.description
        report = migrate.migrate(
            migrate.read_database(messy(tmp_path / "legacy.sqlite")), stage, migrate.Options(progress=False)
        )
    assert (
        report.completed and len(table_dump(target)) == 35
    )  # 7 profiles, 7 claims, the orphan owner, 10 ideas, 10 aliases


def test_a_stage_without_the_outputs_says_what_is_missing(target):
    _stack({"ApiUrl": "https://example.invalid"})
    args = cli.build_parser().parse_args(["migrate", "legacy.sqlite", "--stage", "test"])
    with (
        pytest.raises(migrate.MigrationError, match="no output 'TableName'.*outputs: ApiUrl"),
        migrate.stage_target(args),
    ):
        pass
    args = cli.build_parser().parse_args(["migrate", "legacy.sqlite", "--stage", "nope"])
    with pytest.raises(migrate.MigrationError, match="cannot read stack SkillsIdeas-nope"), migrate.stage_target(args):
        pass
