"""The skills catalogue when S3 stalls or goes away: a warm function keeps serving the copy it
has; a cold one answers 503 with Retry-After within the time budget, never a 500 or a hang; both
recover when S3 answers again. S3 is a moto server of this test's own, stopped and restarted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from skills_ideas import catalogue
from skills_ideas.config import CatalogueConfig
from skills_ideas.errors import ServiceUnavailable
from skills_ideas.http import api_handler, ok
from skills_ideas_tools.dynamodb_local import free_port
from tests.support import LambdaContext

FUNCTION_TIMEOUT_SECONDS = 10


@pytest.fixture
def s3_server() -> Iterator[tuple[ThreadedMotoServer, CatalogueConfig]]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="faults")
    s3.put_object(
        Bucket="faults",
        Key="skills.json",
        Body=json.dumps(
            {
                "schemaVersion": 1,
                "nextId": 2,
                "skills": [
                    {
                        "id": 1,
                        "name": "Python",
                        "category": "Programming Language",
                        "proficiency": "Expert",
                        "description": "d",
                    }
                ],
            }
        ),
    )
    config = CatalogueConfig("faults", "skills.json", 0, "us-east-1", endpoint)  # revalidate on every read
    yield server, config
    server.stop()


def handler(store: catalogue.CatalogueStore):
    @api_handler
    def list_skills(event: dict, context: object) -> dict:
        return ok([skill["name"] for skill in store.current().skills])

    return list_skills


def call(store: catalogue.CatalogueStore) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = handler(store)({"requestContext": {"requestId": "r"}}, LambdaContext())
    return response["statusCode"], response["headers"], time.monotonic() - started


def test_s3_gone_warm_serves_its_copy_cold_answers_503_and_both_recover(s3_server):
    server, config = s3_server
    warm = catalogue.CatalogueStore(config)
    assert call(warm)[0] == 200
    # When S3 stops answering
    server.stop()
    try:
        # Then a warm function keeps serving the catalogue it has (stale, counted), quickly
        status, _, elapsed = call(warm)
        assert status == 200 and elapsed < FUNCTION_TIMEOUT_SECONDS
        # And a cold one, with nothing cached, answers 503 with Retry-After within the budget
        cold = catalogue.CatalogueStore(config)
        status, headers, elapsed = call(cold)
        assert (status, headers["Retry-After"]) == (503, "2")
        assert elapsed < FUNCTION_TIMEOUT_SECONDS
        with pytest.raises(ServiceUnavailable):
            cold.current()
    finally:
        server.start()
    # And once S3 is back, the cold function serves too
    assert call(cold)[0] == 200
