"""The event backbone: the table's stream, its event source mapping, the bus, the rules and
queues of each subscription, the dead-letter queues, the alarms and least-privilege roles."""

from __future__ import annotations

import json

from infra.components import events as backbone
from skills_ideas import events
from tests.infra.helpers import ref


def _function(stack, name: str) -> tuple[str, dict]:
    wanted = f"{stack.config.prefix}-{name}"
    ((lid, fn),) = [
        (k, r)
        for k, r in stack.of_type("AWS::Lambda::Function").items()
        if r["Properties"].get("FunctionName") == wanted
    ]
    return lid, fn


def _aliases_of(stack, function_lid: str) -> set[str]:
    return {
        lid
        for lid, alias in stack.of_type("AWS::Lambda::Alias").items()
        if ref(alias["Properties"]["FunctionName"]) == function_lid
    }


def _mapping_of(stack, function_lid: str) -> dict:
    """The event source mapping that invokes the function's ``live`` alias."""
    aliases = _aliases_of(stack, function_lid)
    (mapping,) = [
        r["Properties"]
        for r in stack.of_type("AWS::Lambda::EventSourceMapping").values()
        if aliases & {ref(part) for part in _flatten(r["Properties"]["FunctionName"])}
    ]
    return mapping


def _flatten(value) -> list:
    """Every dict inside an intrinsic (``<function>:live`` is a Join over a Split of the alias ARN)."""
    if isinstance(value, dict):
        return [value, *(x for v in value.values() for x in _flatten(v))]
    if isinstance(value, list):
        return [x for v in value for x in _flatten(v)]
    return []


def _policy_statements(stack, function: dict) -> list[dict]:
    role = ref(function["Properties"]["Role"])
    found = []
    for policy in stack.of_type("AWS::IAM::Policy").values():
        if any(ref(r) == role for r in policy["Properties"]["Roles"]):
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def _actions(statements: list[dict]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        value = statement["Action"]
        actions.update([value] if isinstance(value, str) else value)
    return actions


def test_the_table_streams_new_and_old_images(stack):
    ((_, table),) = stack.of_type("AWS::DynamoDB::GlobalTable").items()
    assert table["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_stream_mapping_has_lambdas_delivery_semantics(stack):
    lid, _ = _function(stack, events.STREAM_FUNCTION)
    mapping = _mapping_of(stack, lid)
    assert ref(mapping["EventSourceArn"]) is not None  # the table's StreamArn
    assert mapping["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == backbone.STREAM_BATCH_SIZE
    assert mapping["MaximumBatchingWindowInSeconds"] == 1
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == backbone.STREAM_RETRY_ATTEMPTS
    assert mapping["MaximumRecordAgeInSeconds"] == 6 * 3600
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    dlq = ref(mapping["DestinationConfig"]["OnFailure"]["Destination"])
    assert stack.resources[dlq]["Type"] == "AWS::SQS::Queue"
    (pattern,) = mapping["FilterCriteria"]["Filters"]
    assert json.loads(pattern["Pattern"]) == backbone.STREAM_FILTER


def test_each_subscription_is_a_rule_to_an_encrypted_queue_with_a_dead_letter_queue(stack):
    for sub in events.SUBSCRIPTIONS:
        (rule,) = [
            r["Properties"]
            for r in stack.of_type("AWS::Events::Rule").values()
            if r["Properties"].get("Name") == f"{stack.config.prefix}-{sub.name}"
        ]
        assert rule["EventPattern"] == {"source": [events.SOURCE], "detail-type": list(sub.detail_types)}
        (target,) = rule["Targets"]
        queue = stack.props(ref(target["Arn"]))
        assert queue["SqsManagedSseEnabled"] is True
        assert queue["RedrivePolicy"]["maxReceiveCount"] == sub.max_receive_count
        assert stack.props(ref(queue["RedrivePolicy"]["deadLetterTargetArn"]))["SqsManagedSseEnabled"] is True
        lid, _ = _function(stack, sub.function)
        mapping = _mapping_of(stack, lid)
        assert ref(mapping["EventSourceArn"]) == ref(target["Arn"])
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_queue_is_encrypted_and_refuses_plain_http(stack):
    queues = stack.of_type("AWS::SQS::Queue")
    assert len(queues) == 1 + 2 * len(events.SUBSCRIPTIONS)
    for lid, queue in queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True, lid
    secured = {ref(q) for p in stack.of_type("AWS::SQS::QueuePolicy").values() for q in p["Properties"]["Queues"]}
    assert set(queues) <= secured


def test_roles_are_least_privilege(stack):
    _, stream_fn = _function(stack, events.STREAM_FUNCTION)
    stream_actions = _actions(_policy_statements(stack, stream_fn))
    assert "events:PutEvents" in stream_actions
    # the stream, and nothing of the table's items
    assert {a for a in stream_actions if a.startswith("dynamodb:")} == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    for sub in events.SUBSCRIPTIONS:
        _, consumer = _function(stack, sub.function)
        actions = _actions(_policy_statements(stack, consumer))
        assert "dynamodb:Scan" not in actions and "dynamodb:GetRecords" not in actions
        assert "events:PutEvents" not in actions


def test_publishers_get_the_bus_and_nothing_else_does(stack):
    for lid, fn in stack.of_type("AWS::Lambda::Function").items():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        can_put = "events:PutEvents" in _actions(_policy_statements(stack, fn))
        assert ("EVENT_BUS_NAME" in env) == can_put, lid


def test_alarms_on_iterator_age_and_dead_letters(stack):
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in stack.of_type("AWS::CloudWatch::Alarm").values()}
    age = alarms[f"{stack.config.prefix}-events-iterator-age"]
    assert age["MetricName"] == "IteratorAge"
    assert age["Threshold"] == 5 * 60 * 1000
    assert age["AlarmActions"]
    for name in ["stream", *(sub.name for sub in events.SUBSCRIPTIONS)]:
        depth = alarms[f"{stack.config.prefix}-{name}-dead-letters"]
        assert depth["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert depth["Threshold"] == 0
        assert depth["AlarmActions"]


def test_the_sweep_of_pending_account_deletions_runs_every_minute_and_ends_before_the_next(stack):
    # Given the scheduled finish_deletions function
    lid, function = _function(stack, "finish_deletions")
    aliases = _aliases_of(stack, lid)
    # Then one rule on the default bus invokes its live alias every minute, without retries
    (rule,) = [
        r["Properties"]
        for r in stack.of_type("AWS::Events::Rule").values()
        if r["Properties"].get("ScheduleExpression")
    ]
    assert rule["ScheduleExpression"] == "rate(1 minute)" and "EventBusName" not in rule
    (target,) = rule["Targets"]
    assert aliases & {ref(part) for part in _flatten(target["Arn"])}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0
    # And a run ends before the next one starts, and it may only read and write the table
    assert function["Properties"]["Timeout"] < 60
    assert _actions(_policy_statements(stack, function)) >= {"dynamodb:Query", "dynamodb:BatchWriteItem"}
    assert not {a for a in _actions(_policy_statements(stack, function)) if a.startswith(("s3:", "events:"))}


def test_a_continuing_consumer_may_send_to_its_own_queue_and_no_other(stack):
    queue_of = {}
    for sub in events.SUBSCRIPTIONS:
        (rule,) = [
            r["Properties"]
            for r in stack.of_type("AWS::Events::Rule").values()
            if r["Properties"].get("Name") == f"{stack.config.prefix}-{sub.name}"
        ]
        queue_of[sub.name] = ref(rule["Targets"][0]["Arn"])
    for sub in events.SUBSCRIPTIONS:
        _, consumer = _function(stack, sub.function)
        statements = _policy_statements(stack, consumer)
        senders = [s for s in statements if "sqs:SendMessage" in _actions([s])]
        env = consumer["Properties"].get("Environment", {}).get("Variables", {})
        if sub.continues:
            assert [ref(s["Resource"]) for s in senders] == [queue_of[sub.name]]
            assert ref(env[sub.queue_url_variable]) == queue_of[sub.name]
        else:
            assert senders == [] and sub.queue_url_variable not in env


def test_the_recommendations_consumer_hears_ideas_and_catalogue_changes(stack):
    (sub,) = [s for s in events.SUBSCRIPTIONS if s.function == "recommendations_consumer"]
    assert set(sub.detail_types) == {"IdeaCreated", "IdeaUpdated", "IdeaDeleted", "SkillCatalogueChanged"}
    _, consumer = _function(stack, sub.function)
    actions = _actions(_policy_statements(stack, consumer))
    assert {"dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:PutItem", "s3:GetObject"} <= actions
    env = consumer["Properties"]["Environment"]["Variables"]
    assert {"TABLE_NAME", "CATALOGUE_BUCKET", "CATALOGUE_KEY", "CURSOR_KEY"} <= set(env)
