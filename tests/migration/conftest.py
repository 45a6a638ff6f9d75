from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from skills_ideas_tools import migrate
from skills_ideas_tools.legacy_source import read_database
from tests.support import create_catalogue, create_table, fresh_models


@contextmanager
def moto_world() -> Iterator[migrate.Target]:
    """A fresh moto world with the table and the default catalogue, as a migration target."""
    with mock_aws(), fresh_models():
        create_table()
        create_catalogue()
        yield migrate.Target(
            boto3.client("dynamodb"),
            os.environ["TABLE_NAME"],
            boto3.client("s3"),
            os.environ["CATALOGUE_BUCKET"],
            os.environ["CATALOGUE_KEY"],
            "moto",
        )


@pytest.fixture
def target() -> Iterator[migrate.Target]:
    with moto_world() as world:
        yield world


def run_migration(db: Path, target: migrate.Target, **options: Any) -> migrate.Report:
    options.setdefault("progress", False)
    return migrate.migrate(read_database(db), target, migrate.Options(**options))


def table_dump(target: migrate.Target) -> dict[tuple[str, str], dict]:
    """Every item of the table (a Scan is fine in a test), by key."""
    items: dict[tuple[str, str], dict] = {}
    for page in target.dynamodb.get_paginator("scan").paginate(TableName=target.table_name, ConsistentRead=True):
        for item in page["Items"]:
            items[(item["PK"]["S"], item["SK"]["S"])] = item
    return items
