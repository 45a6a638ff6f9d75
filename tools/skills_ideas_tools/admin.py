"""``skills-ideas admin grant|revoke USERNAME``: make a user an admin of the skills catalogue, or
not any more.

Works on the local state of ``make dev`` by default (a running ``serve`` on the same state dir
is reused), or on a deployed stage with ``--stage`` and your own AWS credentials (the table
comes from the outputs of the stage's CloudFormation stack).

The role is carried in the JWT issued at login: a change takes effect at the user's next
login. A token issued before a revoke keeps its role until it expires (JWT_TTL_SECONDS).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from skills_ideas.deployment import OUTPUT_TABLE

from .local_env import LocalEnvError, add_stack_arguments, local_stack
from .stage import StageError, add_stage_arguments, missing_outputs, open_stage

if TYPE_CHECKING:
    from skills_ideas.config import TableConfig

ROLES = {"grant": "admin", "revoke": "user"}


class AdminError(RuntimeError):
    """The command cannot run as asked; the message says why."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "admin",
        help="grant or revoke the admin role (skills catalogue editors)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, role in ROLES.items():
        sub = actions.add_parser(
            action,
            help=f"set USERNAME's role to {role!r}",
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("username", help="the user's login name (any letter case)")
        add_stage_arguments(sub, "change the role")
        add_stack_arguments(sub.add_argument_group("local state"))
        sub.set_defaults(run=run)


@contextlib.contextmanager
def local_table(args: argparse.Namespace) -> Iterator[str]:
    """The table of ``make dev`` (its running server's, else DynamoDB Local started for this)."""
    from skills_ideas.config import TableConfig

    with local_stack(args.state_dir, engine=args.engine) as services:
        if services.engine == "moto" and not services.reused and args.engine != "moto":
            raise AdminError(
                "DynamoDB Local is not available and moto keeps data in memory only: the change "
                "would be lost when this command exits. Start `make dev` first (the command then "
                "uses the running server's store), or install Java 17."
            )
        _bind(TableConfig.from_env())
        yield f"local state {services.state_dir} ({services.engine}{', running server' if services.reused else ''})"


@contextlib.contextmanager
def stage_table(args: argparse.Namespace) -> Iterator[str]:
    """A deployed stage's table, found through its CloudFormation stack's outputs."""
    from skills_ideas.config import TableConfig

    if args.profile:
        os.environ["AWS_PROFILE"] = args.profile  # pynamodb's connection reads the default session
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    table = args.table
    if not table:
        try:
            stage = open_stage(args)
        except StageError as error:
            raise AdminError(str(error)) from None
        table, region = stage.outputs.get(OUTPUT_TABLE), stage.region
        if not table:
            raise AdminError(missing_outputs(stage, [OUTPUT_TABLE], "--table"))
    _bind(TableConfig(table_name=table, region=region, endpoint_url=None))
    yield f"stage {args.stage} (table {table}, {region})"


def _bind(config: TableConfig) -> None:
    from skills_ideas import models

    models.bind(config)


def run(args: argparse.Namespace) -> int:
    from skills_ideas import users
    from skills_ideas.errors import ApiError

    role = ROLES[args.action]
    open_table = stage_table if args.stage else local_table
    try:
        with open_table(args) as where:
            try:
                user = users.set_role(args.username, role)
            except ApiError as error:  # no such user
                print(f"error: {error.message} in {where}", file=sys.stderr)
                return 1
    except (AdminError, LocalEnvError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{user.username} is now {role!r} in {where}; it takes effect at their next login")
    return 0
