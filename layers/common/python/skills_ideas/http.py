"""API Gateway proxy events in, proxy responses out, in the legacy JSON envelope.

Success: ``{"success": true, "data": ..., "count"?: n, "message"?: "..."}``.
Failure: ``{"success": false, "message": "..."}``.

Every response says ``Cache-Control: no-store`` (tokens, profiles, errors and the ideas of
the moment must not be kept by a browser or a shared cache) and ``X-Content-Type-Options:
nosniff``; only public skill reads replace the former, through ``cacheable``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from skills_ideas.errors import ApiError, BadRequest, Unauthorized
from skills_ideas.validation import clean_text, json_document, refuse_forbidden, shown

_CORS_ORIGIN = os.environ.get("CORS_ALLOW_ORIGIN", "*")
MAX_BODY_BYTES = 64 * 1024
#: What every response but a public skill read tells caches: keep nothing.
NO_STORE = "no-store"

Event = dict[str, Any]
Response = dict[str, Any]


def _headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": _CORS_ORIGIN,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": NO_STORE,
    }
    if extra:
        headers.update(extra)
    return headers


def respond(status: int, payload: Mapping[str, Any] | None, headers: Mapping[str, str] | None = None) -> Response:
    return {
        "statusCode": status,
        "headers": _headers(headers),
        "body": "" if payload is None else json.dumps(payload, separators=(",", ":"), default=str),
    }


def ok(
    data: Any = None,
    *,
    status_code: int = 200,
    message: str | None = None,
    count: int | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    payload: dict[str, Any] = {"success": True}
    if message is not None:
        payload["message"] = message
    if count is not None:
        payload["count"] = count
    if data is not None:
        payload["data"] = data
    payload.update(extra)
    return respond(status_code, payload, headers)


def fail(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return respond(status, {"success": False, "message": message}, headers)


def json_body(event: Event) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong with it: too large,
    not UTF-8, not JSON, nested too deeply, a duplicate key, NaN or Infinity, a number too
    large, or not an object (see ``validation.json_document``)."""
    raw = event.get("body")
    if raw is None or raw == "":
        return {}
    too_large = BadRequest(f"Request body must be at most {MAX_BODY_BYTES // 1024} KiB")
    not_utf8 = BadRequest("Request body must be UTF-8 encoded JSON")
    if not isinstance(raw, str):
        raise not_utf8
    if event.get("isBase64Encoded"):
        if len(raw) > 4 * -(-MAX_BODY_BYTES // 3):
            raise too_large
        try:
            data = base64.b64decode(raw, validate=True)
        except ValueError:
            raise BadRequest("Request body must be valid base64") from None
    else:
        if len(raw) > MAX_BODY_BYTES:
            raise too_large
        try:
            data = raw.encode("utf-8")  # lone surrogates (from \udcxx escapes in the event) fail here
        except UnicodeEncodeError:
            raise not_utf8 from None
    if len(data) > MAX_BODY_BYTES:
        raise too_large
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise not_utf8 from None
    body = json_document(text, "request body")
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body


def query(event: Event) -> dict[str, str]:
    """The query string parameters, in NFC; a 400 naming the parameter when one holds a
    control character or an unpaired surrogate."""
    params = event.get("queryStringParameters") or {}
    result: dict[str, str] = {}
    for name, value in params.items():
        refuse_forbidden(name, "Query parameter names")
        result[name] = clean_text("" if value is None else str(value), f"Query parameter '{shown(name)}'")
    return result


def path_param(event: Event, name: str) -> str:
    """A path parameter, in NFC; a 400 naming it when it holds a control character or an
    unpaired surrogate."""
    value = str((event.get("pathParameters") or {}).get(name) or "")
    return clean_text(value, f"Path parameter '{name}'")


def header(event: Event, name: str) -> str | None:
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return value
    return None


# ---------------------------------------------------------------- HTTP caching
def etag_of(body: str) -> str:
    """A strong entity tag derived from the response body: it changes exactly when the
    content does (a catalogue edit, another filter), whichever function instance answers."""
    return '"' + hashlib.sha256(body.encode("utf-8")).hexdigest()[:32] + '"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag``: ``*`` or a list of tags, compared weakly
    (RFC 9110 13.1.2; CloudFront turns strong tags weak when it compresses)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = _opaque(etag)
    return any(_opaque(tag) == wanted for tag in if_none_match.split(","))


def cacheable(event: Event, response: Response, cache_control: str) -> Response:
    """Give a 200 its ``ETag`` and ``Cache-Control``; answer ``304`` with no body when the
    client's ``If-None-Match`` already names this content. 304 keeps the caching headers."""
    if response.get("statusCode") != 200:
        return response
    tag = etag_of(response["body"])
    headers = {**response["headers"], "ETag": tag, "Cache-Control": cache_control}
    if none_match(header(event, "If-None-Match"), tag):
        headers.pop("Content-Type", None)
        return {"statusCode": 304, "headers": headers, "body": ""}
    return {**response, "headers": headers}


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the request authorizer established it."""

    user_id: str
    username: str
    role: str
    #: The session the caller's token belongs to ("" when invoked without one).
    session_id: str = ""


def caller(event: Event) -> Caller:
    """The authenticated caller. Protected routes only run behind the authorizer, so a
    missing context means the function was invoked outside API Gateway: treat it as 401."""
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    user_id = context.get("userId") or context.get("principalId")
    if not user_id:
        raise Unauthorized("No token, authorization denied")
    return Caller(
        str(user_id),
        str(context.get("username") or ""),
        str(context.get("role") or "user"),
        str(context.get("sessionId") or ""),
    )


def no_content() -> Response:
    """204: done, nothing to say (logout, ending a session)."""
    return respond(204, None)


@dataclass(frozen=True)
class Client:
    """Where a request comes from, as API Gateway saw it (``X-Forwarded-For`` can be forged;
    ``sourceIp`` is the connection's own address)."""

    source_ip: str
    user_agent: str


def client(event: Event) -> Client:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    agent = identity.get("userAgent") or header(event, "User-Agent") or ""
    return Client(str(identity.get("sourceIp") or "unknown")[:64], str(agent))


def api_handler(func: Callable[[Event, Any], Response]) -> Callable[[Event, Any], Response]:
    """Wrap a handler with structured logging (correlation id = API Gateway request id),
    metrics flushing and the single mapping of errors to responses.

    Domain errors become their 4xx/503 with the message; input nested deeper than Python
    recurses is a 400; a dependency that is down, throttling or too slow is a 503 with
    ``Retry-After`` (``skills_ideas.faults``); anything unexpected is logged with its stack trace and answered with
    a generic 500 that reveals nothing internal.
    """
    from aws_lambda_powertools.logging import correlation_paths

    from skills_ideas.observability import logger, metrics

    def guarded(event: Event, context: Any) -> Response:
        try:
            return func(event, context)
        except ApiError as error:
            logger.info("request rejected", extra={"status": error.status, "reason": error.message})
            from skills_ideas.faults import RETRY_AFTER_SECONDS

            headers = dict(error.headers or {})
            if error.status == 503:
                headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
            return fail(error.status, error.message, headers or None)
        except RecursionError as error:
            # Only input nests deep enough for this (a JSON cursor, say): bodies are bounded
            # by json_body, and this keeps any other decoder from turning it into a 500.
            logger.warning("request nested too deeply", extra={"error": str(error)})
            return fail(400, "Request is nested too deeply")
        except Exception as error:
            from skills_ideas.faults import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE, is_unavailable

            if is_unavailable(error):
                logger.warning("dependency unavailable", extra={"error": repr(error)[:500]})
                return fail(503, UNAVAILABLE_MESSAGE, {"Retry-After": str(RETRY_AFTER_SECONDS)})
            logger.exception("unhandled error")
            return fail(500, "Internal server error")

    guarded.__name__ = func.__name__
    guarded.__doc__ = func.__doc__
    wrapped = logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)(guarded)
    return metrics.log_metrics(wrapped)
