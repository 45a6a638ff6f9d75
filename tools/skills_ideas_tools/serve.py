"""``skills-ideas serve``: the API on http://127.0.0.1:3000 against the local services.

The console gets one line per request (method, path, status, duration, function) and the
warnings and errors; the handlers' own output (Powertools JSON logs, EMF metric blobs) and
full tracebacks go to ``handlers.log`` in the state dir. DynamoDB Local is watched and
restarted if it dies.
"""

from __future__ import annotations

import _thread
import argparse
import io
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from skills_ideas.events import SUBSCRIPTIONS
from skills_ideas.routes import Route

from .dynamodb_local import Watchdog
from .gateway import Gateway, GatewayServer, running_gateway
from .lambda_runtime import Handler, Loader, WarmHandlers, module_loader
from .local_env import (
    DYNAMODB_DIR,
    Engine,
    LocalEnvError,
    LocalServices,
    add_stack_arguments,
    local_stack,
    repo_root,
)
from .streams import running_pipeline

log = logging.getLogger("skills_ideas_tools.serve")
DEFAULT_PORT = 3000
DEFAULT_DYNAMODB_RESTARTS = 3
HANDLER_LOG = "handlers.log"
#: A handlers.log larger than this at start is moved to handlers.log.1 (one previous run kept).
HANDLER_LOG_ROTATE_BYTES = 20 * 1024 * 1024


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the API locally (make dev)", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help=f"default: $PORT or {DEFAULT_PORT}; 0 picks a free port")
    parser.add_argument(
        "--dynamodb-restarts",
        type=int,
        default=DEFAULT_DYNAMODB_RESTARTS,
        help="restarts of a dead DynamoDB Local (within 10 minutes) before serve gives up and exits 1",
    )
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


def catalogue_snapshotter(services: LocalServices):
    """After a successful write under /api/skills, keep the catalogue beyond moto's memory."""

    def after_success(route: Route, path: str) -> None:
        if route.method == "GET" or not (path == "/api/skills" or path.startswith("/api/skills/")):
            return
        try:
            services.snapshot_catalogue()
        except Exception:
            log.exception("could not snapshot the catalogue into %s", services.state_dir)

    return after_success


@contextmanager
def watching_dynamodb(
    services: LocalServices,
    *,
    max_restarts: int = DEFAULT_DYNAMODB_RESTARTS,
    on_give_up: Callable[[str], None] | None = None,
    on_restart: Callable[[int], None] | None = None,
) -> Iterator[Watchdog | None]:
    """Restart the stack's DynamoDB Local when it dies (nothing to watch on moto or a reused stack)."""
    port = urlsplit(services.dynamodb_endpoint).port
    if services.engine != "dynamodb-local" or services.reused or not services.dynamodb_pid or port is None:
        yield None
        return

    def restarted(pid: int) -> None:
        services.dynamodb_pid = pid
        if on_restart is not None:
            on_restart(pid)

    watchdog = Watchdog(
        services.state_dir / DYNAMODB_DIR,
        port,
        services.dynamodb_pid,
        max_restarts=max_restarts,
        on_restart=restarted,
        on_give_up=on_give_up,
    )
    with watchdog:
        yield watchdog


@contextmanager
def local_api(
    state_dir: str | os.PathLike | None = None,
    *,
    engine: Engine = "auto",
    loader: Loader | None = None,
    catalogue_path: str | os.PathLike | None = None,
    dynamodb_restarts: int = DEFAULT_DYNAMODB_RESTARTS,
) -> Iterator[tuple[GatewayServer, LocalServices]]:
    """What ``serve`` runs, in a background thread on a free port: for HTTP contract tests.

    Handlers read their configuration when first imported, so use one of these per test
    session (the real handlers stay imported, bound to the first stack's endpoints).
    """
    with (
        local_stack(state_dir, engine=engine, catalogue_path=catalogue_path, reuse=False) as services,
        watching_dynamodb(services, max_restarts=dynamodb_restarts),
        running_gateway(
            loader or module_loader(repo_root()), region=services.region, after_success=catalogue_snapshotter(services)
        ) as server,
    ):
        yield server, services


# --------------------------------------------------------------------------------- the console


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS message`` for the request lines, the level in front of anything louder, and
    no tracebacks: the cause is in the message, the traceback in handlers.log."""

    def __init__(self, handler_log: Path | None = None) -> None:
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")
        self.handler_log = handler_log

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record, self.datefmt)} "
        if record.levelno > logging.INFO:
            line += f"{record.levelname} "
        line += record.getMessage()
        if record.exc_info and self.handler_log is not None:
            line += f" (traceback in {self.handler_log})"
        return line


class HandlerLog(io.TextIOBase):
    """Where the handlers' stdout goes: whole lines appended to a file, and one console line
    for each of their JSON log records at WARNING or above. Thread-safe: every thread's
    partial writes are kept apart until its line is complete."""

    def __init__(self, path: Path, console: logging.Logger) -> None:
        super().__init__()
        self.path = path
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed by close()
        self._console = console
        self._lock = threading.Lock()
        self._partial = threading.local()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pending = getattr(self._partial, "text", "") + text
        *lines, rest = pending.split("\n")
        self._partial.text = rest
        if lines:
            with self._lock:
                self._file.write("\n".join(lines) + "\n")
            for line in lines:
                self._summarise(line)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
        super().close()

    def _summarise(self, line: str) -> None:
        if not line.startswith("{") or '"level"' not in line:
            return
        try:
            record = json.loads(line)
        except ValueError:
            return
        level = logging.getLevelName(str(record.get("level", "")).upper())
        if not isinstance(level, int) or level < logging.WARNING:
            return
        where = record.get("function_name") or record.get("service") or "handler"
        detail = ""
        if record.get("exception_name"):
            last = str(record.get("exception", "")).strip().splitlines()
            detail = f" ({last[-1] if last else record['exception_name']})"
        self._console.log(level, "%s: %s%s", where, record.get("message"), detail)


def _rotate(path: Path) -> None:
    if path.is_file() and path.stat().st_size > HANDLER_LOG_ROTATE_BYTES:
        os.replace(path, path.with_name(path.name + ".1"))


def _point_stdout_loggers_at(stream: io.TextIOBase | TextIO) -> None:
    """Loggers that write to stdout (the handlers' Powertools loggers) write to ``stream``, and
    only there: propagated to the root logger they would reach the console a second time."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.__stdout__, stream):
                handler.setStream(stream)
                logger.propagate = False


def handler_output_loader(loader: Loader) -> Loader:
    """``loader``, re-pointing at the redirected stdout any logger the handler set up on the real one."""

    def load(function: str) -> Handler:
        handler = loader(function)
        if sys.stdout is not sys.__stdout__:
            _point_stdout_loggers_at(sys.stdout)
        return handler

    return load


@contextmanager
def calm_console(state_dir: Path) -> Iterator[Path]:
    """Console: one line per request plus warnings and errors. handlers.log: the rest."""
    path = state_dir / HANDLER_LOG
    _rotate(path)
    tools = logging.getLogger("skills_ideas_tools")
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(ConsoleFormatter(path))
    sink = HandlerLog(path, tools.getChild("handlers"))
    tracebacks = logging.StreamHandler(sink)  # full tracebacks of the gateway's errors, in the file
    tracebacks.setLevel(logging.ERROR)
    tracebacks.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    saved = (tools.handlers[:], tools.level, tools.propagate, sys.stdout)
    tools.handlers[:] = [console, tracebacks]
    tools.setLevel(logging.INFO)
    tools.propagate = False
    sys.stdout = sink
    _point_stdout_loggers_at(sink)
    try:
        yield path
    finally:
        sys.stdout = saved[3]
        tools.handlers[:], tools.level, tools.propagate = saved[0], saved[1], saved[2]
        sink.close()


# -------------------------------------------------------------------------------------- serve


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("skills_ideas_tools").setLevel(logging.INFO)  # start-up messages
    port = args.port if args.port is not None else int(os.environ.get("PORT") or DEFAULT_PORT)
    gateway = Gateway(handler_output_loader(module_loader(repo_root())))
    try:
        server = GatewayServer(gateway, args.host, port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{port}: {exc.strerror} (set PORT to another port)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    gave_up: list[str] = []

    def give_up(message: str) -> None:
        gave_up.append(message)
        _thread.interrupt_main()  # like Ctrl-C: stops serve_forever, or the start-up, in the main thread

    try:
        with local_stack(args.state_dir, engine=args.engine, publish=True) as services:
            gateway.region = services.region
            gateway.after_success = catalogue_snapshotter(services)
            with (
                calm_console(services.state_dir) as handler_log,
                watching_dynamodb(
                    services,
                    max_restarts=args.dynamodb_restarts,
                    on_give_up=give_up,
                    on_restart=lambda pid: services.publish(gateway_url=server.url),
                ),
                # The table's stream -> events function -> bus -> consumers, as in the cloud.
                running_pipeline(services, WarmHandlers(handler_output_loader(module_loader(repo_root()))).invoke),
            ):
                services.publish(gateway_url=server.url)
                print(
                    f"Skills & Ideas API on {server.url}\n"
                    f"  DynamoDB  {services.engine} at {services.dynamodb_endpoint}, "
                    f"table {services.table_name}\n"
                    f"  S3        moto at {services.s3_endpoint}, "
                    f"s3://{services.bucket}/{services.catalogue_key}\n"
                    "  events    the table's stream -> events -> moto EventBridge -> "
                    f"{', '.join(sub.function for sub in SUBSCRIPTIONS)}\n"
                    f"  state     {services.state_dir}\n"
                    f"  handler logs and tracebacks in {handler_log}\n"
                    "Ctrl-C stops everything.",
                    file=sys.stderr,
                    flush=True,
                )
                try:
                    server.serve_forever()
                except KeyboardInterrupt:
                    print("stopping...", file=sys.stderr, flush=True)
                server.stop()  # no new request while the console and the services are put back
    except LocalEnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while the services were starting
        print("interrupted", file=sys.stderr)
        return 1 if gave_up else 130
    finally:
        server.stop()
    if gave_up:
        print("stopped: the API cannot run without its table (see above).", file=sys.stderr)
        return 1
    return 0
