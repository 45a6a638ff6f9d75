"""Cold first response per handler against DynamoDB Local, each beside its own floor.

For every function in the manifest (and the authorizer) a fresh interpreter imports the
handler and serves its sample event once. The floor is a fresh interpreter that only imports
boto3, makes a client and does one GetItem. They are measured interleaved, in rounds:
floor, handler, floor, handler... for every function, then the next round, so whatever else
the machine does at a moment weighs on a handler and on the floor it is compared with alike.
A handler's figure is the median of its rounds, its ratio is that over the median of the floor
runs interleaved with it. The target: every handler within 1.4x of the floor, login excepted
(its argon2id verification is the point of it).

    make bench            # prints the table
    make bench WRITE=1    # and writes it into docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from skills_ideas.routes import AUTHORIZER_FUNCTION, ROUTES  # noqa: E402
from skills_ideas_tools import samples  # noqa: E402
from skills_ideas_tools.local_env import LocalServices, default_catalogue_path, local_stack  # noqa: E402

TARGET = 1.4
#: Handlers whose purpose is slow on purpose: shown, but not held to the target.
EXEMPT = {
    "login": "password hashing",
    "change_password": "password hashing, twice",
    "delete_account": "password hashing and the deletion's writes",
}
WRITE_START, WRITE_END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass
class Samples:
    handler: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    status: int = 0

    @property
    def ratio(self) -> float:
        return statistics.median(self.handler) / statistics.median(self.floor)

    def verdict(self, function: str) -> str:
        if self.ratio <= TARGET:
            return "ok"
        return f"over ({EXEMPT[function]}, exempt)" if function in EXEMPT else "OVER"


def reset(services: LocalServices) -> None:
    """Before each handler run: the sample user and idea, and the default skills catalogue, so
    every run of a write event meets the same data (a deleted skill or idea is back)."""
    services.client("s3").put_object(
        Bucket=services.bucket,
        Key=services.catalogue_key,
        Body=default_catalogue_path().read_bytes(),
        ContentType="application/json",
    )
    samples.seed()


def run_once(function: str, event: Path | None, env: dict[str, str]) -> tuple[float, int]:
    output = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(REPO / "bench/cold_child.py"), function, str(event or "")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    lines = [line for line in output.stdout.splitlines() if line.startswith("BENCH ")]
    if output.returncode != 0 or not lines:
        raise SystemExit(f"{function} failed:\n{output.stdout[-2000:]}\n{output.stderr[-2000:]}")
    result = json.loads(lines[-1][6:])
    return result["ms"], result["status"]


def write_events(functions: list[str], into: Path, round_number: int) -> dict[str, Path]:
    """The sample events with a real token; registration gets a new name every round."""
    paths = {}
    for function in functions:
        event = samples.with_sample_token(json.loads((REPO / "events" / f"{function}.json").read_text()))
        if function == "register":
            body = json.loads(event["body"])
            body["username"] = f"{body['username']}{round_number}"
            event["body"] = json.dumps(body)
        paths[function] = into / f"{function}-{round_number}.json"
        paths[function].write_text(json.dumps(event))
    return paths


def measure(functions: list[str], rounds: int, state: Path, services: LocalServices) -> dict[str, Samples]:
    env = {
        **os.environ,
        **services.env(),
        "LOG_LEVEL": "WARNING",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "0",
    }
    results = {function: Samples() for function in functions}
    reset(services)
    for round_number in range(rounds + 1):  # round 0 warms the file cache for everyone, then is dropped
        events = write_events(functions, state, round_number)
        for function in functions:
            reset(services)
            floor_ms, _ = run_once("floor", None, env)
            ms, status = run_once(function, events[function], env)
            if round_number:
                results[function].floor.append(floor_ms)
                results[function].handler.append(ms)
                results[function].status = status
        if round_number:
            print(f"round {round_number}/{rounds} done", file=sys.stderr, flush=True)
    return results


def table(results: dict[str, Samples], rounds: int) -> list[str]:
    floors = [ms for samples_ in results.values() for ms in samples_.floor]
    return [
        f"Floor (import boto3, client, one GetItem): **{statistics.median(floors):.0f} ms** (median of all "
        f"{len(floors)} floor runs). Each handler is compared with the {rounds} floor runs interleaved with "
        f"its own. Target: every handler ≤ {TARGET}× its floor, login excepted.",
        "",
        "| handler | cold first response (ms) | its floor (ms) | × floor | status | verdict |",
        "|---|---:|---:|---:|---:|---|",
        *[
            f"| {function} | {statistics.median(s.handler):.0f} | {statistics.median(s.floor):.0f} "
            f"| {s.ratio:.2f} | {s.status} | {s.verdict(function)} |"
            for function, s in results.items()
        ],
    ]


def write_into(path: Path, lines: list[str]) -> None:
    """Replace the block between the bench markers of ``path`` (append one if there is none)."""
    text = path.read_text() if path.exists() else ""
    block = f"{WRITE_START}\n" + "\n".join(lines) + f"\n{WRITE_END}"
    if WRITE_START in text and WRITE_END in text:
        text = text[: text.index(WRITE_START)] + block + text[text.index(WRITE_END) + len(WRITE_END) :]
    else:
        text = text + "\n" + block + "\n"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (the median is reported)")
    parser.add_argument("--write", type=Path, help="also write the table into this Markdown file")
    parser.add_argument("--only", nargs="*", help="only these functions")
    args = parser.parse_args()

    functions = [r.function for r in ROUTES] + [AUTHORIZER_FUNCTION]
    if args.only:
        functions = [f for f in functions if f in args.only]
    with tempfile.TemporaryDirectory() as state, local_stack(state, engine="java", reuse=False) as services:
        results = measure(functions, args.rounds, Path(state), services)

    lines = table(results, args.rounds)
    print("\n".join(lines))
    if args.write:
        write_into(args.write, lines)
        print(f"written into {args.write}", file=sys.stderr)
    return 1 if any(s.verdict(f) == "OVER" for f, s in results.items()) else 0


if __name__ == "__main__":
    sys.exit(main())
