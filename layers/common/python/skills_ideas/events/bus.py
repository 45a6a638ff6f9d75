"""Publishing domain events to the stage's EventBridge bus.

| variable | meaning | default |
|---|---|---|
| EVENT_BUS_NAME | the bus of the stage | unset: publishing is a no-op (``publish_after_write``) |
| EVENTS_ENDPOINT_URL | EventBridge endpoint (local only: the moto server of ``make dev``) | AWS |

boto3 loads on the first publish, so a function that never publishes pays nothing for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from skills_ideas.events.domain import DomainEvent

#: Entries of one PutEvents call (EventBridge's limit).
PUT_EVENTS_MAX = 10


class PublishError(RuntimeError):
    """EventBridge did not take every event (throttled or failed entries): retry them."""


_clients: dict[str | None, Any] = {}


def bus_name(env: Mapping[str, str] = os.environ) -> str | None:
    return env.get("EVENT_BUS_NAME") or None


def _client(endpoint_url: str | None) -> Any:
    client = _clients.get(endpoint_url)
    if client is None:
        import boto3
        from botocore.config import Config

        # The same time budget as the table's calls: a stalled bus fails the batch, which the
        # stream retries, instead of holding the shard.
        config = Config(connect_timeout=0.5, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})
        client = _clients[endpoint_url] = boto3.client("events", endpoint_url=endpoint_url, config=config)
    return client


def publish(events: Iterable[DomainEvent], env: Mapping[str, str] = os.environ) -> int:
    """Put ``events`` on the bus, ten per call; raises ``PublishError`` unless every one was
    accepted. Returns how many were published."""
    name = bus_name(env)
    if name is None:
        raise PublishError("EVENT_BUS_NAME is not set")
    entries = [event.entry(name) for event in events]
    client = _client(env.get("EVENTS_ENDPOINT_URL") or None)
    for start in range(0, len(entries), PUT_EVENTS_MAX):
        chunk = entries[start : start + PUT_EVENTS_MAX]
        answer = client.put_events(Entries=chunk)
        if answer.get("FailedEntryCount"):
            failed = [e for e in answer.get("Entries", []) if e.get("ErrorCode")]
            reasons = sorted({f"{e.get('ErrorCode')}: {e.get('ErrorMessage')}" for e in failed})
            raise PublishError(f"{len(failed)} of {len(chunk)} events were not accepted: {'; '.join(reasons)}")
    return len(entries)


def publish_after_write(event: DomainEvent, env: Mapping[str, str] = os.environ) -> bool:
    """Publish one event of a write that has already succeeded (the skills catalogue's): a
    no-op without a bus; a failure is logged and counted, never returned to the caller, whose
    change is saved either way. True when the event was published."""
    if bus_name(env) is None:
        return False
    from skills_ideas.observability import count, logger

    try:
        publish([event], env)
    except Exception as error:  # the write stands; the event is lost and the metric says so
        logger.error("event not published", extra={"eventType": event.type, "eventId": event.id, "error": str(error)})
        count("EventPublishFailed")
        return False
    return True
