"""End to end: the CLI migrates into the store a running local server serves; legacy users then
log in over HTTP through the local API Gateway and find their ideas."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from skills_ideas_tools.gateway import running_gateway
from skills_ideas_tools.local_env import local_stack
from tests.migration.legacy import messy
from tests.support import REPO, reset_warm_state


def fresh_handler(function: str):
    """Import a handler under a private name, so it reads the local stack's environment and
    leaves the test suite's warm handlers alone."""
    path = REPO / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"_migration_e2e_{function}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def http(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method="POST" if body is not None else "GET", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_migrate_into_the_running_server_then_log_in_over_http(tmp_path: Path):
    db = messy(tmp_path / "legacy.sqlite")
    state = tmp_path / "state"
    reset_warm_state()
    try:
        # Given `make dev` serving from a state dir (moto here: no Java needed)
        with local_stack(state, engine="moto", publish=True):
            # When the operator runs the command in another process, against that state dir
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "skills_ideas_tools.cli",
                    "migrate",
                    str(db),
                    "--state-dir",
                    str(state),
                    "--no-progress",
                    "--migrated-at",
                    "2026-01-01T00:00:00Z",
                ],
                cwd=REPO,
                env=dict(os.environ),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert "running server" in done.stdout

            # Then legacy users log in over HTTP with their legacy passwords ...
            with running_gateway(fresh_handler) as gw:
                status, body = http(gw.url + "/api/login", {"username": "bob", "password": "bob-password"})
                assert status == 200, body
                assert body["user"] == {"id": "2", "username": "bob"} and body["token"]
                status, body = http(
                    gw.url + "/api/login", {"username": "Bob-legacy3", "password": "other-bob-password"}
                )
                assert status == 200, body
                # ... and find their ideas: by legacy id, and listed by their user id
                status, body = http(gw.url + "/api/ideas/14")
                assert status == 200 and body["data"]["userId"] == "2"
                assert body["data"]["status"] == "In Progress"
                status, body = http(gw.url + "/api/ideas?userId=2")
                assert status == 200 and [i["id"] for i in body["data"]] == ["14"]
    finally:
        reset_warm_state()
