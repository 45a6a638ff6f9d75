"""``skills-ideas admin ACTION``: operator commands on accounts (docs/accounts.md).

    grant USERNAME          make a user an admin of the skills catalogue
    revoke USERNAME         make them a plain user again
    sessions USERNAME       list a user's live sessions
    end-sessions USERNAME   end every session of a user (their tokens stop working)
    finish-deletions        remove now what is left of deleted accounts with many ideas

Works on the local state of ``make dev`` by default (a running ``serve`` on the same state dir
is reused), or on a deployed stage with ``--stage`` and your own AWS credentials (the table
comes from the outputs of the stage's CloudFormation stack).

The request authorizer reads every token's session and the account's current role, so a
role change or ended sessions take effect within the stage's authorizer cache TTL (60 s in
dev, 300 s in prod; at once locally, where the gateway does not cache): the command says
which.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from skills_ideas.deployment import OUTPUT_TABLE

from .local_env import LocalEnvError, add_stack_arguments, local_stack
from .stage import StageError, add_stage_arguments, missing_outputs, open_stage

if TYPE_CHECKING:
    from skills_ideas.config import TableConfig

ROLES = {"grant": "admin", "revoke": "user"}
#: The other actions: name -> (help, takes a USERNAME).
ACTIONS = {
    "sessions": ("list USERNAME's live sessions", True),
    "end-sessions": ("end every session of USERNAME (their tokens stop working)", True),
    "finish-deletions": (
        "remove now what is left of deleted accounts whose ideas were too many for one request "
        "(the scheduled finish_deletions function does it every few minutes)",
        False,
    ),
}


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
    helps = {action: (f"set USERNAME's role to {role!r}", True) for action, role in ROLES.items()} | ACTIONS
    for action, (text, named) in helps.items():
        sub = actions.add_parser(
            action, help=text, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        if named:
            sub.add_argument("username", help="the user's login name (any letter case)")
        add_target_arguments(sub, "act")
        sub.set_defaults(run=run)


def add_target_arguments(parser: argparse.ArgumentParser, action: str, *, bucket: bool = False) -> None:
    """Where an operator command acts: a deployed stage (``--stage``...) or the local state."""
    add_stage_arguments(parser, action, bucket=bucket)
    add_stack_arguments(parser.add_argument_group("local state"))


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


def takes_effect(stage: str | None) -> str:
    """When a change reaches tokens already issued: the stage's authorizer cache TTL."""
    if not stage:
        return "at once (the local gateway does not cache the authorizer's answers)"
    try:
        from .local_env import repo_root

        if str(repo_root()) not in sys.path:
            sys.path.append(str(repo_root()))
        from infra.config import STAGES

        ttl = STAGES[stage].authorizer_cache_ttl_seconds
    except (ImportError, KeyError):
        return "within the stage's authorizer cache TTL (infra/config.py)"
    return f"within {ttl} s (the authorizer cache TTL of stage {stage})"


def _audit(record: Callable[[], None]) -> None:
    """Write a security event to stderr: stdout is the command's own answer."""
    with contextlib.redirect_stdout(sys.stderr):
        record()


def _act(args: argparse.Namespace, where: str) -> str:
    """Do the action; its report for stdout."""
    from skills_ideas import account, audit, sessions, users
    from skills_ideas.errors import NotFound

    if args.action == "finish-deletions":
        # What the scheduled finish_deletions function does, without its time limit.
        finished = account.finish_pending_deletions(lambda: math.inf)
        lines = [f"{f.user_id}: {f.ideas_deleted} ideas removed, done" for f in finished]
        return "\n".join(lines) or f"no deletion pending in {where}"
    found = users.find_login(args.username)
    if found is None:
        raise NotFound(f"No user named {args.username!r}")
    user = found[0]
    if args.action in ROLES:
        role = ROLES[args.action]
        users.set_role(args.username, role)
        _audit(lambda: audit.role_changed(user_id=user.id, role=role, by="operator"))
        return f"{user.username} is now {role!r} in {where}; it takes effect {takes_effect(args.stage)}"
    if args.action == "sessions":
        live = sessions.list_live(user.id, user.session_epoch, time.time())
        rows = [
            f"{s.id}  created {s.created_at}  last used {s.last_used_at}  {s.source_ip or '-'}  {s.user_agent or '-'}"
            for s in live
        ]
        return "\n".join([f"{len(live)} live session(s) of {user.username} in {where}", *rows])
    ended = 0
    while True:  # end-sessions: every one of them, a page at a time
        batch = sessions.end_all(user.id)
        ended += batch
        if batch < sessions.PAGE:
            break
    _audit(lambda: audit.sessions_ended(user_id=user.id, how="operator", ended=ended))
    return f"ended {ended} session(s) of {user.username} in {where}; it takes effect {takes_effect(args.stage)}"


def run(args: argparse.Namespace) -> int:
    from skills_ideas.errors import ApiError

    open_table = stage_table if args.stage else local_table
    try:
        with open_table(args) as where:
            try:
                report = _act(args, where)
            except ApiError as error:  # no such user
                print(f"error: {error.message} in {where}", file=sys.stderr)
                return 1
    except (AdminError, LocalEnvError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report)
    return 0
