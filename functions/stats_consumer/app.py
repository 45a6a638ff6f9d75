"""The live statistics: domain events from the bus (through the ``stats`` queue) -> counters.

Batches of SQS messages, each an EventBridge event; every event is applied once
(``skills_ideas.events.stats.apply``: a processed-event marker in the same transaction as the
counter updates), so a redelivered event changes nothing. A failed message is reported as a
batch item failure and comes back after the visibility timeout; after ``max_receive_count``
receives it moves to the queue's dead-letter queue. In multi-region mode the counters are this
region's own items (the bus carries only this region's events)."""

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from skills_ideas.config import RegionConfig, TableConfig
from skills_ideas.events import stats
from skills_ideas.observability import count, logger, metrics

TABLE = TableConfig.from_env()
REGIONS = RegionConfig.from_env()
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: Any) -> bool:
    detail = json.loads(record.body)["detail"]
    applied = stats.apply(detail, TABLE, regions=REGIONS)
    if not applied:
        count("EventAlreadyApplied")
        logger.info("event already applied or changes no counter", extra={"eventId": detail.get("id")})
    return applied


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
