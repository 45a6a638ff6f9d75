"""What each manifest ``uses`` entry grants a function: IAM actions, resources, environment.

The stack never grants per function name: a function's role and environment are the union of
the grants of its ``uses`` in the route manifest, so a new route (or the skills admin routes
with ``catalogue:write`` + ``cdn:invalidate``) gets exactly what it declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aws_cdk import Aws, SecretValue
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
class Access:
    """One IAM statement: these actions on these resources."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True)
class Grant:
    access: tuple[Access, ...]
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
    #: A secret of another stack, imported by name (a multi-region secondary reads the replicas
    #: of the primary's secrets): how functions name the JWT key, the ARN pattern the policy
    #: names, the cursor key's dynamic reference. None: the secret's own ARN and value.
    jwt_secret_name: str | None = None
    cursor_key_name: str | None = None
    #: Multi-region, outside the home region: the home region's replica of the table, where the
    #: functions of ``HOME_REGION_WRITERS`` write (docs/multi-region.md, username uniqueness).
    home_table_arn: str | None = None


#: Functions that write through the home region's table when they run elsewhere: registration
#: claims a username in one region only, so that two regions never accept the same name.
HOME_REGION_WRITERS = frozenset({"register"})
#: The grant those functions get in a region other than the home region.
HOME_WRITE = "table:home-write"


def _secret_access(secret: secretsmanager.ISecret, name: str | None) -> tuple[str, str]:
    """(what a function passes to GetSecretValue, the ARN its policy names) for ``secret``."""
    if name is None:
        return secret.secret_arn, secret.secret_arn
    # Secrets Manager appends six random characters to a secret's name in its ARN.
    return name, f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{name}-??????"


def grants(config: StageConfig, targets: GrantTargets) -> dict[str, Grant]:
    table_arns = (targets.table.table_arn, f"{targets.table.table_arn}/index/*")
    jwt_secret_id, jwt_secret_arn = _secret_access(targets.jwt_secret, targets.jwt_secret_name)
    cursor_key = (
        targets.cursor_key.secret_value.unsafe_unwrap()
        if targets.cursor_key_name is None
        else SecretValue.secrets_manager(targets.cursor_key_name).unsafe_unwrap()
    )
    home = (
        {HOME_WRITE: Grant((Access(TABLE_WRITE_ACTIONS, (targets.home_table_arn,)),))} if targets.home_table_arn else {}
    )
    table_env = {"TABLE_NAME": targets.table.table_name}
    catalogue_arn = (targets.catalogue_bucket.arn_for_objects(config.catalogue_key),)
    catalogue_env = {
        "CATALOGUE_BUCKET": targets.catalogue_bucket.bucket_name,
        "CATALOGUE_KEY": config.catalogue_key,
    }
    return {
        "table:read": Grant((Access(TABLE_READ_ACTIONS, table_arns),), table_env),
        "table:write": Grant((Access(TABLE_WRITE_ACTIONS, table_arns),), table_env),
        "catalogue:read": Grant(
            (
                # GetObject also covers HEAD and the If-None-Match revalidation of the cached copy.
                Access(("s3:GetObject",), catalogue_arn),
                # Without ListBucket, S3 answers a missing key with 403 AccessDenied instead of
                # 404 NoSuchKey: the code could not tell "not there yet" from "not allowed".
                Access(("s3:ListBucket",), (targets.catalogue_bucket.bucket_arn,)),
            ),
            catalogue_env,
        ),
        "catalogue:write": Grant((Access(("s3:PutObject",), catalogue_arn),), catalogue_env),
        "secret:read": Grant(
            (Access(("secretsmanager:GetSecretValue",), (jwt_secret_arn,)),),
            {
                "JWT_SECRET_NAME": jwt_secret_id,
                "JWT_ISSUER": config.jwt_issuer,
                "JWT_AUDIENCE": config.jwt_audience,
            },
        ),
        # An environment value only, resolved at deploy time: no API call (infra/components/secrets.py).
        "cursor:sign": Grant((), {"CURSOR_KEY": cursor_key}),
        "table:stream": Grant(
            (Access(TABLE_STREAM_ACTIONS, (targets.table.table_stream_arn or "",)),),
        ),
        "events:publish": Grant(
            (Access(("events:PutEvents",), (targets.event_bus.event_bus_arn,)),),
            {"EVENT_BUS_NAME": targets.event_bus.event_bus_name},
        ),
        "cdn:invalidate": Grant(
            (Access(("cloudfront:CreateInvalidation",), (targets.distribution.distribution_arn,)),),
            {"CDN_DISTRIBUTION_ID": targets.distribution.distribution_id},
        ),
        **home,
    }


def apply(role: iam.IRole, uses: Iterable[str], available: Mapping[str, Grant]) -> dict[str, str]:
    """Grant ``role`` every use in ``uses``; return the environment those uses need."""
    environment: dict[str, str] = {}
    for use in sorted(set(uses)):
        grant = available.get(use)
        if grant is None:
            raise ValueError(f"unknown use {use!r} in the route manifest; known: {sorted(available)}")
        for access in grant.access:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(access.actions), resources=list(access.resources))
            )
        environment.update(grant.environment)
    return environment
