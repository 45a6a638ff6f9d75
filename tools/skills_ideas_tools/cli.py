"""``skills-ideas``: the project's one operator tool.

Each command lives in its own module exposing ``register(subparsers)``, which adds its parser
and sets ``run=<function(args) -> exit code>``. A new command is one line in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Modules of this package that provide a subcommand (migrate, admin ... join here).
COMMANDS: tuple[str, ...] = (
    "serve",
    "invoke",
    "migrate",
    "admin",
    "upgrade",
    "sam_env",
    "preflight",
    "stats_command",
    "recommendations_command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skills-ideas", description="Skills & Ideas API developer tool")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
