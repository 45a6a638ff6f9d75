"""No request path issues a DynamoDB Scan: every request is a GetItem, a Query or a
(conditional) write. Every AWS call the handlers make is recorded where botocore sends it,
while every handler of the manifest serves its sample event and the typical requests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import bcrypt
import boto3
import pytest
from botocore.client import BaseClient

from skills_ideas import users
from skills_ideas.routes import AUTHORIZER_FUNCTION, ROUTES, functions
from tests.support import REPO, authorize, bearer, bind_models, event, invoke

READ_OPERATIONS = {"GetItem", "Query", "BatchGetItem", "TransactGetItems"}
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


@contextmanager
def recorded_calls(monkeypatch) -> Iterator[list[tuple[str, str]]]:
    """Every (service, operation) any botocore client (boto3 or pynamodb) sends meanwhile."""
    calls: list[tuple[str, str]] = []
    original = BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        calls.append((self.meta.service_model.service_name, operation_name))
        return original(self, operation_name, api_params)

    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", recording)
        yield calls


def dynamodb_operations(calls: list[tuple[str, str]]) -> set[str]:
    return {operation for service, operation in calls if service == "dynamodb"}


def test_the_recorder_sees_a_scan(aws, monkeypatch):
    # Guards the tests below: a Scan sent by any client is recorded.
    with recorded_calls(monkeypatch) as calls:
        boto3.client("dynamodb").scan(TableName="skills-ideas-test", Limit=1)
    assert dynamodb_operations(calls) == {"Scan"}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.function)
def test_the_sample_event_of_every_handler_issues_no_scan(aws, monkeypatch, route):
    # Given the handler's sample event
    sample = json.loads((REPO / "events" / f"{route.function}.json").read_text())
    # When it is served
    with recorded_calls(monkeypatch) as calls:
        status, _ = invoke(route.function, sample)
    # Then it answered without a Scan (and without a server error)
    assert status < 500
    assert "Scan" not in dynamodb_operations(calls)


def test_typical_requests_of_every_core_endpoint_issue_no_scan(aws, monkeypatch):
    # Given a legacy user with a bcrypt hash (login upgrades it: a conditional update)
    bind_models()
    users.put_user(
        users.User("7", "legacy_lu", "user", "2024-01-01T00:00:00.000Z"),
        bcrypt.hashpw(b"secret1", bcrypt.gensalt(4, prefix=b"2a")).decode(),
        legacy_id="7",
    )
    served: set[str] = set()

    def call(function: str, *args, **kwargs) -> tuple[int, dict]:
        served.add(function)
        return invoke(function, event(*args, **kwargs))

    with recorded_calls(monkeypatch) as calls:
        # When users register, log in, see themselves and work with ideas and skills
        call("api_index", "GET", "/")
        call("health", "GET", "/api/health")
        assert call("register", "POST", "/api/register", body={"username": "ann", "password": "pw-123456789"})[0] == 201
        call("register", "POST", "/api/register", body={"username": "ANN", "password": "pw-123456789"})
        token = call("login", "POST", "/api/login", body={"username": "ann", "password": "pw-123456789"})[1]["token"]
        call("login", "POST", "/api/login", body={"username": "ann", "password": "wrong-password"})
        call("login", "POST", "/api/login", body={"username": "nobody", "password": "wrong-password"})
        assert call("login", "POST", "/api/login", body={"username": "legacy_lu", "password": "secret1"})[0] == 200
        served.add(AUTHORIZER_FUNCTION)
        ann = authorize(bearer(token))["context"]
        authorize({})
        other = {"userId": "u-other", "username": "other", "role": "user"}
        call("me", "GET", "/api/me", caller=ann)
        idea = call("create_idea", "POST", "/api/ideas", body={"title": "t", "status": "Planning"}, caller=ann)[1][
            "data"
        ]
        theirs = call("create_idea", "POST", "/api/ideas", body={"title": "u"}, caller=other)[1]["data"]
        on_idea = {"resource": "/api/ideas/{id}", "path_params": {"id": idea["id"]}}
        on_theirs = {"resource": "/api/ideas/{id}", "path_params": {"id": theirs["id"]}}
        on_unknown = {"resource": "/api/ideas/{id}", "path_params": {"id": "01JZZZZZZZZZZZZZZZZZZZZZZZ"}}
        call("get_idea", "GET", "/api/ideas/x", **on_idea)
        call("get_idea", "GET", "/api/ideas/x", **on_unknown)
        for query in (
            {},
            {"order": "asc"},
            {"sort": "status", "order": "desc"},
            {"status": "Planning"},
            {"userId": ann["userId"]},
            {"_limit": "1", "_page": "2"},
        ):
            body = call("list_ideas", "GET", "/api/ideas", query=query)[1]
            assert body["success"] is True, (query, body)
            if body.get("nextCursor"):
                call("list_ideas", "GET", "/api/ideas", query={**query, "cursor": body["nextCursor"]})
        call("replace_idea", "PUT", "/api/ideas/x", body={"title": "t2"}, caller=ann, **on_idea)
        call("update_idea", "PATCH", "/api/ideas/x", body={"status": "Completed"}, caller=ann, **on_idea)
        for function, method, body in (
            ("replace_idea", "PUT", {"title": "x"}),
            ("update_idea", "PATCH", {"title": "x"}),
            ("delete_idea", "DELETE", None),
        ):
            assert call(function, method, "/api/ideas/x", body=body, caller=ann, **on_theirs)[0] == 403
            assert call(function, method, "/api/ideas/x", body=body, caller=ann, **on_unknown)[0] == 404
        call("delete_idea", "DELETE", "/api/ideas/x", caller=ann, **on_idea)
        call("list_skills", "GET", "/api/skills", query={"category": "data", "sort": "name", "q": "sql"})
        call("get_skill", "GET", "/api/skills/3", resource="/api/skills/{id}", path_params={"id": "3"})
        call(
            "list_skills_by_category",
            "GET",
            "/api/skills/category/Database",
            resource="/api/skills/category/{category}",
            path_params={"category": "Database"},
        )

    # Then every core endpoint was exercised, the table was used, and never with a Scan
    core = {
        "api_index",
        "health",
        "register",
        "login",
        "me",
        "list_skills",
        "get_skill",
        "list_skills_by_category",
        "list_ideas",
        "get_idea",
        "create_idea",
        "replace_idea",
        "update_idea",
        "delete_idea",
        AUTHORIZER_FUNCTION,
    }
    assert core <= set(functions()) and served == core
    operations = dynamodb_operations(calls)
    assert "Scan" not in operations
    assert operations <= READ_OPERATIONS | WRITE_OPERATIONS, operations
    assert {"GetItem", "Query", "PutItem", "TransactWriteItems", "UpdateItem", "DeleteItem"} <= operations


SCAN_PATTERNS = re.compile(r"""\.scan\s*\(|\bscan\s*\(|["']Scan["']|\bScan\b\s*\(""")


def test_no_code_that_ships_to_lambda_mentions_a_scan():
    # Given every Python file of the functions and of our own layers (not vendored packages)
    sources = sorted(
        path
        for path in [*(REPO / "functions").rglob("*.py"), *(REPO / "layers").rglob("*.py")]
        if "dependencies" not in path.relative_to(REPO).parts
    )
    assert len(sources) > 10
    # Then none of them calls scan() or names the Scan operation
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SCAN_PATTERNS.search(line)
    ]
    assert offenders == []
