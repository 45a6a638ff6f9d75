"""One alarm per critical signal, all notifying the encrypted topic; the dashboard shows the rest."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from infra.config import BUSINESS_METRICS, METRICS_NAMESPACE, SERVICE_NAME
from infra.stack import ROOT
from skills_ideas import catalogue_edits
from tests.infra.helpers import check_alarm_topic, functions_by_name, refs_in

SKILLS_METRICS = (
    "SkillCreated",
    "SkillUpdated",
    "SkillDeleted",
    "CatalogueStaleServed",
    "CatalogueWriteConflict",
    "CatalogueWriteGaveUp",
    "CdnInvalidationFailed",
)


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


def test_alarm_topic_is_encrypted_tls_only_and_cloudwatch_may_publish_to_it(stack):
    check_alarm_topic(stack.resources, stack.config.alarm_emails)


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


def _emitted_metric_names() -> set[str]:
    """Every literal ``count("Name")`` in the handlers and the shared layer, and the edit metrics."""
    sources = [*ROOT.glob("functions/*/app.py"), *ROOT.glob("layers/common/python/skills_ideas/*.py")]
    names = {name for path in sources for name in re.findall(r'\bcount\("(\w+)"', path.read_text(encoding="utf-8"))}
    return names | set(catalogue_edits.METRICS.values())


def test_every_metric_the_code_emits_is_on_the_dashboard():
    emitted = _emitted_metric_names()
    assert set(SKILLS_METRICS) <= emitted  # the scan itself still finds them
    assert emitted <= set(BUSINESS_METRICS), emitted - set(BUSINESS_METRICS)


def test_dashboard_plots_the_skills_metrics_as_powertools_emits_them(stack):
    # Powertools: namespace POWERTOOLS_METRICS_NAMESPACE, dimensions service=<service name> and
    # stage=<stage> (skills_ideas.observability), so one stage never plots another's numbers.
    (dashboard,) = stack.of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    text = body if isinstance(body, str) else json.dumps(body)
    stage = stack.config.stage
    for name in SKILLS_METRICS:
        assert re.search(
            rf'\[\\?"{METRICS_NAMESPACE}\\?",\\?"{name}\\?",\\?"service\\?",\\?"{SERVICE_NAME}\\?",'
            rf'\\?"stage\\?",\\?"{stage}\\?"',
            text,
        ), name
    # Cold starts: Powertools gives them no stage, so the search keeps this stage's functions.
    assert re.search(rf'function_name=\\*"{re.escape(stack.config.prefix)}\\*"', text)


def _alarms_on(stack, metric_name):
    return [alarm for alarm in _notifying_alarms(stack) if metric_name in _metric_names(alarm)]


def test_stale_catalogue_reads_and_given_up_writes_raise_alarms(stack):
    thresholds = stack.config.alarms
    expected = {
        "CatalogueStaleServed": (thresholds.catalogue_stale_served, 3, 5),
        "CatalogueWriteGaveUp": (
            thresholds.catalogue_write_gave_up,
            thresholds.catalogue_write_gave_up_datapoints,
            thresholds.catalogue_write_gave_up_datapoints,
        ),
    }
    for name, (threshold, datapoints, periods) in expected.items():
        (alarm,) = _alarms_on(stack, name)
        assert alarm["AlarmName"] == f"{stack.config.prefix}-Business-{name}-Critical"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert (alarm["Threshold"], alarm["DatapointsToAlarm"], alarm["EvaluationPeriods"]) == (
            threshold,
            datapoints,
            periods,
        )
        # The metric is emitted only when it happens: silence is healthy.
        assert alarm["TreatMissingData"] == "notBreaching"
        (query,) = alarm["Metrics"]
        metric = query["MetricStat"]["Metric"]
        assert metric["Namespace"] == METRICS_NAMESPACE
        # this stage's count only: dev's stale reads must not page prod's on-call
        assert metric["Dimensions"] == [
            {"Name": "service", "Value": SERVICE_NAME},
            {"Name": "stage", "Value": stack.config.stage},
        ]
        assert query["MetricStat"]["Stat"] == "Sum"
    # The other catalogue signals are on the dashboard only.
    for name in ("CatalogueWriteConflict", "CdnInvalidationFailed", "SkillCreated"):
        assert not _alarms_on(stack, name), name


def test_the_functions_emit_the_stage_dimension_the_alarms_select(stack, monkeypatch, capsys):
    # Given the environment the stack gives every function
    (lid, *_) = functions_by_name(stack).values()
    env = stack.props(lid)["Environment"]["Variables"]
    monkeypatch.setenv("STAGE", env["STAGE"])
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", env["POWERTOOLS_SERVICE_NAME"])
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", env["POWERTOOLS_METRICS_NAMESPACE"])
    # When the layer's observability module starts (in a fresh interpreter, as Lambda does) and counts
    script = "from skills_ideas.observability import count, metrics\ncount('IdeaCreated')\nmetrics.flush_metrics()\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    emf = json.loads(next(line for line in out.splitlines() if "_aws" in line))
    # Then the EMF record carries exactly the dimensions the dashboard and alarms select
    (dimensions,) = emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert set(dimensions) == {"service", "stage"}
    assert (emf["service"], emf["stage"]) == (SERVICE_NAME, stack.config.stage)
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == METRICS_NAMESPACE


def test_catalogue_alarms_have_runbook_entries(stack):
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    for name in ("CatalogueStaleServed", "CatalogueWriteGaveUp"):
        (alarm,) = _alarms_on(stack, name)
        heading = alarm["AlarmName"].replace(stack.config.prefix, "skills-ideas-<stage>")
        assert re.search(rf"^## .*`{re.escape(heading)}`", runbook, re.MULTILINE), heading


def test_a_spike_of_failed_logins_or_lockouts_raises_an_alarm_with_a_runbook_entry(stack):
    # A guessing campaign shows as failed logins and lockouts far above people mistyping
    thresholds = stack.config.alarms
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    for name, threshold in (("LoginFailed", thresholds.login_failures), ("LoginLockedOut", thresholds.login_lockouts)):
        (alarm,) = _alarms_on(stack, name)
        assert alarm["AlarmName"] == f"{stack.config.prefix}-Business-{name}-Critical"
        assert alarm["Threshold"] == threshold and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        (query,) = alarm["Metrics"]
        assert {"Name": "stage", "Value": stack.config.stage} in query["MetricStat"]["Metric"]["Dimensions"]
        heading = alarm["AlarmName"].replace(stack.config.prefix, "skills-ideas-<stage>")
        assert re.search(rf"^## .*`{re.escape(heading)}`", runbook, re.MULTILINE), heading
