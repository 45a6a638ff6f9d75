"""What happens to a stateful resource (data, logs, keys) when its stack goes away.

A stage that keeps its data (``retain_data``) keeps these resources when the stack is
deleted or a resource is replaced, but not when the stack's *first* create rolls back
(CloudFormation's ``RetainExceptOnCreate``): a failed first deploy leaves nothing behind, so
it can simply be run again. Other stages delete them with the stack. Either way the
resources carry no fixed physical name, so a stage re-created next to retained leftovers
never collides with them ("already exists").
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from infra.config import StageConfig

_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def removal_policy(config: StageConfig) -> RemovalPolicy:
    return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if config.retain_data else RemovalPolicy.DESTROY


def log_retention(days: int) -> logs.RetentionDays:
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(f"log retention must be one of {sorted(_RETENTION)} days, got {days}") from None
