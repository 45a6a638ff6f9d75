"""Concurrent admin writes never lose an update.

What is proven here, and on what: S3 applies ``PutObject`` with ``If-Match`` atomically (the
check and the store are one step) and serves reads safely while objects are replaced. moto 5.2
does neither under threads: it evaluates If-Match and then stores the object as two steps with
no lock between them (two threads can both pass the check: a lost update S3 cannot produce),
and a GET can read the buffer of an object a concurrent PUT has just disposed of ("I/O
operation on closed file"). ``s3_request_atomicity`` gives moto S3's per-request atomicity by
serialising its object-level request handler (one lock, nothing else changed). With that,
these tests prove that our read-change-put-retry loop loses nothing;
``test_a_stale_etag_is_rejected`` shows moto enforces If-Match itself. S3's 409
ConditionalRequestConflict cannot happen in moto and is simulated.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.s3.responses import S3Response

from skills_ideas import catalogue, catalogue_edits
from skills_ideas.config import CatalogueConfig
from skills_ideas.errors import Conflict
from tests.skills.conftest import SKILL, catalogue_document


@pytest.fixture
def s3_request_atomicity(monkeypatch):
    lock = threading.Lock()
    original = S3Response.key_response

    def key_response(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(S3Response, "key_response", key_response)


def new_store(**changes) -> catalogue.CatalogueStore:
    """One writer, as one Lambda instance has it: its own store and S3 client."""
    store = catalogue.CatalogueStore(replace(CatalogueConfig.from_env(), **changes))
    store.client()  # boto3 creates clients safely only one at a time
    return store


def test_a_stale_etag_is_rejected(aws):
    s3 = boto3.client("s3")
    bucket, key = os.environ["CATALOGUE_BUCKET"], os.environ["CATALOGUE_KEY"]
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert raised.value.response["Error"]["Code"] == "PreconditionFailed"


def test_a_write_that_loses_the_race_is_reapplied_to_the_newer_version(aws):
    # Given two admins who read the same version
    mine, theirs = new_store(), new_store()
    interfered = []
    create_mine = catalogue_edits.create({**SKILL, "name": "Mine"})
    create_theirs = catalogue_edits.create({**SKILL, "name": "Theirs"})

    def change(current):
        if not interfered:  # the other admin commits between our read and our put
            interfered.append(catalogue_edits.commit(theirs, "create", create_theirs))
        return create_mine(current)

    # When we commit
    edit = catalogue_edits.commit(mine, "create", change, sleep=lambda _: None)
    # Then our first put failed on If-Match, the retry applied our change to their version
    assert edit.attempts == 2
    skills = catalogue_document()["skills"]
    assert {"Mine", "Theirs"} <= {s["name"] for s in skills}
    assert edit.after["id"] == interfered[0].after["id"] + 1  # no id handed out twice


def test_s3_conditional_request_conflict_is_retried(aws, monkeypatch):
    store = new_store()
    client = store.client()
    real_put = client.put_object
    calls = []

    def put_object(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise ClientError(
                {
                    "Error": {"Code": "ConditionalRequestConflict", "Message": "in flight"},
                    "ResponseMetadata": {"HTTPStatusCode": 409},
                },
                "PutObject",
            )
        return real_put(**kwargs)

    monkeypatch.setattr(client, "put_object", put_object)
    edit = catalogue_edits.commit(store, "create", catalogue_edits.create(SKILL), sleep=lambda _: None)
    assert edit.attempts == 2 and all("IfMatch" in c for c in calls)


def test_attempts_are_bounded(aws):
    store, other = new_store(write_attempts=3), new_store()
    counter = iter(range(100))

    def always_overtaken(current):
        name = f"Other {next(counter)}"
        catalogue_edits.commit(other, "create", catalogue_edits.create({**SKILL, "name": name}))
        return catalogue_edits.create({**SKILL, "name": "Never"})(current)

    with pytest.raises(Conflict):
        catalogue_edits.commit(store, "create", always_overtaken, sleep=lambda _: None)
    assert "Never" not in {s["name"] for s in catalogue_document()["skills"]}


def test_the_first_write_creates_a_missing_object_only_if_still_missing(aws):
    boto3.client("s3").delete_object(Bucket=os.environ["CATALOGUE_BUCKET"], Key=os.environ["CATALOGUE_KEY"])
    edit = catalogue_edits.commit(new_store(), "create", catalogue_edits.create(SKILL))
    assert edit.after["id"] == 1 and catalogue_document()["nextId"] == 2


WRITERS = 16


def test_many_concurrent_edits_are_all_present_afterwards(aws, s3_request_atomicity):
    """16 admins at once, each its own function instance: 12 add a skill, 4 change an existing
    one. A writer can lose the race at most once per other writer's commit, so with
    ``write_attempts`` >= the number of writers every edit must land."""
    original = {s["id"]: s for s in catalogue_document()["skills"]}
    next_id = catalogue_document()["nextId"]
    creates = [{**SKILL, "name": f"Concurrent skill {n}"} for n in range(12)]
    patches = {skill_id: {"description": f"edited concurrently {skill_id}"} for skill_id in (1, 2, 3, 4)}
    jobs = [("create", catalogue_edits.create(body)) for body in creates]
    jobs += [("update", catalogue_edits.modify(str(i), change, replace=False)) for i, change in patches.items()]
    stores = [new_store(write_attempts=WRITERS) for _ in jobs]
    start = threading.Barrier(len(jobs))

    def run(index: int) -> catalogue_edits.Edit:
        start.wait()
        action, change = jobs[index]
        return catalogue_edits.commit(stores[index], action, change)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        edits = list(pool.map(run, range(len(jobs))))

    document = catalogue_document()
    by_name = {s["name"]: s for s in document["skills"]}
    assert all(body["name"] in by_name for body in creates)
    new_ids = sorted(by_name[body["name"]]["id"] for body in creates)
    assert new_ids == list(range(next_id, next_id + len(creates)))  # unique, none skipped
    assert document["nextId"] == next_id + len(creates)
    by_id = {s["id"]: s for s in document["skills"]}
    for skill_id, change in patches.items():
        assert by_id[skill_id] == {**original[skill_id], **change}
    assert len(document["skills"]) == len(original) + len(creates)
    assert max(edit.attempts for edit in edits) > 1  # the writers really did collide
