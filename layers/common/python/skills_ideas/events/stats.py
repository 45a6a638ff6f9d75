"""Live statistics: aggregates kept by a consumer of the domain events, read in one GetItem.

Items (docs/events.md, "Statistics"):

* totals, ``STATS`` / ``GLOBAL``: users, ideas, ``status#<Status>``, ``day#<YYYY-MM-DD>`` (ideas
  alive by creation day), updatedAt;
* one user's counts, ``USERSTATS#<userId>`` / ``STATS``: ideas, ``status#<Status>``, and
  expiresAt once the user is deleted;
* an event applied, ``EVENT#<eventId>`` / ``PROCESSED``: eventType, expiresAt.

Multi-region (``RegionConfig.multi_region``): each region's consumer counts the events its own
region published (``domain.originated_here``) into items of its own, ``STATS`` / ``GLOBAL#<region>``
and ``USERSTATS#<userId>`` / ``STATS#<region>``. Global tables settle concurrent writes of one
item by last writer wins, so two regions adding to one item would lose increments; an item with
one writer region loses none. Reads sum the items of every region with the single-region item
(the counts from before multi-region; only ``stats rebuild`` writes it then) in one
BatchGetItem. Single-region: one item, as before.

Every event is applied as one transaction: a conditional put of its marker and atomic ``ADD``s
to the counters. Delivered again, the marker's condition cancels the transaction and nothing
changes, so the counters count each change once however often it arrives. The deltas commute,
so the order events arrive in does not matter.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from skills_ideas import events
from skills_ideas.config import RegionConfig, TableConfig
from skills_ideas.ideas import STATUSES

GLOBAL_KEY = {"PK": {"S": "STATS"}, "SK": {"S": "GLOBAL"}}
#: Sort keys of the single-region items (and, in multi-region mode, the base ``stats rebuild`` writes).
GLOBAL_SK, USER_SK = "GLOBAL", "STATS"
#: Days of ``ideasCreatedPerDay``, today included.
DAYS = 30
#: How long an applied event's marker is kept: longer than any redelivery can come (the stream
#: keeps records 24 h, the queues keep messages 4 days, a dead-letter redrive within 14).
MARKER_TTL_SECONDS = 15 * 24 * 3600
#: How long a deleted user's counts stay (the deletes of their ideas may still be arriving).
DELETED_USER_TTL_SECONDS = 7 * 24 * 3600
USERS, IDEAS = "users", "ideas"
#: Rounds of a BatchGetItem for what DynamoDB leaves unprocessed (then it is throttling: 503).
BATCH_ROUNDS = 4
#: ``GET /api/stats``: counters move within seconds of a write, so caches keep them briefly.
CACHE_CONTROL = "public, max-age=10, stale-while-revalidate=30"


def status_attribute(status: str) -> str:
    return f"status#{status}"


def day_attribute(day: str) -> str:
    return f"day#{day}"


def user_key(user_id: str, region: str | None = None) -> dict[str, dict[str, str]]:
    """A user's counts: the single-region item, or ``region``'s own in multi-region mode."""
    return {"PK": {"S": f"USERSTATS#{user_id}"}, "SK": {"S": f"{USER_SK}#{region}" if region else USER_SK}}


def global_key(region: str | None = None) -> dict[str, dict[str, str]]:
    """The totals: the single-region item, or ``region``'s own in multi-region mode."""
    return {"PK": {"S": "STATS"}, "SK": {"S": f"{GLOBAL_SK}#{region}" if region else GLOBAL_SK}}


def _writes_to(regions: RegionConfig | None) -> str | None:
    """The region whose items this consumer adds to (None: the single-region items)."""
    return regions.region if regions is not None and regions.multi_region else None


def _read_keys(key: Any, regions: RegionConfig | None) -> list[dict[str, dict[str, str]]]:
    """Every item of one aggregate: the single-region one, and each region's in multi-region mode."""
    if regions is None or not regions.multi_region:
        return [key(None)]
    return [key(None), *(key(region) for region in regions.regions)]


def marker_key(event_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"EVENT#{event_id}"}, "SK": {"S": "PROCESSED"}}


def window(today: date) -> list[str]:
    """The days of ``ideasCreatedPerDay``, oldest first."""
    return [(today - timedelta(days=back)).isoformat() for back in range(DAYS - 1, -1, -1)]


def _day_of(created_at: str) -> str:
    return created_at[:10]


# ---------------------------------------------------------------- what an event changes (pure)
@dataclass
class Deltas:
    totals: dict[str, int] = field(default_factory=dict)
    user_id: str | None = None
    user: dict[str, int] = field(default_factory=dict)
    #: The user is gone: their counts expire.
    user_deleted: bool = False

    def add(self, attribute: str, amount: int, *, for_user: bool = False) -> None:
        target = self.user if for_user else self.totals
        target[attribute] = target.get(attribute, 0) + amount
        if target[attribute] == 0:
            del target[attribute]

    @property
    def empty(self) -> bool:
        return not self.totals and not self.user and not self.user_deleted


def _idea(deltas: Deltas, data: Mapping[str, Any], status: str, sign: int, today: date) -> None:
    deltas.user_id = str(data["userId"])
    for mine in (False, True):
        deltas.add(IDEAS, sign, for_user=mine)
        deltas.add(status_attribute(status), sign, for_user=mine)
    if _day_of(str(data["createdAt"])) in window(today):
        deltas.add(day_attribute(_day_of(str(data["createdAt"]))), sign)


def deltas_of(detail: Mapping[str, Any], today: date | None = None) -> Deltas:
    """What one event (its ``detail``) changes in the counters. An idea's creation day counts
    while it is one of the last ``DAYS`` days; a deleted idea leaves its day too, so the days
    hold the ideas alive now by the day they were created (what ``stats rebuild`` can count)."""
    today = today or datetime.now(UTC).date()
    kind, data = detail["type"], detail["data"]
    deltas = Deltas()
    if kind == events.USER_REGISTERED:
        deltas.add(USERS, 1)
    elif kind == events.USER_DELETED:
        deltas.add(USERS, -1)
        deltas.user_id, deltas.user_deleted = str(data["userId"]), True
    elif kind == events.IDEA_CREATED:
        _idea(deltas, data, str(data["status"]), 1, today)
    elif kind == events.IDEA_DELETED:
        _idea(deltas, data, str(data["status"]), -1, today)
    elif kind == events.IDEA_UPDATED:
        change = (data.get("changes") or {}).get("status")
        if change:
            deltas.user_id = str(data["userId"])
            for mine in (False, True):
                deltas.add(status_attribute(str(change["old"])), -1, for_user=mine)
                deltas.add(status_attribute(str(change["new"])), 1, for_user=mine)
    return deltas


# ---------------------------------------------------------------- applying an event
@functools.cache
def _client(config: TableConfig) -> Any:
    import boto3
    from botocore.config import Config

    # The table's time budget (models._Meta): one attempt; a failure is retried by the queue.
    budget = Config(connect_timeout=0.5, read_timeout=2, retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("dynamodb", region_name=config.region, endpoint_url=config.endpoint_url, config=budget)


def _update(table: str, key: dict, adds: Mapping[str, int], sets: Mapping[str, Any]) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    add_parts, set_parts = [], []
    for number, (attribute, amount) in enumerate(sorted(adds.items())):
        names[f"#a{number}"] = attribute
        values[f":a{number}"] = {"N": str(amount)}
        add_parts.append(f"#a{number} :a{number}")
    for number, (attribute, value) in enumerate(sorted(sets.items())):
        names[f"#s{number}"] = attribute
        values[f":s{number}"] = value
        set_parts.append(f"#s{number} = :s{number}")
    expression = " ".join(
        part
        for part in (
            f"ADD {', '.join(add_parts)}" if add_parts else "",
            f"SET {', '.join(set_parts)}" if set_parts else "",
        )
        if part
    )
    return {
        "Update": {
            "TableName": table,
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def apply(
    detail: Mapping[str, Any],
    config: TableConfig | None = None,
    *,
    now: float | None = None,
    regions: RegionConfig | None = None,
) -> bool:
    """Apply one event to the counters, once: False when it had already been applied (or
    changes no counter). Raises on anything else (a conflicting transaction, throttling): the
    queue delivers the event again. ``regions``: in multi-region mode, to this region's items."""
    config = config or TableConfig.from_env()
    now = time.time() if now is None else now
    deltas = deltas_of(detail, datetime.fromtimestamp(now, UTC).date())
    if deltas.empty:
        return False
    table = config.table_name
    marker = {
        "Put": {
            "TableName": table,
            "Item": {
                **marker_key(str(detail["id"])),
                "eventType": {"S": str(detail["type"])},
                "expiresAt": {"N": str(int(now) + MARKER_TTL_SECONDS)},
            },
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }
    stamp = {"updatedAt": {"S": _now_iso()}}
    items = [marker]
    region = _writes_to(regions)
    if deltas.totals:
        items.append(_update(table, global_key(region), deltas.totals, stamp))
    if deltas.user_id is not None and (deltas.user or deltas.user_deleted):
        expiry = {"expiresAt": {"N": str(int(now) + DELETED_USER_TTL_SECONDS)}} if deltas.user_deleted else {}
        items.append(_update(table, user_key(deltas.user_id, region), deltas.user, {**stamp, **expiry}))
    client = _client(config)
    try:
        client.transact_write_items(TransactItems=items)
    except client.exceptions.TransactionCanceledException as error:
        reasons = error.response.get("CancellationReasons") or []
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            return False  # this event was applied before: a redelivery
        raise
    return True


# ---------------------------------------------------------------- reading
def _number(item: Mapping[str, Any], attribute: str) -> int:
    value = item.get(attribute)
    return int(value["N"]) if value else 0


def _by_status(item: Mapping[str, Any]) -> dict[str, int]:
    return {status: _number(item, status_attribute(status)) for status in STATUSES}


def _read(config: TableConfig, keys: list[dict[str, dict[str, str]]]) -> dict[str, Any]:
    """The items of one aggregate summed (counters added, the latest updatedAt): one eventually
    consistent GetItem for one item (0.5 RCU), else one BatchGetItem (0.5 RCU per item)."""
    client = _client(config)
    if len(keys) == 1:
        found = [client.get_item(TableName=config.table_name, Key=keys[0]).get("Item") or {}]
    else:
        found, request = [], {config.table_name: {"Keys": keys}}
        for _ in range(BATCH_ROUNDS):
            answer = client.batch_get_item(RequestItems=request)
            found.extend(answer.get("Responses", {}).get(config.table_name, []))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            from skills_ideas.models import busy

            raise busy()
    summed: dict[str, Any] = {}
    for item in found:
        for name, value in counters_of(item).items():
            summed[name] = {"N": str(int(summed.get(name, {"N": "0"})["N"]) + value)}
        if "updatedAt" in item and item["updatedAt"]["S"] > summed.get("updatedAt", {"S": ""})["S"]:
            summed["updatedAt"] = item["updatedAt"]
    return summed


def totals(
    config: TableConfig | None = None, today: date | None = None, regions: RegionConfig | None = None
) -> dict[str, Any]:
    """The public statistics: one eventually consistent GetItem (0.5 RCU); in multi-region mode
    the regions' items summed, read in one BatchGetItem."""
    config = config or TableConfig.from_env()
    today = today or datetime.now(UTC).date()
    item = _read(config, _read_keys(global_key, regions))
    return {
        "users": _number(item, USERS),
        "ideas": _number(item, IDEAS),
        "ideasByStatus": _by_status(item),
        "ideasCreatedPerDay": [{"date": day, "count": _number(item, day_attribute(day))} for day in window(today)],
        "updatedAt": item["updatedAt"]["S"] if "updatedAt" in item else None,
    }


def user_counts(user_id: str, config: TableConfig | None = None, regions: RegionConfig | None = None) -> dict[str, Any]:
    """One user's own counts (``GET /api/me``): one eventually consistent GetItem, or in
    multi-region mode one BatchGetItem of the regions' items."""
    config = config or TableConfig.from_env()
    item = _read(config, _read_keys(lambda region: user_key(user_id, region), regions))
    return {"ideas": _number(item, IDEAS), "ideasByStatus": _by_status(item)}


# ---------------------------------------------------------------- recounting (operators)
@dataclass
class Tally:
    """The aggregates counted from the items themselves (``skills-ideas stats rebuild``)."""

    totals: dict[str, int] = field(default_factory=dict)
    users: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, item: Mapping[str, Any], today: date) -> None:
        """Count one item of the table (DynamoDB JSON); items of other kinds are skipped."""
        pk, sk = item["PK"]["S"], item["SK"]["S"]
        if not pk.startswith("USER#"):
            return
        if sk == "PROFILE":
            self.totals[USERS] = self.totals.get(USERS, 0) + 1
        elif sk.startswith("IDEA#"):
            user = self.users.setdefault(item["userId"]["S"], {})
            status = status_attribute(item["status"]["S"])
            for counters in (self.totals, user):
                counters[IDEAS] = counters.get(IDEAS, 0) + 1
                counters[status] = counters.get(status, 0) + 1
            day = _day_of(item["createdAt"]["S"])
            if day in window(today):
                self.totals[day_attribute(day)] = self.totals.get(day_attribute(day), 0) + 1


def counters_of(item: Mapping[str, Any]) -> dict[str, int]:
    """The counters a stored statistics item holds (zeros dropped)."""
    return {
        name: int(value["N"])
        for name, value in item.items()
        if (name in (USERS, IDEAS) or name.startswith(("status#", "day#"))) and "N" in value and int(value["N"])
    }


def tally(items: Iterable[Mapping[str, Any]], today: date) -> Tally:
    counted = Tally()
    for item in items:
        counted.count(item, today)
    return counted
