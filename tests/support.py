"""Helpers shared by the test tiers: AWS emulation set-up, handler loading, events."""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from skills_ideas import models, schema

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


def load_handler(function: str) -> ModuleType:
    """Import ``functions/<function>/app.py`` once, and keep it, like a warm Lambda."""
    return importlib.import_module(f"functions.{function}.app")


def reset_warm_state() -> None:
    """Forget what warm handlers keep between invocations (catalogue copies and clients,
    model connections), so a test starts as a cold start against a fresh emulation."""
    models.unbind()
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


def invoke(function: str, evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Call a handler; returns (status, parsed JSON body)."""
    response = load_handler(function).lambda_handler(evt, LambdaContext())
    body = json.loads(response["body"]) if response.get("body") else {}
    return response["statusCode"], body
