from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from tests.support import DEFAULT_CATALOGUE, create_catalogue, create_table, fresh_models


@pytest.fixture(scope="package")
def _moto_world():
    """One moto for the whole unit tier (starting it and creating the table with its seven
    indexes costs ~0.3 s, paid once instead of per test); ``aws`` empties it between tests."""
    with mock_aws():
        create_table()
        create_catalogue()
        yield boto3.client("dynamodb"), boto3.client("s3")


def _empty_table(dynamodb) -> None:
    name = os.environ["TABLE_NAME"]
    if name not in dynamodb.list_tables()["TableNames"]:
        create_table()  # a test removed it
        return
    for page in dynamodb.get_paginator("scan").paginate(TableName=name, ProjectionExpression="PK, SK"):
        for item in page["Items"]:
            dynamodb.delete_item(TableName=name, Key=item)


def _reset_bucket(s3) -> None:
    bucket = os.environ["CATALOGUE_BUCKET"]
    if bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        for version in s3.list_object_versions(Bucket=bucket).get("Versions", []):
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        s3.put_object(Bucket=bucket, Key=os.environ["CATALOGUE_KEY"], Body=DEFAULT_CATALOGUE.read_bytes())
    else:
        create_catalogue()


def reset_world(world) -> None:
    """Back to an empty table and the default catalogue."""
    dynamodb, s3 = world
    _empty_table(dynamodb)
    _reset_bucket(s3)


@pytest.fixture
def aws(_moto_world):
    """A fresh moto world with the table and the default catalogue in it, and handlers that
    start cold (no cached catalogue, clients or model connections)."""
    reset_world(_moto_world)
    with fresh_models():
        yield
