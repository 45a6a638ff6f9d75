"""The event backbone (docs/events.md): the table's stream -> ``events`` function -> the stage's
EventBridge bus -> one rule, queue and consumer per subscription (``skills_ideas.events``).

* Stream mapping: batches of up to ``STREAM_BATCH_SIZE`` gathered for at most
  ``STREAM_BATCHING_WINDOW``, partial batch failures reported, the batch bisected on error,
  ``STREAM_RETRY_ATTEMPTS`` retries and ``STREAM_MAX_RECORD_AGE`` at most, then the record's
  batch information goes to an encrypted SQS dead-letter queue (the on-failure destination) and
  the shard moves on. A filter keeps anything but users and ideas from invoking the function.
* Per subscription: a rule matching its detail types, an encrypted queue read in batches with
  partial failures, and an encrypted dead-letter queue after ``max_receive_count`` receives. A
  subscription that ``continues`` lets its consumer send to its own queue (a long job's next
  step) and tells it the queue's URL.
* Alarms (to the stage's alarm topic): the stream's iterator age, and any message in a
  dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.functions import DeployedFunction
from infra.config import StageConfig
from skills_ideas import events, routes

STREAM_BATCH_SIZE = 100
STREAM_BATCHING_WINDOW = Duration.seconds(1)
STREAM_RETRY_ATTEMPTS = 5
STREAM_MAX_RECORD_AGE = Duration.hours(6)
QUEUE_BATCH_SIZE = 10
QUEUE_BATCHING_WINDOW = Duration.seconds(1)
QUEUE_RETENTION = Duration.days(4)
DEAD_LETTER_RETENTION = Duration.days(14)
#: Alarm when the oldest record the events function read was this old (events are late).
ITERATOR_AGE_ALARM = Duration.minutes(5)
#: Only users and ideas make events: everything else in the table never invokes the function.
STREAM_FILTER = {
    "dynamodb": {"Keys": {"PK": {"S": [{"prefix": "USER#"}]}, "SK": {"S": ["PROFILE", {"prefix": "IDEA#"}]}}}
}


def _queue(scope: Construct, construct_id: str, name: str, retention: Duration, **kwargs) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention,
        removal_policy=RemovalPolicy.DESTROY,
        **kwargs,
    )


class EventBus(Construct):
    """The stage's bus: created before the functions, which may be granted ``events:publish``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = eventbridge.EventBus(self, "Bus", event_bus_name=f"{config.prefix}-events")


class EventBackbone(Construct):
    """The mappings, rules, queues and alarms around the ``events`` and consumer functions (built,
    like every function, by ``Functions`` from ``routes.EVENT_FUNCTIONS``: their ``live`` alias
    is what the mappings invoke, so a CodeDeploy shift covers them too)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        bus: eventbridge.IEventBus,
        table: dynamodb.ITableV2,
        functions: Mapping[str, DeployedFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.dead_letter_queues: dict[str, sqs.Queue] = {}

        self.stream_dlq = _queue(self, "StreamDeadLetters", f"{config.prefix}-events-stream-dlq", DEAD_LETTER_RETENTION)
        self.dead_letter_queues["stream"] = self.stream_dlq
        self.stream_function = functions[events.STREAM_FUNCTION]
        self.stream_function.alias.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=STREAM_BATCH_SIZE,
                max_batching_window=STREAM_BATCHING_WINDOW,
                bisect_batch_on_error=True,
                retry_attempts=STREAM_RETRY_ATTEMPTS,
                max_record_age=STREAM_MAX_RECORD_AGE,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.stream_dlq),
                filters=[lambda_.FilterCriteria.filter(STREAM_FILTER)],
            )
        )

        self.queues: dict[str, sqs.Queue] = {}
        for sub in events.SUBSCRIPTIONS:
            ident = "".join(part.capitalize() for part in sub.name.split("_"))
            dead = _queue(self, f"{ident}DeadLetters", f"{config.prefix}-{sub.name}-dlq", DEAD_LETTER_RETENTION)
            timeout = config.function(sub.function).timeout_seconds
            queue = _queue(
                self,
                f"{ident}Queue",
                f"{config.prefix}-{sub.name}",
                QUEUE_RETENTION,
                visibility_timeout=Duration.seconds(timeout * 6),  # Lambda's advice for a queue it reads
                dead_letter_queue=sqs.DeadLetterQueue(queue=dead, max_receive_count=sub.max_receive_count),
            )
            eventbridge.Rule(
                self,
                f"{ident}Rule",
                rule_name=f"{config.prefix}-{sub.name}",
                event_bus=bus,
                event_pattern=eventbridge.EventPattern(source=[events.SOURCE], detail_type=list(sub.detail_types)),
                targets=[targets.SqsQueue(queue, dead_letter_queue=dead, retry_attempts=8)],
            )
            if sub.continues:  # the consumer hands the next step of a long job to its own queue
                consumer = functions[sub.function].function
                queue.grant_send_messages(consumer)
                consumer.add_environment(sub.queue_url_variable, queue.queue_url)
            functions[sub.function].alias.add_event_source(
                sources.SqsEventSource(
                    queue,
                    batch_size=QUEUE_BATCH_SIZE,
                    max_batching_window=QUEUE_BATCHING_WINDOW,
                    report_batch_item_failures=True,
                )
            )
            self.queues[sub.name] = queue
            self.dead_letter_queues[sub.name] = dead

        # Scheduled functions: a rule on the default bus (where schedules live). No retry of a
        # failed run: the next run, minutes later, does the same work.
        for name, minutes in routes.SCHEDULES.items():
            ident = "".join(part.capitalize() for part in name.split("_"))
            eventbridge.Rule(
                self,
                f"{ident}Schedule",
                rule_name=f"{config.prefix}-{name.replace('_', '-')}",
                description=f"Runs {name} every {minutes} minute(s) (skills_ideas.routes.SCHEDULES)",
                schedule=eventbridge.Schedule.rate(Duration.minutes(minutes)),
                targets=[targets.LambdaFunction(functions[name].alias, retry_attempts=0)],
            )

    def add_alarms(self, topic: sns.ITopic) -> list[cloudwatch.Alarm]:
        """Iterator age of the stream function, and depth of every dead-letter queue."""
        prefix = self._config.prefix
        alarms = [
            cloudwatch.Alarm(
                self,
                "StreamIteratorAge",
                alarm_name=f"{prefix}-events-iterator-age",
                alarm_description="Domain events are late: the stream's oldest unprocessed record (docs/events.md)",
                metric=self.stream_function.function.metric(
                    "IteratorAge", statistic="Maximum", period=Duration.minutes(1)
                ),
                threshold=ITERATOR_AGE_ALARM.to_milliseconds(),
                evaluation_periods=5,
                datapoints_to_alarm=3,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        ]
        for name, queue in self.dead_letter_queues.items():
            ident = "".join(part.capitalize() for part in name.split("_"))
            alarms.append(
                cloudwatch.Alarm(
                    self,
                    f"{ident}DeadLetterDepth",
                    alarm_name=f"{prefix}-{name}-dead-letters",
                    alarm_description=f"Events that kept failing wait in {queue.queue_name} (docs/events.md)",
                    metric=queue.metric_approximate_number_of_messages_visible(
                        period=Duration.minutes(5), statistic="Maximum"
                    ),
                    threshold=0,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        for alarm in alarms:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarms
