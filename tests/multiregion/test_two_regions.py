"""The multi-region guarantees of docs/multi-region.md, proven on two simulated regions: the
real handlers of each region on its own replica, replication driven by the test."""

from __future__ import annotations

import pytest

from skills_ideas import sessions
from skills_ideas.events import stats
from skills_ideas_tools.stats_command import rebuild
from tests.multiregion.conftest import HOME, PASSWORD, SECOND, Simulation
from tests.support import event

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.multiregion]


def profiles(region, username: str) -> list[dict]:
    return [i for i in region.items("USER#") if i["SK"]["S"] == "PROFILE" and i["username"]["S"] == username]


def claims(region, fold: str) -> list[dict]:
    return region.items(f"USERNAME#{fold}")


# ------------------------------------------------------------------ registration
def test_one_name_registered_in_both_regions_at_once_makes_one_account(make_simulation):
    sim: Simulation = make_simulation()
    # Given nothing has replicated between the regions (both requests within the lag)
    # When the same name is registered in the home region and, differently spelt, in the other
    home_status, home_body = sim[HOME].register("ada", "first-password-1")
    second_status, second_body = sim[SECOND].register("ADA", "second-password-2")
    # Then the home region's claim decided at once: the second client is told the name is taken
    assert home_status == 201, home_body
    assert second_status == 409 and second_body["message"] == "User already exists"
    # And after replication both regions hold exactly one account and one claim, the same
    sim.replicate()
    for region in (sim[HOME], sim[SECOND]):
        (profile,) = profiles(region, "ada")
        assert profiles(region, "ADA") == []
        (claim,) = claims(region, "ada")
        assert claim["userId"]["S"] == profile["userId"]["S"] == home_body["data"]["id"]
    # And the account logs in in either region, with its own password only
    assert sim[SECOND].login("ada", "first-password-1")[0] == 200
    assert sim[SECOND].login("ada", "second-password-2")[0] == 401


def test_a_registration_outside_the_home_region_claims_the_name_in_the_home_region(make_simulation):
    sim: Simulation = make_simulation()
    # When a name is registered in the second region first
    status, body = sim[SECOND].register("bob")
    assert status == 201, body
    # Then the home region holds the claim and the profile at once, before any replication,
    # stamped as written there: the home region's stream function announces the account
    (profile,) = profiles(sim[HOME], "bob")
    assert profile["writtenIn"]["S"] == HOME
    assert claims(sim[HOME], "bob")
    # And the home region refuses the same name straight away
    assert sim[HOME].register("Bob")[0] == 409
    # And the second region logs the account in once the account has replicated
    assert sim[SECOND].login("bob")[0] == 401
    sim.replicate()
    assert sim[SECOND].login("bob")[0] == 200


def test_without_home_region_claims_one_name_ends_as_two_profiles_and_one_claim(make_simulation):
    # Given each region claims names in its own replica (no HOME_REGION): the design rejected
    sim: Simulation = make_simulation(home_claims=False)
    # When the same name is registered in both regions within the lag
    first = sim[HOME].register("cyd", "first-password-1")
    second = sim[SECOND].register("cyd", "second-password-2")
    # Then both clients were told they have the account
    assert first[0] == second[0] == 201
    sim.replicate()
    # And after replication last writer wins per item: both profiles survive (different keys)
    # but one claim, the later one, names its user everywhere; the first account is orphaned
    for region in (sim[HOME], sim[SECOND]):
        assert {p["userId"]["S"] for p in profiles(region, "cyd")} == {first[1]["data"]["id"], second[1]["data"]["id"]}
        (claim,) = claims(region, "cyd")
        assert claim["userId"]["S"] == second[1]["data"]["id"]
    assert sim[HOME].login("cyd", "first-password-1")[0] == 401
    assert sim[HOME].login("cyd", "second-password-2")[0] == 200


def test_registration_answers_503_while_the_home_region_is_down_and_logins_keep_working(make_simulation):
    sim: Simulation = make_simulation()
    assert sim[HOME].register("dee")[0] == 201
    sim.replicate()
    sim.lose(HOME)
    try:
        # When the home region is unreachable
        status, body = sim[SECOND].register("eve")
        # Then registration in the other region is refused for now, with a time to retry
        assert status == 503, body
        assert body["retryAfter"] == "2"
        # While logins and everything local keep working
        token = sim[SECOND].token("dee")
        assert sim[SECOND].me(token)[0] == 200
    finally:
        sim.restore(HOME)
    # And once the home region is back, registration works again
    assert sim[SECOND].register("eve")[0] == 201


def test_a_keyed_registration_replayed_before_its_account_arrives_asks_to_retry(make_simulation):
    sim: Simulation = make_simulation()
    keyed = {"username": "kim", "password": PASSWORD}

    def register_keyed() -> tuple[int, dict]:
        evt = event("POST", "/api/register", body=keyed, headers={"Idempotency-Key": "k-kim-1"})
        return sim[SECOND].call("register", evt)

    # Given a registration with an Idempotency-Key in the second region (made in the home region)
    assert register_keyed()[0] == 201
    # When the client retries it before the account has replicated to the second region
    status, body = register_keyed()
    # Then it is asked to retry shortly, not told its key was used for another request
    assert status == 503 and body["retryAfter"] == "2", body
    # And once the account is there, the retry answers the first response again
    sim.replicate()
    status, body = register_keyed()
    assert status == 201 and body["data"]["username"] == "kim"
    assert len(profiles(sim[SECOND], "kim")) == 1


# ------------------------------------------------------------------ ideas
def test_an_idea_edited_in_both_regions_within_the_lag_converges_to_the_later_edit(make_simulation):
    sim: Simulation = make_simulation()
    assert sim[HOME].register("fay")[0] == 201
    sim.replicate()
    home_token, second_token = sim[HOME].token("fay"), sim[SECOND].token("fay")
    idea = sim[HOME].create_idea(home_token, "Skill swap")
    sim.replicate()
    # When each region edits the idea before the other's edit has replicated
    first = sim[HOME].on_idea("update_idea", "PATCH", idea, home_token, {"status": "Planning"})
    second = sim[SECOND].on_idea("update_idea", "PATCH", idea, second_token, {"status": "Completed"})
    # Then both pass their own replica's version check (no 409 across regions: last writer wins)
    assert first[0] == second[0] == 200
    assert first[1]["data"]["status"] == "Planning" and second[1]["data"]["status"] == "Completed"
    # And after replication both regions serve the later edit, the earlier one is gone
    sim.replicate()
    for region in (sim[HOME], sim[SECOND]):
        status, body = region.on_idea("get_idea", "GET", idea)
        assert status == 200 and body["data"]["status"] == "Completed", region.name
    # And the converged idea carries the later edit's version in both regions, so the next edit
    # in either passes its version check (a stale write within one region still gets its 409:
    # tests/dynamodb_local/test_ideas_on_dynamodb_local.py)
    third = sim[HOME].on_idea("update_idea", "PATCH", idea, home_token, {"title": "Skill-swap evenings"})
    assert third[0] == 200
    sim.replicate()
    assert sim[SECOND].on_idea("get_idea", "GET", idea)[1]["data"]["title"] == "Skill-swap evenings"


# ------------------------------------------------------------------ sessions
def test_a_logout_in_one_region_is_refused_in_the_other_once_replicated(make_simulation):
    sim: Simulation = make_simulation()
    assert sim[HOME].register("gus")[0] == 201
    sim.replicate()
    # Given a session started in the second region, replicated to the home region
    token = sim[SECOND].token("gus")
    sim.replicate()
    assert sim[HOME].me(token)[0] == 200
    # When the user logs out in the second region
    assert sim[SECOND].call("logout", event("POST", "/api/logout"), token)[0] == 204
    assert sim[SECOND].me(token)[0] == 401
    # Then the home region still accepts the token until the deletion replicates (the lag)...
    assert sim[HOME].me(token)[0] == 200
    # ...and refuses it from then on (in the cloud, plus the authorizer cache TTL)
    sim.replicate()
    status, body = sim[HOME].me(token)
    assert status == 401 and body["message"] == "Session has ended; log in again"


def test_a_session_used_in_one_region_while_it_ends_in_the_other_stays_ended(make_simulation, monkeypatch):
    sim: Simulation = make_simulation()
    assert sim[HOME].register("hil")[0] == 201
    sim.replicate()
    token = sim[SECOND].token("hil")
    sim.replicate()
    # Given the session was last used long enough ago that its next use is recorded
    later = sessions.clock() + 2 * sessions.TOUCH_SECONDS
    monkeypatch.setattr(sessions, "clock", lambda: later)
    # When the user logs out in one region and, within the lag, the token is used in the other
    assert sim[SECOND].call("logout", event("POST", "/api/logout"), token)[0] == 204
    assert sim[HOME].me(token)[0] == 200  # the logout has not arrived: allowed, and its use recorded
    # Then after replication the session is over in both regions: recording its use (a later
    # write) did not bring it back
    sim.replicate()
    for region in (sim[HOME], sim[SECOND]):
        status, body = region.me(token)
        assert status == 401 and body["message"] == "Session has ended; log in again", region.name


def test_a_refresh_in_one_region_while_the_session_ends_in_the_other_leaves_it_ended(make_simulation, monkeypatch):
    sim: Simulation = make_simulation()
    assert sim[HOME].register("ida")[0] == 201
    sim.replicate()
    status, body = sim[SECOND].login("ida")
    assert status == 200
    token, refresh = body["token"], body["refreshToken"]
    sim.replicate()
    later = sessions.clock() + 2 * sessions.TOUCH_SECONDS  # its next use is recorded too
    monkeypatch.setattr(sessions, "clock", lambda: later)
    # When the user logs out in one region and, within the lag, the refresh token is used in the other
    assert sim[SECOND].call("logout", event("POST", "/api/logout"), token)[0] == 204
    status, body = sim[HOME].call("refresh_token", event("POST", "/api/token/refresh", body={"refreshToken": refresh}))
    assert status == 200  # the logout has not arrived: the rotation is allowed
    # Then after replication the session is over in both regions, for every token of it:
    # the rotation (a later write) did not bring it back
    sim.replicate()
    for region in (sim[HOME], sim[SECOND]):
        for access in (token, body["token"]):
            assert region.me(access)[0] == 401, region.name
        again = region.call(
            "refresh_token", event("POST", "/api/token/refresh", body={"refreshToken": body["refreshToken"]})
        )
        assert again[0] == 401, region.name


# ------------------------------------------------------------------ counters
def test_counters_count_each_change_once_when_both_regions_write(make_simulation):
    sim: Simulation = make_simulation()
    # Given users registered through both regions and ideas written in both
    assert sim[HOME].register("hal")[0] == 201
    assert sim[SECOND].register("ivy")[0] == 201
    sim.replicate()
    hal, ivy = sim[HOME].token("hal"), sim[SECOND].token("ivy")
    a = sim[HOME].create_idea(hal, "Garden plans", "Planning")
    b = sim[HOME].create_idea(hal, "Bike repair")
    sim[SECOND].create_idea(ivy, "Language tandem", "Completed")
    d = sim[SECOND].create_idea(ivy, "Reading circle")
    sim.replicate()
    # When ideas change in the region they were not created in, and one is deleted there
    hal_abroad = sim[SECOND].token("hal")
    assert sim[SECOND].on_idea("update_idea", "PATCH", a, hal_abroad, {"status": "In Progress"})[0] == 200
    assert sim[SECOND].on_idea("delete_idea", "DELETE", b, hal_abroad)[0] == 200
    assert sim[HOME].on_idea("update_idea", "PATCH", d, sim[HOME].token("ivy"), {"status": "On Hold"})[0] == 200
    # And both regions' stream functions and consumers run over both streams, replication included
    sim.settle()
    # Then each region's GET /api/stats counts every change exactly once
    expected_status = {"Concept": 0, "Planning": 0, "In Progress": 1, "On Hold": 1, "Completed": 1}
    for region in (sim[HOME], sim[SECOND]):
        numbers = region.stats()
        assert (numbers["users"], numbers["ideas"], numbers["ideasByStatus"]) == (2, 3, expected_status), region.name
        assert sum(day["count"] for day in numbers["ideasCreatedPerDay"]) == 3
        # And each user's own counts in /api/me too
        mine = {name: region.me(region.token(name))[1]["data"]["stats"] for name in ("hal", "ivy")}
        assert mine["hal"]["ideas"] == 1 and mine["hal"]["ideasByStatus"]["In Progress"] == 1
        assert mine["ivy"]["ideas"] == 2 and mine["ivy"]["ideasByStatus"]["On Hold"] == 1
    # And each region counted the changes written in it, in items of its own: both accounts
    # were claimed in the home region; b's delete (in the second region) was announced by the
    # home region, which wrote b last
    totals = {i["SK"]["S"]: i for i in sim[SECOND].items("STATS") if i["PK"]["S"] == "STATS"}
    assert set(totals) == {f"GLOBAL#{HOME}", f"GLOBAL#{SECOND}"}
    assert [stats.counters_of(totals[f"GLOBAL#{HOME}"]).get(n, 0) for n in ("users", "ideas")] == [2, 1]
    assert [stats.counters_of(totals[f"GLOBAL#{SECOND}"]).get(n, 0) for n in ("users", "ideas")] == [0, 2]
    # And a recount from either replica finds nothing to correct
    for region in (sim[HOME], sim[SECOND]):
        report = rebuild(region.client(), region.env["TABLE_NAME"], sleep=lambda _: None)
        assert report.corrected == [], region.name


# ------------------------------------------------------------------ losing a region
def test_a_lost_region_keeps_what_replicated_and_catches_up_after_recovery(make_simulation):
    sim: Simulation = make_simulation()
    assert sim[HOME].register("joe")[0] == 201
    sim.replicate()
    home_token = sim[HOME].token("joe")
    replicated = sim[HOME].create_idea(home_token, "Replicated before the loss")
    sim.replicate()
    # Given a write acknowledged in the home region within the lag window (not yet replicated)
    in_flight = sim[HOME].create_idea(home_token, "Acknowledged within the lag")
    # When the home region is lost
    sim.lose(HOME)
    try:
        second = sim[SECOND]
        # Then the second region serves everything acknowledged before the lag window
        assert second.on_idea("get_idea", "GET", replicated)[0] == 200
        # And the write within the window is not there (yet): the RPO
        assert second.on_idea("get_idea", "GET", in_flight)[0] == 404
        # And the second region keeps taking writes and logins
        token = second.token("joe")
        during = second.create_idea(token, "Written during the outage")
        assert second.on_idea("get_idea", "GET", during)[0] == 200
    finally:
        sim.restore(HOME)
    # When the home region is back and replication catches up
    sim.replicate()
    # Then both regions hold every acknowledged write: none was lost
    for region in (sim[HOME], sim[SECOND]):
        for idea in (replicated, in_flight, during):
            assert region.on_idea("get_idea", "GET", idea)[0] == 200, (region.name, idea)
