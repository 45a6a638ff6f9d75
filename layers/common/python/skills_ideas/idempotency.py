"""Safe retries: a write sent with an ``Idempotency-Key`` header happens once.

The same key with the same body within 24 hours answers the first response again and writes
nothing; the same key with another body is a 422; while the first is still running, a 409. Keys
are scoped to the caller (per user; anonymous keys, as on register, share one scope, so clients
should send random UUIDs). Built on the Powertools idempotency utility, with its records in the
single table (``IDEMPOTENCY#<scope>`` / ``<scope>#<hash>``, expiring through the table's TTL).
The utility and its DynamoDB client load only when a request carries a key, so requests
without one pay nothing at cold start (docs/security.md, "Safe retries").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from skills_ideas.config import TableConfig
from skills_ideas.errors import BadRequest, Conflict, Unprocessable
from skills_ideas.http import Event, Response, header

HEADER = "Idempotency-Key"
KEY_MAX = 255
EXPIRES_AFTER_SECONDS = 24 * 3600


def key_of(event: Event) -> str | None:
    """The request's Idempotency-Key, or None; 400 when it is empty, too long or not printable ASCII."""
    raw = header(event, HEADER)
    if raw is None:
        return None
    if not 1 <= len(raw) <= KEY_MAX or not all(" " < c < "\x7f" for c in raw):
        raise BadRequest(f"{HEADER} must be 1 to {KEY_MAX} printable ASCII characters without spaces")
    return raw


@functools.cache
def _store(scope: str, table: TableConfig) -> Any:
    import boto3
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from botocore.config import Config

    # The same time budget as every other call of the data layer (models._Meta).
    budget = Config(connect_timeout=0.5, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 1})
    client = boto3.client("dynamodb", region_name=table.region, endpoint_url=table.endpoint_url, config=budget)
    return DynamoDBPersistenceLayer(
        table_name=table.table_name,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value=f"IDEMPOTENCY#{scope}",
        expiry_attr="expiresAt",
        in_progress_expiry_attr="inProgressExpiresAt",
        status_attr="idempotencyStatus",
        data_attr="response",
        validation_key_attr="payloadHash",
        boto3_client=client,
    )


def once(
    scope: str,
    table: TableConfig,
    event: Event,
    context: Any,
    caller_id: str | None,
    payload: dict[str, Any],
    action: Callable[[dict[str, Any]], Response],
) -> Response:
    """``action(payload)``, run at most once per (caller, Idempotency-Key) when the request has one."""
    key = key_of(event)
    if key is None:
        return action(payload)
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[caller, key]",
        payload_validation_jmespath="payload",
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
        raise_on_no_idempotency_key=True,
    )
    if hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)

    def run(request: dict[str, Any]) -> Response:
        return action(request["payload"])

    guarded = idempotent_function(
        run, data_keyword_argument="request", persistence_store=_store(scope, table), config=config, key_prefix=scope
    )
    try:
        return guarded(request={"caller": caller_id or "-", "key": key, "payload": payload})
    except IdempotencyValidationError:
        raise Unprocessable(f"This {HEADER} was already used with a different request body") from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(f"A request with this {HEADER} is still in progress; retry shortly") from None
