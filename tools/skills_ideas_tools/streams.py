"""The event backbone of ``make dev``: the table's stream and the bus, with Lambda's semantics.

In the cloud, an event source mapping reads the table's DynamoDB stream and invokes the
``events`` function, which puts events on the stage's EventBridge bus; a rule per subscription
(``skills_ideas.events.SUBSCRIPTIONS``) sends them to a queue that another mapping feeds to the
consumer. Here the same handlers run in-process on the same events:

* ``StreamMapping`` reads the stream (DynamoDB Local implements the Streams API; so does moto)
  and delivers batches as Lambda does: batch size, batching window, partial batch failures
  (retry from the first failed record), bisect on error, bounded retries, and a record that keeps
  failing goes to the on-failure dead-letter queue (SQS in moto) while the shard moves on.
* The bus and its rules are moto's EventBridge, routing each event to its subscription's queue
  (moto's SQS, with a redrive policy to a dead-letter queue); ``QueueMapping`` polls each queue
  and invokes the consumer with SQS batches, deleting what succeeded, as Lambda does.

Checkpoints (the last sequence number delivered per shard) are kept in the state dir, so
records written while ``serve`` was stopped (a migration, say) are delivered on the next start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from skills_ideas import events, routes

from .lambda_runtime import ACCOUNT_ID, REGION_DEFAULT

log = logging.getLogger("skills_ideas_tools.streams")

#: The stage's settings of the stream's event source mapping (infra/components/events.py).
BATCH_SIZE = 100
MAX_BATCHING_WINDOW_SECONDS = 0.5
MAX_RETRY_ATTEMPTS = 2
#: The consumers' queues: a short visibility timeout, so a failed message comes back quickly.
QUEUE_BATCH_SIZE = 10
QUEUE_VISIBILITY_SECONDS = 1
CHECKPOINT_FILE = "stream-checkpoints.json"
STREAM_DLQ = "events-stream-dlq"

#: Invokes a function with an event: returns its result, raises when the function raised.
Invoke = Callable[[str, dict], Any]


# ----------------------------------------------------------------------------- the resources
@dataclass(frozen=True)
class LocalBus:
    """Names and URLs of the emulated bus, queues and dead-letter queues."""

    bus_name: str
    stream_dlq_url: str
    queues: dict[str, str]  # subscription name -> queue URL
    dead_letter_queues: dict[str, str]

    def env(self, endpoint: str) -> dict[str, str]:
        return {"EVENT_BUS_NAME": self.bus_name, "EVENTS_ENDPOINT_URL": endpoint, **self.queue_env()}

    def queue_env(self) -> dict[str, str]:
        """The queue URL of each subscription that continues through its own queue, under the
        variable its consumer reads (as the stack sets it)."""
        return {sub.queue_url_variable: self.queues[sub.name] for sub in events.SUBSCRIPTIONS if sub.continues}


def create_bus(events_client: Any, sqs: Any, prefix: str) -> LocalBus:
    """The bus, one rule -> queue (with its dead-letter queue) per subscription, and the
    stream's dead-letter queue; idempotent."""
    bus_name = f"{prefix}-events"
    with contextlib.suppress(events_client.exceptions.ResourceAlreadyExistsException):
        events_client.create_event_bus(Name=bus_name)
    stream_dlq = sqs.create_queue(QueueName=f"{prefix}-{STREAM_DLQ}")["QueueUrl"]
    queues, dead = {}, {}
    for sub in events.SUBSCRIPTIONS:
        dlq_url = sqs.create_queue(QueueName=f"{prefix}-{sub.name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": sub.max_receive_count})
        url = sqs.create_queue(
            QueueName=f"{prefix}-{sub.name}",
            Attributes={"VisibilityTimeout": str(QUEUE_VISIBILITY_SECONDS), "RedrivePolicy": redrive},
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = f"{prefix}-{sub.name}"
        events_client.put_rule(Name=rule, EventBusName=bus_name, EventPattern=json.dumps(sub.pattern))
        events_client.put_targets(Rule=rule, EventBusName=bus_name, Targets=[{"Id": sub.name, "Arn": arn}])
        queues[sub.name], dead[sub.name] = url, dlq_url
    return LocalBus(bus_name, stream_dlq, queues, dead)


# ----------------------------------------------------------------------------- the stream
def _epoch(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return None if value is None else float(value)


def lambda_record(record: dict, stream_arn: str) -> dict:
    """A Streams API record as Lambda hands it to a function (epoch seconds, the stream's ARN)."""
    change = dict(record["dynamodb"])
    if "ApproximateCreationDateTime" in change:
        change["ApproximateCreationDateTime"] = _epoch(change["ApproximateCreationDateTime"])
    return {**record, "dynamodb": change, "eventSourceARN": stream_arn}


@dataclass
class Outcome:
    delivered: int = 0
    invocations: int = 0
    dead_lettered: list[str] = field(default_factory=list)  # sequence numbers sent to the DLQ


@dataclass
class StreamMapping:
    """Lambda's event source mapping for a DynamoDB stream, over one batch at a time."""

    invoke: Invoke
    function: str
    stream_arn: str
    on_failure: Callable[[dict], None]
    max_retry_attempts: int = MAX_RETRY_ATTEMPTS
    bisect_on_error: bool = True
    retry_delay: float = 0.1

    def deliver(self, shard_id: str, records: list[dict], outcome: Outcome | None = None) -> Outcome:
        """Deliver ``records`` (Lambda-shaped, in stream order) until each has succeeded or
        been handed to the dead-letter queue."""
        outcome = outcome or Outcome()
        pending, retries = records, 0
        while pending:
            failed_at = self._invoke(pending, outcome)
            if failed_at is None:
                outcome.delivered += len(pending)
                return outcome
            outcome.delivered += failed_at
            pending = pending[failed_at:]  # Lambda retries from the first failed record
            if self.bisect_on_error and len(pending) > 1:
                half = len(pending) // 2
                self.deliver(shard_id, pending[:half], outcome)
                self.deliver(shard_id, pending[half:], outcome)
                return outcome
            retries += 1
            if retries <= self.max_retry_attempts:
                time.sleep(self.retry_delay * 2 ** (retries - 1))  # Lambda backs off between retries too
            else:
                self._dead_letter(shard_id, pending, retries)
                outcome.dead_lettered.extend(r["dynamodb"]["SequenceNumber"] for r in pending)
                return outcome
        return outcome

    def _invoke(self, batch: list[dict], outcome: Outcome) -> int | None:
        """None when the whole batch succeeded, else the index of the first failed record."""
        outcome.invocations += 1
        try:
            result = self.invoke(self.function, {"Records": batch})
        except Exception as error:
            log.warning("%s failed on a batch of %d records: %s", self.function, len(batch), error)
            return 0
        failures = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures") or []}
        if not failures:
            return None
        for index, record in enumerate(batch):
            if record["dynamodb"]["SequenceNumber"] in failures:
                return index
        return 0  # an identifier that names no record: Lambda retries the whole batch

    def _dead_letter(self, shard_id: str, records: list[dict], attempts: int) -> None:
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        arrival = [_epoch(first.get("ApproximateCreationDateTime")), _epoch(last.get("ApproximateCreationDateTime"))]
        log.error("%d stream record(s) kept failing: sent to the dead-letter queue", len(records))
        self.on_failure(
            {
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": f"arn:aws:lambda:local:000000000000:function:{self.function}",
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": attempts,
                },
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "version": "1.0",
                "timestamp": datetime.now(UTC).isoformat(),
                "DDBStreamBatchInfo": {
                    "shardId": shard_id,
                    "startSequenceNumber": first["SequenceNumber"],
                    "endSequenceNumber": last["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": arrival[0],
                    "approximateArrivalOfLastRecord": arrival[1],
                    "batchSize": len(records),
                    "streamArn": self.stream_arn,
                },
            }
        )


class StreamReader:
    """Reads every shard of a table's stream from its checkpoint (else the oldest record)."""

    def __init__(self, streams: Any, stream_arn: str, checkpoint_file: Path | None = None) -> None:
        self.streams = streams
        self.stream_arn = stream_arn
        self.checkpoint_file = checkpoint_file
        self.checkpoints: dict[str, str] = self._load()
        self._iterators: dict[str, str | None] = {}

    def _load(self) -> dict[str, str]:
        if self.checkpoint_file is None:
            return {}
        try:
            data = json.loads(self.checkpoint_file.read_text())
        except (OSError, ValueError):
            return {}
        return dict(data.get(self.stream_arn, {})) if isinstance(data, dict) else {}

    def commit(self, shard_id: str, sequence_number: str) -> None:
        self.checkpoints[shard_id] = sequence_number
        if self.checkpoint_file is not None:
            tmp = self.checkpoint_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({self.stream_arn: self.checkpoints}, indent=2))
            tmp.replace(self.checkpoint_file)

    def _iterator(self, shard_id: str) -> str | None:
        if shard_id not in self._iterators:
            after = self.checkpoints.get(shard_id)
            position = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                if after
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            try:
                answer = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id, **position)
            except self.streams.exceptions.TrimmedDataAccessException:
                answer = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )
            self._iterators[shard_id] = answer.get("ShardIterator")
        return self._iterators[shard_id]

    def reopen(self) -> None:
        """Get fresh shard iterators from the checkpoints on the next read (after the table's
        process restarted: its old iterators are gone, the checkpoints still hold)."""
        self._iterators.clear()

    def shards(self) -> list[str]:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description.get("Shards", [])]

    def read(self, shard_id: str, limit: int) -> list[dict]:
        """The next records of ``shard_id`` (at most ``limit``), Lambda-shaped."""
        iterator = self._iterator(shard_id)
        if iterator is None:
            return []  # a closed shard, read to its end
        answer = self.streams.get_records(ShardIterator=iterator, Limit=limit)
        self._iterators[shard_id] = answer.get("NextShardIterator")
        return [lambda_record(record, self.stream_arn) for record in answer.get("Records", [])]


# ----------------------------------------------------------------------------- the queues
@dataclass
class QueueMapping:
    """Lambda's event source mapping for an SQS queue: batches, partial failures, deletes."""

    invoke: Invoke
    function: str
    sqs: Any
    queue_url: str
    batch_size: int = QUEUE_BATCH_SIZE

    def poll(self, wait_seconds: int = 0) -> int:
        """Receive one batch and deliver it; returns how many messages succeeded."""
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        arn = self.queue_url  # what an SQS record's eventSourceARN names; the consumer ignores it
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody"),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        try:
            result = self.invoke(self.function, {"Records": records})
            failed = {f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures") or []}
        except Exception as error:
            log.warning("%s failed on a batch of %d messages: %s", self.function, len(records), error)
            failed = {r["messageId"] for r in records}
        done = [r for r in records if r["messageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(done)


def scheduled_event(function: str) -> dict:
    """The event an EventBridge schedule rule sends ``function`` (events/<function>.json)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION_DEFAULT,
        "resources": [f"arn:aws:events:{REGION_DEFAULT}:{ACCOUNT_ID}:rule/local-{function}"],
        "detail": {},
    }


# ----------------------------------------------------------------------------- the loop
class EventPipeline:
    """Reads the stream and the queues in a background thread until stopped."""

    def __init__(
        self,
        invoke: Invoke,
        *,
        dynamodb: Any,
        streams: Any,
        sqs: Any,
        table_name: str,
        bus: LocalBus,
        checkpoint_file: Path | None = None,
        batch_size: int = BATCH_SIZE,
        batching_window: float = MAX_BATCHING_WINDOW_SECONDS,
        max_retry_attempts: int = MAX_RETRY_ATTEMPTS,
        retry_delay: float = 0.1,
        idle_sleep: float = 0.1,
    ) -> None:
        stream_arn = dynamodb.describe_table(TableName=table_name)["Table"].get("LatestStreamArn")
        if not stream_arn:
            raise RuntimeError(f"table {table_name} has no stream")
        self.reader = StreamReader(streams, stream_arn, checkpoint_file)
        self.sqs = sqs
        self.bus = bus
        self.batch_size = batch_size
        self.batching_window = batching_window
        self.idle_sleep = idle_sleep
        self.mapping = StreamMapping(
            invoke,
            events.STREAM_FUNCTION,
            stream_arn,
            on_failure=lambda info: sqs.send_message(QueueUrl=bus.stream_dlq_url, MessageBody=json.dumps(info)),
            max_retry_attempts=max_retry_attempts,
            retry_delay=retry_delay,
        )
        self.queues = [QueueMapping(invoke, sub.function, sqs, bus.queues[sub.name]) for sub in events.SUBSCRIPTIONS]
        self.invoke = invoke
        #: When each scheduled function runs next (monotonic seconds): at start, then every period.
        self.next_runs = {name: 0.0 for name in routes.SCHEDULES}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.outcome = Outcome()

    def pump_stream(self) -> int:
        """One pass over every shard: gather up to a batch (waiting at most the batching
        window for it to fill), deliver it, move the checkpoint. Returns records delivered."""
        total = 0
        for shard in self.reader.shards():
            batch = self.reader.read(shard, self.batch_size)
            deadline = time.monotonic() + self.batching_window
            while batch and len(batch) < self.batch_size and time.monotonic() < deadline:
                more = self.reader.read(shard, self.batch_size - len(batch))
                if not more:
                    time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
                batch.extend(more)
            if not batch:
                continue
            self.mapping.deliver(shard, batch, self.outcome)
            self.reader.commit(shard, batch[-1]["dynamodb"]["SequenceNumber"])
            total += len(batch)
        return total

    def pump_queues(self, wait_seconds: int = 0) -> int:
        return sum(queue.poll(wait_seconds) for queue in self.queues)

    def run_schedules(self, now: float | None = None) -> list[str]:
        """Invoke the scheduled functions that are due (``routes.SCHEDULES``), with the event
        an EventBridge schedule sends; returns the names run."""
        now = time.monotonic() if now is None else now
        due = [name for name, at in self.next_runs.items() if at <= now]
        for name in due:
            self.next_runs[name] = now + routes.SCHEDULES[name] * 60
            self.invoke(name, scheduled_event(name))
        return due

    def drain(self, timeout: float = 10.0) -> None:
        """Deliver until the stream and the queues are quiet (tests, and ``stats rebuild``)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline and quiet < 2:
            moved = self.pump_stream() + self.pump_queues()
            quiet = 0 if moved else quiet + 1

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                moved = self.pump_stream() + self.pump_queues()
                self.run_schedules()
            except Exception:
                log.exception("the local event pipeline failed a pass; retrying")
                moved = 0
            if not moved:
                self._stop.wait(self.idle_sleep)

    def start(self) -> EventPipeline:
        self._thread = threading.Thread(target=self._run, name="event-pipeline", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


@contextlib.contextmanager
def running_pipeline(services: Any, invoke: Invoke, **settings: Any) -> Iterator[EventPipeline]:
    """The pipeline of a local stack (``local_env.LocalServices``), running until the block ends."""
    from .local_env import EVENTS_PREFIX

    sqs = services.client("sqs")
    pipeline = EventPipeline(
        invoke,
        dynamodb=services.client("dynamodb"),
        streams=services.client("dynamodbstreams"),
        sqs=sqs,
        table_name=services.table_name,
        bus=create_bus(services.client("events"), sqs, EVENTS_PREFIX),
        checkpoint_file=services.state_dir / CHECKPOINT_FILE,
        **settings,
    ).start()
    try:
        yield pipeline
    finally:
        pipeline.stop()
