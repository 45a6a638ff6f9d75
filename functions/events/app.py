"""DynamoDB Streams of the table -> domain events on the stage's EventBridge bus.

Triggered by the table's stream (new and old images) in batches; each record gives at most one
event (``skills_ideas.events.domain``), published before the next record; in multi-region mode
only the records whose write originated in this region (``domain.originated_here``). A record that fails
is reported as a batch item failure: Lambda retries from it (bisecting the batch), and one that
keeps failing goes to the on-failure destination (an SQS dead-letter queue) while the shard
moves on. docs/events.md is the contract."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from skills_ideas.config import RegionConfig
from skills_ideas.events import bus, domain
from skills_ideas.observability import count, logger, metrics

REGIONS = RegionConfig.from_env()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: Any) -> str | None:
    if not domain.originated_here(record, REGIONS):
        return None  # a replica of another region's write: that region's stream function publishes it
    event = domain.from_record(record)
    if event is None:
        return None
    bus.publish([event])
    count("EventPublished")
    logger.debug("event published", extra={"eventType": event.type, "eventId": event.id, "subject": event.subject})
    return event.id


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
