"""Fixtures of the skills catalogue tests: the moto world, callers, a CloudFront distribution."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support import event, invoke
from tests.unit.conftest import _moto_world, aws  # noqa: F401 - one moto world, reset per test

ADMIN = {"userId": "01ADMIN", "username": "root-admin", "role": "admin"}
USER = {"userId": "01USER", "username": "plain-user", "role": "user"}


def catalogue_document() -> dict[str, Any]:
    """The catalogue object as S3 holds it now."""
    s3 = boto3.client("s3")
    raw = s3.get_object(Bucket=os.environ["CATALOGUE_BUCKET"], Key=os.environ["CATALOGUE_KEY"])["Body"].read()
    return json.loads(raw)


def read(function: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """The raw proxy result of a public read (headers included)."""
    from tests.support import LambdaContext, load_handler

    return load_handler(function).lambda_handler(event("GET", path, **kwargs), LambdaContext())


def write(function: str, method: str, path: str, *, who: dict[str, str] | None = ADMIN, **kwargs: Any):
    return invoke(function, event(method, path, caller=who, **kwargs))


SKILL = {
    "name": "Elixir",
    "category": "Programming Language",
    "proficiency": "Beginner",
    "description": "Functional programming on the BEAM",
}


@pytest.fixture
def distribution(aws, monkeypatch) -> Iterator[str]:  # noqa: F811 - the fixture above
    """A CloudFront distribution in moto, exported as CDN_DISTRIBUTION_ID to the write handlers."""
    from skills_ideas import catalogue_edits

    cloudfront = boto3.client("cloudfront")
    created = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": str(uuid.uuid4()),
            "Comment": "test",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "catalogue",
                        "DomainName": "bucket.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "catalogue",
                "ViewerProtocolPolicy": "https-only",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    distribution_id = created["Distribution"]["Id"]
    monkeypatch.setattr(catalogue_edits, "_cloudfront", None)  # a client inside this moto world
    for function in ("create_skill", "replace_skill", "update_skill", "delete_skill"):
        from tests.support import load_handler

        store = load_handler(function).STORE
        monkeypatch.setattr(store, "config", _with(store.config, distribution_id=distribution_id))
    yield distribution_id


def _with(config: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(config, **changes)


def invalidations(distribution_id: str) -> list[list[str]]:
    cloudfront = boto3.client("cloudfront")
    listed = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    result = []
    for summary in listed.get("Items", []):
        batch = cloudfront.get_invalidation(DistributionId=distribution_id, Id=summary["Id"])
        result.append(sorted(batch["Invalidation"]["InvalidationBatch"]["Paths"]["Items"]))
    return result
