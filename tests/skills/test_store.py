"""The in-memory catalogue of a warm function: S3 read once cold, revalidated at most once per
interval (a fake clock instead of sleeping), the cached copy served through an S3 outage."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from skills_ideas import catalogue
from skills_ideas.config import CatalogueConfig
from skills_ideas.errors import ServiceUnavailable
from skills_ideas.observability import metrics
from tests.skills.conftest import SKILL, read, write


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(aws):
    clock = Clock()
    s = catalogue.CatalogueStore(CatalogueConfig.from_env({**os.environ, "CATALOGUE_TTL_SECONDS": "30"}), clock=clock)
    catalogue._STORES.discard(s)  # it stands for another function's process: a local write does not reach it
    calls: list[dict] = []
    s.client().meta.events.register("before-call.s3.GetObject", lambda params, **_: calls.append(params))
    return s, clock, calls


def test_cold_store_reads_s3_once_and_warm_one_not_again_within_the_interval(store):
    s, clock, calls = store
    first = s.current()
    for _ in range(29):
        clock.now += 1
        assert s.current() is first
    assert len(calls) == 1
    assert "If-None-Match" not in calls[0]["headers"]


def test_after_the_interval_it_revalidates_with_the_etag_and_keeps_its_copy(store):
    s, clock, calls = store
    first = s.current()
    clock.now += 30
    assert s.current() is first  # 304: same object, no body transferred
    assert len(calls) == 2
    assert calls[1]["headers"]["If-None-Match"] == first.etag
    clock.now += 10
    s.current()
    assert len(calls) == 2  # the revalidation restarted the interval


def test_a_changed_object_is_picked_up_at_the_next_revalidation(store):
    s, clock, _ = store
    before = s.current()
    write("create_skill", "POST", "/api/skills", body=SKILL)
    clock.now += 29
    assert s.current() is before
    clock.now += 1
    after = s.current()
    assert after.etag != before.etag and any(k["name"] == "Elixir" for k in after.skills)


def test_s3_outage_serves_the_cached_copy_and_counts_it(store, monkeypatch):
    s, clock, _ = store
    cached = s.current()
    clock.now += 60

    def down(**_):
        raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    monkeypatch.setattr(s.client(), "get_object", down)
    metrics.clear_metrics()
    assert s.current() is cached
    assert "CatalogueStaleServed" in metrics.metric_set


def test_s3_error_answer_also_falls_back(store):
    s, clock, _ = store
    cached = s.current()
    boto3.client("s3").delete_object(Bucket=os.environ["CATALOGUE_BUCKET"], Key=os.environ["CATALOGUE_KEY"])
    clock.now += 60
    assert s.current() is cached


def test_without_a_cached_copy_an_outage_is_503(store, monkeypatch):
    s, _, _ = store

    def down(**_):
        raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    monkeypatch.setattr(s.client(), "get_object", down)
    with pytest.raises(ServiceUnavailable):
        s.current()


def test_handler_serves_cached_copy_through_an_outage(aws, monkeypatch):
    # Given a warm handler
    from tests.support import load_handler

    assert read("list_skills", "/api/skills")["statusCode"] == 200
    handler_store = load_handler("list_skills").STORE
    monkeypatch.setattr(handler_store, "_checked_at", -1e18)  # its interval is over

    def down(**_):
        raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    monkeypatch.setattr(handler_store.client(), "get_object", down)
    # When S3 is down, Then it still answers from memory
    response = read("list_skills", "/api/skills")
    assert response["statusCode"] == 200


def test_revalidation_interval_defaults_short_and_is_configurable():
    assert CatalogueConfig.from_env({"CATALOGUE_BUCKET": "b"}).ttl_seconds == 5
    assert CatalogueConfig.from_env({"CATALOGUE_BUCKET": "b", "CATALOGUE_TTL_SECONDS": "60"}).ttl_seconds == 60
