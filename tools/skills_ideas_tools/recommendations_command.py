"""``skills-ideas recommendations backfill``: work out the skills of every idea that has none
stored yet (ideas written before the recommendations consumer existed), docs/recommendations.md.

An operator command: it walks the ideas from the feed index in the consumer's own steps
(Queries of 100 ideas and one BatchGetItem of their lists, never a Scan), at most
``--pages-per-second`` pages a second, and writes only the ideas with nothing stored. Ideas that
have a list keep it; run it again at any time (it is idempotent).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .admin import add_target_arguments
from .local_env import LocalEnvError
from .stage import StageError, missing_outputs, open_stage

PAGES_PER_SECOND = 2.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "recommendations", help="skill recommendations: rank the ideas that have none", description=__doc__
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    backfill_parser = actions.add_parser(
        "backfill",
        help="rank every idea that has no stored skills",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    backfill_parser.add_argument(
        "--pages-per-second",
        type=float,
        default=PAGES_PER_SECOND,
        help=f"pages of 100 ideas a second ({PAGES_PER_SECOND})",
    )
    add_target_arguments(backfill_parser, "backfill", bucket=True)
    backfill_parser.set_defaults(run=run)


@dataclass
class Progress:
    examined: int = 0
    ranked: int = 0
    steps: int = 0


def backfill(
    catalogue: Any,
    *,
    pages_per_second: float = PAGES_PER_SECOND,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[Progress], None] = lambda _: None,
) -> Progress:
    """Every step of ``recommendations.backfill_step`` over the bound table, one page per step,
    paced; ``report`` sees the progress after each step."""
    from skills_ideas import recommendations

    key = os.urandom(32)  # positions that never leave this process
    progress, resume = Progress(), None
    while True:
        step = recommendations.backfill_step(catalogue=catalogue, resume=resume, cursor_key=key, pages=1)
        progress.examined += step.examined
        progress.ranked += step.rewritten
        progress.steps += 1
        report(progress)
        resume = step.resume
        if resume is None:
            return progress
        sleep(1 / pages_per_second)


def _stage_catalogue(args: argparse.Namespace) -> Any:
    from skills_ideas.catalogue import CatalogueStore
    from skills_ideas.config import CatalogueConfig
    from skills_ideas.deployment import OUTPUT_BUCKET, OUTPUT_CATALOGUE_KEY

    from .admin import AdminError

    stage = open_stage(args)
    bucket = args.bucket or stage.outputs.get(OUTPUT_BUCKET)
    if not bucket:
        raise AdminError(missing_outputs(stage, [OUTPUT_BUCKET], "--bucket"))
    key = stage.outputs.get(OUTPUT_CATALOGUE_KEY) or "catalogue/skills.json"
    return CatalogueStore(CatalogueConfig(bucket, key, 5, stage.region, None)).current()


def run(args: argparse.Namespace) -> int:
    from skills_ideas.catalogue import CatalogueStore
    from skills_ideas.config import CatalogueConfig

    from .admin import AdminError, local_table, stage_table

    try:
        with stage_table(args) if args.stage else local_table(args) as where:
            catalogue = _stage_catalogue(args) if args.stage else CatalogueStore(CatalogueConfig.from_env()).current()
            progress = backfill(
                catalogue,
                pages_per_second=args.pages_per_second,
                report=lambda p: print(f"{p.examined} ideas examined, {p.ranked} ranked", file=sys.stderr),
            )
    except (AdminError, LocalEnvError, StageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{progress.examined} ideas of {where}: {progress.ranked} had no skills stored and were ranked")
    return 0
