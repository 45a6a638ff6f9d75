"""The load mix of ``make load`` (bench/locustfile.py) only calls routes of the manifest.

Importing locust monkey-patches sockets and threads (gevent) for the whole process, so the
locustfile is imported in a child interpreter; no load is run.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from skills_ideas.routes import ROUTES

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILE = REPO / "bench" / "locustfile.py"

_DESCRIBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("locustfile", sys.argv[1])
module = sys.modules["locustfile"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({
    "endpoints": [[e.method, e.route] for e in module.ENDPOINTS],
    "tasks": [t.__name__ for t in module.ApiUser.tasks],
}))
"""


def describe_locustfile() -> dict:
    run = subprocess.run(
        [sys.executable, "-c", _DESCRIBE, str(LOCUSTFILE)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_every_endpoint_of_the_load_mix_is_a_route_of_the_manifest():
    described = describe_locustfile()
    manifest = {(route.method, route.path) for route in ROUTES}
    endpoints = {tuple(pair) for pair in described["endpoints"]}
    assert endpoints, "the locustfile declares no endpoint"
    assert endpoints - manifest == set(), "the load mix calls routes the API does not have"
    # and the mix exercises reads, logins and every kind of idea write
    reads = {("GET", "/api/ideas"), ("GET", "/api/ideas/{id}"), ("GET", "/api/skills"), ("GET", "/api/skills/{id}")}
    writes = {("POST", "/api/ideas"), ("PATCH", "/api/ideas/{id}"), ("PUT", "/api/ideas/{id}")}
    assert reads | writes | {("POST", "/api/login"), ("DELETE", "/api/ideas/{id}")} <= endpoints
    assert len(described["tasks"]) >= 10


def test_the_load_mix_sends_every_request_through_a_declared_endpoint():
    # A raw self.client.get("/api/...") would escape the manifest check above and group its
    # statistics by raw URL: only ApiUser.call may use the HTTP client.
    tree = ast.parse(LOCUSTFILE.read_text())
    offenders = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef) or function.name == "call":
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Attribute) and node.attr == "client":
                offenders.append(f"{function.name} (line {node.lineno})")
    assert offenders == []
