"""Domain events and live statistics, end to end on moto: the real handlers write, the table's
stream is delivered to the events function with Lambda's semantics, the bus routes the events
to the stats consumer's queue, and the API reads the counters."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import boto3
import jsonschema
import pytest

from skills_ideas.events import SOURCE
from skills_ideas_tools.stats_command import rebuild
from skills_ideas_tools.streams import QueueMapping
from tests.events.conftest import TABLE, World
from tests.support import REPO, event, invoke
from tests.unit.test_ideas_crud import on_idea

SCHEMAS = json.loads(Path(REPO / "docs/event-schemas.json").read_text())
PASSWORD = "correct-horse-battery"


def tap(world: World) -> str:
    """A queue that receives every event of the service (as any new consumer would)."""
    events = boto3.client("events")
    url = world.sqs.create_queue(QueueName="tap")["QueueUrl"]
    arn = world.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="tap", EventBusName=world.bus.bus_name, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule="tap", EventBusName=world.bus.bus_name, Targets=[{"Id": "tap", "Arn": arn}])
    return url


def register(name: str) -> dict:
    status, body = invoke("register", event("POST", "/api/register", body={"username": name, "password": PASSWORD}))
    assert status == 201, body
    return {"userId": body["data"]["id"], "username": name, "role": "user"}


def create(user: dict, title: str, status: str | None = None, **headers: str) -> str:
    body = {"title": title, **({"status": status} if status else {})}
    code, answer = invoke("create_idea", event("POST", "/api/ideas", body=body, caller=user, headers=headers))
    assert code == 201, answer
    return answer["data"]["id"]


def change(user: dict, idea_id: str, method: str, body: dict) -> None:
    code, answer = on_idea({"PATCH": "update_idea", "PUT": "replace_idea"}[method], method, idea_id, body, caller=user)
    assert code == 200, answer


def delete(user: dict, idea_id: str) -> None:
    code, answer = on_idea("delete_idea", "DELETE", idea_id, caller=user)
    assert code == 200, answer


def public_stats() -> dict:
    code, body = invoke("get_stats", event("GET", "/api/stats"))
    assert code == 200, body
    return body["data"]


def my_counts(user: dict) -> dict:
    code, body = invoke("me", event("GET", "/api/me", caller=user))
    assert code == 200, body
    return body["data"]["stats"]


def test_each_change_publishes_its_event_once_and_other_items_none(world):
    # Given a consumer listening to every event
    url = tap(world)
    # When a user registers (a user and a username claim), creates an idea with an
    # Idempotency-Key (an idempotency record too), changes its title, then its status, writes it
    # again unchanged, and deletes it
    ada = register("ada")
    idea = create(ada, "Skill swap", **{"Idempotency-Key": "k-1"})
    change(ada, idea, "PATCH", {"title": "Skill-swap evenings"})
    change(ada, idea, "PATCH", {"status": "Planning"})
    change(ada, idea, "PUT", {"title": "Skill-swap evenings", "status": "Planning"})
    delete(ada, idea)
    world.deliver()

    # Then exactly one event per change reaches consumers, each valid against its schema
    received = [message["detail"] for message in world.queue_bodies(url)]
    assert Counter(d["type"] for d in received) == {
        "UserRegistered": 1,
        "IdeaCreated": 1,
        "IdeaUpdated": 2,
        "IdeaDeleted": 1,
    }
    for detail in received:
        jsonschema.validate(detail, SCHEMAS[detail["type"]])
    assert len({d["id"] for d in received}) == len(received)
    by_type = {d["type"]: d for d in received if d["type"] != "IdeaUpdated"}
    assert by_type["UserRegistered"]["data"] == {**ada, "createdAt": by_type["UserRegistered"]["data"]["createdAt"]}
    assert by_type["IdeaCreated"]["data"]["ideaId"] == idea
    assert by_type["IdeaCreated"]["data"]["title"] == "Skill swap"
    assert by_type["IdeaDeleted"]["data"]["status"] == "Planning"
    updates = sorted((d for d in received if d["type"] == "IdeaUpdated"), key=lambda d: d["data"]["ideaVersion"])
    assert updates[0]["data"]["changes"] == {"title": {"old": "Skill swap", "new": "Skill-swap evenings"}}
    assert updates[1]["data"]["changes"] == {"status": {"old": "Concept", "new": "Planning"}}


def test_redelivered_records_and_events_change_no_counter(world):
    # Given a user with two ideas, delivered
    ada = register("ada")
    create(ada, "One")
    create(ada, "Two", "Completed")
    url = tap(world)
    world.pipeline.reader.checkpoints.clear()  # the stream is read again from its start below
    world.pipeline.reader._iterators.clear()
    world.deliver()
    before = public_stats()
    assert (before["users"], before["ideas"], before["ideasByStatus"]["Completed"]) == (1, 2, 1)

    # When every stream record is delivered again (the events are published twice) and the
    # consumer gets the same events once more, twice
    world.pipeline.reader.checkpoints.clear()
    world.pipeline.reader._iterators.clear()
    world.deliver()
    duplicates = world.queue_bodies(url)
    assert len(duplicates) == 6  # the two deliveries of UserRegistered, IdeaCreated x2
    replay = world.sqs.create_queue(QueueName="replay")["QueueUrl"]
    for body in duplicates * 2:
        world.sqs.send_message(QueueUrl=replay, MessageBody=json.dumps(body))
    consumer = QueueMapping(world.handlers.invoke, "stats_consumer", world.sqs, replay)
    assert sum(consumer.poll() for _ in range(3)) == 12  # all taken, none failed

    # Then no counter moved
    after = public_stats()
    assert {k: v for k, v in after.items() if k != "updatedAt"} == {k: v for k, v in before.items() if k != "updatedAt"}
    assert my_counts(ada)["ideas"] == 2


def test_a_poison_record_goes_to_the_dead_letter_queue_and_the_rest_is_processed(world):
    # Given an idea, a malformed idea item (no title, no status) and another idea, in one batch
    ada = register("ada")
    create(ada, "Before")
    world.dynamodb.put_item(
        TableName=TABLE, Item={"PK": {"S": f"USER#{ada['userId']}"}, "SK": {"S": "IDEA#POISON"}, "userId": {"S": "x"}}
    )
    create(ada, "After", "On Hold")

    # When the stream is delivered
    world.deliver()

    # Then the poison record alone is in the dead-letter queue, as Lambda reports it
    dead = world.queue_bodies(world.bus.stream_dlq_url)
    assert len(dead) == 1
    info = dead[0]["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert dead[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert world.pipeline.outcome.dead_lettered == [info["startSequenceNumber"]]
    # and everything around it was processed
    stats = public_stats()
    assert (stats["users"], stats["ideas"], stats["ideasByStatus"]["On Hold"]) == (1, 2, 1)


def test_statistics_are_exact_after_a_mix_of_writes_by_several_users_and_after_a_rebuild(world):
    # Given three users writing, changing and deleting ideas
    ada, bob, cy = register("ada"), register("bob"), register("cyd")
    a1, a2, _a3 = create(ada, "a1"), create(ada, "a2", "Planning"), create(ada, "a3", "Completed")
    b1, b2 = create(bob, "b1", "In Progress"), create(bob, "b2")
    change(ada, a1, "PATCH", {"status": "Completed"})
    change(bob, b1, "PUT", {"title": "b1 again", "status": "On Hold"})
    delete(ada, a2)
    delete(bob, b2)
    create(cy, "c1")
    world.deliver()

    # Then the public statistics and each user's own counts are exact
    stats = public_stats()
    assert stats["users"] == 3
    assert stats["ideas"] == 4
    assert stats["ideasByStatus"] == {"Concept": 1, "Planning": 0, "In Progress": 0, "On Hold": 1, "Completed": 2}
    assert stats["ideasCreatedPerDay"][-1]["count"] == 4  # alive, created today
    assert len(stats["ideasCreatedPerDay"]) == 30
    assert my_counts(ada) == {
        "ideas": 2,
        "ideasByStatus": {"Concept": 0, "Planning": 0, "In Progress": 0, "On Hold": 0, "Completed": 2},
    }
    assert my_counts(bob)["ideasByStatus"]["On Hold"] == 1
    assert my_counts(cy)["ideas"] == 1

    # and a rebuild finds nothing to correct
    client = boto3.client("dynamodb")
    assert rebuild(client, TABLE, sleep=lambda _: None).corrected == []

    # When the counters drift (an operator's mistake), a rebuild puts them right and says so
    client.update_item(
        TableName=TABLE,
        Key={"PK": {"S": "STATS"}, "SK": {"S": "GLOBAL"}},
        UpdateExpression="ADD ideas :n",
        ExpressionAttributeValues={":n": {"N": "5"}},
    )
    client.delete_item(TableName=TABLE, Key={"PK": {"S": f"USERSTATS#{cy['userId']}"}, "SK": {"S": "STATS"}})
    report = rebuild(client, TABLE, page_size=3, sleep=lambda _: None)
    assert sorted(c["item"] for c in report.corrected) == ["STATS", f"USERSTATS#{cy['userId']}"]
    assert public_stats()["ideas"] == 4
    assert my_counts(cy)["ideas"] == 1
    assert rebuild(client, TABLE, sleep=lambda _: None).corrected == []


def test_stats_answer_with_an_etag_and_304_when_unchanged(world):
    register("ada")
    world.deliver()
    first = invoke_raw("get_stats", event("GET", "/api/stats"))
    assert first["statusCode"] == 200
    assert first["headers"]["Cache-Control"].startswith("public, max-age=")
    again = invoke_raw("get_stats", event("GET", "/api/stats", headers={"If-None-Match": first["headers"]["ETag"]}))
    assert again["statusCode"] == 304
    assert again["body"] == ""


def test_a_catalogue_write_announces_skill_catalogue_changed(world):
    url = tap(world)
    admin = {"userId": "admin-1", "username": "root", "role": "admin"}
    body = {"name": "Kotlin", "category": "Programming Language", "proficiency": "Intermediate"}
    code, answer = invoke("create_skill", event("POST", "/api/skills", body=body, caller=admin))
    assert code == 201, answer
    received = [m["detail"] for m in world.queue_bodies(url)]
    assert [d["type"] for d in received] == ["SkillCatalogueChanged"]
    jsonschema.validate(received[0], SCHEMAS["SkillCatalogueChanged"])
    assert received[0]["data"]["skillId"] == answer["data"]["id"]
    assert received[0]["data"]["action"] == "create"


def invoke_raw(function: str, evt: dict) -> dict:
    from tests.support import LambdaContext, load_handler

    return load_handler(function).lambda_handler(evt, LambdaContext())


@pytest.fixture(autouse=True)
def _quiet_metrics(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


def test_the_local_pipeline_runs_the_deletion_sweep_on_its_schedule_and_the_statistics_follow(world, monkeypatch):
    from skills_ideas import account

    # Given a deleted account whose ideas were too many for its own request
    monkeypatch.setattr(account, "DELETE_IDEAS_PER_REQUEST", 2)
    ada, bob = register("ada"), register("bob")
    for n in range(5):
        create(ada, f"a{n}")
    create(bob, "b1")
    status, _ = invoke("delete_account", event("DELETE", "/api/me", body={"password": PASSWORD}, caller=ada))
    assert status == 202
    world.deliver()
    assert public_stats()["users"] == 2  # not gone yet: its profile goes with its last idea
    # When the pipeline's clock reaches the sweep's run (it runs at start, then every minute)
    assert world.pipeline.run_schedules(now=0.0) == ["finish_deletions"]
    assert world.pipeline.run_schedules(now=59.0) == []
    world.deliver()
    # Then the account and all its ideas are gone, and the statistics count what is left
    assert invoke("list_ideas", event("GET", "/api/ideas", query={"userId": ada["userId"]}))[1]["data"] == []
    stats = public_stats()
    assert (stats["users"], stats["ideas"]) == (1, 1)
    assert world.pipeline.run_schedules(now=60.0) == ["finish_deletions"]
