"""Skill recommendations kept fresh through the event backbone, end to end on moto: requests
over HTTP to the local gateway (what ``make dev`` serves), the table's stream, the bus and the
``recommendations`` subscription driven explicitly (``World.deliver``: no waiting), and the
stored links read back over HTTP."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from skills_ideas import models, recommendations, users
from skills_ideas.events import domain, skill_links
from skills_ideas_tools.gateway import running_gateway
from skills_ideas_tools.lambda_runtime import module_loader
from tests.events.conftest import World
from tests.events.test_events_and_stats import tap
from tests.support import DEFAULT_CATALOGUE, REPO, json_call

PASSWORD = "correct-horse-battery"
SKILLS = json.loads(DEFAULT_CATALOGUE.read_text())["skills"]
ID = {s["name"]: s["id"] for s in SKILLS}
K8S = {"title": "k8s cost explorer", "description": "Show Kubernetes spend per namespace as charts and dashboards."}
REDIS = {"title": "Redis queue", "description": "A job queue on Redis streams."}
TOFU = {"title": "Tofu modules", "description": "Reusable tofu modules for our VPCs."}


def stored(idea_id: str) -> models.IdeaSkillsModel | None:
    """The idea's stored list, read as the consumer does (consistently)."""
    return recommendations._stored(recommendations._owner_of(idea_id, None), idea_id)


class Api:
    def __init__(self, url: str) -> None:
        self.url = url

    def call(self, method: str, path: str, body: object = None, token: str | None = None) -> tuple[int, dict]:
        return json_call(self.url, method, path, body, token)

    def user(self, name: str, role: str = "user") -> str:
        assert self.call("POST", "/api/register", {"username": name, "password": PASSWORD})[0] == 201
        if role != "user":
            users.set_role(name, role)
        status, body = self.call("POST", "/api/login", {"username": name, "password": PASSWORD})
        assert status == 200, body
        return body["token"]

    def idea(self, fields: dict, token: str) -> str:
        status, body = self.call("POST", "/api/ideas", fields, token)
        assert status == 201, body
        return body["data"]["id"]

    def skills_of(self, idea_id: str) -> dict:
        status, body = self.call("GET", f"/api/ideas/{idea_id}/skills")
        assert status == 200, body
        return body

    def names(self, idea_id: str) -> list[str]:
        return [s["name"] for s in self.skills_of(idea_id)["data"]]

    def ideas_of(self, skill_id: int) -> list[str]:
        status, body = self.call("GET", f"/api/skills/{skill_id}/ideas?_limit=100")
        assert status == 200, body
        return [i["id"] for i in body["data"]]


@pytest.fixture
def api(world: World, monkeypatch) -> Iterator[Api]:
    monkeypatch.setattr(skill_links, "CONTINUE_DELAY_SECONDS", 0)  # a step's successor is due at once
    with running_gateway(module_loader(REPO)) as server:
        yield Api(server.url)


def test_an_idea_gets_its_skills_through_the_events_and_follows_its_edits_and_deletion(world, api):
    # Given a user publishing an idea over HTTP
    token = api.user("ada")
    idea = api.idea(K8S, token)
    # Then until its event is processed, its skills are pending (nothing is ranked on a read)
    assert api.skills_of(idea) == {"success": True, "count": 0, "data": [], "pending": True}

    # When the stream, the bus and the consumer run
    world.deliver()
    # Then the stored suggestions are served, and the skills list the idea
    body = api.skills_of(idea)
    assert body["pending"] is False
    assert [s["name"] for s in body["data"]] == ["Kubernetes", "Data Visualization"]
    assert api.ideas_of(ID["Kubernetes"]) == [idea]

    # When the owner rewrites it about something else
    assert api.call("PATCH", f"/api/ideas/{idea}", REDIS, token)[0] == 200
    world.deliver()
    # Then its suggestions and links follow
    assert api.names(idea) == ["Redis"]
    assert api.ideas_of(ID["Redis"]) == [idea]
    assert api.ideas_of(ID["Kubernetes"]) == []

    # When it is deleted
    assert api.call("DELETE", f"/api/ideas/{idea}", token=token)[0] == 200
    world.deliver()
    # Then its links are gone on both sides
    assert api.ideas_of(ID["Redis"]) == []
    assert stored(idea) is None
    assert [list(models.SkillIdeaModel.query(f"SKILL#{skill['id']}")) for skill in SKILLS] == [[]] * len(SKILLS)


def test_a_catalogue_change_recomputes_the_ideas_it_affects_in_continued_steps(world, api, monkeypatch):
    # Given five ideas with their skills (one says "tofu", not yet an alias of anything)
    monkeypatch.setattr(recommendations, "WALK_PAGE", 2)  # two ideas a page: the walk needs steps
    token, admin = api.user("ada"), api.user("root", role="admin")
    tofu = api.idea(TOFU, token)
    others = [api.idea(K8S, token), api.idea(REDIS, token), api.idea({"title": "Garden rota"}, token)]
    others.append(api.idea({"title": "Book club"}, token))
    world.deliver()
    assert api.names(tofu) == []
    versions = {i: stored(i).version for i in others}

    steps: list[recommendations.Step] = []
    step = recommendations.refresh_for_skill
    monkeypatch.setattr(recommendations, "refresh_for_skill", lambda *a, **k: steps.append(step(*a, **k)) or steps[-1])

    # When an admin gives Terraform the alias "tofu" over HTTP, and the events run
    status, body = api.call("PATCH", f"/api/skills/{ID['Terraform']}", {"aliases": ["tofu", "tf"]}, admin)
    assert status == 200, body
    world.deliver()
    # Then the walk went through every idea in steps of two pages, each handing on the next
    assert [s.examined for s in steps] == [4, 1]
    assert [s.resume is None for s in steps] == [False, True]
    # Then the idea that says it is linked to Terraform; the others were left as they were
    assert api.names(tofu) == ["Terraform"]
    assert api.ideas_of(ID["Terraform"]) == [tofu]
    assert {i: stored(i).version for i in others} == (versions)

    # When an admin deletes Kubernetes
    assert api.call("DELETE", f"/api/skills/{ID['Kubernetes']}", token=admin)[0] == 200
    world.deliver()
    # Then no link to it remains, and the idea that had it keeps its other skill
    assert list(models.SkillIdeaModel.query(f"SKILL#{ID['Kubernetes']}")) == []
    assert api.names(others[0]) == ["Data Visualization"]
    # and nothing was left to fail
    assert world.queue_bodies(world.bus.dead_letter_queues["recommendations"]) == []


def test_link_writes_make_no_events(world, api):
    # Given a consumer listening to every event
    url = tap(world)
    # When an idea is published, ranked (its list and links written), confirmed by its owner
    token = api.user("ada")
    idea = api.idea(K8S, token)
    world.deliver()
    status, body = api.call("PUT", f"/api/ideas/{idea}/skills", {"skillIds": [ID["Redis"]]}, token)
    assert status == 200, body
    world.deliver()
    # Then the only events are the user's and the idea's: the links' stream records made none
    assert Counter(m["detail"]["type"] for m in world.queue_bodies(url)) == {"UserRegistered": 1, "IdeaCreated": 1}
    assert len(list(models.SkillIdeaModel.query(f"SKILL#{ID['Redis']}"))) == 1
    # (an idea's list and a link, as the stream shows them, are no domain event)
    for keys in ({"PK": "USER#ada", "SK": f"IDEASKILLS#{idea}"}, {"PK": f"SKILL#{ID['Redis']}", "SK": "x#y"}):
        assert domain.from_change("e-1", "INSERT", keys, {}, {"ideaId": idea, "userId": "ada"}) is None


def test_redelivered_events_write_nothing_and_a_bad_message_fails_alone(world, api, monkeypatch):
    # Given an idea, delivered, and every event the consumer received, captured
    token = api.user("ada")
    url = tap(world)
    idea = api.idea(K8S, token)
    world.deliver()
    first = stored(idea)
    events_seen = [m for m in world.queue_bodies(url) if m["detail"]["type"] == "IdeaCreated"]
    assert len(events_seen) == 1

    # When the same event comes twice more, in one batch with a malformed message
    replay = world.sqs.create_queue(QueueName="replay")["QueueUrl"]
    bad = {"detail": {"id": "x", "type": "IdeaCreated", "data": {}}}
    for body in [events_seen[0], bad, events_seen[0]]:
        world.sqs.send_message(QueueUrl=replay, MessageBody=json.dumps(body))
    answer = world.sqs.receive_message(QueueUrl=replay, MaxNumberOfMessages=10, VisibilityTimeout=30)
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {},
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:replay",
            "awsRegion": "us-east-1",
        }
        for m in answer["Messages"]
    ]
    result = world.handlers.invoke("recommendations_consumer", {"Records": records})

    # Then only the malformed one is reported failed, and the redeliveries wrote nothing
    bad_ids = [r["messageId"] for r in records if json.loads(r["body"])["detail"]["id"] == "x"]
    assert result == {"batchItemFailures": [{"itemIdentifier": bad_ids[0]}]}
    again = stored(idea)
    assert again is not None and first is not None
    assert (again.version, again.updatedAt) == (first.version, first.updatedAt)


@pytest.fixture(autouse=True)
def _quiet_metrics(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
