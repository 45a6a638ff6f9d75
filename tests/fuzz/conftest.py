"""The local API over HTTP (DynamoDB Local and S3 behind the real handlers, as ``make dev``
serves it) with a signed-in user and an admin, for schemathesis to aim at."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from skills_ideas import users
from skills_ideas.routes import ROUTES
from tests.support import bind_models, local_api

PASSWORD = "correct-horse-battery"
#: Real values of each path parameter, so that every other case reaches an existing resource
#: (a 200 whose body is checked against its schema) rather than a 404.
ASSETS = ("swagger-ui.css", "swagger-initializer.js", "LICENSE")
#: Routes that end the caller's session(s) or account: never called with the shared tokens.
ENDS_SESSIONS = frozenset({"logout", "end_session", "change_password", "delete_account"})


@dataclass
class FuzzTarget:
    url: str
    user_token: str
    admin_token: str
    session: requests.Session = field(default_factory=requests.Session)
    _turn: itertools.count = field(default_factory=itertools.count)

    def headers(self, path: str, method: str) -> dict[str, str]:
        """The bearer token a real client of this route sends: an admin's on admin routes, a
        signed-in user's on the others that need one, none on public routes."""
        route = next(r for r in ROUTES if r.path == path and r.method == method.upper())
        if not route.protected:
            return {}
        if route.function in ENDS_SESSIONS:
            # These may end the session, change the password or delete the account (the document's
            # examples use the right password): each call gets an account of its own.
            return {"Authorization": f"Bearer {self.throwaway_token()}"}
        return {"Authorization": f"Bearer {self.admin_token if route.access == 'admin' else self.user_token}"}

    def throwaway_token(self) -> str:
        name = f"fuzz_once_{uuid.uuid4().hex[:10]}"
        registered = self.session.post(
            f"{self.url}/api/register", json={"username": name, "password": PASSWORD}, timeout=30
        )
        assert registered.status_code == 201, registered.text
        return _token(self.url, name)

    def new_idea(self) -> str:
        created = self.session.post(
            f"{self.url}/api/ideas",
            json={"title": "Fuzzed idea", "description": "made for a path", "status": "Planning"},
            headers={"Authorization": f"Bearer {self.user_token}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        return created.json()["data"]["id"]

    def aim(self, case: Any) -> None:
        """Every other case: the path names a resource that exists (the signed-in user's own new
        idea, a catalogue skill, a docs asset) instead of whatever was generated."""
        if next(self._turn) % 2 or not case.path_parameters:
            return
        params = case.path_parameters
        if case.path == "/api/ideas/{id}":
            params["id"] = self.new_idea()
        elif case.path == "/api/skills/{id}":
            params["id"] = str(1 + next(self._turn) % 40)
        elif case.path == "/api/skills/category/{category}":
            params["category"] = "database"
        elif case.path == "/docs/{asset}":
            params["asset"] = ASSETS[next(self._turn) % len(ASSETS)]


def _token(url: str, username: str) -> str:
    response = requests.post(f"{url}/api/login", json={"username": username, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.fixture(scope="package")
def fuzz_target(tmp_path_factory) -> Iterator[FuzzTarget]:
    with local_api(tmp_path_factory.mktemp("fuzz-state")) as (url, _services):
        names = {role: f"fuzz_{role}_{uuid.uuid4().hex[:8]}" for role in ("user", "admin")}
        for name in names.values():
            registered = requests.post(f"{url}/api/register", json={"username": name, "password": PASSWORD}, timeout=30)
            assert registered.status_code == 201, registered.text
        bind_models()
        users.set_role(names["admin"], "admin")  # what `skills-ideas admin grant` does
        yield FuzzTarget(url, _token(url, names["user"]), _token(url, names["admin"]))
