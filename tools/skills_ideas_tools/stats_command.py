"""``skills-ideas stats rebuild``: count users and ideas again from the table and correct the
live statistics where they drifted (docs/events.md, "Statistics").

An operator command: it scans the table (a request path never does), a page at a time and at
most ``--pages-per-second`` pages a second, so it leaves the table's capacity to the API. It
prints each corrected aggregate (what was stored, what it should be) and a summary.

Counters keep moving while it runs: run it when writes are quiet (after a migration, say). An
event applied between the scan and the correction is lost from the counters until the next run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from .admin import add_target_arguments
from .local_env import LocalEnvError

PAGE_SIZE = 200
PAGES_PER_SECOND = 5.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stats", help="live statistics: rebuild them from the data", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    rebuild_parser = actions.add_parser(
        "rebuild",
        help="recount users and ideas and correct any drift",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rebuild_parser.add_argument("--page-size", type=int, default=PAGE_SIZE, help=f"items per Scan page ({PAGE_SIZE})")
    rebuild_parser.add_argument(
        "--pages-per-second", type=float, default=PAGES_PER_SECOND, help=f"Scan pages per second ({PAGES_PER_SECOND})"
    )
    rebuild_parser.add_argument("--dry-run", action="store_true", help="report the drift, correct nothing")
    add_target_arguments(rebuild_parser, "rebuild the statistics")
    rebuild_parser.set_defaults(run=run)


@dataclass
class Report:
    items: int = 0
    pages: int = 0
    corrected: list[dict[str, Any]] = field(default_factory=list)


def _in_window(counters: Mapping[str, int], today: date) -> dict[str, int]:
    from skills_ideas.events import stats

    days = {stats.day_attribute(day) for day in stats.window(today)}
    return {k: v for k, v in counters.items() if not k.startswith("day#") or k in days}


def _aggregate(item: Mapping[str, Any]) -> tuple[str, bool] | None:
    """(aggregate, is the single-region item) of a statistics item, or None for any other item.
    An aggregate (``STATS``, ``USERSTATS#<id>``) is its single-region item plus, in multi-region
    mode, one item per region (``GLOBAL#<region>``, ``STATS#<region>``)."""
    pk, sk = item["PK"]["S"], item["SK"]["S"]
    base = "GLOBAL" if pk == "STATS" else "STATS" if pk.startswith("USERSTATS#") else None
    if base is None or not (sk == base or sk.startswith(f"{base}#")):
        return None
    return pk, sk == base


def _add(into: dict[str, int], counters: Mapping[str, int], sign: int = 1) -> dict[str, int]:
    for name, value in counters.items():
        into[name] = into.get(name, 0) + sign * value
        if not into[name]:
            del into[name]
    return into


def rebuild(
    client: Any,
    table: str,
    *,
    page_size: int = PAGE_SIZE,
    pages_per_second: float = PAGES_PER_SECOND,
    dry_run: bool = False,
    today: date | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Scan ``table``, count, and put right every statistics aggregate that differs.

    An aggregate's stored value is the sum of its items. The correction goes to its
    single-region item only: in multi-region mode every region's consumer adds to its own
    item, and the single-region one (the counts from before, no consumer writes it) becomes
    the base that makes the sum right, so no live counter is overwritten."""
    from skills_ideas.events import stats

    today = today or datetime.now(UTC).date()
    report = Report()
    counted = stats.Tally()
    stored: dict[str, dict[str, int]] = {}
    regional: dict[str, dict[str, int]] = {}
    for page in client.get_paginator("scan").paginate(TableName=table, PaginationConfig={"PageSize": page_size}):
        started = time.monotonic()
        report.pages += 1
        for item in page["Items"]:
            report.items += 1
            aggregate = _aggregate(item)
            if aggregate is None:
                counted.count(item, today)
                continue
            pk, single = aggregate
            counters = _in_window(stats.counters_of(item), today)
            _add(stored.setdefault(pk, {}), counters)
            if not single:
                _add(regional.setdefault(pk, {}), counters)
        sleep(max(0.0, 1.0 / pages_per_second - (time.monotonic() - started)))
    wanted = {"STATS": counted.totals, **{f"USERSTATS#{user}": c for user, c in counted.users.items()}}
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for pk in sorted(set(wanted) | set(stored)):
        want, have = wanted.get(pk, {}), stored.get(pk, {})
        if want == have:
            continue
        report.corrected.append({"item": pk, "stored": have, "counted": want})
        if dry_run:
            continue
        key = stats.GLOBAL_KEY if pk == "STATS" else stats.user_key(pk.removeprefix("USERSTATS#"))
        base = _add(dict(want), regional.get(pk, {}), -1)
        if not base and pk != "STATS":
            client.delete_item(TableName=table, Key=key)
            continue
        item = {**key, **{name: {"N": str(value)} for name, value in base.items()}, "updatedAt": {"S": stamp}}
        client.put_item(TableName=table, Item=item)
    return report


def _target(args: argparse.Namespace):
    from .admin import local_table, stage_table

    return stage_table(args) if args.stage else local_table(args)


def run(args: argparse.Namespace) -> int:
    import boto3

    from skills_ideas import models

    from .admin import AdminError

    try:
        with _target(args) as where:
            meta = models.UserModel.Meta  # bound to the chosen table by local_table / stage_table
            client = boto3.client("dynamodb", region_name=meta.region, endpoint_url=meta.host)
            report = rebuild(
                client,
                meta.table_name,
                page_size=args.page_size,
                pages_per_second=args.pages_per_second,
                dry_run=args.dry_run,
            )
    except (AdminError, LocalEnvError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for correction in report.corrected:
        print(json.dumps(correction, sort_keys=True))
    verb = "found" if args.dry_run else "corrected"
    print(
        f"{report.items} items in {report.pages} pages of {where}: {verb} drift in {len(report.corrected)} aggregates",
        file=sys.stderr,
    )
    return 0
