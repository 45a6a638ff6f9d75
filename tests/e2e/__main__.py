"""``python -m tests.e2e --stage dev`` (``make e2e STAGE=dev``): the HTTP suites against a
deployed stage, with your AWS credentials.

1. Reads the stage's stack outputs: its public URL (CloudFront) and the API stage's own URL.
2. Registers a throwaway user over HTTP and makes it a skills admin
   (``skills-ideas admin grant --stage``), for the admin edit case.
3. Runs tests/contract and tests/e2e against the public URL in a separate pytest process
   (tests marked ``local_only`` are deselected there, tests/e2e/mode.py).
4. Revokes the admin role, whatever happened.

It registers users and ideas (left in place; dev is the stage for this), creates and deletes
one skill, and ends by tripping the registration rate limit for this machine's address
for a few minutes. Arguments after ``--`` go to pytest (e.g. ``-- -k skills -x``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from skills_ideas.deployment import OUTPUT_API_URL, OUTPUT_CLOUDFRONT_URL
from skills_ideas_tools.stage import StageError, missing_outputs, open_stage
from tests.e2e import mode

REPO = Path(__file__).resolve().parents[2]
#: In this order: the rate limit case (tests/e2e/test_rate_limits.py) must come last.
SUITES = ("tests/contract", "tests/e2e/test_edge.py", "tests/e2e/test_rate_limits.py")


def _register(base_url: str, username: str, password: str) -> None:
    request = urllib.request.Request(
        f"{base_url}/api/register",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the stage's own https URL
            if response.status != 201:
                raise SystemExit(f"registering the e2e admin answered {response.status}")
    except urllib.error.HTTPError as error:
        raise SystemExit(f"registering the e2e admin answered {error.code}: {error.read()[:200]!r}") from None


def _admin(action: str, username: str, stage: str, passthrough: list[str]) -> None:
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [sys.executable, "-m", "skills_ideas_tools.cli", "admin", action, username, "--stage", stage, *passthrough],
        cwd=REPO,
        check=True,
    )


def run_suites(env: dict[str, str], pytest_args: list[str]) -> int:
    """The suites against the stage described by ``env`` (the E2E_* variables of mode.py)."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *SUITES, *pytest_args]
    return subprocess.run(command, cwd=REPO, env={**os.environ, **env}, check=False).returncode  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--stack", help="stack name (default: SkillsIdeas-<stage>)")
    parser.add_argument("--profile", help="AWS profile to use")
    parser.add_argument("--region", help="AWS region (default: $AWS_REGION, else us-east-1)")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    args = parser.parse_args(argv)
    try:
        stage = open_stage(args)
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    base_url, direct_url = stage.outputs.get(OUTPUT_CLOUDFRONT_URL), stage.outputs.get(OUTPUT_API_URL)
    if not base_url or not direct_url:
        print(f"error: {missing_outputs(stage, [OUTPUT_CLOUDFRONT_URL, OUTPUT_API_URL], '--stack')}", file=sys.stderr)
        return 2
    base_url = base_url.rstrip("/")
    passthrough = [
        *(["--profile", args.profile] if args.profile else []),
        *(["--region", args.region] if args.region else []),
    ]
    username, password = f"e2e_admin_{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    print(f"e2e against {base_url} (stage {args.stage}); admin {username}")
    _register(base_url, username, password)
    _admin("grant", username, args.stage, passthrough)
    try:
        return run_suites(
            {
                mode.BASE_URL: base_url,
                mode.DIRECT_URL: direct_url,
                mode.STAGE: args.stage,
                mode.ADMIN_USERNAME: username,
                mode.ADMIN_PASSWORD: password,
            },
            args.pytest_args,
        )
    finally:
        _admin("revoke", username, args.stage, passthrough)


if __name__ == "__main__":
    sys.exit(main())
