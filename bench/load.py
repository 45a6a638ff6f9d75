"""``make load``: a bounded, headless locust run at 1, 8, 32 and 64 users; writes docs/load.md.

Without ``--host`` it starts the local stack itself, the way ``make dev`` does (DynamoDB Local,
the S3 emulation and the gateway, via ``skills-ideas serve``), on a free port and a fresh
temporary state dir, so it runs on a fresh clone and never touches ``.local/``. With
``--host https://...`` (``make load HOST=...``) it loads that deployed stage instead; nothing
else is ever targeted.

Each level runs for ``--run-time`` or ``--max-requests`` requests, whichever comes first,
after a short warm-up that imports every handler. The traffic mix is bench/locustfile.py.

    make load                                    # local stack, writes docs/load.md
    make load HOST=https://<api>.execute-api.us-east-1.amazonaws.com/prod
    .venv/bin/python bench/load.py --users 1,8 --run-time 10s   # a quicker look, prints only
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = REPO / "bench" / "locustfile.py"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Row:
    """One line of locust's _stats.csv: an endpoint (method + route template) or the total."""

    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


@dataclass
class Level:
    users: int
    rows: list[Row]
    failures: list[str]
    exit_code: int

    @property
    def total(self) -> Row:
        return next(row for row in self.rows if row.name == "Aggregated")

    @property
    def endpoints(self) -> list[Row]:
        return [row for row in self.rows if row.name != "Aggregated"]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- the local stack


@contextlib.contextmanager
def local_stack(work: Path) -> Iterator[tuple[str, str]]:
    """``skills-ideas serve`` on a free port and a fresh state dir; yields (url, engine)."""
    state = work / "state"
    console = open(work / "serve-console.log", "w")  # noqa: SIM115 - closed below
    serve = subprocess.Popen(
        [sys.executable, "-m", "skills_ideas_tools.cli", "serve", "--port", "0", "--state-dir", str(state)],
        cwd=REPO,
        stdout=console,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 180
        services: dict = {}
        while time.monotonic() < deadline and serve.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                services = json.loads((state / "services.json").read_text())
            if "gateway_url" in services:
                break
            time.sleep(0.2)
        if "gateway_url" not in services:
            raise SystemExit(f"the local stack did not start:\n{(work / 'serve-console.log').read_text()[-3000:]}")
        yield services["gateway_url"], services["engine"]
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(60)
            except subprocess.TimeoutExpired:
                serve.kill()
        console.close()


# ----------------------------------------------------------------------------------- accounts


def _post(url: str, payload: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def prepare_accounts(host: str, count: int, path: Path) -> None:
    """Register and log in ``count`` users (8 at a time) for the locust users to take in turn,
    so that a level measures the mix and not ``count`` simultaneous password hashes."""

    def one(_: int) -> dict:
        username, password = f"load_{uuid.uuid4().hex[:16]}", f"pw-{uuid.uuid4().hex}"
        user = _post(f"{host}/api/register", {"username": username, "password": password})["data"]
        token = _post(f"{host}/api/login", {"username": username, "password": password})["token"]
        return {"username": username, "password": password, "userId": user["id"], "token": token}

    with ThreadPoolExecutor(max_workers=8) as pool:
        accounts = list(pool.map(one, range(count)))
    path.write_text(json.dumps(accounts))


# ------------------------------------------------------------------------------------- locust


def run_locust(host: str, users: int, run_time: str, max_requests: int, prefix: Path) -> int:
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        run_time,
        "--max-requests",
        str(max_requests),
        "--stop-timeout",
        "10",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    with open(f"{prefix}.log", "w") as output:
        return subprocess.run(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, check=False).returncode  # noqa: S603


def read_level(users: int, prefix: Path, exit_code: int) -> Level:
    rows = []
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for record in csv.DictReader(handle):
            rows.append(
                Row(
                    method=record["Type"],
                    name=record["Name"],
                    requests=int(record["Request Count"]),
                    failures=int(record["Failure Count"]),
                    rps=float(record["Requests/s"]),
                    p50=float(record["50%"]),
                    p95=float(record["95%"]),
                    p99=float(record["99%"]),
                )
            )
    failures = []
    with contextlib.suppress(FileNotFoundError), open(f"{prefix}_failures.csv", newline="") as handle:
        for record in csv.DictReader(handle):
            failures.append(f"{record['Name']}: {record['Error']} ({record['Occurrences']}x)")
    return Level(users, rows, failures, exit_code)


# ------------------------------------------------------------------------------------- report


def _ms(value: float) -> str:
    return f"{value:.0f}"


def report(levels: list[Level], *, target: str, run_time: str, max_requests: int) -> str:
    top = levels[-1]
    lines = [
        "# Load: the API under a realistic traffic mix",
        "",
        "Written by `make load` (`bench/load.py`, traffic in `bench/locustfile.py`); do not edit by hand.",
        "",
        f"- **Target**: {target}",
        f"- **Machine**: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        "locust runs on the same machine, so it shares the CPU with the API",
        f"- **Each level**: {run_time} or {max_requests} requests, whichever comes first, all users started at "
        "once, after a warm-up that imports every handler; think time 0.05–0.5 s between a user's requests",
        "- **Mix** (task weights of 100): 60 reads of skills (list, filters, one skill, categories, one category) "
        "and of the ideas feed (pages following `nextCursor`, `status=`, `userId=`); 15 reads of one idea; "
        "10 logins, one in ten of them a newcomer who registers first; 15 writes (create, PATCH, PUT, DELETE "
        "of the user's own ideas). Users start logged in, with accounts registered before the first level.",
        "",
        "## By number of users",
        "",
        "| users | requests | errors | rps | p50 ms | p95 ms | p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in levels:
        total = level.total
        lines.append(
            f"| {level.users} | {total.requests} | {total.failures} | {total.rps:.1f} | "
            f"{_ms(total.p50)} | {_ms(total.p95)} | {_ms(total.p99)} |"
        )
    lines += [
        "",
        f"## By endpoint, at {top.users} users",
        "",
        "| endpoint | requests | rps | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sorted(top.endpoints, key=lambda r: -r.requests):
        lines.append(
            f"| `{row.name}` | {row.requests} | {row.rps:.1f} | {_ms(row.p50)} | {_ms(row.p95)} | "
            f"{_ms(row.p99)} | {row.failures} |"
        )
    failures = [(level.users, failure) for level in levels for failure in level.failures]
    lines += ["", "## Errors", ""]
    if failures:
        lines += [f"- {users} users: {failure}" for users, failure in failures]
    else:
        lines.append("None at any level.")
    lines += [
        "",
        "## Reading it",
        "",
        "Percentiles are locust's (rounded to two significant digits above 100 ms). Locally the API",
        "is one Python process (handlers in threads, one GIL) in front of DynamoDB Local, on the same",
        "cores as the load generator: the figures say where the local stack saturates and that it",
        "stays correct under concurrency (zero errors), not what Lambda would do. Logins and",
        "registrations are dominated by argon2id hashing (19 MiB, t=2), on purpose. Against a deployed",
        "stage (`make load HOST=https://...`) every function scales out on its own.",
        "",
    ]
    return "\n".join(lines)


def _check_target(host: str) -> str:
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SystemExit(f"--host must be an http(s) URL such as https://<api-id>.execute-api.../prod: {host!r}")
    return host.rstrip("/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--host", help="a deployed stage, e.g. https://<api-id>.execute-api.<region>.amazonaws.com/prod"
    )
    parser.add_argument("--users", default="1,8,32,64", help="comma-separated user counts, one run each")
    parser.add_argument("--run-time", default="20s", help="longest run per level (locust syntax: 20s, 1m)")
    parser.add_argument("--max-requests", type=int, default=4000, help="request cap per level")
    parser.add_argument("--write", type=Path, help="write the report here (e.g. docs/load.md)")
    args = parser.parse_args(argv)
    user_levels = [int(n) for n in args.users.split(",") if n.strip()]
    if shutil.which("java") is None and not args.host:
        _say("note: no Java here, so the local stack keeps the table in moto (the report says which)")

    with tempfile.TemporaryDirectory(prefix="skills-ideas-load-") as tmp:
        work = Path(tmp)
        with contextlib.ExitStack() as stack:
            if args.host:
                host, target = _check_target(args.host), f"deployed stage at {args.host}"
            else:
                host, engine = stack.enter_context(local_stack(work))
                assert urlsplit(host).hostname in LOOPBACK, host  # never anything but this machine
                target = f"local stack (`skills-ideas serve`: gateway, DynamoDB {engine}, S3 emulation, fresh state)"
            _say(f"load target: {target}")
            accounts = work / "accounts.json"
            started = time.monotonic()
            prepare_accounts(host, max(user_levels), accounts)
            os.environ["SKILLS_IDEAS_LOAD_ACCOUNTS"] = str(accounts)
            _say(f"{max(user_levels)} accounts registered and logged in ({time.monotonic() - started:.0f}s)")
            _say("warm-up: 4 users for 5s (imports every handler; not reported)")
            run_locust(host, 4, "5s", args.max_requests, work / "warmup")
            levels = []
            for users in user_levels:
                _say(f"{users} users: up to {args.run_time} or {args.max_requests} requests...")
                prefix = work / f"users{users}"
                code = run_locust(host, users, args.run_time, args.max_requests, prefix)
                try:
                    level = read_level(users, prefix, code)
                except (FileNotFoundError, StopIteration):
                    _say(Path(f"{prefix}.log").read_text()[-3000:])
                    raise SystemExit(f"locust did not finish the {users}-user run") from None
                levels.append(level)
                total = level.total
                _say(
                    f"  {total.requests} requests, {total.failures} errors, {total.rps:.1f} rps, "
                    f"p50 {_ms(total.p50)} ms, p95 {_ms(total.p95)} ms, p99 {_ms(total.p99)} ms"
                )
        text = report(levels, target=target, run_time=args.run_time, max_requests=args.max_requests)
    print(text)
    if args.write:
        args.write.write_text(text)
        _say(f"written to {args.write}")
    errors = sum(level.total.failures for level in levels)
    if errors:
        _say(f"{errors} requests failed: see the Errors section")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
