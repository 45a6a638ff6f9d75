"""`make capacity` measures what docs/data-model.md promises: the same code path (real handlers,
each in its own interpreter, against DynamoDB Local), on 200 ideas, must give exactly the
documented worst cases, so the tool and the documented bounds cannot drift apart unnoticed."""

from __future__ import annotations

import math
import os

import pytest

from skills_ideas_tools import capacity

pytestmark = pytest.mark.dynamodb_local
RUNS = 2


@pytest.fixture
def stack_env(table, dynamodb_local, client, monkeypatch) -> dict[str, str]:
    """200 ideas of 1 KB and the sample user, in a table of their own; the handlers' environment."""
    monkeypatch.setenv("TABLE_NAME", table)
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", dynamodb_local)
    capacity.seed_sample_data()
    capacity.seed_ideas(client, table, 0, 200)
    return {**os.environ, "LOG_LEVEL": "INFO", "PYTHONPATH": str(capacity.REPO)}


@pytest.mark.parametrize("name", ["feed", "feed_status", "get_idea_legacy", "create_idea", "patch_status"])
def test_measured_capacity_equals_the_documented_worst_case(stack_env, name):
    # Given a table of 200 ideas of 1 KB (2 of them Completed) and fresh write targets
    request = capacity.BY_NAME[name]
    fixtures = capacity.prepare(RUNS, tag="t")
    # When the request runs through its real handler in a warm container of its own
    measured = capacity.run_container(request, capacity.events_for(request, RUNS, fixtures), stack_env, 512, 200)
    # Then it answered as a client expects, and consumed exactly docs/data-model.md's bound
    assert measured.statuses == [request.status]
    expected_rcu = 0.5 if name == "feed_status" else request.bound_rcu  # only 2 ideas match: one small read
    assert (measured.rcu, measured.wcu) == (expected_rcu, request.bound_wcu)
    assert measured.body_bytes > 0 and measured.peak_rss_mb > 0


def test_a_feed_page_reads_one_page_plus_one_item_and_returns_about_twenty_kilobytes(stack_env):
    request = capacity.BY_NAME["feed"]
    events = capacity.events_for(request, 1, capacity.Fixtures())
    measured = capacity.run_container(request, events, stack_env, 512, 200)
    assert measured.operations == ["Query"]
    assert measured.items_read == 21  # _limit 20, plus one to know whether there is a next page
    assert 20 * 800 < measured.body_bytes < 21 * capacity.IDEA_BYTES
    assert measured.gzip_bytes < measured.body_bytes / 5  # 1 KB of padding per idea compresses well


def test_the_priced_mix_is_the_load_tests_mix():
    # bench/locustfile.py's task weights are the shares the cost model prices
    weights = capacity.locust_weights()
    assert weights == {task: weight for task, (_, weight) in capacity.LOCUST_TASKS.items()}
    for task, (name, weight) in capacity.LOCUST_TASKS.items():
        assert capacity.BY_NAME[name].mix == weight, task
    assert math.isclose(sum(capacity.mix().values()), 1.0)


def test_lambda_is_billed_per_started_millisecond_at_its_memory():
    prices = capacity.load_prices()
    per_gb_s = prices["lambda"]["armPerGbSecond"]
    request = prices["lambda"]["perMillionRequests"] / 1e6
    assert math.isclose(capacity.lambda_cost(prices, 1024, 10.2), 0.011 * per_gb_s + request)
    assert math.isclose(capacity.lambda_cost(prices, 512, 1.0), 0.0005 * per_gb_s + request)
