"""A global table's replication between regions, simulated over DynamoDB Local instances.

A DynamoDB global table (version 2019.11.21, multi-region eventual consistency) keeps a replica
per region; each region's writes reach the others asynchronously, and two regions writing one
item within the replication lag are settled **per item by last writer wins**: every replica ends
with the write of the latest timestamp. ``Replicator`` does the same between tables in separate
DynamoDB Local processes, so the service's multi-region rules can be proven without an account
(docs/multi-region.md, "Proof without an account"):

* ``capture(region)`` reads the region's stream (``streams.StreamReader``) and gives each local
  write its write stamp: the time it was read, made strictly increasing across regions, with the
  region as the tie-break (``WriteStamp``). Call it right after each write (the simulation does,
  after each handler call), so stamps follow the real order of writes.
* ``drain()`` captures every reachable region, then applies each region's pending writes to the
  others: a write lands only if its stamp is later than the stamp of what the target holds for
  that item (deletes leave a stamp too, so an older write cannot bring an item back). Replicated
  writes show up in the target's stream, as they do in a global table; the replicator knows
  them and does not send them back.
* Switches: ``pause(region)`` holds the region's outgoing writes (replication lag) until
  ``resume``; ``lose(region)`` marks it unreachable (nothing is read from or written to it: stop
  its process) and ``restore(region)`` brings it back, after which ``drain`` delivers both
  directions' backlog.

Nothing runs in the background: the caller decides when replication happens, so a test states
exactly what has and has not replicated, without sleeps.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .streams import StreamReader

#: Records read from a stream per call.
READ_LIMIT = 1000


@dataclass(frozen=True, order=True)
class WriteStamp:
    """When and where a write happened: last writer wins compares ``at``, then ``region`` (the
    tie-break of two writes of the same instant, fixed so every replica picks the same one)."""

    at: float
    region: str


def wins(incoming: WriteStamp, current: WriteStamp | None) -> bool:
    """Global tables' rule: a replicated write replaces what a replica holds only if it is later."""
    return current is None or incoming > current


@dataclass(frozen=True)
class Change:
    """One item's new state in one region: ``image`` None when it was deleted."""

    keys: Mapping[str, Any]  # DynamoDB JSON
    image: Mapping[str, Any] | None
    stamp: WriteStamp

    @property
    def item(self) -> str:
        return item_id(self.keys)


def item_id(keys: Mapping[str, Any]) -> str:
    return json.dumps(keys, sort_keys=True)


def settle(changes: Iterable[Change]) -> dict[str, Change]:
    """What every replica holds once ``changes`` (from any regions, in any order) have all been
    applied everywhere: per item, the change with the latest stamp."""
    final: dict[str, Change] = {}
    for change in changes:
        held = final.get(change.item)
        if wins(change.stamp, held.stamp if held else None):
            final[change.item] = change
    return final


@dataclass
class Replica:
    """One region's table: a DynamoDB client and a Streams client for it."""

    region: str
    dynamodb: Any
    streams: Any
    table_name: str
    reader: StreamReader | None = None

    def stream(self) -> StreamReader:
        if self.reader is None:
            arn = self.dynamodb.describe_table(TableName=self.table_name)["Table"].get("LatestStreamArn")
            if not arn:
                raise RuntimeError(f"table {self.table_name} in {self.region} has no stream")
            self.reader = StreamReader(self.streams, arn)
        return self.reader


@dataclass
class Replicator:
    """Last-writer-wins replication between ``replicas``, driven by ``capture`` and ``drain``."""

    replicas: list[Replica]
    clock: Callable[[], float] = time.time
    paused: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)
    #: What each replica holds, per item: the stamp of the write it holds (or deleted by).
    stamps: dict[str, dict[str, WriteStamp]] = field(default_factory=lambda: defaultdict(dict))
    #: Writes captured in one region, waiting to reach another: (source, target) -> changes.
    outbox: dict[tuple[str, str], deque[Change]] = field(default_factory=lambda: defaultdict(deque))
    #: Replicated writes a target's stream will show, per item: not local writes, not sent on.
    echoes: dict[str, dict[str, deque[Mapping[str, Any] | None]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(deque))
    )
    _last: float = 0.0

    def __post_init__(self) -> None:
        self._by_region = {replica.region: replica for replica in self.replicas}
        if len(self._by_region) != len(self.replicas):
            raise ValueError("one replica per region")

    @property
    def regions(self) -> list[str]:
        return sorted(self._by_region)

    def _replica(self, region: str) -> Replica:
        try:
            return self._by_region[region]
        except KeyError:
            raise ValueError(f"no replica in {region!r}; regions: {', '.join(self.regions)}") from None

    # ------------------------------------------------------------------ switches
    def pause(self, region: str) -> None:
        """Hold ``region``'s outgoing writes (replication lag) until ``resume``."""
        self._replica(region)
        self.paused.add(region)

    def resume(self, region: str) -> None:
        self.paused.discard(region)

    def lose(self, region: str) -> None:
        """``region`` is unreachable: nothing is read from it or applied to it until ``restore``.
        Its captured but unsent writes stay with it (lost until it returns: the RPO)."""
        self._replica(region)
        self.lost.add(region)

    def restore(self, region: str) -> None:
        """``region`` is back (its process restarted on the same data): read its stream again
        from the last record read, and let ``drain`` deliver the backlog both ways."""
        replica = self._replica(region)
        if replica.reader is not None:
            replica.reader.reopen()
        self.lost.discard(region)

    # ------------------------------------------------------------------ capturing local writes
    def _stamp(self, region: str) -> WriteStamp:
        self._last = max(self.clock(), self._last + 1e-6)
        return WriteStamp(self._last, region)

    def capture(self, region: str | None = None) -> int:
        """Read new records of ``region``'s stream (every reachable region when None); stamp its
        local writes and queue them for the other regions. Returns how many writes were local."""
        if region is None:
            return sum(self.capture(r) for r in self.regions if r not in self.lost)
        if region in self.lost:
            raise RuntimeError(f"{region} is lost: its stream cannot be read")
        reader = self._replica(region).stream()
        local = 0
        for shard in reader.shards():
            while records := reader.read(shard, READ_LIMIT):
                for record in records:
                    local += self._captured(region, record)
                reader.commit(shard, records[-1]["dynamodb"]["SequenceNumber"])
        return local

    def _captured(self, region: str, record: Mapping[str, Any]) -> int:
        change = record["dynamodb"]
        keys = change["Keys"]
        image = None if record["eventName"] == "REMOVE" else change.get("NewImage")
        if record["eventName"] == "MODIFY" and change.get("OldImage") == image:
            return 0  # nothing changed
        item = item_id(keys)
        expected = self.echoes[region][item]
        if expected and expected[0] == image:
            expected.popleft()  # a write this replicator applied: already everywhere it must be
            return 0
        stamp = self._stamp(region)
        self.stamps[region][item] = stamp
        for target in self.regions:
            if target != region:
                self.outbox[(region, target)].append(Change(keys, image, stamp))
        return 1

    # ------------------------------------------------------------------ replicating
    def pending(self, source: str | None = None, target: str | None = None) -> int:
        """Captured writes not yet delivered (from ``source``, to ``target``)."""
        return sum(
            len(queue)
            for (s, t), queue in self.outbox.items()
            if (source is None or s == source) and (target is None or t == target)
        )

    def drain(self) -> int:
        """Capture every reachable region, then deliver every write whose source is neither
        paused nor lost to every reachable target. Returns how many writes landed (a write
        older than what its target holds does not land)."""
        self.capture()
        landed = 0
        for (source, target), queue in list(self.outbox.items()):
            if source in self.paused or source in self.lost or target in self.lost:
                continue
            while queue:
                landed += self._apply(target, queue.popleft())
        return landed

    def _apply(self, target: str, change: Change) -> int:
        held = self.stamps[target].get(change.item)
        if not wins(change.stamp, held):
            return 0
        replica = self._replica(target)
        if change.image is None:
            old = replica.dynamodb.delete_item(
                TableName=replica.table_name, Key=dict(change.keys), ReturnValues="ALL_OLD"
            ).get("Attributes")
            if old:
                self.echoes[target][change.item].append(None)
        else:
            old = replica.dynamodb.put_item(
                TableName=replica.table_name, Item=dict(change.image), ReturnValues="ALL_OLD"
            ).get("Attributes")
            if old != change.image:
                self.echoes[target][change.item].append(change.image)
        self.stamps[target][change.item] = change.stamp
        return 1
