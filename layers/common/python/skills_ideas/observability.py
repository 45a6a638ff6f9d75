"""One Logger and one Metrics per process (Powertools), configured by the environment:
POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE (SkillsIdeas), STAGE (a metric
dimension), LOG_LEVEL.

Only these two utilities are imported: the Tracer (X-Ray SDK) costs 300-400 ms of cold
start and Lambda's active tracing already records every invocation."""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "skills-ideas")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "SkillsIdeas")

# Reads and rejected requests record no business metric; Powertools would warn on every one
# of those flushes, filling the logs with noise.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Every stage counts apart (one account may hold dev and prod): the stack's dashboards and
# alarms select stage=<their stage>.
metrics.set_default_dimensions(stage=os.environ.get("STAGE", "local"))


def count(name: str, value: int = 1) -> None:
    """Record one business outcome (UserRegistered, LoginFailed, IdeaCreated, ...)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
