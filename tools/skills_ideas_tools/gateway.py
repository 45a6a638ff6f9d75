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
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

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

#: Called after a successful (2xx) request, with its route; `serve` snapshots the catalogue here.
AfterSuccess = Callable[[Route, str], None]


def _json_response(status: int, payload: dict, extra: dict[str, str] | None = None) -> HttpResponse:
    headers = [("Content-Type", "application/json"), *CORS_HEADERS.items(), *(extra or {}).items()]
    return HttpResponse(status, headers, json.dumps(payload).encode())


def _envelope(status: int, message: str, extra: dict[str, str] | None = None) -> HttpResponse:
    return _json_response(status, {"success": False, "message": message}, extra)


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
            log.error(
                "%s failed (request %s): %s\n%s",
                route.function,
                request_id,
                exc,
                "".join(traceback.format_exception(exc)),
            )
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
            # API Gateway answers 401 when the authorizer raises "Unauthorized" and 500 otherwise;
            # locally both are 401 so that a broken token never reaches a handler.
            log.error("authorizer failed: %s\n%s", exc, "".join(traceback.format_exception(exc)))
            return _envelope(401, INVALID_TOKEN)
        arn = method_arn(event["httpMethod"], event["path"], self.region)
        if not policy_allows(result, arn):
            message = (result.get("context") or {}).get("message") or INVALID_TOKEN
            return _envelope(401, str(message))
        try:
            return authorizer_request_context(result, int((time.monotonic() - started) * 1000))
        except ValueError as exc:  # API Gateway: 500 AuthorizerConfigurationException
            log.error("authorizer returned an invalid context: %s", exc)
            return _json_response(500, {"message": "Internal server error"})


class _RequestHandler(BaseHTTPRequestHandler):
    server: _GatewayServer
    protocol_version = "HTTP/1.1"

    def _dispatch(self) -> None:
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = [(k, v) for k, v in self.headers.items()]
        try:
            response, function = self.server.gateway.handle(
                self.command, self.path, headers, body, self.client_address[0]
            )
        except Exception:  # a bug in the gateway itself: answer, log, keep serving
            log.exception("gateway error on %s %s", self.command, self.path)
            response, function = _json_response(500, {"message": "Internal server error"}), "-"
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        for key, value in response.headers:
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        log.info(
            '%s "%s %s" %d %d %.1fms %s',
            self.client_address[0],
            self.command,
            self.path,
            response.status,
            len(response.body),
            (time.monotonic() - started) * 1000,
            function,
        )

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug(format, *args)


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, _RequestHandler)


class GatewayServer:
    """A bound gateway; ``port`` is the real one when 0 was asked for."""

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 0) -> None:
        self.gateway = gateway
        self._server = _GatewayServer((host, port), gateway)
        self.host, self.port = self._server.server_address[:2]  # type: ignore[misc]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self._server.serve_forever()

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
) -> Iterator[GatewayServer]:
    """A gateway serving in a background thread on 127.0.0.1 (a free port by default)."""
    server = GatewayServer(Gateway(loader, routes, region=region, after_success=after_success), port=port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
