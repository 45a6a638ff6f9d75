"""Which failures mean "a dependency is down, throttling or too slow" (503, retry later) rather
than a bug (500). Imported only on an error path, so botocore costs nothing here at cold start."""

from __future__ import annotations

#: Error codes DynamoDB and S3 answer when they shed load or fail on their side.
UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "SlowDown",
        "InternalError",
        "503",
    }
)
#: Seconds a client should wait before retrying after a 503.
RETRY_AFTER_SECONDS = 2
#: The message of every such 503: the handlers', the authorizer's (a gateway response) and
#: the local gateway's.
UNAVAILABLE_MESSAGE = "The service is busy or a dependency is not answering; retry in a few seconds"


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    return chain


def is_unavailable(error: BaseException) -> bool:
    """A timeout, a refused or dropped connection, or a throttling/server error of AWS."""
    from botocore.exceptions import BotoCoreError, ClientError

    for cause in _causes(error):
        if isinstance(cause, BotoCoreError):  # connect/read timeouts, connection refused or closed
            return True
        if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in UNAVAILABLE_CODES:
            return True
        if getattr(cause, "cause_response_code", None) in UNAVAILABLE_CODES:
            return True
    return False
