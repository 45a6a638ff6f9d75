"""The replicator's rule, global tables' last writer wins, on its own: the order of write stamps,
what a set of concurrent writes settles to, and the replicator converging every replica to the
latest write of each item whatever the lag, over in-memory tables with a stream (no Java)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from skills_ideas_tools.regions import Change, Replica, Replicator, WriteStamp, settle, wins

REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-1")


def test_the_later_write_wins_and_a_tie_goes_to_the_same_region_everywhere():
    early, late = WriteStamp(10.0, "us-east-1"), WriteStamp(10.5, "eu-west-1")
    assert wins(late, early) and not wins(early, late)
    # Two writes of the same instant: the region name decides, the same way in every replica
    tie_eu, tie_us = WriteStamp(10.0, "eu-west-1"), WriteStamp(10.0, "us-east-1")
    assert wins(tie_us, tie_eu) and not wins(tie_eu, tie_us)
    # Nothing held yet: any write lands; the same write again does not
    assert wins(early, None) and not wins(early, early)


def test_concurrent_writes_settle_to_the_latest_per_item_and_a_later_delete_stays_deleted():
    key_a, key_b = {"PK": {"S": "a"}}, {"PK": {"S": "b"}}
    changes = [
        Change(key_a, {"PK": {"S": "a"}, "v": {"S": "1"}}, WriteStamp(1, "us-east-1")),
        Change(key_a, {"PK": {"S": "a"}, "v": {"S": "2"}}, WriteStamp(2, "eu-west-1")),
        Change(key_b, {"PK": {"S": "b"}, "v": {"S": "1"}}, WriteStamp(1, "eu-west-1")),
        Change(key_b, None, WriteStamp(3, "us-east-1")),
    ]
    for order in itertools.permutations(changes):
        final = settle(order)
        assert final[Change(key_a, None, WriteStamp(0, "")).item].image == {"PK": {"S": "a"}, "v": {"S": "2"}}
        assert final[Change(key_b, None, WriteStamp(0, "")).item].image is None


# ------------------------------------------------------------------ in-memory replicas
class _Exceptions:
    class TrimmedDataAccessException(Exception):
        pass


class MemoryTable:
    """A table with a stream, just what the replicator calls: put, delete, describe, read."""

    exceptions = _Exceptions

    def __init__(self, region: str) -> None:
        self.region = region
        self.items: dict[str, dict] = {}
        self.records: list[dict] = []
        self.arn = f"arn:aws:dynamodb:{region}:0:table/t/stream/1"

    # DynamoDB
    def _write(self, key: dict, new: dict | None) -> dict | None:
        name = key["PK"]["S"]
        old = self.items.get(name)
        if new is None:
            self.items.pop(name, None)
        else:
            self.items[name] = new
        if old == new:
            return old
        event = "REMOVE" if new is None else "INSERT" if old is None else "MODIFY"
        change: dict[str, Any] = {"Keys": key, "SequenceNumber": f"{len(self.records) + 1:021d}"}
        if old is not None:
            change["OldImage"] = old
        if new is not None:
            change["NewImage"] = new
        self.records.append({"eventName": event, "dynamodb": change})
        return old

    def put(self, name: str, value: str) -> None:
        self._write({"PK": {"S": name}}, {"PK": {"S": name}, "v": {"S": value}})

    def delete(self, name: str) -> None:
        self._write({"PK": {"S": name}}, None)

    def put_item(self, TableName: str, Item: dict, ReturnValues: str) -> dict:  # noqa: N803 - boto3's names
        old = self._write({"PK": Item["PK"]}, dict(Item))
        return {"Attributes": old} if old else {}

    def delete_item(self, TableName: str, Key: dict, ReturnValues: str) -> dict:  # noqa: N803
        old = self._write(dict(Key), None)
        return {"Attributes": old} if old else {}

    def describe_table(self, TableName: str) -> dict:  # noqa: N803
        return {"Table": {"LatestStreamArn": self.arn}}

    # DynamoDB Streams
    def describe_stream(self, StreamArn: str) -> dict:  # noqa: N803
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str, **kw: str) -> dict:  # noqa: N803
        return {"ShardIterator": kw.get("SequenceNumber", "0")}

    def get_records(self, ShardIterator: str, Limit: int) -> dict:  # noqa: N803
        start = int(ShardIterator)
        batch = self.records[start : start + Limit]
        return {"Records": batch, "NextShardIterator": str(start + len(batch))}

    def state(self) -> dict[str, str]:
        return {name: item["v"]["S"] for name, item in self.items.items()}


def replicated(regions: tuple[str, ...]) -> tuple[dict[str, MemoryTable], Replicator]:
    tables = {region: MemoryTable(region) for region in regions}
    clock = itertools.count(1000)
    replicator = Replicator([Replica(r, t, t, "t") for r, t in tables.items()], clock=lambda: float(next(clock)) / 1000)
    return tables, replicator


def test_replicated_writes_are_not_sent_back_and_a_lost_region_catches_up():
    tables, replicator = replicated(("eu-west-1", "us-east-1"))
    eu, us = tables["eu-west-1"], tables["us-east-1"]
    eu.put("a", "1")
    replicator.capture("eu-west-1")
    assert replicator.drain() == 1 and us.state() == {"a": "1"}
    # The write applied to us-east-1 shows in its stream but is not a local write there
    assert replicator.drain() == 0 and replicator.pending() == 0
    # While us-east-1 is lost, eu-west-1's writes wait for it; its own unsent write waits with it
    us.put("b", "us")
    replicator.capture("us-east-1")
    replicator.lose("us-east-1")
    eu.put("a", "2")
    replicator.capture("eu-west-1")
    replicator.drain()
    assert eu.state() == {"a": "2"} and us.state() == {"a": "1", "b": "us"}
    assert replicator.pending("us-east-1", "eu-west-1") == 1 and replicator.pending("eu-west-1", "us-east-1") == 1
    replicator.restore("us-east-1")
    replicator.drain()
    assert eu.state() == us.state() == {"a": "2", "b": "us"}


def test_a_paused_region_holds_its_writes_and_the_later_write_wins_when_it_resumes():
    tables, replicator = replicated(("eu-west-1", "us-east-1"))
    replicator.pause("eu-west-1")
    tables["eu-west-1"].put("a", "early, held back")
    replicator.capture("eu-west-1")
    tables["us-east-1"].put("a", "later")
    replicator.capture("us-east-1")
    replicator.drain()
    # The later write reached eu-west-1; eu-west-1's earlier one is still held
    assert tables["eu-west-1"].state() == {"a": "later"}
    replicator.resume("eu-west-1")
    replicator.drain()
    # Delivered late, the earlier write does not land anywhere
    assert tables["us-east-1"].state() == tables["eu-west-1"].state() == {"a": "later"}


operations = st.lists(
    st.tuples(
        st.sampled_from(REGIONS),
        st.sampled_from(("a", "b", "c")),
        st.one_of(st.none(), st.text("xyz", min_size=1, max_size=3)),  # None: delete
        st.sampled_from(("write", "drain", "pause", "resume")),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_every_replica_converges_to_the_latest_write_of_each_item_whatever_the_lag(ops):
    tables, replicator = replicated(REGIONS)
    latest: dict[str, str | None] = {}
    for region, name, value, action in ops:
        if action == "pause":
            replicator.pause(region)
        elif action == "resume":
            replicator.resume(region)
        elif action == "drain":
            replicator.drain()
        else:
            before = len(tables[region].records)
            if value is None:
                tables[region].delete(name)
            else:
                tables[region].put(name, value)
            replicator.capture(region)
            if len(tables[region].records) > before:  # a write that changed nothing is no write
                latest[name] = value
    for region in REGIONS:
        replicator.resume(region)
    replicator.drain()
    expected = {name: value for name, value in latest.items() if value is not None}
    for region in REGIONS:
        assert tables[region].state() == expected, region
    assert replicator.pending() == 0
