"""What each manifest ``uses`` entry grants a function: IAM actions, resources, environment.

The stack never grants per function name: a function's role and environment are the union of
the grants of its ``uses`` in the route manifest, so a new route (or the skills admin routes
with ``catalogue:write`` + ``cdn:invalidate``) gets exactly what it declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager

from infra.config import StageConfig

#: Item reads only: no Scan (no request path scans, docs/data-model.md), no stream access.
TABLE_READ_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:DescribeTable",
)
#: Conditional writes and transactions (TransactWriteItems is authorized per contained action).
TABLE_WRITE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)


#: Reading the table's stream (the events function's event source mapping uses the role).
TABLE_STREAM_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
)


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GrantTargets:
    """The resources a function may be granted access to."""

    table: dynamodb.ITableV2
    catalogue_bucket: s3.IBucket
    jwt_secret: secretsmanager.ISecret
    cursor_key: secretsmanager.ISecret
    distribution: cloudfront.IDistribution
    event_bus: eventbridge.IEventBus


def grants(config: StageConfig, targets: GrantTargets) -> dict[str, Grant]:
    table_arns = (targets.table.table_arn, f"{targets.table.table_arn}/index/*")
    table_env = {"TABLE_NAME": targets.table.table_name}
    catalogue_arn = (targets.catalogue_bucket.arn_for_objects(config.catalogue_key),)
    catalogue_env = {
        "CATALOGUE_BUCKET": targets.catalogue_bucket.bucket_name,
        "CATALOGUE_KEY": config.catalogue_key,
    }
    return {
        "table:read": Grant(TABLE_READ_ACTIONS, table_arns, table_env),
        "table:write": Grant(TABLE_WRITE_ACTIONS, table_arns, table_env),
        # GetObject also covers HEAD and the If-None-Match revalidation of the cached copy.
        "catalogue:read": Grant(("s3:GetObject",), catalogue_arn, catalogue_env),
        "catalogue:write": Grant(("s3:PutObject",), catalogue_arn, catalogue_env),
        "secret:read": Grant(
            ("secretsmanager:GetSecretValue",),
            (targets.jwt_secret.secret_arn,),
            {
                "JWT_SECRET_NAME": targets.jwt_secret.secret_arn,
                "JWT_ISSUER": config.jwt_issuer,
                "JWT_AUDIENCE": config.jwt_audience,
            },
        ),
        "cursor:sign": Grant((), (), {"CURSOR_KEY": targets.cursor_key.secret_value.unsafe_unwrap()}),
        "table:stream": Grant(TABLE_STREAM_ACTIONS, (targets.table.table_stream_arn or "",)),
        "events:publish": Grant(
            ("events:PutEvents",),
            (targets.event_bus.event_bus_arn,),
            {"EVENT_BUS_NAME": targets.event_bus.event_bus_name},
        ),
        "cdn:invalidate": Grant(
            ("cloudfront:CreateInvalidation",),
            (targets.distribution.distribution_arn,),
            {"CDN_DISTRIBUTION_ID": targets.distribution.distribution_id},
        ),
    }


def apply(role: iam.IRole, uses: Iterable[str], available: Mapping[str, Grant]) -> dict[str, str]:
    """Grant ``role`` every use in ``uses``; return the environment those uses need."""
    environment: dict[str, str] = {}
    for use in sorted(set(uses)):
        grant = available.get(use)
        if grant is None:
            raise ValueError(f"unknown use {use!r} in the route manifest; known: {sorted(available)}")
        if grant.actions:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(grant.actions), resources=list(grant.resources))
            )
        environment.update(grant.environment)
    return environment
