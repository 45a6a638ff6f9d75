"""What API Gateway (REST API, Lambda proxy integration) does around a handler, as plain functions.

Route matching against the manifest, the proxy event a request becomes, the REQUEST authorizer's
event and the evaluation of the policy it returns, and how a proxy result becomes an HTTP
response. No sockets here: ``gateway.py`` wires these to an HTTP server, and the tests call them
directly.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from skills_ideas.routes import Route

ACCOUNT_ID = "123456789012"
API_ID = "local"
STAGE = "local"


# --------------------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class RouteMatch:
    """Outcome of matching a request: a route (with its path parameters), or the methods the path allows."""

    route: Route | None
    path_parameters: dict[str, str]
    allowed_methods: tuple[str, ...]  # non-empty when the path exists but not for this method

    @property
    def found(self) -> bool:
        return self.route is not None


def _segments(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def _match_template(template: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Path parameters if ``path`` fits ``template``, with a rank: literal segments sort first."""
    want, got = _segments(template), _segments(path)
    if len(want) != len(got):
        return None
    params: dict[str, str] = {}
    rank: list[int] = []
    for pattern, value in zip(want, got, strict=True):
        if pattern.startswith("{") and pattern.endswith("}"):
            if not value:
                return None
            params[pattern[1:-1]] = unquote(value)
            rank.append(1)
        elif pattern == unquote(value):
            rank.append(0)
        else:
            return None
    return tuple(rank), params


def match_route(routes: Iterable[Route], method: str, path: str) -> RouteMatch:
    """The most specific resource matching ``path`` (literal beats ``{param}``), then the method."""
    best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
    for route in routes:
        hit = _match_template(route.path, path)
        if hit is not None and (best is None or hit[0] < best[0]):
            best = (hit[0], route.path, hit[1])
    if best is None:
        return RouteMatch(None, {}, ())
    _, resource, params = best
    same_resource = [r for r in routes if r.path == resource]
    for route in same_resource:
        if route.method == method:
            return RouteMatch(route, params, ())
    return RouteMatch(None, params, tuple(sorted({r.method for r in same_resource})))


# ------------------------------------------------------------------------------------ the events


def _single_and_multi(pairs: Sequence[tuple[str, str]]) -> tuple[dict | None, dict | None]:
    """API Gateway's two views of repeated keys: the last value, and every value in order."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


def encode_body(body: bytes) -> tuple[str | None, bool]:
    """UTF-8 text passes as is; anything else is base64 with ``isBase64Encoded``."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def build_proxy_event(
    *,
    route: Route,
    method: str,
    raw_path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    path_parameters: dict[str, str],
    source_ip: str,
    authorizer: dict | None = None,
    stage: str = STAGE,
    request_id: str | None = None,
) -> dict:
    """The event API Gateway's Lambda proxy integration (REST API, payload 1.0) sends."""
    single_headers, multi_headers = _single_and_multi(headers)
    single_query, multi_query = _single_and_multi(parse_qsl(query, keep_blank_values=True))
    text, is_base64 = encode_body(body)
    now = time.time()
    request_id = request_id or str(uuid.uuid4())
    header_map = {k.lower(): v for k, v in headers}
    request_context: dict = {
        "resourceId": f"{route.method}:{route.path}",
        "resourcePath": route.path,
        "httpMethod": method,
        "extendedRequestId": str(uuid.uuid4()),
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "path": f"/{stage}{raw_path}",
        "accountId": ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": header_map.get("host", "localhost").split(":")[0].split(".")[0],
        "requestTimeEpoch": int(now * 1000),
        "requestId": request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": header_map.get("user-agent"),
            "user": None,
        },
        "domainName": header_map.get("host", "localhost"),
        "apiId": API_ID,
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    return {
        "resource": route.path,
        "path": raw_path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": is_base64,
    }


def method_arn(method: str, path: str, region: str, stage: str = STAGE) -> str:
    return f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{API_ID}/{stage}/{method}/{path.lstrip('/')}"


def build_authorizer_event(proxy_event: dict, region: str) -> dict:
    """The REQUEST authorizer's event: the proxy event's request data plus type and methodArn."""
    return {
        "type": "REQUEST",
        "methodArn": method_arn(
            proxy_event["httpMethod"], proxy_event["path"], region, proxy_event["requestContext"]["stage"]
        ),
        **{
            key: proxy_event[key]
            for key in (
                "resource",
                "path",
                "httpMethod",
                "headers",
                "multiValueHeaders",
                "queryStringParameters",
                "multiValueQueryStringParameters",
                "pathParameters",
                "stageVariables",
                "requestContext",
            )
        },
    }


def policy_allows(result: dict, arn: str) -> bool:
    """IAM-style evaluation of the authorizer's policy for ``arn``: an explicit Deny wins."""
    statements = (result.get("policyDocument") or {}).get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def authorizer_request_context(result: dict, latency_ms: int) -> dict:
    """``requestContext.authorizer`` as a REST API passes it on: the context values as strings,
    plus principalId. Objects and arrays in the context are a configuration error there."""
    context: dict[str, object] = {}
    for key, value in (result.get("context") or {}).items():
        if isinstance(value, bool):
            context[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            context[key] = str(value)
        elif value is not None:
            raise ValueError(f"authorizer context value {key!r} must be a string, number or boolean")
    context["principalId"] = result.get("principalId")
    context["integrationLatency"] = latency_ms
    return context


# ------------------------------------------------------------------------------------ responses


#: RFC 9110 field names (tokens) and values (visible Latin-1 and inner spaces, no CR or LF).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


class MalformedProxyResult(ValueError):
    """The handler returned something API Gateway answers with 502."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def proxy_result_to_response(result: object) -> HttpResponse:
    """A proxy integration result as an HTTP response, the way API Gateway merges and decodes it."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise MalformedProxyResult(f"Malformed Lambda proxy response: {result!r:.200}")
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise MalformedProxyResult("Malformed Lambda proxy response: body must be a string")
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise MalformedProxyResult(f"Malformed Lambda proxy response: {exc}") from exc
    else:
        raw = body.encode("utf-8")
    merged: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        names.setdefault(key.lower(), key)
        merged.setdefault(key.lower(), []).extend(str(v) for v in values)
    for key, value in (result.get("headers") or {}).items():
        names.setdefault(key.lower(), key)
        values = merged.setdefault(key.lower(), [])
        if str(value) not in values:
            values.append(str(value))
    if "content-type" not in merged:  # API Gateway's default for proxy integrations
        names["content-type"] = "Content-Type"
        merged["content-type"] = ["application/json"]
    headers = [(names[key], value) for key, values in merged.items() for value in values]
    for name, value in headers:
        if not _HEADER_NAME.fullmatch(name) or not _HEADER_VALUE.fullmatch(value):
            raise MalformedProxyResult(f"Malformed Lambda proxy response: invalid header {name!r}: {value!r:.100}")
    return HttpResponse(result["statusCode"], headers, raw)
