"""Cold first response per handler against DynamoDB Local, beside a floor handler.

For every function in the manifest (and the authorizer): start a fresh interpreter that
imports the handler and serves its sample event once; take the median of N runs. The floor
is a handler that only imports boto3, makes a client and does one GetItem. The target is
every handler <= 1.5x the floor (login may add its password hashing).

    make bench                 # prints the table and writes it to docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from skills_ideas.routes import AUTHORIZER_FUNCTION, ROUTES  # noqa: E402
from skills_ideas_tools.local_env import LocalServices, local_stack  # noqa: E402

SAMPLE_USER_ID = "01JD5X8Q3ZK2M4N6P8R0T2V4W6"
SAMPLE_USERNAME = "ada"
SAMPLE_PASSWORD = "correct-horse-battery"
LIMIT = 1.5
HASHING = {"login", "register"}


def seed(password_hash: str, services: LocalServices) -> None:
    """Put the data every sample event expects: user `ada` with the events' id, idea 12, and
    the default skills catalogue (so every skill write event meets the same catalogue)."""
    catalogue = REPO / "layers/common/python/skills_ideas/data/skills.json"
    services.client("s3").put_object(
        Bucket=services.bucket, Key=services.catalogue_key, Body=catalogue.read_bytes(), ContentType="application/json"
    )
    from skills_ideas import ideas, models, users
    from skills_ideas.config import TableConfig

    models.bind(TableConfig.from_env())
    for item in models.UsernameModel.query(users.username_key(SAMPLE_USERNAME)):
        item.delete()
    models.UserModel(
        users.user_key(SAMPLE_USER_ID),
        userId=SAMPLE_USER_ID,
        username=SAMPLE_USERNAME,
        usernameLower=SAMPLE_USERNAME,
        passwordHash=password_hash,
        role="user",
        createdAt="2026-11-01T00:00:00.000Z",
    ).save()
    models.UsernameModel(users.username_key(SAMPLE_USERNAME), userId=SAMPLE_USER_ID, username=SAMPLE_USERNAME).save()
    idea, alias = ideas.aliased_item(
        SAMPLE_USER_ID,
        "12",
        "2026-11-01T00:00:00.000Z",
        12,
        title="Skill-swap evenings",
        description="Seeded",
        status="Planning",
        updatedAt="2026-11-01T00:00:00.000Z",
    )
    alias.save()
    idea.save(add_version_condition=False)


def prepare_for(function: str) -> None:
    """Registration of `ada` must find the name free; every other event finds it taken."""
    if function == "register":
        from skills_ideas import models, users

        models.UsernameModel(users.username_key(SAMPLE_USERNAME), "USERNAME").delete()


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold starts per handler (median is reported)")
    parser.add_argument("--write", type=Path, help="also write the table into this Markdown file")
    parser.add_argument("--only", nargs="*", help="only these functions")
    args = parser.parse_args()

    from skills_ideas import passwords, tokens
    from skills_ideas.config import AuthConfig

    functions = [r.function for r in ROUTES] + [AUTHORIZER_FUNCTION]
    if args.only:
        functions = [f for f in functions if f in args.only]
    password_hash = passwords.hash_password(SAMPLE_PASSWORD)
    with tempfile.TemporaryDirectory() as state, local_stack(state, engine="java", reuse=False) as services:
        env = {
            **os.environ,
            **services.env(),
            "LOG_LEVEL": "WARNING",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "0",
        }
        token = tokens.issue(AuthConfig.from_env(), user_id=SAMPLE_USER_ID, username=SAMPLE_USERNAME, role="user")
        events_dir = Path(state) / "events"
        events_dir.mkdir()
        # Protected events carry a placeholder; give them a real token so the authorizer allows.
        for function in functions:
            text = (REPO / "events" / f"{function}.json").read_text()
            (events_dir / f"{function}.json").write_text(text.replace("<token from POST /api/login>", token))
        seed(password_hash, services)
        run_once("floor", None, env)  # warm the OS file cache once, for everyone alike
        rows = []
        floor = statistics.median(run_once("floor", None, env)[0] for _ in range(args.runs))
        for function in functions:
            samples = []
            status = 0
            for _ in range(args.runs):
                seed(password_hash, services)
                prepare_for(function)
                ms, status = run_once(function, events_dir / f"{function}.json", env)
                samples.append(ms)
            median = statistics.median(samples)
            ratio = median / floor
            verdict = "ok" if ratio <= LIMIT else ("hashing" if function in HASHING else "OVER")
            rows.append((function, median, ratio, status, verdict))
            print(f"{function:26} {median:8.1f} ms  {ratio:4.2f}x  HTTP {status}  {verdict}", flush=True)

    table = [
        f"Floor (import boto3, client, one GetItem): **{floor:.0f} ms** (median of {args.runs}).",
        "",
        "| handler | cold first response (ms) | × floor | status | verdict |",
        "|---|---:|---:|---:|---|",
        *[f"| {f} | {m:.0f} | {r:.2f} | {s} | {v} |" for f, m, r, s, v in rows],
    ]
    print("\n".join(table))
    if args.write:
        text = args.write.read_text() if args.write.exists() else ""
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        block = f"{start}\n" + "\n".join(table) + f"\n{end}"
        if start in text and end in text:
            text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
        else:
            text = text + "\n" + block + "\n"
        args.write.write_text(text)
    return 1 if any(v == "OVER" for *_, v in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
