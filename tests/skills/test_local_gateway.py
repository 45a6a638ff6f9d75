"""End to end through ``make dev``'s pieces: the local API Gateway over the local state, the
operator command in another process, HTTP caching and an admin write."""

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
from tests.support import REPO, reset_warm_state

_loaded: dict[str, object] = {}


def fresh_handler(function: str):
    """Import a handler under a private name, so it reads the local stack's environment and
    leaves the test suite's warm handlers alone."""
    if function not in _loaded:
        path = REPO / "functions" / function / "app.py"
        spec = importlib.util.spec_from_file_location(f"_skills_e2e_{function}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _loaded[function] = module.lambda_handler
    return _loaded[function]


def http(url: str, method: str = "GET", body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, dict(response.headers.items()), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers.items()), json.loads(raw) if raw else None


def admin_command(*args: str, state: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "skills_ideas_tools.cli", "admin", *args, "--state-dir", str(state)],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_admin_session_and_http_caching_through_the_local_gateway(tmp_path: Path):
    state = tmp_path / "state"
    reset_warm_state()
    _loaded.clear()
    try:
        # Given `make dev` serving from a state dir (moto: no Java needed)
        with local_stack(state, engine="moto", publish=True), running_gateway(fresh_handler) as gw:
            api = gw.url + "/api"
            status, headers, listing = http(api + "/skills")
            assert status == 200 and headers["Cache-Control"].startswith("public, max-age=")
            etag = headers["ETag"]
            # a client holding that representation revalidates: 304, no body
            status, headers, body = http(api + "/skills", headers={"If-None-Match": etag})
            assert (status, body, headers["ETag"]) == (304, None, etag)

            # a plain user may not write
            credentials = {"username": "ada", "password": "correct horse battery"}
            assert http(api + "/register", "POST", credentials)[0] == 201
            token = http(api + "/login", "POST", credentials)[2]["token"]
            skill = {"name": "Elixir", "category": "Programming Language", "proficiency": "Beginner"}
            auth = {"Authorization": f"Bearer {token}"}
            assert http(api + "/skills", "POST", skill, auth)[0] == 403
            assert http(api + "/skills", "POST", skill)[0] == 401

            # When the operator grants the role (another process, on the running server's store)
            done = admin_command("grant", "ada", state=state)
            assert done.returncode == 0, done.stderr
            assert "running server" in done.stdout
            # Then after logging in again ada adds a skill
            token = http(api + "/login", "POST", credentials)[2]["token"]
            status, _, created = http(api + "/skills", "POST", skill, {"Authorization": f"Bearer {token}"})
            assert status == 201, created
            # and everyone sees it at once: the old ETag no longer matches
            status, headers, listing = http(api + "/skills?q=elixir", headers={"If-None-Match": etag})
            assert status == 200 and [s["name"] for s in listing["data"]] == ["Elixir"]
            status, _, categories = http(api + "/skills/categories")
            assert status == 200 and any(c["name"] == "Programming Language" for c in categories["data"])
            # revoke: effective at the next login
            assert admin_command("revoke", "ADA", state=state).returncode == 0
            token = http(api + "/login", "POST", credentials)[2]["token"]
            gleam = {**skill, "name": "Gleam"}
            assert http(api + "/skills", "POST", gleam, {"Authorization": f"Bearer {token}"})[0] == 403
    finally:
        reset_warm_state()
        _loaded.clear()
