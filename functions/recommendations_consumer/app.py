"""Skill recommendations kept fresh: domain events from the bus (through the
``recommendations`` queue) -> the ideas' skill links (``skills_ideas.events.skill_links``).

An idea created, changed or deleted is re-ranked or forgotten; a catalogue change is walked
in bounded steps, each step handing the next one back to this queue. Every call reconciles the
links with the table and the catalogue as they are now, so a redelivered event writes nothing.
A failed message is reported as a batch item failure and comes back after the visibility
timeout; after ``max_receive_count`` receives it moves to the queue's dead-letter queue."""

import json
import os
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from skills_ideas import models
from skills_ideas.config import CursorConfig, TableConfig
from skills_ideas.events import SUBSCRIPTIONS, skill_links
from skills_ideas.observability import logger, metrics

TABLE = TableConfig.from_env()
CURSORS = CursorConfig.from_env()
(SUBSCRIPTION,) = (sub for sub in SUBSCRIPTIONS if sub.function == "recommendations_consumer")
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: Any) -> str:
    models.bind(TABLE)
    message = json.loads(record.body)
    hand_on = skill_links.queue_sender(os.environ[SUBSCRIPTION.queue_url_variable])
    outcome = skill_links.apply(message, cursor_key=CURSORS.key, hand_on=hand_on)
    detail = message["detail"]
    logger.info("skill links", extra={"eventType": detail.get("type"), "eventId": detail.get("id"), "outcome": outcome})
    return outcome


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
