"""One alarm per critical signal, all notifying the encrypted topic; the dashboard shows the rest."""

from __future__ import annotations

import json

from infra.config import BUSINESS_METRICS
from tests.infra.helpers import functions_by_name, ref, refs_in


def _metric_names(value) -> set[str]:
    if isinstance(value, dict):
        found = {value["MetricName"]} if "MetricName" in value else set()
        return found.union(*(_metric_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_metric_names(v) for v in value))
    return set()


def _notifying_alarms(stack):
    (topic,) = stack.of_type("AWS::SNS::Topic")
    return [
        alarm["Properties"]
        for alarm in stack.of_type("AWS::CloudWatch::Alarm").values()
        if {"Ref": topic} in alarm["Properties"].get("AlarmActions", [])
    ]


def test_alarm_topic_is_encrypted_and_tls_only(stack):
    (topic_id, topic), = stack.of_type("AWS::SNS::Topic").items()
    assert "KmsMasterKeyId" in topic["Properties"]
    (policy,) = stack.of_type("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s["Condition"]) for s in statements)
    key = stack.props(ref(topic["Properties"]["KmsMasterKeyId"]))
    assert key["EnableKeyRotation"] is True
    # CloudWatch can publish to the encrypted topic.
    assert "cloudwatch.amazonaws.com" in json.dumps(key["KeyPolicy"])
    emails = {s["Properties"]["Endpoint"] for s in stack.of_type("AWS::SNS::Subscription").values()}
    assert emails == set(stack.config.alarm_emails)


def test_platform_signals_each_have_an_alarm(stack):
    signals = set().union(*(_metric_names(alarm) for alarm in _notifying_alarms(stack)))
    assert {
        "5XXError",  # API 5xx
        "Latency",  # API p99
        "ReadThrottleEvents",
        "WriteThrottleEvents",
        "SystemErrors",  # DynamoDB
        "5xxErrorRate",  # CloudFront
    } <= signals


def test_every_function_has_an_errors_and_a_throttles_alarm(stack):
    alarms = _notifying_alarms(stack)
    for name, lid in functions_by_name(stack).items():
        watched = set().union(*(_metric_names(a) for a in alarms if lid in refs_in(a)))
        assert {"Errors", "Throttles"} <= watched, name


def test_thresholds_come_from_the_stage_config(stack):
    thresholds = stack.config.alarms
    by_metric = {}
    for alarm in _notifying_alarms(stack):
        for metric in _metric_names(alarm):
            by_metric.setdefault(metric, set()).add(alarm["Threshold"])
    assert by_metric["5XXError"] == {thresholds.api_5xx_errors}
    assert by_metric["Latency"] == {thresholds.api_latency_p99_ms}
    assert by_metric["5xxErrorRate"] == {thresholds.cloudfront_5xx_rate_percent}
    assert by_metric["Throttles"] == {thresholds.lambda_throttles}


def test_dashboard_shows_business_metrics_and_cold_starts(stack):
    dashboards = stack.of_type("AWS::CloudWatch::Dashboard")
    body = json.dumps([d["Properties"]["DashboardBody"] for d in dashboards.values()])
    for metric in BUSINESS_METRICS:
        assert metric in body, metric
    assert "ColdStart" in body
    assert "SkillsIdeas" in body
