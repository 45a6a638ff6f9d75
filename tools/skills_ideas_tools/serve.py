"""``skills-ideas serve``: the API on http://127.0.0.1:3000 against the local services."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from skills_ideas.routes import Route

from .gateway import Gateway, GatewayServer, running_gateway
from .lambda_runtime import Loader, module_loader
from .local_env import Engine, LocalEnvError, LocalServices, add_stack_arguments, local_stack, repo_root

log = logging.getLogger("skills_ideas_tools.serve")
DEFAULT_PORT = 3000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="serve the API locally (make dev)", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help=f"default: $PORT or {DEFAULT_PORT}; 0 picks a free port")
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
def local_api(
    state_dir: str | os.PathLike | None = None,
    *,
    engine: Engine = "auto",
    loader: Loader | None = None,
    catalogue_path: str | os.PathLike | None = None,
) -> Iterator[tuple[GatewayServer, LocalServices]]:
    """What ``serve`` runs, in a background thread on a free port: for HTTP contract tests.

    Handlers read their configuration when first imported, so use one of these per test
    session (the real handlers stay imported, bound to the first stack's endpoints).
    """
    with (
        local_stack(state_dir, engine=engine, catalogue_path=catalogue_path, reuse=False) as services,
        running_gateway(
            loader or module_loader(repo_root()), region=services.region, after_success=catalogue_snapshotter(services)
        ) as server,
    ):
        yield server, services


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("skills_ideas_tools").setLevel(logging.INFO)  # access log and start-up
    port = args.port if args.port is not None else int(os.environ.get("PORT") or DEFAULT_PORT)
    gateway = Gateway(module_loader(repo_root()))
    try:
        server = GatewayServer(gateway, args.host, port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{port}: {exc.strerror} (set PORT to another port)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with local_stack(args.state_dir, engine=args.engine, publish=True) as services:
            gateway.region = services.region
            gateway.after_success = catalogue_snapshotter(services)
            services.publish(gateway_url=server.url)
            print(
                f"Skills & Ideas API on {server.url}\n"
                f"  DynamoDB  {services.engine} at {services.dynamodb_endpoint}, "
                f"table {services.table_name}\n"
                f"  S3        moto at {services.s3_endpoint}, "
                f"s3://{services.bucket}/{services.catalogue_key}\n"
                f"  state     {services.state_dir}\n"
                "Ctrl-C stops everything.",
                file=sys.stderr,
                flush=True,
            )
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                print("stopping...", file=sys.stderr, flush=True)
    except LocalEnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while the services were starting
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        server.stop()
    return 0
