"""The event backbone on moto: the table (with its stream), the bus, its rules and queues,
and the local pipeline (tools/skills_ideas_tools/streams.py) running the real handlers
in-process with Lambda's delivery semantics. Each test gets a fresh world."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from skills_ideas import recommendations
from skills_ideas.events import bus as event_bus
from skills_ideas.events import skill_links, stats
from skills_ideas_tools.lambda_runtime import WarmHandlers, module_loader
from skills_ideas_tools.streams import EventPipeline, LocalBus, create_bus
from tests.support import REPO, create_catalogue, create_table, fresh_models

TABLE = "skills-ideas-test"


@dataclass
class World:
    pipeline: EventPipeline
    bus: LocalBus
    sqs: Any
    dynamodb: Any
    handlers: WarmHandlers

    def deliver(self) -> None:
        """Run the stream and the queues until both are quiet."""
        self.pipeline.drain(timeout=20)

    def queue_bodies(self, url: str) -> list[dict]:
        """Every message waiting in a queue (they stay there: visibility 0)."""
        found: list[dict] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
            messages = answer.get("Messages", [])
            if not messages:
                return found
            found.extend(json.loads(m["Body"]) for m in messages)


def _reset_clients() -> None:
    event_bus._clients.clear()
    stats._client.cache_clear()
    skill_links._sqs = None
    recommendations._store = None


@pytest.fixture
def world(monkeypatch) -> Iterator[World]:
    with mock_aws():
        _reset_clients()
        create_table()
        create_catalogue()
        sqs = boto3.client("sqs")
        bus = create_bus(boto3.client("events"), sqs, "test")
        monkeypatch.setenv("EVENT_BUS_NAME", bus.bus_name)
        for name, url in bus.queue_env().items():
            monkeypatch.setenv(name, url)
        handlers = WarmHandlers(module_loader(REPO))
        pipeline = EventPipeline(
            handlers.invoke,
            dynamodb=boto3.client("dynamodb"),
            # moto answers the regional endpoint, not the account-based one boto3 picks by default
            streams=boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com"),
            sqs=sqs,
            table_name=TABLE,
            bus=bus,
            batching_window=0,
            retry_delay=0,
        )
        with fresh_models():
            yield World(pipeline, bus, sqs, boto3.client("dynamodb"), handlers)
        _reset_clients()
