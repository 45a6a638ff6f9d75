"""``skills-ideas migrate LEGACY.sqlite``: move the legacy database (and skills file) in.

Reads every user and idea of the legacy SQLite database, decides what each becomes
(``migration_plan``), and writes the items with BatchWriteItem into the local state of
``make dev`` (default) or a deployed stage (``--stage``). Idempotent and resumable: ids are the
legacy ids, every run plans the very same items, and each chunk is first read back
(BatchGetItem) so items already there are counted, not rewritten. docs/migration.md is the
operator's guide.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from skills_ideas.deployment import (
    OUTPUT_BUCKET,
    OUTPUT_CATALOGUE_KEY,
    OUTPUT_DISTRIBUTION,
    OUTPUT_TABLE,
)
from skills_ideas.users import ORPHAN_OWNER_ID, username_key
from skills_ideas.validation import caseless

from . import migration_plan
from .legacy_source import LegacyData, LegacyInputError, SkillsFile, read_database, read_skills
from .local_env import LocalEnvError, add_stack_arguments, local_stack, resolve_state_dir
from .stage import StageError, add_stage_arguments, missing_outputs, open_stage

WRITE_BATCH = 25  # BatchWriteItem's limit
READ_BATCH = 100  # BatchGetItem's limit
#: Attempts for one batch whose items DynamoDB keeps returning as unprocessed (throttling).
MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 5.0
DEFAULT_CATALOGUE_KEY = "catalogue/skills.json"
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


class MigrationError(RuntimeError):
    """The migration cannot go on; the message says why and what to do."""


@dataclass
class Target:
    """Where the migration writes: one table and the catalogue object."""

    dynamodb: Any
    table_name: str
    s3: Any
    bucket: str
    catalogue_key: str
    description: str
    #: Called after the catalogue object changed (local: snapshot it into the state dir).
    after_catalogue_write: Callable[[], Any] | None = None
    #: CloudFront distribution whose cached skill reads a catalogue write invalidates.
    distribution_id: str | None = None


@dataclass
class Options:
    status_map: dict[str, str] = field(default_factory=lambda: dict(migration_plan.DEFAULT_STATUS_MAP))
    migrated_at: str | None = None  # default: the legacy file's modification time
    dry_run: bool = False
    skills: SkillsFile | None = None
    skills_mode: str = "merge"
    progress: bool = True
    #: Test hook: called after every successful BatchWriteItem with the running count.
    after_batch: Callable[[int], None] | None = None
    sleep: Callable[[float], None] = time.sleep


@dataclass
class TableCounts:
    read: int = 0
    written: int = 0
    already_present: int = 0
    kept_newer: int = 0

    def as_json(self) -> dict[str, int]:
        return {
            "read": self.read,
            "written": self.written,
            "alreadyPresent": self.already_present,
            "keptChangedSinceMigration": self.kept_newer,
        }


@dataclass
class Report:
    source: str
    target: str
    dry_run: bool
    migrated_at: str
    migrated_at_source: str
    started_at: str
    completed: bool = False
    users: TableCounts = field(default_factory=TableCounts)
    ideas: TableCounts = field(default_factory=TableCounts)
    items_written: int = 0
    batches: int = 0
    retries: int = 0
    skills: dict[str, Any] | None = None
    decisions: list[migration_plan.Decision] = field(default_factory=list)
    logins: dict[str, str] = field(default_factory=dict)
    orphans: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "dryRun": self.dry_run,
            "completed": self.completed,
            "startedAt": self.started_at,
            "migratedAt": self.migrated_at,
            "migratedAtSource": self.migrated_at_source,
            "users": self.users.as_json(),
            "ideas": self.ideas.as_json(),
            "itemsWritten": self.items_written,
            "batchWrites": self.batches,
            "unprocessedRetries": self.retries,
            "skills": self.skills,
            "orphanOwner": ORPHAN_OWNER_ID,
            "orphanIdeas": self.orphans,
            "usernameDecisions": [d.as_json() for d in self.decisions if d.table == "users" and "loginAs" in d.details],
            "decisions": [d.as_json() for d in self.decisions],
            "notes": self.notes,
        }


# ------------------------------------------------------------------------- DynamoDB batches


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _key_id(key: dict[str, dict[str, Any]]) -> tuple[str, str]:
    return key["PK"]["S"], key["SK"]["S"]


def _backoff(attempt: int) -> float:
    return min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)


class BatchIO:
    """BatchGetItem / BatchWriteItem with unprocessed keys and items retried, backing off
    exponentially; botocore's own retries handle throttling errors of whole calls."""

    def __init__(self, target: Target, options: Options, report: Report) -> None:
        self.client = target.dynamodb
        self.table = target.table_name
        self.options = options
        self.report = report

    def get(self, keys: Sequence[dict]) -> dict[tuple[str, str], dict]:
        found: dict[tuple[str, str], dict] = {}
        for chunk in _chunks(keys, READ_BATCH):
            request: dict[str, Any] = {self.table: {"Keys": list(chunk), "ConsistentRead": True}}
            attempt = 0
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table, []):
                    found[_key_id(item)] = item
                request = response.get("UnprocessedKeys") or {}
                if request:
                    attempt = self._pause(attempt, "BatchGetItem")
        return found

    def put(self, items: Sequence[dict]) -> None:
        for chunk in _chunks(items, WRITE_BATCH):
            request: dict[str, Any] = {self.table: [{"PutRequest": {"Item": item}} for item in chunk]}
            attempt = 0
            while request:
                response = self.client.batch_write_item(RequestItems=request)
                request = response.get("UnprocessedItems") or {}
                if request:
                    attempt = self._pause(attempt, "BatchWriteItem")
            self.report.batches += 1
            self.report.items_written += len(chunk)
            if self.options.after_batch is not None:
                self.options.after_batch(self.report.batches)

    def _pause(self, attempt: int, operation: str) -> int:
        if attempt + 1 >= MAX_ATTEMPTS:
            raise MigrationError(
                f"{operation}: items still unprocessed after {MAX_ATTEMPTS} attempts "
                "(the table is throttling); run the same command again to resume"
            )
        self.report.retries += 1
        self.options.sleep(_backoff(attempt))
        return attempt + 1


# ------------------------------------------------------------------------- reconciling


def _is_bcrypt(item: dict | None) -> bool:
    value = (item or {}).get("passwordHash", {}).get("S")
    return value is None or value.startswith(BCRYPT_PREFIXES)


def _reconcile(planned: migration_plan.PlannedItem, current: dict | None) -> tuple[str, dict | None]:
    """What to do with one planned item given what the table holds: ("present", None),
    ("kept", None) when the application changed it since it was migrated, or ("write", item)."""
    item = planned.item
    if current is not None and planned.kind == "profile":
        # A login upgraded the bcrypt hash to argon2id, or an operator granted a role: the
        # application owns those fields from the migration on, and the region stamp of its
        # writes (``writtenIn``) with them.
        item = dict(item)
        if not _is_bcrypt(current):
            item["passwordHash"] = current["passwordHash"]
        for owned in ("role", "writtenIn"):
            if owned in current:
                item[owned] = current[owned]
    if current is not None and planned.kind == "idea" and current.get("version", {}).get("N", "1") != "1":
        return "kept", None  # edited through the API since it was migrated: never clobber an edit
    if current == item:
        return "present", None
    return "write", item


def _write_records(
    records: list[migration_plan.Record], counts: TableCounts, io: BatchIO, options: Options, label: str, unit: str
) -> None:
    from tqdm import tqdm

    legacy = sum(1 for r in records if r.legacy_id != ORPHAN_OWNER_ID)  # the orphan owner is no legacy user
    counts.read += legacy
    with tqdm(
        total=legacy,
        desc=f"{label:<6}",
        unit=f" {unit}",
        file=sys.stderr,
        disable=not options.progress,
        dynamic_ncols=True,
    ) as bar:
        for chunk in _chunks(records, READ_BATCH // 2):
            planned = [p for record in chunk for p in record.items]
            current = io.get([p.key for p in planned])
            writes: list[dict] = []
            outcome: dict[str, str] = {}
            for record in chunk:
                states = []
                for p in record.items:
                    state, item = _reconcile(p, current.get(_key_id(p.key)))
                    states.append(state)
                    if item is not None:
                        writes.append(item)
                outcome[record.legacy_id] = (
                    "written" if "write" in states else "kept" if "kept" in states else "present"
                )
            if not options.dry_run:
                io.put(writes)
            for record in chunk:
                if record.legacy_id == ORPHAN_OWNER_ID:
                    continue
                state = outcome[record.legacy_id]
                if state == "written":
                    counts.written += 1
                elif state == "kept":
                    counts.kept_newer += 1
                else:
                    counts.already_present += 1
            bar.update(sum(1 for record in chunk if record.legacy_id != ORPHAN_OWNER_ID))
            bar.set_postfix(written=counts.written, present=counts.already_present, refresh=False)


def _foreign_claims(io: BatchIO, data: LegacyData, options: Options, migrated_at: str) -> dict[str, str]:
    """Names already claimed in the target by users that are not legacy users. The claims of
    the names the plan wants are read; a plan that moves a user onto another name is read
    again, until the plan only asks for names that are free or already ours."""
    legacy_ids = {str(user.id) for user in data.users}
    taken: dict[str, str] = {}
    checked: set[str] = set()
    while True:
        logins = migration_plan.plan_usernames(data.users, taken)
        wanted = sorted({caseless(name) for name, _ in logins.values()} - checked)
        if not wanted:
            return taken
        keys = [{"PK": {"S": username_key(name)}, "SK": {"S": "USERNAME"}} for name in wanted]
        found = io.get(keys)
        checked.update(wanted)
        for (pk, _), claim in found.items():
            owner = claim.get("userId", {}).get("S", "")
            if owner not in legacy_ids:
                taken[pk.removeprefix("USERNAME#")] = owner


# ------------------------------------------------------------------------- skills catalogue


def _merge_catalogue(current: dict[str, Any], skills: SkillsFile, mode: str) -> dict[str, Any]:
    if mode == "replace":
        merged = {s["id"]: s for s in skills.skills}
    else:
        merged = {s["id"]: s for s in current.get("skills", [])}
        merged.update({s["id"]: s for s in skills.skills})
    # Ids are never reused, even by a replace: nextId never goes below the live catalogue's.
    live_ids = [int(s["id"]) for s in current.get("skills", [])]
    floor = max(int(current.get("nextId") or 1), max(live_ids, default=0) + 1)
    ordered = [merged[i] for i in sorted(merged)]
    problems = [p for p in _name_problems(ordered)]
    if problems:
        raise LegacyInputError(
            f"{skills.path}: merging into the catalogue would break unique names: "
            + "; ".join(problems)
            + " (use --skills-mode replace, or fix the file)"
        )
    next_id = max(floor, skills.next_id or 1, max(merged, default=0) + 1)
    return {"schemaVersion": 1, "nextId": next_id, "skills": ordered}


def _name_problems(skills: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for skill in skills:
        lower = str(skill.get("name", "")).strip().lower()
        if lower in seen:
            problems.append(f"ids {seen[lower]} and {skill['id']} are both named {skill['name']!r}")
        seen.setdefault(lower, skill["id"])
    return problems


def _prepare_skills(target: Target, skills: SkillsFile, options: Options) -> tuple[dict, dict, dict[str, Any]]:
    """The catalogue as it is, as it will be, and a summary; raises before anything is written
    if the result would not be a valid catalogue."""
    from botocore.exceptions import ClientError

    try:
        body = target.s3.get_object(Bucket=target.bucket, Key=target.catalogue_key)["Body"].read()
        current = json.loads(body)
        if isinstance(current, list):
            current = {"schemaVersion": 1, "skills": current}
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        current = {"schemaVersion": 1, "nextId": 1, "skills": []}
    document = _merge_catalogue(current, skills, options.skills_mode)
    before = {s["id"]: s for s in current.get("skills", [])}
    after = {s["id"]: s for s in document["skills"]}
    summary = {
        "file": str(skills.path),
        "mode": options.skills_mode,
        "inFile": len(skills.skills),
        "added": sorted(set(after) - set(before)),
        "changed": sorted(i for i in set(after) & set(before) if after[i] != before[i]),
        "removed": sorted(set(before) - set(after)),
        "unchanged": sum(1 for i in set(after) & set(before) if after[i] == before[i]),
        "nextId": document["nextId"],
        "written": False,
    }
    return current, document, summary


def _write_skills(target: Target, prepared: tuple[dict, dict, dict[str, Any]], options: Options) -> dict[str, Any]:
    """Write the catalogue the way admin edits do (``catalogue_edits``): a compare-and-swap on
    the object's ETag, the merge re-applied to whatever version is current, then the CDN
    invalidated, so a concurrent admin edit is never lost and readers see the new skills."""
    current, document, summary = prepared
    if document == current or options.dry_run:
        return summary
    from skills_ideas import catalogue_edits
    from skills_ideas.catalogue import Catalogue, CatalogueStore
    from skills_ideas.config import CatalogueConfig

    skills = options.skills
    assert skills is not None
    config = CatalogueConfig(
        bucket=target.bucket,
        key=target.catalogue_key,
        ttl_seconds=0,
        region="",
        endpoint_url=None,
        distribution_id=target.distribution_id,
    )
    store = CatalogueStore(config, _client=target.s3)

    def change(version: Catalogue) -> tuple[list[dict[str, Any]], int, None, None]:
        merged = _merge_catalogue(version.document(), skills, options.skills_mode)
        return merged["skills"], merged["nextId"], None, None

    edit = catalogue_edits.commit(store, "migrate", change, sleep=options.sleep)
    catalogue_edits.invalidate(store)
    if target.after_catalogue_write is not None:
        target.after_catalogue_write()
    return {**summary, "written": True, "versionId": edit.version_id}


# ------------------------------------------------------------------------- the migration


def migrate(data: LegacyData, target: Target, options: Options) -> Report:
    """Migrate ``data`` into ``target``; the report says what was read, written, found
    already present, and every decision. Raises MigrationError (and KeyboardInterrupt) with
    ``report`` attached as ``error.report`` so a caller can still write it."""
    if options.migrated_at:
        migrated_at, source = options.migrated_at, "--migrated-at"
    else:
        migrated_at, source = migration_plan.iso(data.modified_at), "modification time of the legacy file"
    report = Report(
        str(data.path), target.description, options.dry_run, migrated_at, source, migration_plan.iso(datetime.now(UTC))
    )
    for column in data.missing_columns:
        report.notes.append(f"column {column} does not exist in the legacy database: read as NULL")
    try:
        io = BatchIO(target, options, report)
        skills = _prepare_skills(target, options.skills, options) if options.skills is not None else None
        taken = _foreign_claims(io, data, options, migrated_at)
        plan = migration_plan.build(data, status_map=options.status_map, migrated_at=migrated_at, taken=taken)
        report.decisions, report.logins, report.orphans = plan.decisions, plan.logins, plan.orphans
        _write_records(plan.users, report.users, io, options, "users", "user")
        _write_records(plan.ideas, report.ideas, io, options, "ideas", "idea")
        if skills is not None:
            report.skills = _write_skills(target, skills, options)
        report.completed = True
    except BaseException as error:
        error.report = report  # type: ignore[attr-defined]
        raise
    return report


# ------------------------------------------------------------------------- targets


@contextlib.contextmanager
def local_target(args: argparse.Namespace) -> Iterator[Target]:
    """The store of ``make dev``: a running ``serve`` on the state dir is reused, else
    DynamoDB Local is started on it for the duration of the migration."""
    with local_stack(args.state_dir, engine=args.engine) as services:
        if services.engine == "moto" and not services.reused and args.engine != "moto" and not args.dry_run:
            raise MigrationError(
                "DynamoDB Local is not available, and moto keeps data in memory only: the migrated data "
                "would be gone when this command exits. Install Java 17 (see README), or start `make dev` "
                "first and migrate into the running server."
            )
        where = f"local state {services.state_dir} ({services.engine}{', running server' if services.reused else ''})"
        yield Target(
            services.client("dynamodb"),
            services.table_name,
            services.client("s3"),
            services.bucket,
            services.catalogue_key,
            where,
            services.snapshot_catalogue,
        )


@contextlib.contextmanager
def stage_target(args: argparse.Namespace) -> Iterator[Target]:
    """A deployed stage: the operator's own AWS credentials (profile, environment or SSO),
    table and bucket from the outputs of the stage's CloudFormation stack."""
    from botocore.config import Config

    config = Config(retries={"mode": "adaptive", "max_attempts": 10})
    try:
        stage = open_stage(args, config)
    except StageError as error:
        raise MigrationError(str(error)) from None
    session, region, stack, outputs = stage.session, stage.region, stage.stack, stage.outputs
    table = args.table or outputs.get(OUTPUT_TABLE)
    bucket = args.bucket or outputs.get(OUTPUT_BUCKET)
    if not table or not bucket:
        raise MigrationError(missing_outputs(stage, [OUTPUT_TABLE, OUTPUT_BUCKET], "--table/--bucket"))
    key = outputs.get(OUTPUT_CATALOGUE_KEY) or DEFAULT_CATALOGUE_KEY
    yield Target(
        session.client("dynamodb", config=config),
        table,
        session.client("s3", config=config),
        bucket,
        key,
        f"stage {args.stage} (stack {stack}, table {table}, bucket {bucket}, {region})",
        distribution_id=outputs.get(OUTPUT_DISTRIBUTION),
    )


# ------------------------------------------------------------------------- command line


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="move the legacy SQLite database (and skills file) in; idempotent and resumable",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("database", help="the legacy SQLite file")
    parser.add_argument("--skills", help="the legacy skills.json (or a catalogue document) to bring in too")
    parser.add_argument(
        "--skills-mode",
        choices=("merge", "replace"),
        default="merge",
        help="merge by id into the catalogue (default) or replace it",
    )
    parser.add_argument("--dry-run", action="store_true", help="read, validate and report; write nothing")
    parser.add_argument(
        "--status-map",
        metavar="FILE_OR_JSON",
        help='overrides of the status table, e.g. \'{"Development": "Planning", "*": "Concept"}\'',
    )
    parser.add_argument(
        "--migrated-at",
        metavar="ISO8601",
        help="the time given to records without createdAt (default: the legacy file's "
        "modification time, so every run gives the same value)",
    )
    parser.add_argument(
        "--report", metavar="PATH", help="where to write the JSON report (default: <database>.migration-report.json)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_stage_arguments(parser, "migrate", bucket=True)
    local = parser.add_argument_group("local state")
    add_stack_arguments(local)
    parser.set_defaults(run=run)


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


def _options(args: argparse.Namespace) -> Options:
    migrated_at = None
    if args.migrated_at:
        migrated_at = migration_plan.parse_timestamp(args.migrated_at)
        if migrated_at is None:
            raise LegacyInputError(f"--migrated-at: {args.migrated_at!r} is not an ISO-8601 timestamp")
    return Options(
        status_map=migration_plan.load_status_map(args.status_map),
        migrated_at=migrated_at,
        dry_run=args.dry_run,
        skills=read_skills(args.skills) if args.skills else None,
        skills_mode=args.skills_mode,
        progress=not args.no_progress,
    )


def report_path(args: argparse.Namespace) -> Path:
    """``--report``, else ``<state dir>/migration-reports/<database>.migration-report[.dry-run].json``:
    never beside the input, which may sit in a repository."""
    if args.report:
        return Path(args.report)
    suffix = ".migration-report.dry-run.json" if args.dry_run else ".migration-report.json"
    return resolve_state_dir(args.state_dir) / "migration-reports" / (Path(args.database).name + suffix)


def run(args: argparse.Namespace, *, open_target: Callable[[argparse.Namespace], Any] | None = None) -> int:
    try:
        data = read_database(args.database)
        options = _options(args)
    except LegacyInputError as error:
        _err(str(error))
        return 2
    if open_target is None:
        open_target = stage_target if args.stage else local_target
    report: Report | None = None
    status = 0
    try:
        with open_target(args) as target:
            report = migrate(data, target, options)
    except (MigrationError, LocalEnvError, LegacyInputError) as error:
        report = getattr(error, "report", None)
        _err(str(error))
        status = 2 if isinstance(error, LegacyInputError) else 1
    except KeyboardInterrupt as error:
        report = getattr(error, "report", None)
        _err("interrupted: run the same command again to resume (items already written are kept)")
        status = 130
    except Exception as error:  # AWS errors and the like: a message, not a traceback
        report = getattr(error, "report", None)
        _err(f"{type(error).__name__}: {error}\nnothing is lost: run the same command again to resume")
        status = 1
    if report is not None:
        path = report_path(args)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as error:
            _err(f"cannot write the report to {path}: {error.strerror or error}")
            status = status or 1
        print(summary(report, path))
    return status


def summary(report: Report, path: Path) -> str:
    """The report for a human: counts, every username decision, the rest grouped by rule."""
    head = "DRY RUN: nothing was written. " if report.dry_run else ""
    lines = [
        f"{head}Migration of {report.source} into {report.target}"
        + ("" if report.completed else " — NOT COMPLETED (run again to resume)"),
        f"  records without createdAt get {report.migrated_at} ({report.migrated_at_source})",
    ]
    verb = "to write" if report.dry_run else "written"
    for name, counts in (("users", report.users), ("ideas", report.ideas)):
        lines.append(
            f"  {name}: {counts.read} read, {counts.written} {verb}, {counts.already_present} already "
            f"present, {counts.kept_newer} kept (changed since migration)"
        )
    if report.skills is not None:
        s = report.skills
        lines.append(
            f"  skills ({s['mode']}): {len(s['added'])} added, {len(s['changed'])} changed, "
            f"{len(s['removed'])} removed, {s['unchanged']} unchanged, nextId {s['nextId']}"
        )
    names = [d for d in report.decisions if d.table == "users" and "loginAs" in d.details]
    if names:
        lines.append("  users whose login needed a decision:")
        lines += [f"    legacy user {d.legacy_id}: {d.decision}" for d in names]
    others: dict[str, list[migration_plan.Decision]] = {}
    for d in report.decisions:
        if d not in names:
            others.setdefault(f"{d.table}: {d.rule}", []).append(d)
    for rule, items in sorted(others.items()):
        ids = ", ".join(d.legacy_id for d in items[:20]) + (" ..." if len(items) > 20 else "")
        lines.append(f"  {rule} ({len(items)}): {ids}")
    lines += [f"  note: {note}" for note in report.notes]
    lines.append(f"  full report: {path}")
    return "\n".join(lines)
