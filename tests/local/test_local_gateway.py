"""The local gateway over HTTP, with fake handlers: events in, responses out, auth, errors."""

import base64
import json
import os
import threading

import pytest

from skills_ideas.faults import UNAVAILABLE_MESSAGE
from skills_ideas.routes import ROUTES, Route
from skills_ideas_tools.gateway import running_gateway
from skills_ideas_tools.lambda_runtime import mapping_loader


def echo(event, context):
    """Returns the event it got, so the test can inspect it."""
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"event": event, "function": context.function_name}),
    }


class Recorder:
    """An authorizer double: counts calls, answers with a policy chosen by the test."""

    def __init__(self, effect="Allow", raises=False):
        self.calls = []
        self.effect = effect
        self.raises = raises

    def __call__(self, event, context):
        self.calls.append(event)
        if self.raises:
            raise RuntimeError("boom")
        if self.effect == "Deny":
            context_ = {"message": "Token is not valid"}
        else:
            context_ = {"userId": "u-1", "username": "ada", "role": "user"}
        return {
            "principalId": "u-1",
            "context": context_,
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": self.effect, "Resource": event["methodArn"]}],
            },
        }


@pytest.fixture
def gateway_with():
    """Start a gateway over fake handlers: ``gateway_with({"me": fn, ...})``."""
    stack = []

    def start(handlers, routes=ROUTES):
        manager = running_gateway(mapping_loader(handlers), routes)
        stack.append(manager)
        return manager.__enter__()

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


def test_request_becomes_the_proxy_event(gateway_with, http):
    gw = gateway_with({"get_idea": echo})
    reply = http(gw.url + "/api/ideas/a%20b?x=1&x=2&y=", headers={"X-Custom": "v"})
    assert reply.status == 200
    event = reply.json()["event"]
    assert reply.json()["function"] == "get_idea"
    assert event["resource"] == "/api/ideas/{id}"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["headers"]["X-Custom"] == "v"
    assert event["multiValueHeaders"]["X-Custom"] == ["v"]
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert len(event["requestContext"]["requestId"]) == 36
    assert "authorizer" not in event["requestContext"]


def test_binary_body_arrives_base64_and_text_as_text(gateway_with, http):
    gw = gateway_with({"register": echo})
    text = http(gw.url + "/api/register", "POST", b'{"username": "ada"}', {"Content-Type": "application/json"}).json()[
        "event"
    ]
    assert text["body"] == '{"username": "ada"}' and text["isBase64Encoded"] is False
    binary = http(gw.url + "/api/register", "POST", b"\xff\xfe\x00").json()["event"]
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\xff\xfe\x00"


def test_response_status_headers_and_base64_body_come_back(gateway_with, http):
    def png(event, context):
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png", "X-A": "1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }

    gw = gateway_with({"api_index": png})
    reply = http(gw.url + "/")
    assert reply.status == 201
    assert reply.raw == b"\x89PNG"
    assert reply.headers["Content-Type"] == "image/png" and reply.headers["X-A"] == "1"


def test_literal_route_wins_over_parameter(gateway_with, http):
    routes = (
        Route("GET", "/api/skills/{id}", "get_skill", "public", "one"),
        Route("GET", "/api/skills/categories", "categories", "public", "all categories"),
    )
    gw = gateway_with({"get_skill": echo, "categories": echo}, routes)
    assert http(gw.url + "/api/skills/categories").json()["function"] == "categories"
    assert http(gw.url + "/api/skills/3").json()["function"] == "get_skill"


def test_unknown_route_wrong_method_and_preflight(gateway_with, http):
    routes = (
        Route("GET", "/api/skills", "list_skills", "public", "list"),
        Route("GET", "/api/ideas/{id}", "get_idea", "public", "one"),
        Route("PATCH", "/api/ideas/{id}", "update_idea", "owner", "change"),
    )
    gw = gateway_with({}, routes)
    missing = http(gw.url + "/api/nope")
    assert missing.status == 404
    assert missing.json() == {"success": False, "message": "Route not found"}
    assert missing.headers["Content-Type"] == "application/json"
    wrong = http(gw.url + "/api/skills", "DELETE")
    assert wrong.status == 405
    assert wrong.json() == {"success": False, "message": "Method not allowed"}
    assert wrong.headers["Allow"] == "GET, OPTIONS"
    preflight = http(
        gw.url + "/api/ideas/1", "OPTIONS", headers={"Origin": "http://x", "Access-Control-Request-Method": "PATCH"}
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_missing_token_is_401_without_calling_the_authorizer(gateway_with, http):
    authorizer = Recorder()
    gw = gateway_with({"authorizer": authorizer, "me": echo})
    reply = http(gw.url + "/api/me")
    assert reply.status == 401
    assert reply.json() == {"success": False, "message": "No token, authorization denied"}
    assert authorizer.calls == []


def test_deny_is_401_with_the_authorizers_message(gateway_with, http):
    called = []
    gw = gateway_with({"authorizer": Recorder("Deny"), "me": lambda e, c: called.append(e)})
    reply = http(gw.url + "/api/me", headers={"Authorization": "Bearer bad"})
    assert reply.status == 401
    assert reply.json() == {"success": False, "message": "Token is not valid"}
    assert called == []


def test_an_authorizer_that_fails_is_a_503_to_retry_and_the_handler_never_runs(gateway_with, http):
    called = []
    gw = gateway_with({"authorizer": Recorder(raises=True), "me": lambda e, c: called.append(e)})
    reply = http(gw.url + "/api/me", headers={"Authorization": "Bearer x"})
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "2"
    assert reply.json() == {"success": False, "message": UNAVAILABLE_MESSAGE}
    assert called == []


def test_allow_passes_the_authorizer_context_to_the_handler(gateway_with, http):
    authorizer = Recorder()
    gw = gateway_with({"authorizer": authorizer, "update_idea": echo})
    reply = http(gw.url + "/api/ideas/9", "PATCH", b'{"status": "Completed"}', {"Authorization": "Bearer good"})
    assert reply.status == 200
    auth_event = authorizer.calls[0]
    assert auth_event["type"] == "REQUEST"
    assert auth_event["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:local/local/PATCH/api/ideas/9"
    assert auth_event["headers"]["Authorization"] == "Bearer good"
    assert auth_event["pathParameters"] == {"id": "9"}
    context = reply.json()["event"]["requestContext"]["authorizer"]
    assert context["userId"] == "u-1" and context["username"] == "ada" and context["role"] == "user"
    assert context["principalId"] == "u-1"


def test_handler_exception_is_502_like_api_gateway(gateway_with, http):
    def broken(event, context):
        raise KeyError("oops")

    gw = gateway_with({"health": broken, "list_ideas": lambda e, c: {"no": "statusCode"}})
    for path in ("/api/health", "/api/ideas", "/api/skills"):  # raises, malformed, not importable
        reply = http(gw.url + path)
        assert reply.status == 502, path
        assert reply.json() == {"message": "Internal server error"}


def test_handlers_are_imported_once_and_kept_warm(http):
    loads = []

    def loader(name):
        loads.append(name)
        return echo

    with running_gateway(loader) as gw:
        for _ in range(3):
            assert http(gw.url + "/api/health").status == 200
    assert loads == ["health"]


def test_requests_are_served_concurrently(http):
    # Given a handler that waits until two requests are inside it at once
    barrier = threading.Barrier(2, timeout=5)

    def meet(event, context):
        barrier.wait()
        return {"statusCode": 200, "body": "met"}

    with running_gateway(mapping_loader({"health": meet})) as gw:
        replies = []
        threads = [threading.Thread(target=lambda: replies.append(http(gw.url + "/api/health"))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert [r.status for r in replies] == [200, 200]


def test_local_api_serves_the_manifest_over_local_services(tmp_path, http):
    from skills_ideas_tools.serve import local_api

    def health(event, context):
        return {"statusCode": 200, "body": json.dumps({"table": os.environ["TABLE_NAME"]})}

    with local_api(tmp_path, engine="moto", loader=mapping_loader({"health": health})) as (gw, services):
        reply = http(gw.url + "/api/health")
        assert reply.status == 200 and reply.json() == {"table": services.table_name}
