"""Every sample event in events/ works through ``skills-ideas invoke`` on a fresh ``make dev``
state: the data the events name is seeded, so none of them answers 404 (or fails)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skills_ideas.routes import EVENT_FUNCTIONS, SCHEDULES, functions
from skills_ideas_tools import samples
from skills_ideas_tools.local_env import local_stack
from tests.support import serving

REPO = Path(__file__).resolve().parents[2]
EVENTS = sorted((REPO / "events").glob("*.json"))
CREATED = {"create_idea", "create_skill", "register"}
NO_CONTENT = {"logout", "end_session", "delete_account"}

#: Runs invoke's own entry point once per event in one interpreter (handlers stay warm, as
#: they would across `make invoke` runs against one `make dev`) and prints every result.
DRIVER = """
import contextlib, io, json, sys
from skills_ideas_tools.cli import main
state, results = sys.argv[1], {}
for path in sys.argv[2:]:
    function = path.rsplit("/", 1)[-1].removesuffix(".json")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["invoke", function, path, "--state-dir", state])
    results[function] = {"exit": code, "result": json.loads(out.getvalue())}
print(json.dumps(results))
"""


@pytest.fixture
def dev_state(tmp_path):
    """A fresh state dir with `skills-ideas serve` (what `make dev` runs) on it."""
    state = tmp_path / "state"
    with serving(state, engine="java"):
        yield state


def test_there_is_one_sample_event_per_function():
    assert {path.stem for path in EVENTS} == set(functions())


@pytest.mark.dynamodb_local
def test_every_sample_event_succeeds_through_invoke_on_a_fresh_dev_state(dev_state):
    # Given a fresh `make dev` state, When every event of events/ goes through invoke in turn
    # (alphabetically: delete_idea runs before get_idea, which finds the sample idea re-seeded)
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, str(dev_state), *(f"events/{path.name}" for path in EVENTS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout)
    # Then none fails: every API event answers its 2xx, the authorizer allows the sample token
    authorizer = results.pop("authorizer")
    assert authorizer["exit"] == 0
    assert authorizer["result"]["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert authorizer["result"]["context"]["userId"] == samples.USER_ID
    # the event consumers take their whole batch (no item failure)
    for function in SCHEDULES:  # a scheduled run: nothing pending in the seeded state
        run = results.pop(function)
        assert (run["exit"], run["result"]) == (0, {"accounts": 0, "complete": 0, "ideasDeleted": 0}), function
    for function in set(EVENT_FUNCTIONS) - set(SCHEDULES):
        consumed = results.pop(function)
        assert (consumed["exit"], consumed["result"]) == (0, {"batchItemFailures": []}), function
    statuses = {function: (r["exit"], r["result"].get("statusCode")) for function, r in results.items()}
    expected = {
        function: (0, 201 if function in CREATED else 204 if function in NO_CONTENT else 200) for function in results
    }
    assert statuses == expected, {f: json.loads(results[f]["result"].get("body") or "null") for f in results}
    # and what they answer is the seeded data
    me = json.loads(results["me"]["result"]["body"])["data"]
    assert (me["id"], me["username"]) == (samples.USER_ID, samples.USERNAME)
    login = json.loads(results["login"]["result"]["body"])
    assert login["user"] == {"id": samples.USER_ID, "username": samples.USERNAME}
    idea = json.loads(results["get_idea"]["result"]["body"])["data"]
    assert (idea["id"], idea["userId"]) == (samples.IDEA_ID, samples.USER_ID)


def test_the_events_name_the_seeded_user_and_idea():
    for path in EVENTS:
        event = json.loads(path.read_text())
        authorizer = (event.get("requestContext") or {}).get("authorizer")
        if authorizer:
            assert (authorizer["userId"], authorizer["username"]) == (samples.USER_ID, samples.USERNAME), path.name
        if path.stem.endswith("_idea") and path.stem != "create_idea":
            assert event["pathParameters"]["id"] == samples.IDEA_ID, path.name


def test_seeding_creates_what_is_missing_and_nothing_else(tmp_path):
    from skills_ideas import ideas, models, users

    with local_stack(tmp_path, engine="moto", reuse=False):
        try:
            assert samples.seed() == samples.Seeded(user=True, idea=True)
            ideas.update(samples.USER_ID, samples.IDEA_ID, {"status": "Completed"})
            # Seeding again changes nothing: the changed idea stays changed
            assert samples.seed() == samples.Seeded(user=False, idea=False)
            assert ideas.get(samples.IDEA_ID)["status"] == "Completed"
            assert users.authenticate(samples.USERNAME, samples.PASSWORD) is not None
            # A deleted sample idea comes back
            ideas.delete(samples.USER_ID, samples.IDEA_ID)
            assert samples.seed() == samples.Seeded(user=False, idea=True)
        finally:
            models.unbind()


def test_seeding_refuses_a_sample_name_held_by_someone_else(tmp_path):
    from skills_ideas import models, users
    from skills_ideas.config import TableConfig

    with local_stack(tmp_path, engine="moto", reuse=False):
        try:
            models.bind(TableConfig.from_env())
            users.register(samples.USERNAME, "another-password")
            with pytest.raises(samples.SampleConflict, match="reset the local state"):
                samples.seed()
        finally:
            models.unbind()
