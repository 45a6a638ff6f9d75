"""Skill recommendations kept fresh by the domain events (docs/recommendations.md, "Wiring").

The ``recommendations`` subscription delivers every ``IdeaCreated``, ``IdeaUpdated``,
``IdeaDeleted`` and ``SkillCatalogueChanged``; each message is applied with ``apply``:

* an idea's event: ``recommendations.sync_idea`` brings the idea's links in line with the idea
  as the table has it now (ranked while it exists, removed once it is gone), whatever the
  event says, so events may come in any order and any number of times;
* a catalogue change: one bounded step of ``recommendations.refresh_for_skill`` (at most
  ``WALK_PAGES_PER_STEP`` pages); when more remains, the same message with the step's
  ``resume`` position goes back to the subscription's own queue, delayed by
  ``CONTINUE_DELAY_SECONDS``: the walk's throttle, and no message holds the consumer long.

Nothing here needs a processed-event marker: every call reconciles the stored links with the
current idea and catalogue and writes only what differs, so a redelivery writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from skills_ideas import events, recommendations
from skills_ideas.errors import BadRequest

IDEA_EVENTS: tuple[str, ...] = (events.IDEA_CREATED, events.IDEA_UPDATED, events.IDEA_DELETED)
#: Seconds a catalogue walk's next step waits in the queue: with ``WALK_PAGES_PER_STEP`` pages
#: of ``WALK_PAGE`` ideas per step, at most about 100 ideas a second per changed skill.
CONTINUE_DELAY_SECONDS = 2

#: Puts a message (an EventBridge event plus ``resume``) back on the subscription's queue.
HandOn = Callable[[dict[str, Any]], None]


def apply(message: Mapping[str, Any], *, cursor_key: bytes, hand_on: HandOn) -> str:
    """Apply one message of the subscription's queue; returns what it did (for the logs).
    Raises on anything that should be retried (the queue delivers the message again)."""
    detail = message["detail"]
    kind, data = detail["type"], detail["data"]
    if kind in IDEA_EVENTS:
        return recommendations.sync_idea(str(data["ideaId"]), owner_id=str(data["userId"]))
    if kind == events.SKILL_CATALOGUE_CHANGED:
        catalogue = recommendations.catalogue_of_change(str(data["catalogueETag"]))
        skill_id, resume = int(data["skillId"]), message.get("resume")
        try:
            step = recommendations.refresh_for_skill(
                skill_id, catalogue=catalogue, resume=resume, cursor_key=cursor_key
            )
        except BadRequest:  # a position signed with a key since rotated: walk again from the start
            if resume is None:
                raise
            step = recommendations.refresh_for_skill(skill_id, catalogue=catalogue, cursor_key=cursor_key)
        if step.resume is not None:
            hand_on({**message, "resume": step.resume})
        return f"catalogue step: {step.examined} examined, {step.rewritten} rewritten" + (
            ", continued" if step.resume is not None else ", done"
        )
    return "ignored"


_sqs: Any = None


def queue_sender(queue_url: str, endpoint_url: str | None = None) -> HandOn:
    """A ``HandOn`` that sends to ``queue_url`` with ``CONTINUE_DELAY_SECONDS`` of delay
    (boto3 loads on the first continuation only)."""

    def send(message: dict[str, Any]) -> None:
        global _sqs
        if _sqs is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=0.5, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})
            _sqs = boto3.client("sqs", endpoint_url=endpoint_url, config=config)
        _sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=json.dumps(message, separators=(",", ":")),
            DelaySeconds=CONTINUE_DELAY_SECONDS,
        )

    return send
