"""``make dev`` runs the event backbone too: DynamoDB Local's stream read with Lambda's
semantics, moto's EventBridge and SQS for the bus, the consumers in-process. One ``serve`` on
DynamoDB Local for the module; the tests talk to it over HTTP like a client would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from skills_ideas import models, users
from skills_ideas.config import TableConfig
from skills_ideas_tools.dynamodb_local import wait_until
from skills_ideas_tools.local_env import EVENTS_PREFIX
from skills_ideas_tools.streams import STREAM_DLQ
from tests.support import json_call, serving

pytestmark = pytest.mark.dynamodb_local
PASSWORD = "correct-horse-battery"


class Dev:
    def __init__(self, state: Path) -> None:
        self.services = json.loads((state / "services.json").read_text())
        self.url = self.services["gateway_url"]

    def call(self, method: str, path: str, body: object = None, token: str | None = None) -> tuple[int, dict]:
        return json_call(self.url, method, path, body, token)

    def user(self, name: str) -> str:
        assert self.call("POST", "/api/register", {"username": name, "password": PASSWORD})[0] == 201
        status, body = self.call("POST", "/api/login", {"username": name, "password": PASSWORD})
        assert status == 200, body
        return body["token"]

    def stats(self) -> dict:
        status, body = self.call("GET", "/api/stats")
        assert status == 200, body
        return body["data"]

    def client(self, service: str):
        endpoint = self.services["dynamodb_endpoint" if service == "dynamodb" else "s3_endpoint"]
        return boto3.client(service, endpoint_url=endpoint, region_name=self.services["region"])


@pytest.fixture(scope="module")
def dev(tmp_path_factory) -> Iterator[Dev]:
    state = tmp_path_factory.mktemp("dev")
    with serving(state, engine="java"):
        yield Dev(state)


def test_a_created_idea_shows_in_the_statistics_and_in_me(dev):
    # Given a user on make dev
    token = dev.user("ada")
    # When they publish an idea and move another to Completed
    assert dev.call("POST", "/api/ideas", {"title": "Skill swap"}, token)[0] == 201
    status, created = dev.call("POST", "/api/ideas", {"title": "Book club"}, token)
    assert status == 201
    idea_id = created["data"]["id"]
    assert dev.call("PATCH", f"/api/ideas/{idea_id}", {"status": "Completed"}, token)[0] == 200
    # Then the stream, the bus and the consumer bring the statistics there without anyone asking
    assert wait_until(lambda: dev.stats()["ideasByStatus"]["Completed"] == 1, 30), dev.stats()
    stats = dev.stats()
    assert (stats["users"], stats["ideas"], stats["ideasByStatus"]["Concept"]) == (1, 2, 1)
    status, me = dev.call("GET", "/api/me", token=token)
    assert status == 200
    assert me["data"]["stats"]["ideas"] == 2


def test_a_poison_record_lands_in_the_dead_letter_queue_and_the_stream_moves_on(dev):
    # Given a malformed idea item written straight into DynamoDB Local's table
    token = dev.user("bob")
    before = dev.stats()["ideas"]
    dev.client("dynamodb").put_item(
        TableName=dev.services["table_name"],
        Item={"PK": {"S": "USER#bob-poison"}, "SK": {"S": "IDEA#POISON"}, "note": {"S": "no title, no status"}},
    )
    # When an idea is published after it
    assert dev.call("POST", "/api/ideas", {"title": "After the poison"}, token)[0] == 201
    # Then the idea is counted (the poison record did not stop the shard)
    assert wait_until(lambda: dev.stats()["ideas"] == before + 1, 30), dev.stats()
    # and the poison record's batch information waits in the stream's dead-letter queue
    sqs = dev.client("sqs")
    url = sqs.get_queue_url(QueueName=f"{EVENTS_PREFIX}-{STREAM_DLQ}")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1
    info = json.loads(messages[0]["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["streamArn"].startswith("arn:aws:dynamodb")


def test_an_idea_gets_its_skills_and_a_new_alias_reaches_it(dev):
    # Given an idea whose words name no skill yet, published on make dev
    token = dev.user("cyd")
    tofu = {"title": "Tofu modules", "description": "Reusable tofu modules for our VPCs."}
    status, created = dev.call("POST", "/api/ideas", tofu, token)
    assert status == 201, created
    idea_id = created["data"]["id"]

    def skills() -> dict:
        status, body = dev.call("GET", f"/api/ideas/{idea_id}/skills")
        assert status == 200, body
        return body

    # Then the recommendations consumer ranks it without anyone asking: no skill, not pending
    assert wait_until(lambda: skills()["pending"] is False, 30), skills()
    assert skills()["data"] == []

    # When an admin gives Terraform the alias "tofu"
    services = dev.services
    models.bind(TableConfig(services["table_name"], services["region"], services["dynamodb_endpoint"]))
    try:
        assert dev.call("POST", "/api/register", {"username": "root", "password": PASSWORD})[0] == 201
        users.set_role("root", "admin")
    finally:
        models.unbind()
    status, body = dev.call("POST", "/api/login", {"username": "root", "password": PASSWORD})
    assert status == 200, body
    admin = body["token"]
    terraform = [s for s in dev.call("GET", "/api/skills")[1]["data"] if s["name"] == "Terraform"][0]
    status, body = dev.call("PATCH", f"/api/skills/{terraform['id']}", {"aliases": ["tofu"]}, admin)
    assert status == 200, body
    # Then the catalogue walk links the idea to it
    assert wait_until(lambda: [s["name"] for s in skills()["data"]] == ["Terraform"], 30), skills()
