"""The data-layer tests again on DynamoDB Local (AWS's own engine, which enforces rules moto
skips: real transactions under real concurrency, key conditions, index maintenance).

One DynamoDB Local for the session, started on a free loopback port with its database in a
temporary directory by the project's own launcher, and stopped at the end. Each test gets a
table of its own, so tests never see each other's items."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest

from skills_ideas import models, schema
from skills_ideas.config import TableConfig
from skills_ideas_tools.dynamodb_local import DynamoDBLocal

REGION = "us-east-1"


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory) -> Iterator[str]:
    """The endpoint of a running DynamoDB Local (the launcher fails loudly without Java)."""
    with DynamoDBLocal(tmp_path_factory.mktemp("dynamodb-local")) as server:
        yield server.endpoint


@pytest.fixture(scope="session")
def client(dynamodb_local):
    return boto3.client("dynamodb", endpoint_url=dynamodb_local, region_name=REGION)


@pytest.fixture
def table(dynamodb_local, client) -> Iterator[str]:
    """A fresh table with the production key schema; the models are bound to it."""
    name = f"ideas-{uuid.uuid4().hex[:12]}"
    client.create_table(**schema.create_table_kwargs(name))
    models.unbind()
    models.bind(TableConfig(table_name=name, region=REGION, endpoint_url=dynamodb_local))
    try:
        yield name
    finally:
        models.unbind()
        client.delete_table(TableName=name)


def items(client, table_name: str, prefix: str) -> list[dict]:
    """Every item whose partition key starts with ``prefix`` (a test-side look at the table)."""
    found = []
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        found.extend(item for item in page["Items"] if item["PK"]["S"].startswith(prefix))
    return found
