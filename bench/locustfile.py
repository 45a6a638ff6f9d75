"""A realistic traffic mix against the Skills & Ideas API, for ``make load`` (bench/load.py).

Each simulated user is someone with an account (``SKILLS_IDEAS_LOAD_ACCOUNTS``: a JSON file
of ``{username, password, userId, token}`` that bench/load.py prepares, so that a level does
not begin with every user hashing a password at once; without it each user registers and
logs in first). It mostly browses: the skills catalogue (list, filters, one skill,
categories) and the ideas feed (pages following ``nextCursor``, by status, by author, one
idea); now and then it logs in again or a newcomer signs up, and it publishes, changes
(PATCH and PUT) and deletes its own ideas. Task weights (of 100): 60 skill and idea reads,
15 reading one idea, 10 logins (one in ten a sign-up first), 15 writes.

Every request goes through an ``Endpoint`` named by the route manifest's method and path
template, so the statistics group by route (``GET /api/ideas/{id}``), not by raw URL, and a
test checks every endpoint here exists in the manifest.

Run alone against a running API (``make load`` does this for you, bounded):

    .venv/bin/locust -f bench/locustfile.py --headless -u 8 -r 8 -t 30s --host http://127.0.0.1:3000
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import gevent
from locust import FastHttpUser, between, events, task

# ------------------------------------------------------------------------------- the endpoints


@dataclass(frozen=True)
class Endpoint:
    method: str
    route: str  # the manifest's path template

    @property
    def name(self) -> str:
        return f"{self.method} {self.route}"

    def url(self, params: dict[str, Any] | None = None, **path: Any) -> str:
        target = self.route.format(**{key: quote(str(value), safe="") for key, value in path.items()})
        return target + ("?" + urlencode(params) if params else "")


ENDPOINTS: list[Endpoint] = []


def endpoint(method: str, route: str) -> Endpoint:
    found = Endpoint(method, route)
    ENDPOINTS.append(found)
    return found


REGISTER = endpoint("POST", "/api/register")
LOGIN = endpoint("POST", "/api/login")
LIST_SKILLS = endpoint("GET", "/api/skills")
SKILL_CATEGORIES = endpoint("GET", "/api/skills/categories")
GET_SKILL = endpoint("GET", "/api/skills/{id}")
SKILLS_IN_CATEGORY = endpoint("GET", "/api/skills/category/{category}")
LIST_IDEAS = endpoint("GET", "/api/ideas")
GET_IDEA = endpoint("GET", "/api/ideas/{id}")
CREATE_IDEA = endpoint("POST", "/api/ideas")
UPDATE_IDEA = endpoint("PATCH", "/api/ideas/{id}")
REPLACE_IDEA = endpoint("PUT", "/api/ideas/{id}")
DELETE_IDEA = endpoint("DELETE", "/api/ideas/{id}")

STATUSES = ("Concept", "Planning", "In Progress", "On Hold", "Completed")
SKILL_FILTERS = (
    {"category": "framework"},
    {"category": "database"},
    {"proficiency": "Expert"},
    {"proficiency": "Intermediate"},
    {"q": "python"},
    {"q": "script"},
    {"sort": "name"},
    {"category": "language", "sort": "name"},
)
FEED_PAGES = 3  # a reader follows nextCursor at most this far

# ------------------------------------------------------------ what the simulated users share

#: Ideas seen in feeds or created (a user reads others' ideas), newest last, bounded.
KNOWN_IDEAS: list[str] = []
#: Ideas deleted during the run: reading one of these answers 404, and that is right.
DELETED_IDEAS: set[str] = set()
#: Skill ids and categories, learned from the catalogue listings.
SKILL_IDS: list[str] = ["1", "2", "3"]
CATEGORIES: list[str] = ["Database", "DevOps"]
AUTHORS: list[str] = []


ACCOUNTS_ENV = "SKILLS_IDEAS_LOAD_ACCOUNTS"
#: Prepared accounts the users take in turn (see the module docstring).
ACCOUNTS: list[dict[str, str]] = (
    json.loads(Path(os.environ[ACCOUNTS_ENV]).read_text()) if os.environ.get(ACCOUNTS_ENV) else []
)
_next_account = itertools.count()


def remember_idea(idea_id: str) -> None:
    KNOWN_IDEAS.append(idea_id)
    del KNOWN_IDEAS[:-500]


# ------------------------------------------------------------------- a bounded run of requests


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many requests (0: no cap)")


_sent = 0


@events.request.add_listener
def _count(**kwargs: Any) -> None:
    global _sent
    _sent += 1


@events.init.add_listener
def _cap(environment: Any, **kwargs: Any) -> None:
    cap = getattr(environment.parsed_options, "max_requests", 0) if environment.parsed_options else 0
    if not cap:
        return

    def watch() -> None:
        while _sent < cap:
            gevent.sleep(0.1)
        if environment.runner is not None:
            environment.runner.quit()

    gevent.spawn(watch)


# ------------------------------------------------------------------------------ the user


class ApiUser(FastHttpUser):
    """One person using the API: browses a lot, logs in sometimes, writes a little."""

    wait_time = between(0.05, 0.5)

    def on_start(self) -> None:
        self.own: list[str] = []
        if ACCOUNTS:
            account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
            self.username, self.password = account["username"], account["password"]
            self.user_id, self.token = account["userId"], account["token"]
            AUTHORS.append(self.user_id)
        else:
            self.sign_up()

    def sign_up(self) -> None:
        """Become a newcomer: register, then log in."""
        self.username = f"load_{uuid.uuid4().hex[:16]}"
        self.password = f"pw-{uuid.uuid4().hex}"
        self.token, self.user_id, self.own = "", "", []
        registered = self.call(REGISTER, body={"username": self.username, "password": self.password}, expect=(201,))
        if registered:
            self.user_id = registered["data"]["id"]
            AUTHORS.append(self.user_id)
        self.login()

    # ---------------------------------------------------------------------------- plumbing

    def call(
        self,
        target: Endpoint,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        auth: bool = False,
        expect: tuple[int, ...] = (200,),
        gone_ok: str | None = None,
        **path: Any,
    ) -> dict[str, Any] | None:
        """One request, recorded under the route's name; the JSON reply when it is expected.

        gone_ok: an idea id whose 404 is correct if it was deleted meanwhile.
        """
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        with self.client.request(
            target.method, target.url(params, **path), name=target.name, json=body, headers=headers, catch_response=True
        ) as response:
            if response.status_code in expect:
                response.success()
                try:
                    return response.json()
                except ValueError:
                    response.failure("the reply is not JSON")
                    return None
            if response.status_code == 404 and gone_ok is not None and gone_ok in DELETED_IDEAS:
                response.success()
                return None
            response.failure(f"{response.status_code} {(response.text or '')[:200]}")
            return None

    def login(self) -> None:
        reply = self.call(LOGIN, body={"username": self.username, "password": self.password})
        if reply:
            self.token = reply["token"]

    def _learn_ideas(self, reply: dict[str, Any] | None) -> str | None:
        if not reply:
            return None
        for idea in reply.get("data") or []:
            if idea["id"] not in DELETED_IDEAS:
                remember_idea(idea["id"])
        return reply.get("nextCursor")

    # ------------------------------------------------------------- reads: 60 of 100

    @task(10)
    def browse_skills(self) -> None:
        reply = self.call(LIST_SKILLS)
        if reply and reply.get("data"):
            SKILL_IDS[:] = [str(skill["id"]) for skill in reply["data"]]
            CATEGORIES[:] = sorted({skill["category"] for skill in reply["data"]})

    @task(10)
    def filter_skills(self) -> None:
        self.call(LIST_SKILLS, params=random.choice(SKILL_FILTERS))

    @task(8)
    def one_skill(self) -> None:
        self.call(GET_SKILL, id=random.choice(SKILL_IDS))

    @task(6)
    def skill_categories(self) -> None:
        self.call(SKILL_CATEGORIES)

    @task(6)
    def skills_in_a_category(self) -> None:
        self.call(SKILLS_IN_CATEGORY, category=random.choice(CATEGORIES))

    @task(12)
    def ideas_feed(self) -> None:
        cursor = self._learn_ideas(self.call(LIST_IDEAS))
        for _ in range(random.randint(0, FEED_PAGES - 1)):
            if not cursor:
                break
            cursor = self._learn_ideas(self.call(LIST_IDEAS, params={"cursor": cursor}))

    @task(5)
    def ideas_by_status(self) -> None:
        self._learn_ideas(self.call(LIST_IDEAS, params={"status": random.choice(STATUSES)}))

    @task(3)
    def ideas_by_author(self) -> None:
        author = random.choice(AUTHORS) if AUTHORS else self.user_id
        if author:
            self._learn_ideas(self.call(LIST_IDEAS, params={"userId": author}))

    # ------------------------------------------------------------ one idea: 15 of 100

    @task(15)
    def one_idea(self) -> None:
        if not KNOWN_IDEAS:
            self.ideas_feed()
            return
        idea_id = random.choice(KNOWN_IDEAS)
        self.call(GET_IDEA, id=idea_id, gone_ok=idea_id)

    # ---------------------------------------------------------------- login: 10 of 100

    @task(9)
    def log_in_again(self) -> None:
        self.login()

    @task(1)
    def newcomer_signs_up(self) -> None:
        self.sign_up()

    # --------------------------------------------------------------- writes: 15 of 100

    @task(6)
    def publish_an_idea(self) -> None:
        body = {
            "title": f"Idea {uuid.uuid4().hex[:8]}",
            "description": "Written under load: " + " ".join(random.choices(("learn", "teach", "build"), k=12)),
            "status": random.choice(STATUSES),
        }
        reply = self.call(CREATE_IDEA, body=body, auth=True, expect=(201,))
        if reply:
            self.own.append(reply["data"]["id"])
            remember_idea(reply["data"]["id"])

    @task(4)
    def change_an_idea(self) -> None:
        if not self.own:
            self.publish_an_idea()
            return
        self.call(UPDATE_IDEA, id=random.choice(self.own), body={"status": random.choice(STATUSES)}, auth=True)

    @task(2)
    def rewrite_an_idea(self) -> None:
        if not self.own:
            self.publish_an_idea()
            return
        body = {"title": f"Rewritten {uuid.uuid4().hex[:8]}", "description": "Rewritten", "status": "Planning"}
        self.call(REPLACE_IDEA, id=random.choice(self.own), body=body, auth=True)

    @task(3)
    def delete_an_idea(self) -> None:
        if not self.own:
            self.publish_an_idea()
            return
        idea_id = self.own.pop(random.randrange(len(self.own)))
        DELETED_IDEAS.add(idea_id)
        if idea_id in KNOWN_IDEAS:
            KNOWN_IDEAS.remove(idea_id)
        self.call(DELETE_IDEA, id=idea_id, auth=True)
