"""Faults on AWS's own engine: a DynamoDB Local of this module's own is stalled (SIGSTOP) and
killed while requests run. Every request answers 503 with Retry-After within the function's
timeout, never a 500 or a hang, and nothing is lost or written twice once the table is back."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from skills_ideas import ideas, models, schema, users
from skills_ideas.config import TableConfig
from skills_ideas.http import api_handler, ok
from skills_ideas_tools.dynamodb_local import DynamoDBLocal
from tests.support import LambdaContext

pytestmark = pytest.mark.dynamodb_local
FUNCTION_TIMEOUT_SECONDS = 10  # the stack's timeout of every API function


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal(tmp_path_factory.mktemp("faults")) as server:
        yield server


@pytest.fixture
def table(engine) -> Iterator[str]:
    name = f"faults-{uuid.uuid4().hex[:12]}"
    client = boto3.client("dynamodb", endpoint_url=engine.endpoint, region_name="us-east-1")
    client.create_table(**schema.create_table_kwargs(name))
    models.unbind()
    models.bind(TableConfig(table_name=name, region="us-east-1", endpoint_url=engine.endpoint))
    yield name
    models.unbind()


@api_handler
def publish(event: dict, context: Any) -> dict:
    """POST /api/ideas below the authorizer: the real error mapping around the real write."""
    return ok(ideas.create("u-ada", ideas.validate_full(json.loads(event["body"]))), status_code=201)


@api_handler
def register_ada(event: dict, context: Any) -> dict:
    """The registration transaction (profile and name claim) behind the real error mapping."""
    users.put_user(users.User(id="u-ada", username="ada", role="user", created_at=models.now_iso()), None)
    return ok({}, status_code=201)


def call(title: str) -> tuple[int, dict[str, str], float]:
    started = time.monotonic()
    response = publish({"body": json.dumps({"title": title}), "requestContext": {"requestId": "r"}}, LambdaContext())
    return response["statusCode"], response["headers"], time.monotonic() - started


def titles() -> list[str]:
    query, _, _ = ideas.parse_list_query({"userId": "u-ada", "_limit": "100"})
    return [i["title"] for i in ideas.list_ideas(query, None, cursor_key=b"k" * 32)[0]]


def test_a_stalled_table_is_a_503_within_the_budget_and_recovery_loses_nothing(engine, table):
    assert engine.process is not None
    assert call("before")[0] == 201
    os.kill(engine.process.pid, signal.SIGSTOP)
    try:
        # When the table stops answering mid-flight
        status, headers, elapsed = call("during")
    finally:
        os.kill(engine.process.pid, signal.SIGCONT)
    # Then the request is a 503 with Retry-After, well inside the function's timeout
    assert status == 503 and headers["Retry-After"]
    assert elapsed < FUNCTION_TIMEOUT_SECONDS
    # And once it answers again, writes work and nothing was written twice
    assert call("after")[0] == 201
    stored = titles()
    assert stored.count("before") == stored.count("after") == 1
    assert stored.count("during") <= 1  # a write that landed before the stall is kept, never doubled


def test_a_stalled_table_fails_a_registration_transaction_within_the_budget(engine, table):
    assert engine.process is not None
    os.kill(engine.process.pid, signal.SIGSTOP)
    try:
        # When the table stalls under a registration (a transaction, on its own connection)
        started = time.monotonic()
        response = register_ada({"requestContext": {"requestId": "r"}}, LambdaContext())
        elapsed = time.monotonic() - started
    finally:
        os.kill(engine.process.pid, signal.SIGCONT)
    # Then it is a 503 with Retry-After inside the function's timeout, not a hang
    assert response["statusCode"] == 503 and response["headers"]["Retry-After"]
    assert elapsed < FUNCTION_TIMEOUT_SECONDS


def test_a_dead_table_is_a_503_and_a_restarted_one_serves_again(tmp_path):
    # Given a table on an engine that then dies
    with DynamoDBLocal(tmp_path / "db") as server:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="us-east-1")
        client.create_table(**schema.create_table_kwargs("dead-table"))
        models.unbind()
        models.bind(TableConfig(table_name="dead-table", region="us-east-1", endpoint_url=server.endpoint))
        assert call("kept")[0] == 201
        port = server.port
    try:
        # When a request arrives while nothing listens
        status, headers, elapsed = call("refused")
        assert status == 503 and headers["Retry-After"] and elapsed < FUNCTION_TIMEOUT_SECONDS
        # Then after a restart on the same data, the earlier write is there and writes work again
        with DynamoDBLocal(tmp_path / "db", port=port):
            assert call("again")[0] == 201
            assert sorted(titles()) == ["again", "kept"]
    finally:
        models.unbind()
