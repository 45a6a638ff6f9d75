"""Helpers shared by the test tiers: AWS emulation set-up, handler loading, events."""

from __future__ import annotations

import base64
import importlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from skills_ideas import ideas, models, schema
from skills_ideas_tools.dynamodb_local import wait_until

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CATALOGUE = REPO / "layers/common/python/skills_ideas/data/skills.json"


def create_table(endpoint_url: str | None = None, table_name: str | None = None) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint_url)
    client.create_table(**schema.create_table_kwargs(table_name or os.environ["TABLE_NAME"]))


def create_catalogue(endpoint_url: str | None = None, body: bytes | None = None) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    bucket = os.environ["CATALOGUE_BUCKET"]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=os.environ["CATALOGUE_KEY"], Body=body or DEFAULT_CATALOGUE.read_bytes())


@contextmanager
def serving(state: Path, engine: str = "moto") -> Iterator[subprocess.Popen]:
    """``skills-ideas serve`` (what ``make dev`` runs) on ``state`` and a free port, in its own
    process; yielded once it has published its gateway URL, stopped by Ctrl-C (SIGINT) after."""
    services = state / "services.json"
    command = [sys.executable, "-m", "skills_ideas_tools.cli", "serve", "--port", "0", "--engine", engine]
    serve = subprocess.Popen(
        [*command, "--state-dir", str(state)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:

        def published() -> bool:
            return services.is_file() and "gateway_url" in services.read_text()

        assert wait_until(lambda: published() or serve.poll() is not None, 120), "serve did not start"
        assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
        yield serve
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(60)
        except subprocess.TimeoutExpired:
            serve.kill()
            raise


def load_handler(function: str) -> ModuleType:
    """Import ``functions/<function>/app.py`` once, and keep it, like a warm Lambda."""
    return importlib.import_module(f"functions.{function}.app")


def reset_warm_state() -> None:
    """Forget what warm handlers keep between invocations (catalogue copies and clients,
    model connections, the accounts being deleted), so a test starts as a cold start against
    a fresh emulation."""
    models.unbind()
    ideas.forget_hidden_owners()
    for name, module in list(sys.modules.items()):
        store = getattr(module, "STORE", None) if name.startswith("functions.") else None
        if store is not None:
            store.reset()


@contextmanager
def fresh_models() -> Iterator[None]:
    reset_warm_state()
    try:
        yield
    finally:
        reset_warm_state()


def event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    caller: dict[str, str] | None = None,
    raw_body: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as API Gateway (and the local gateway) sends it."""
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    if text is not None and base64_body:
        text = base64.b64encode(text.encode()).decode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    request_context: dict[str, Any] = {
        "requestId": str(uuid.uuid4()),
        "resourcePath": resource or path,
        "httpMethod": method,
        "path": f"/test{path}",
        "stage": "test",
        "identity": {"sourceIp": "127.0.0.1"},
    }
    if caller is not None:
        request_context["authorizer"] = {"principalId": caller["userId"], **caller}
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": base64_body,
    }


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000  # the functions' timeout


def invoke(function: str, evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Call a handler; returns (status, parsed JSON body); a body of another media type (the
    docs page and its files) as ``{"text": ...}``."""
    response = load_handler(function).lambda_handler(evt, LambdaContext())
    media_type = (response.get("headers") or {}).get("Content-Type", "application/json")
    if not response.get("body"):
        body = {}
    elif media_type.startswith("application/json"):
        body = json.loads(response["body"])
    else:
        body = {"text": response["body"]}
    return response["statusCode"], body


# ------------------------------------------------------------------ auth helpers
#: A method ARN as API Gateway passes it to the REQUEST authorizer.
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/test/GET/api/me"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def authorize(headers: dict[str, str] | None, method_arn: str = METHOD_ARN) -> dict[str, Any]:
    """Run the REQUEST authorizer on a request with ``headers``; returns its policy result."""
    auth_event = {
        "type": "REQUEST",
        "methodArn": method_arn,
        "resource": "/api/me",
        "path": "/api/me",
        "httpMethod": "GET",
        "headers": headers or {},
        "requestContext": {"requestId": str(uuid.uuid4()), "stage": "test"},
    }
    return load_handler("authorizer").lambda_handler(auth_event, LambdaContext())


# ------------------------------------------------------------------ the ideas feed
FEED_OWNERS = ("u-ada", "u-bob", "u-cy")
FEED_STATUSES = ("Concept", "Planning", "In Progress", "On Hold", "Completed")
_WORDS = ("Zephyr", "apple", "Mango", "banana", "Kiwi", "cherry", "Lemon", "date", "Fig", "grape", "Apple")


def feed_rows(count: int) -> list[dict[str, str]]:
    """``count`` ideas with controlled, partly equal creation times, titles (some equal but
    for case, some beginning others) and statuses, spread unevenly over three owners."""
    rows = []
    for i in range(count):
        minute = i - (i % 5 == 4)  # every fifth idea shares its creation time with the one before
        rows.append(
            {
                "owner": FEED_OWNERS[0 if i % 2 == 0 else 1 if i % 3 else 2],
                "title": f"{_WORDS[(i * 7) % len(_WORDS)]} {i % 4:02d}" + (" bis" if i % 9 == 0 else ""),
                "status": FEED_STATUSES[(i * 3) % 5].lower() if i % 4 == 0 else FEED_STATUSES[(i * 3) % 5],
                "createdAt": f"2026-01-01T{minute // 60:02d}:{minute % 60:02d}:00.000Z",
            }
        )
    return rows


def seed_feed(create: Any, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Create every row through ``create(owner, fields) -> idea`` at the row's creation time."""
    from unittest import mock

    from skills_ideas import ideas

    created = []
    for row in rows:
        with mock.patch.object(ideas, "now_ms", return_value=epoch_ms(row["createdAt"])):
            fields = {"title": row["title"], "status": row["status"], "description": f"about {row['title']}"}
            created.append(create(row["owner"], fields))
    return created


def epoch_ms(iso: str) -> int:
    """An ISO-8601 UTC time stamp as epoch milliseconds (the ideas' clock)."""
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def idea_key(idea_id: str) -> str:
    """The ULID a new idea's public id ends with: it orders ideas of the same millisecond."""
    return idea_id.rsplit("-", 1)[-1]


def expected_feed(
    all_ideas: list[dict[str, Any]], sort: str, order: str, status: str | None = None, user_id: str | None = None
) -> list[str]:
    """The ids a complete listing must return, in order: the documented order, ties by key."""
    keys = {
        "createdAt": lambda i: (i["createdAt"], idea_key(i["id"])),
        "status": lambda i: (i["status"].lower(), i["createdAt"], idea_key(i["id"])),
    }
    chosen = [
        i
        for i in all_ideas
        if (status is None or i["status"] == status) and (user_id is None or i["userId"] == user_id)
    ]
    return [i["id"] for i in sorted(chosen, key=keys[sort], reverse=order == "desc")]


def walk_pages(fetch: Any, limit: int) -> list[str]:
    """Follow ``nextCursor`` from the first page to the last; ``fetch(cursor) -> (items, next)``.
    Every page but the last must be full."""
    ids: list[str] = []
    cursor = None
    for _ in range(1000):
        items, cursor = fetch(cursor)
        ids.extend(item["id"] for item in items)
        if cursor is None:
            assert len(items) <= limit
            return ids
        assert len(items) == limit, "a page before the last one is short"
    raise AssertionError("paging never ended")


def bind_models() -> None:
    """Point the pynamodb models at the table of the current environment (tests that read or
    seed the table directly, as a handler would)."""
    from skills_ideas.config import TableConfig

    models.bind(TableConfig.from_env())


def isolated_handler(function: str, namespace: str = "_isolated") -> Any:
    """Import a handler under a private module name, so it reads the *current* environment
    (e.g. a local stack's endpoints and signing key) and leaves the suite's warm handlers,
    imported under the test environment, alone. Suits a gateway ``Loader``."""
    import importlib.util

    path = REPO / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"{namespace}_{function}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


@contextmanager
def local_api(state: Path, engine: str = "java") -> Iterator[tuple[str, Any]]:
    """The whole API over HTTP on a free port, as ``make dev`` serves it: the local gateway in a
    thread in front of the real handlers, DynamoDB Local (or moto) and S3 behind it. Yields the
    gateway's URL and the local services."""
    from skills_ideas_tools.gateway import running_gateway
    from skills_ideas_tools.local_env import local_stack

    reset_warm_state()
    try:
        with (
            local_stack(state, engine=engine, reuse=False) as services,  # type: ignore[arg-type]
            running_gateway(lambda function: isolated_handler(function, f"_{state.name}")) as gateway,
        ):
            yield gateway.url, services
    finally:
        reset_warm_state()


def json_call(
    base_url: str, method: str, path: str, body: object = None, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    """One JSON request to a local API over HTTP (a bearer token when given): status and body."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
