"""``skills-ideas invoke FN EVENT_FILE``: one handler, one event, against the local state.

Like ``sam local invoke`` without Docker. The event is passed as is (protected routes'
authorizer context must be in the event's requestContext). The handler's logs go to stderr,
its result to stdout as JSON. A running ``serve`` on the same state dir is reused.

First it seeds the user and idea the sample events in ``events/`` name (only what is
missing), and puts a real token of that user where an event says
``<token from POST /api/login>``; ``--no-samples`` skips both.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from contextlib import redirect_stdout
from pathlib import Path

from skills_ideas.routes import functions

from . import samples
from .lambda_runtime import HandlerError, Loader, WarmHandlers, module_loader
from .local_env import LocalEnvError, add_stack_arguments, local_stack, repo_root


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("invoke", help="run one handler on one event (make invoke)", description=__doc__)
    parser.add_argument("function", help="function name from the route manifest, e.g. login")
    parser.add_argument("event", help="JSON event file, e.g. events/login.json")
    parser.add_argument(
        "--no-samples",
        dest="samples",
        action="store_false",
        help="do not seed the sample user and idea, nor fill in the token placeholder",
    )
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


def make_loader() -> Loader:
    """Where handlers come from; tests replace this with fakes."""
    return module_loader(repo_root())


def _read_event(path: str) -> dict:
    try:
        event = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"cannot read event file {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"event file {path} is not valid JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise ValueError(f"event file {path} must hold a JSON object")
    return event


def _writes_catalogue(event: dict, result: object) -> bool:
    path = str(event.get("path") or "")
    return (
        event.get("httpMethod", "GET") != "GET"
        and (path == "/api/skills" or path.startswith("/api/skills/"))
        and isinstance(result, dict)
        and 200 <= int(result.get("statusCode") or 0) < 300
    )


def _logs_to_stderr(stdout: object) -> None:
    """Loggers created before the redirect (the layer's Powertools logger is, as soon as any
    layer module is imported) still hold the real stdout: point them at stderr too."""
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream in (stdout, sys.__stdout__):
                handler.setStream(sys.stderr)


def _with_samples(event: dict) -> dict:
    """Seed what the sample events name; the event with a real token in place of the placeholder."""
    try:
        seeded = samples.seed()
    except samples.SampleConflict as exc:
        print(f"warning: {exc}", file=sys.stderr)
    else:
        if seeded.user or seeded.idea:
            print(f"seeded the sample {seeded.describe()}", file=sys.stderr)
    return samples.with_sample_token(event)


def run(args: argparse.Namespace) -> int:
    known = functions()
    if args.function not in known:
        print(f"error: unknown function {args.function!r}; known functions: {', '.join(known)}", file=sys.stderr)
        return 2
    try:
        event = _read_event(args.event)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with local_stack(args.state_dir, engine=args.engine) as services:
            handlers = WarmHandlers(make_loader())
            stdout = sys.stdout
            try:
                with redirect_stdout(sys.stderr):  # handler logs must not mix with the result
                    if args.samples:
                        event = _with_samples(event)
                    handlers.get(args.function)
                    _logs_to_stderr(stdout)
                    result = handlers.invoke(args.function, event, services.region)
            except HandlerError as exc:
                cause = exc.__cause__ or exc
                traceback.print_exception(cause, file=sys.stderr)
                print(json.dumps({"errorMessage": str(cause), "errorType": type(cause).__name__}, indent=2))
                return 1
            if _writes_catalogue(event, result):
                services.snapshot_catalogue()
    except LocalEnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
