"""The local API Gateway: an HTTP server that turns each request into a Lambda proxy event.

Routes come from the manifest; protected routes go through the REQUEST authorizer first, the
way the deployed stack configures API Gateway (its gateway responses turn a missing token and
a Deny into 401 with our JSON envelope). Handlers run in-process and stay imported (warm).

Tests run it in a thread::

    from skills_ideas_tools.gateway import running_gateway
    from skills_ideas_tools.lambda_runtime import mapping_loader

    with running_gateway(loader=mapping_loader({"health": fake})) as gw:
        urllib.request.urlopen(gw.url + "/api/health")
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from skills_ideas.faults import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE
from skills_ideas.routes import AUTHORIZER_FUNCTION, ROUTES, Route

from .apigateway import (
    HttpResponse,
    MalformedProxyResult,
    authorizer_request_context,
    build_authorizer_event,
    build_proxy_event,
    match_route,
    method_arn,
    policy_allows,
    proxy_result_to_response,
)
from .lambda_runtime import REGION_DEFAULT, HandlerError, Loader, WarmHandlers

log = logging.getLogger("skills_ideas_tools.gateway")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Content-Type,Authorization",
}
NO_TOKEN = "No token, authorization denied"
INVALID_TOKEN = "Token is not valid"

#: API Gateway (REST) refuses request bodies over 10 MB; so does the local gateway (413).
MAX_BODY_BYTES = 10 * 1024 * 1024
#: A client that declared a body must send it within this many seconds (408 otherwise).
BODY_TIMEOUT_SECONDS = 10.0
#: An idle keep-alive connection is closed after this many seconds.
IDLE_TIMEOUT_SECONDS = 60.0
#: Connections waiting to be accepted; http.server's default of 5 resets bursts of clients.
LISTEN_BACKLOG = 1024
#: Never sent (no Server header at all); what ``version_string`` says if anything asks.
SERVER_SOFTWARE = "skills-ideas-local"
#: Methods whose requests carry a body and so must declare its length.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Responses that never have a body, nor a Content-Length (RFC 9110).
NO_BODY_STATUSES = frozenset({204, 304})
#: Headers of the connection, not of the response: the server sets them itself.
HOP_BY_HOP = frozenset({"content-length", "connection", "transfer-encoding", "keep-alive", "server", "date"})

#: Called after a successful (2xx) request, with its route; `serve` snapshots the catalogue here.
AfterSuccess = Callable[[Route, str], None]


def _json_response(status: int, payload: dict, extra: dict[str, str] | None = None) -> HttpResponse:
    headers = [
        ("Content-Type", "application/json"),
        ("X-Content-Type-Options", "nosniff"),
        *CORS_HEADERS.items(),
        *(extra or {}).items(),
    ]
    return HttpResponse(status, headers, json.dumps(payload).encode())


def _envelope(status: int, message: str, extra: dict[str, str] | None = None) -> HttpResponse:
    return _json_response(status, {"success": False, "message": message}, extra)


def describe_exception(exc: BaseException | None) -> str:
    """``Type: message (file:line)`` of the innermost frame: the cause in one console line."""
    if exc is None:
        return "unknown error"
    cause = exc.__cause__ or exc
    frames = traceback.extract_tb(cause.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(cause).__name__}: {cause}{where}"


class Gateway:
    """Dispatches HTTP requests to handlers; owns the warm handler cache."""

    def __init__(
        self,
        loader: Loader,
        routes: Sequence[Route] = ROUTES,
        *,
        region: str = REGION_DEFAULT,
        after_success: AfterSuccess | None = None,
    ) -> None:
        self.routes = tuple(routes)
        self.handlers = WarmHandlers(loader)
        self.region = region
        self.after_success = after_success

    def handle(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[HttpResponse, str]:
        """One request in, one response out; also returns the function name for the access log."""
        parts = urlsplit(target)
        path = parts.path or "/"
        match = match_route(self.routes, method, path)
        if method == "OPTIONS" and match.allowed_methods:  # CORS preflight, answered by the gateway
            return HttpResponse(
                204,
                [
                    *CORS_HEADERS.items(),
                    ("Access-Control-Allow-Methods", ",".join((*match.allowed_methods, "OPTIONS"))),
                    ("Access-Control-Max-Age", "600"),
                ],
                b"",
            ), "-"
        if match.route is None:
            if match.allowed_methods:
                return _envelope(
                    405, "Method not allowed", {"Allow": ", ".join((*match.allowed_methods, "OPTIONS"))}
                ), "-"
            return _envelope(404, "Route not found"), "-"

        route = match.route
        request_id = str(uuid.uuid4())
        event = build_proxy_event(
            route=route,
            method=method,
            raw_path=path,
            query=parts.query,
            headers=headers,
            body=body,
            path_parameters=match.path_parameters,
            source_ip=source_ip,
            request_id=request_id,
        )
        if route.protected:
            denial = self._authorize(event)
            if isinstance(denial, HttpResponse):
                return denial, route.function
            event["requestContext"]["authorizer"] = denial

        try:
            result = self.handlers.invoke(route.function, event, self.region)
            response = proxy_result_to_response(result)
        except (HandlerError, MalformedProxyResult) as exc:
            log.error("%s failed (request %s): %s", route.function, request_id, describe_exception(exc), exc_info=exc)
            return _json_response(502, {"message": "Internal server error"}), route.function
        if self.after_success and 200 <= response.status < 300:
            self.after_success(route, path)
        return response, route.function

    def _authorize(self, event: dict) -> dict | HttpResponse:
        """The authorizer's context for the request, or the 401 API Gateway answers instead."""
        if not any(k.lower() == "authorization" and v for k, v in (event["headers"] or {}).items()):
            return _envelope(401, NO_TOKEN)  # identity source missing: the authorizer is not called
        auth_event = build_authorizer_event(event, self.region)
        started = time.monotonic()
        try:
            result = self.handlers.invoke(AUTHORIZER_FUNCTION, auth_event, self.region)
            if not isinstance(result, dict):
                raise HandlerError(f"authorizer returned {result!r:.200}")
        except HandlerError as exc:
            # The authorizer denies a bad token; it raises only when the table does not answer.
            # The stack maps API Gateway's AUTHORIZER_FAILURE to this 503 (infra/components/api.py).
            log.error("authorizer failed: %s", describe_exception(exc), exc_info=exc)
            return _envelope(503, UNAVAILABLE_MESSAGE, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        arn = method_arn(event["httpMethod"], event["path"], self.region)
        if not policy_allows(result, arn):
            message = (result.get("context") or {}).get("message") or INVALID_TOKEN
            return _envelope(401, str(message))
        try:
            return authorizer_request_context(result, int((time.monotonic() - started) * 1000))
        except ValueError as exc:  # API Gateway: 500 AuthorizerConfigurationException
            log.error("authorizer returned an invalid context: %s", exc)
            return _json_response(500, {"message": "Internal server error"})


class _RequestError(Exception):
    """A request the server itself refuses before any handler runs (bad framing, too large...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _connection_tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


class _RequestHandler(BaseHTTPRequestHandler):
    """One client connection: HTTP/1.1 keep-alive, each response written in a single send.

    Everything the server answers by itself (framing errors, oversized or slow bodies, unknown
    methods) is JSON in the API's envelope; nothing names the Python or server version.
    """

    server: _GatewayServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms wait for the client's delayed ACK

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)  # an idle keep-alive connection is closed

    def version_string(self) -> str:
        return SERVER_SOFTWARE

    # ------------------------------------------------------------------------------ framing

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        # HTTP/1.0 clients are closed after the response (no keep-alive across versions), and
        # "close" among other connection options is honoured too.
        if self.request_version != "HTTP/1.1" or "close" in _connection_tokens(self.headers.get("Connection", "")):
            self.close_connection = True
        return True

    def handle_expect_100(self) -> bool:
        """Refuse a bad or oversized body before the client sends it."""
        try:
            self._body_length()
        except _RequestError as refused:
            self._refuse(refused)
            return False
        return super().handle_expect_100()

    def _body_length(self) -> int:
        """The declared body length, or the _RequestError that refuses the request."""
        if self.headers.get("Transfer-Encoding"):
            raise _RequestError(501, "Transfer-Encoding is not supported: send the body with a Content-Length")
        values = self.headers.get_all("Content-Length") or []
        if not values:
            if self.command in BODY_METHODS:
                raise _RequestError(400, f"Content-Length header is required for a {self.command} request")
            return 0
        if len(set(values)) > 1:
            raise _RequestError(400, "Content-Length header is given more than once with different values")
        raw = values[0].strip()
        if not raw.isascii() or not raw.isdigit():
            raise _RequestError(400, f"Content-Length must be a non-negative whole number, got {raw[:40]!r}")
        length = int(raw)
        if length > self.server.max_body_bytes:
            raise _RequestError(
                413, f"Request body is too large: {length} bytes, at most {self.server.max_body_bytes} bytes"
            )
        return length

    def _read_body(self, length: int) -> bytes:
        """Exactly ``length`` bytes, within the body timeout; a client that stops sending gets 408."""
        if not length:
            return b""
        self.connection.settimeout(self.server.body_timeout)
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            raise _RequestError(
                408, f"Request body not received in time: expected {length} bytes within {self.server.body_timeout:g}s"
            ) from None
        finally:
            self.connection.settimeout(self.server.idle_timeout)
        if len(body) < length:  # the client hung up mid-body: nobody is left to answer
            raise ConnectionAbortedError(f"client closed the connection after {len(body)} of {length} body bytes")
        return body

    # ----------------------------------------------------------------------------- requests

    def _dispatch(self) -> None:
        started = time.monotonic()
        try:
            body = self._read_body(self._body_length())
        except _RequestError as refused:
            self._refuse(refused, started)
            return
        headers = list(self.headers.items())
        try:
            response, function = self.server.gateway.handle(
                self.command, self.path, headers, body, self.client_address[0]
            )
        except Exception as exc:  # a bug in the gateway itself: answer, log, keep serving
            log.error("gateway error on %s %s: %s", self.command, self.path, describe_exception(exc), exc_info=exc)
            response, function = _json_response(500, {"message": "Internal server error"}), "-"
        self._log_request(response.status, started, function)  # before the reply: logged once it arrives
        self._send(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The server's own errors (400, 414, 431, 501, 505...): JSON in the envelope, then close."""
        self._refuse(_RequestError(code, message or self.responses.get(code, ("Error",))[0]))

    def _refuse(self, refused: _RequestError, started: float | None = None) -> None:
        self.close_connection = True  # the rest of what the client sent cannot be trusted
        self._log_request(refused.status, started, "-", refused.message)
        self._send(_envelope(refused.status, refused.message))

    # ---------------------------------------------------------------------------- responses

    def _send(self, response: HttpResponse) -> None:
        """Status line, headers and body in one write: one send on the wire for small replies."""
        status = response.status
        head = [f"{self.protocol_version} {status} {_reason(status)}", f"Date: {self.date_time_string()}"]
        for key, value in response.headers:
            if key.lower() not in HOP_BY_HOP:
                head.append(f"{key}: {value}")
        body = b"" if status in NO_BODY_STATUSES else response.body
        if status not in NO_BODY_STATUSES:
            head.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            head.append("Connection: close")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if self.command != "HEAD":
            data += body
        self.wfile.write(data)

    def _log_request(self, status: int, started: float | None, function: str, cause: str = "") -> None:
        took = f"{(time.monotonic() - started) * 1000:.1f} ms" if started is not None else "-"
        method = getattr(self, "command", "") or "-"
        target = getattr(self, "path", "") or "-"
        level = logging.WARNING if cause and status >= 500 else logging.INFO
        log.log(level, "%s %s %d %s %s%s", method, target, status, took, function, f" ({cause})" if cause else "")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug(format, *args)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        gateway: Gateway,
        *,
        max_body_bytes: int,
        body_timeout: float,
        idle_timeout: float,
    ) -> None:
        self.gateway = gateway
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.idle_timeout = idle_timeout
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up or went silent is routine: one debug line, no traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.debug("connection from %s ended early: %r", client_address, exc)
            return
        log.error("error serving %s: %s", client_address, describe_exception(exc), exc_info=exc)


class GatewayServer:
    """A bound gateway; ``port`` is the real one when 0 was asked for."""

    def __init__(
        self,
        gateway: Gateway,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
    ) -> None:
        self.gateway = gateway
        self._server = _GatewayServer(
            (host, port),
            gateway,
            max_body_bytes=max_body_bytes,
            body_timeout=body_timeout,
            idle_timeout=idle_timeout,
        )
        bound_host, self.port = self._server.server_address[:2]
        self.host = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal needs brackets
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def shutdown(self) -> None:
        """Make ``serve_forever`` return (from another thread)."""
        self._server.shutdown()

    def start(self) -> GatewayServer:
        """Serve in a daemon thread (tests)."""
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()


@contextmanager
def running_gateway(
    loader: Loader,
    routes: Sequence[Route] = ROUTES,
    *,
    port: int = 0,
    region: str = REGION_DEFAULT,
    after_success: AfterSuccess | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    idle_timeout: float = IDLE_TIMEOUT_SECONDS,
) -> Iterator[GatewayServer]:
    """A gateway serving in a background thread on 127.0.0.1 (a free port by default)."""
    server = GatewayServer(
        Gateway(loader, routes, region=region, after_success=after_success),
        port=port,
        max_body_bytes=max_body_bytes,
        body_timeout=body_timeout,
        idle_timeout=idle_timeout,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
