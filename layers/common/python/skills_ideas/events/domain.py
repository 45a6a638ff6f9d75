"""Item changes to domain events: one DynamoDB Streams record gives at most one event.

Only users (``USER#<id>`` / ``PROFILE``) and ideas (``USER#<owner>`` / ``IDEA#<ULID>``) make
events; claims, aliases, idempotency records, statistics and anything else are ignored (the
event source mapping's filter already keeps most of them away). An event's id is the stream
record's ``eventID``, so a record delivered twice gives the same event twice, which consumers
recognise. A change that touches no public field of an idea (a layout upgrade, a rewrite with
the same content) is not an ``IdeaUpdated``; a user's role or password hash changing is no event.

Origin (``originated_here``): with a global table, every replica's stream sees every write, so
each region's stream function publishes only the changes whose write originated in its own
region — the region in the item's ``writtenIn`` (the new image's; the old image's for a
REMOVE) — and each change becomes one event across all regions (docs/events.md, "Origin").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from skills_ideas import events
from skills_ideas.config import RegionConfig

#: Fields of an idea whose change is an ``IdeaUpdated`` (the ones the API shows and takes).
IDEA_FIELDS = ("title", "description", "status")


@dataclass(frozen=True)
class DomainEvent:
    """``type`` is the EventBridge ``detail-type``; ``detail()`` the event's body."""

    type: str
    id: str
    time: str
    data: Mapping[str, Any]
    version: int = events.EVENT_VERSION
    #: What the event is about, for logs and the bus entry's ``Resources`` (user or idea id).
    subject: str = field(default="")

    def detail(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "version": self.version, "time": self.time, "data": dict(self.data)}

    def entry(self, bus_name: str) -> dict[str, Any]:
        """This event as one ``PutEvents`` entry."""
        return {
            "EventBusName": bus_name,
            "Source": events.SOURCE,
            "DetailType": self.type,
            "Detail": json.dumps(self.detail(), separators=(",", ":"), ensure_ascii=False, default=_plain),
            "Time": datetime.fromisoformat(self.time.replace("Z", "+00:00")),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def iso_time(epoch_seconds: float | int | None) -> str:
    """ISO-8601 UTC with milliseconds and a Z (the items' own format); now when unknown."""
    moment = datetime.now(UTC) if epoch_seconds is None else datetime.fromtimestamp(float(epoch_seconds), UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def kind(keys: Mapping[str, Any]) -> str | None:
    """``"user"``, ``"idea"`` or None for an item of any other kind."""
    pk, sk = str(keys.get("PK", "")), str(keys.get("SK", ""))
    if not pk.startswith("USER#"):
        return None
    if sk == "PROFILE":
        return "user"
    if sk.startswith("IDEA#"):
        return "idea"
    return None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _user_data(image: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "userId": str(image["userId"]),
        "username": str(image["username"]),
        "role": str(image.get("role") or "user"),
        "createdAt": str(image["createdAt"]),
    }


def _idea_data(image: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ideaId": str(image["ideaId"]),
        "userId": str(image["userId"]),
        "title": str(image["title"]),
        "description": image.get("description"),
        "status": str(image["status"]),
        "createdAt": str(image["createdAt"]),
        "updatedAt": str(image.get("updatedAt") or image["createdAt"]),
        "ideaVersion": _int(image.get("version")),
    }


def from_change(
    event_id: str,
    event_name: str,
    keys: Mapping[str, Any],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    epoch_seconds: float | int | None = None,
) -> DomainEvent | None:
    """The event of one item change (``INSERT``, ``MODIFY`` or ``REMOVE`` with the item's
    keys and its images as plain Python values), or None when the change is not one.

    Raises ``KeyError``/``ValueError`` for a user or idea item that lacks what every such item
    has: the record is poison, and the stream's retries and dead-letter queue deal with it."""
    what = kind(keys)
    if what is None:
        return None
    time = iso_time(epoch_seconds)
    if what == "user":
        if event_name == "INSERT":
            data = _user_data(new)
            return DomainEvent(events.USER_REGISTERED, event_id, time, data, subject=data["userId"])
        if event_name == "REMOVE":
            data = {"userId": str(old["userId"]), "username": str(old["username"])}
            return DomainEvent(events.USER_DELETED, event_id, time, data, subject=data["userId"])
        return None  # role, password hash: not an event of the contract
    if event_name == "INSERT":
        data = _idea_data(new)
        return DomainEvent(events.IDEA_CREATED, event_id, time, data, subject=data["ideaId"])
    if event_name == "REMOVE":
        before = _idea_data(old)
        data = {k: before[k] for k in ("ideaId", "userId", "status", "createdAt", "ideaVersion")}
        return DomainEvent(events.IDEA_DELETED, event_id, time, data, subject=data["ideaId"])
    if event_name == "MODIFY":
        before, after = _idea_data(old), _idea_data(new)
        changes = {
            name: {"old": before[name], "new": after[name]} for name in IDEA_FIELDS if before[name] != after[name]
        }
        if not changes:
            return None
        data = {k: after[k] for k in ("ideaId", "userId", "status", "createdAt", "updatedAt", "ideaVersion")}
        data["changes"] = changes
        return DomainEvent(events.IDEA_UPDATED, event_id, time, data, subject=data["ideaId"])
    raise ValueError(f"unknown stream event name {event_name!r}")


def origin(event_name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """The region a change was written in: ``writtenIn`` of the new image, of the old image
    for a REMOVE (a delete carries no image of its own; every replica removes the same last
    version once they agree, so every replica's record names the same region). None for an
    item written before writes were stamped."""
    image = old if event_name == "REMOVE" else new
    written = (image or {}).get("writtenIn")
    return str(written) if written else None


def publishes(written_in: str | None, regions: RegionConfig) -> bool:
    """Whether this region publishes a change written in ``written_in``: its own writes; an
    unstamped one (older data) in the home region only — in single-region mode, here."""
    return written_in == regions.region if written_in else regions.is_home


def originated_here(record: Any, regions: RegionConfig) -> bool:
    """``publishes`` for one stream record (Powertools' ``DynamoDBRecord``)."""
    stream = record.dynamodb
    if stream is None or record.event_name is None:
        return True  # let ``from_record`` refuse it as poison
    return publishes(origin(record.event_name.name, stream.old_image, stream.new_image), regions)


def from_record(record: Any) -> DomainEvent | None:
    """The event of one stream record (Powertools' ``DynamoDBRecord``)."""
    stream = record.dynamodb
    if stream is None or record.event_id is None or record.event_name is None:
        raise ValueError("a stream record without its id, name or change")
    return from_change(
        record.event_id,
        record.event_name.name,
        stream.keys,
        stream.old_image,
        stream.new_image,
        stream.get("ApproximateCreationDateTime"),
    )


def catalogue_changed(action: str, skill_id: Any, etag: str, version_id: str | None) -> DomainEvent:
    """``SkillCatalogueChanged`` after an admin's write: its id derives from the catalogue
    version the write produced (the new object's ETag), so it names that write only."""
    import uuid

    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"skills-ideas:catalogue:{etag}:{version_id or ''}"))
    data = {"action": action, "skillId": skill_id, "catalogueETag": etag, "catalogueVersionId": version_id}
    return DomainEvent(events.SKILL_CATALOGUE_CHANGED, event_id, iso_time(None), data, subject=str(skill_id))
