"""The local gateway as an HTTP server: keep-alive, concurrency, and its own error answers.

These talk to the server over real sockets (raw bytes where a well-behaved client library
would refuse to send the request) with fake handlers behind it.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import struct
import threading

import pytest

from skills_ideas_tools.dynamodb_local import wait_until
from skills_ideas_tools.gateway import Gateway, GatewayServer, running_gateway
from skills_ideas_tools.lambda_runtime import mapping_loader


def hello(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"hello": "world"}'}


def echo_body(event, context):
    return {"statusCode": 200, "body": json.dumps({"body": event["body"]})}


HANDLERS = {"health": hello, "register": echo_body, "api_index": hello}


@pytest.fixture
def gw():
    with running_gateway(mapping_loader(HANDLERS), max_body_bytes=1000, body_timeout=0.5) as server:
        yield server


def connect(server) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=10)


def read_response(sock: socket.socket, method: str = "GET") -> http.client.HTTPResponse:
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    return response


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closed its side: the next read is end-of-file."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def exchange(server, raw: bytes) -> tuple[http.client.HTTPResponse, bytes, bool]:
    """Send raw bytes on a new connection; the response, its body, and whether the server closed."""
    with connect(server) as sock:
        sock.sendall(raw)
        response = read_response(sock)
        body = response.read()
        return response, body, closed_by_server(sock)


def assert_json_error(response: http.client.HTTPResponse, body: bytes, status: int, *words: str) -> None:
    assert response.status == status, body
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("Server") is None
    assert response.getheader("Content-Length") == str(len(body))
    payload = json.loads(body)
    assert payload["success"] is False
    for word in words:
        assert word in payload["message"], payload


# ------------------------------------------------------------------------------ keep-alive


def test_one_keep_alive_connection_serves_many_requests(gw):
    # Given one HTTP/1.1 client connection
    connection = http.client.HTTPConnection(gw.host, gw.port, timeout=10)
    connection.connect()
    first_socket, local_address = connection.sock, connection.sock.getsockname()
    # When it sends 50 requests of several kinds one after the other
    for i in range(50):
        if i % 2:
            connection.request("POST", "/api/register", body=b'{"n": %d}' % i)
        else:
            connection.request("GET", "/api/health")
        response = connection.getresponse()
        body = response.read()
        # Then each is answered with a length, and the same connection stays open for the next
        assert response.status == 200
        assert response.getheader("Content-Length") == str(len(body))
        assert response.getheader("Connection") is None
        assert connection.sock is first_socket and connection.sock.getsockname() == local_address
    connection.close()


def test_connection_close_is_honoured(gw):
    response, body, closed = exchange(gw, b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert response.status == 200 and json.loads(body) == {"hello": "world"}
    assert response.getheader("Connection") == "close"
    assert closed


def test_http_1_0_clients_are_closed_after_the_response_even_asking_keep_alive(gw):
    response, body, closed = exchange(gw, b"GET /api/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert response.status == 200 and json.loads(body) == {"hello": "world"}
    assert closed


def test_every_response_has_its_length_and_head_has_no_body(gw):
    with connect(gw) as sock:
        sock.sendall(b"GET /api/nope HTTP/1.1\r\nHost: x\r\n\r\n")
        missing = read_response(sock)
        missing_body = missing.read()
        assert_json_error(missing, missing_body, 404, "Route not found")
        # HEAD: the length of the body a GET would get, and no body (the next reply follows directly)
        sock.sendall(b"HEAD /api/nope HTTP/1.1\r\nHost: x\r\n\r\n")
        head = read_response(sock, "HEAD")
        assert head.status == 404 and head.getheader("Content-Length") == str(len(missing_body))
        assert head.read() == b""
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        after = read_response(sock)
        assert after.status == 200 and after.read() == b'{"hello": "world"}'


def test_sixty_four_clients_at_once_are_all_answered():
    # Given a handler that only answers once 64 requests are inside it together
    clients = 64
    inside = threading.Barrier(clients, timeout=60)

    def together(event, context):
        inside.wait()
        return {"statusCode": 200, "body": "ok"}

    statuses: list[int] = []
    failures: list[BaseException] = []
    start = threading.Barrier(clients, timeout=60)

    def client(server):
        try:
            start.wait()  # every client connects at the same moment
            connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
            connection.request("GET", "/api/health")
            statuses.append(connection.getresponse().status)
            connection.close()
        except BaseException as exc:  # a reset or refused connection is what this test is about
            failures.append(exc)

    with running_gateway(mapping_loader({"health": together})) as server:
        threads = [threading.Thread(target=client, args=(server,)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    # Then every one of them got its answer: no connection was reset or refused
    assert failures == []
    assert statuses == [200] * clients


# ---------------------------------------------------------------------- the server's own errors


@pytest.mark.parametrize(
    "request_bytes, status, words",
    [
        (b"POST /api/register HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400, ("Content-Length", "'abc'")),
        (b"POST /api/register HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400, ("Content-Length", "'-5'")),
        (b"POST /api/register HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400, ("Content-Length",)),
        (b"POST /api/register HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, ("more than once",)),
        (b"POST /api/register HTTP/1.1\r\nHost: x\r\n\r\n", 400, ("Content-Length header is required", "POST")),
        (b"POST /api/register HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 413, ("too large", "5000", "1000")),
        (b"POST /api/register HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501, ("Transfer-Encoding",)),
        (b"BREW /api/health HTTP/1.1\r\n\r\n", 501, ("Unsupported method",)),
        (b"GET /api/health HTTP/2.0\r\n\r\n", 505, ("Invalid HTTP version",)),
        (b"GET /a b c HTTP/1.1\r\n\r\n", 400, ("Bad request syntax",)),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414, ("URI Too Long",)),
        (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", 431, ("Line too long",)),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431, ("headers",)),
    ],
    ids=[
        "content-length-not-a-number",
        "content-length-negative",
        "content-length-exponent",
        "content-length-twice",
        "content-length-missing",
        "body-too-large",
        "chunked",
        "unknown-method",
        "http-2",
        "bad-request-line",
        "uri-too-long",
        "header-too-long",
        "too-many-headers",
    ],
)
def test_the_server_refuses_bad_requests_in_json_and_closes(gw, request_bytes, status, words):
    response, body, closed = exchange(gw, request_bytes)
    assert_json_error(response, body, status, *words)
    assert response.getheader("Connection") == "close"
    assert closed


def test_a_body_announced_but_not_sent_gets_408_and_frees_the_connection(gw):
    with connect(gw) as sock:
        # Given a client that declares 100 bytes and sends only 10
        sock.sendall(b"POST /api/register HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        # Then after the body timeout it gets a 408 in the envelope and the connection is closed
        response = read_response(sock)
        assert_json_error(response, response.read(), 408, "100 bytes")
        assert closed_by_server(sock)
    # and the server goes on serving others
    response, _, _ = exchange(gw, b"GET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert response.status == 200


def test_an_oversized_body_is_refused_before_it_is_sent_with_expect_100(gw):
    with connect(gw) as sock:
        sock.sendall(b"POST /api/register HTTP/1.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        response = read_response(sock)  # a final answer instead of "100 Continue"
        assert_json_error(response, response.read(), 413, "too large")


def test_a_body_within_the_limits_reaches_the_handler_after_100_continue(gw):
    with connect(gw) as sock:
        sock.sendall(b"POST /api/register HTTP/1.1\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b'{"a":1}')
        response = read_response(sock)
        assert response.status == 200 and json.loads(response.read()) == {"body": '{"a":1}'}


def test_gateway_errors_say_nosniff_and_never_name_the_server(gw):
    for request_bytes, status in (
        (b"GET /api/nope HTTP/1.1\r\n\r\n", 404),
        (b"DELETE /api/health HTTP/1.1\r\n\r\n", 405),
    ):
        with connect(gw) as sock:
            sock.sendall(request_bytes)
            response = read_response(sock)
            assert_json_error(response, response.read(), status)
            assert not closed_by_server_within(sock, 0.2)  # routing errors keep the connection


def closed_by_server_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    finally:
        sock.settimeout(10)


# --------------------------------------------------------------------- clients that go away


def reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a client that crashes or gives up does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_client_hanging_up_mid_response_is_logged_quietly(caplog, capsys):
    big = "x" * (32 * 1024 * 1024)  # more than the socket buffers hold, so the write is cut off

    def large(event, context):
        return {"statusCode": 200, "body": big}

    caplog.set_level(logging.DEBUG, logger="skills_ideas_tools.gateway")
    with running_gateway(mapping_loader({"health": large, "api_index": hello})) as server:
        sock = connect(server)
        sock.sendall(b"GET /api/health HTTP/1.1\r\n\r\n")
        assert sock.recv(10).startswith(b"HTTP/1.1")
        reset(sock)
        assert wait_until(lambda: "ended early" in caplog.text, 30)
        # the server still answers others
        response, _, _ = exchange(server, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert response.status == 200
    assert "Traceback" not in capsys.readouterr().err
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_clients_arriving_during_start_up_are_served_or_dropped_quietly(caplog, capsys):
    caplog.set_level(logging.DEBUG, logger="skills_ideas_tools.gateway")
    # Given a server that is bound but not serving yet (the local stack is still starting)
    server = GatewayServer(Gateway(mapping_loader(HANDLERS)))
    patient, impatient = connect(server), connect(server)
    patient.sendall(b"GET /api/health HTTP/1.1\r\n\r\n")
    impatient.sendall(b"GET /api/health HTTP/1.1\r\n\r\n")
    reset(impatient)  # gives up before the server is ready
    # When it starts serving
    server.start()
    try:
        # Then the patient client gets its answer and the impatient one costs no traceback
        response = read_response(patient)
        assert response.status == 200 and response.read() == b'{"hello": "world"}'
        assert wait_until(lambda: "ended early" in caplog.text, 30)
    finally:
        patient.close()
        server.stop()
    assert "Traceback" not in capsys.readouterr().err
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
