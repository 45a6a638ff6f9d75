"""``skills-ideas upgrade-data``: copy a table of key layout 1 (1.0.x) into layout 2.

Layout 1 keyed an idea by a bare id and kept seven indexes, three of them local secondary
indexes, which cannot be removed from a table: the data moves into a new table instead. Every
idea is rewritten with a ULID key (its old id when that was a ULID, else one derived from its
createdAt and numeric id, as the legacy migration does) and keeps its old id as its public id
through an alias item; users and username claims are copied as they are. Writes are plain
puts of items derived only from the source, so the command is idempotent: run it again after
an interruption. It reads the whole source table (an operator command may scan; a request
path never does).

    skills-ideas upgrade-data --from skills-ideas-dev-v1                 # into make dev's table
    skills-ideas upgrade-data --from SkillsIdeas-prod-Table... --stage prod
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from skills_ideas import ideas, models, schema

from .local_env import add_stack_arguments
from .stage import add_stage_arguments

#: Attributes of layout 1 that layout 2 no longer keeps.
_LAYOUT_1_ONLY = {"createdSort", "titleSort"}
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_WRITE_BATCH = 25


def is_layout_1(description: dict[str, Any]) -> bool:
    """Whether a DescribeTable ``Table`` has layout 1's indexes."""
    names = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
    return bool(description.get("LocalSecondaryIndexes")) or "IdeaById" in names


def _is_layout_1_idea(item: dict[str, Any]) -> bool:
    return item["SK"]["S"].startswith("IDEA#") and any(name in item for name in _LAYOUT_1_ONLY)


def convert(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The layout-2 items for one layout-1 item (an idea becomes the idea and its alias)."""
    if not _is_layout_1_idea(item):
        return [item]
    old_id = item["ideaId"]["S"]
    created_at = item["createdAt"]["S"]

    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    fields: dict[str, Any] = {
        "title": item["title"]["S"],
        "description": text("description"),
        "status": item["status"]["S"],
        "updatedAt": text("updatedAt") or created_at,
        "legacyId": text("legacyId"),
        "legacyStatus": text("legacyStatus"),
        "createdAtEstimated": item["createdAtEstimated"]["BOOL"] if "createdAtEstimated" in item else None,
        "version": int(item["version"]["N"]) if "version" in item else 1,
    }
    owner = item["userId"]["S"]
    if _ULID.fullmatch(old_id):
        # A layout-1 id was already a ULID of the creation time: it stays the key.
        idea = ideas.new_item(owner, old_id, old_id, createdAt=created_at, **fields)
        alias = models.IdeaAliasModel(ideas.alias_key(old_id), userId=owner, ideaKey=old_id)
    else:
        tiebreak = int(old_id) if old_id.isdigit() else None
        idea, alias = ideas.aliased_item(owner, old_id, created_at, tiebreak, **fields)
    return [idea.serialize(), alias.serialize()]


def _scan(client: Any, table: str) -> Iterator[list[dict[str, Any]]]:
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        yield page["Items"]


def _put(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), _WRITE_BATCH):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + _WRITE_BATCH]]
        for _ in range(20):
            if not requests:
                break
            left = client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = left.get(table, [])
        if requests:
            raise RuntimeError(f"{table} kept throttling the copy: run the same command again to finish it")


def copy(client: Any, source: str, target: str, pages: Iterable[list[dict[str, Any]]] | None = None) -> dict[str, int]:
    """Copy ``source`` (layout 1) into ``target`` (layout 2); returns what was read and written."""
    counts = {"read": 0, "ideas": 0, "written": 0}
    for page in pages if pages is not None else _scan(client, source):
        converted: list[dict[str, Any]] = []
        for item in page:
            counts["read"] += 1
            counts["ideas"] += _is_layout_1_idea(item)
            converted.extend(convert(item))
        _put(client, target, converted)
        counts["written"] += len(converted)
        print(f"upgrade-data: {counts['read']} items read, {counts['written']} written", file=sys.stderr)
    return counts


def upgrade_in_place(client: Any, table: str) -> dict[str, int] | None:
    """For a local table only (DynamoDB Local or moto): hold every item in memory, recreate the
    table with layout 2 and write them back converted. None when it already has layout 2."""
    if not is_layout_1(client.describe_table(TableName=table)["Table"]):
        return None
    held = [item for page in _scan(client, table) for item in page]
    client.delete_table(TableName=table)
    client.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.create_table(**schema.create_table_kwargs(table))
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return copy(client, table, table, pages=[held])


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "upgrade-data",
        help="copy a table of key layout 1 (1.0.x) into the current layout; idempotent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--from", dest="source", required=True, help="the layout-1 table to read")
    add_stack_arguments(parser)
    add_stage_arguments(parser, "write", bucket=True)
    parser.set_defaults(run=run, dry_run=False)


def run(args: argparse.Namespace) -> int:
    from .migrate import MigrationError, local_target, stage_target

    try:
        with (stage_target if args.stage else local_target)(args) as target:
            counts = copy(target.dynamodb, args.source, target.table_name)
    except MigrationError as error:
        print(f"upgrade-data: {error}", file=sys.stderr)
        return 1
    print(f"upgrade-data: {counts['ideas']} ideas and {counts['read'] - counts['ideas']} other items copied")
    return 0
