"""The API Gateway emulation as plain functions: matching, event shape, policies, responses."""

import base64

import pytest

from skills_ideas.routes import ROUTES, Route
from skills_ideas_tools.apigateway import (
    MalformedProxyResult,
    authorizer_request_context,
    build_authorizer_event,
    build_proxy_event,
    match_route,
    method_arn,
    policy_allows,
    proxy_result_to_response,
)

SKILL = Route("GET", "/api/skills/{id}", "get_skill", "public", "one")
CATEGORIES = Route("GET", "/api/skills/categories", "categories", "public", "all categories")


def test_literal_segment_beats_parameter_whatever_the_order():
    for routes in ((SKILL, CATEGORIES), (CATEGORIES, SKILL)):
        assert match_route(routes, "GET", "/api/skills/categories").route == CATEGORIES
        hit = match_route(routes, "GET", "/api/skills/42")
        assert hit.route == SKILL and hit.path_parameters == {"id": "42"}


def test_manifest_routes_match_with_decoded_parameters():
    hit = match_route(ROUTES, "GET", "/api/skills/category/Soft%20Skill")
    assert hit.route.function == "list_skills_by_category"
    assert hit.path_parameters == {"category": "Soft Skill"}
    assert match_route(ROUTES, "GET", "/").route.function == "api_index"
    assert match_route(ROUTES, "GET", "/api/ideas/").route.function == "list_ideas"


def test_unknown_path_and_wrong_method():
    assert match_route(ROUTES, "GET", "/api/nothing").route is None
    assert match_route(ROUTES, "GET", "/api/nothing").allowed_methods == ()
    routes = (SKILL, Route("DELETE", "/api/skills/{id}", "delete_skill", "admin", "remove"))
    wrong = match_route(routes, "POST", "/api/skills/1")
    assert wrong.route is None and wrong.allowed_methods == ("DELETE", "GET")


def _event(**overrides):
    args = dict(
        route=SKILL,
        method="GET",
        raw_path="/api/skills/7",
        query="",
        headers=[("Host", "x")],
        body=b"",
        path_parameters={"id": "7"},
        source_ip="127.0.0.1",
        request_id="rid-1",
    )
    args.update(overrides)
    return build_proxy_event(**args)


def test_event_has_the_rest_proxy_shape():
    # Given a request with repeated query keys and headers
    event = _event(
        query="tag=a&tag=b&q=hello%20world&flag",
        headers=[("Host", "127.0.0.1:3000"), ("X-Trace", "1"), ("X-Trace", "2"), ("User-Agent", "t")],
    )
    # Then it has every top-level key of API Gateway's proxy event
    assert set(event) == {
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
        "body",
        "isBase64Encoded",
    }
    assert event["resource"] == "/api/skills/{id}"
    assert event["path"] == "/api/skills/7"
    assert event["httpMethod"] == "GET"
    # the single-value views keep the last value, the multi-value views keep all, in order
    assert event["queryStringParameters"] == {"tag": "b", "q": "hello world", "flag": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["hello world"], "flag": [""]}
    assert event["headers"]["X-Trace"] == "2"
    assert event["multiValueHeaders"]["X-Trace"] == ["1", "2"]
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == "rid-1"
    assert context["resourcePath"] == "/api/skills/{id}"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/local/api/skills/7"
    assert context["stage"] == "local"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "t"
    assert isinstance(context["requestTimeEpoch"], int)
    assert context["accountId"] == "123456789012" and context["apiId"] == "local"
    assert "authorizer" not in context


def test_empty_query_and_parameters_are_null():
    event = _event(query="", path_parameters={})
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None


def test_text_body_passes_as_text_and_binary_as_base64():
    text = _event(method="POST", body='{"name": "é"}'.encode())
    assert text["body"] == '{"name": "é"}' and text["isBase64Encoded"] is False
    binary = _event(method="POST", body=b"\x89PNG\xff\x00")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG\xff\x00"


def test_authorizer_event_is_a_request_authorizer_event():
    event = _event(
        route=Route("GET", "/api/me", "me", "user", "me"),
        raw_path="/api/me",
        path_parameters={},
        headers=[("Authorization", "Bearer t")],
    )
    auth = build_authorizer_event(event, "us-east-1")
    assert auth["type"] == "REQUEST"
    assert auth["methodArn"] == "arn:aws:execute-api:us-east-1:123456789012:local/local/GET/api/me"
    assert auth["headers"] == {"Authorization": "Bearer t"}
    assert auth["resource"] == "/api/me" and auth["requestContext"]["requestId"] == "rid-1"


def _policy(effect, resource):
    return {
        "principalId": "u1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }


def test_policy_evaluation():
    arn = method_arn("DELETE", "/api/ideas/9", "us-east-1")
    assert policy_allows(_policy("Allow", arn), arn)
    assert policy_allows(_policy("Allow", "arn:aws:execute-api:us-east-1:123456789012:local/*"), arn)
    assert policy_allows(_policy("Allow", ["x", "arn:aws:execute-api:*"]), arn)
    assert not policy_allows(_policy("Allow", method_arn("GET", "/api/me", "us-east-1")), arn)
    assert not policy_allows(_policy("Deny", arn), arn)
    both = _policy("Allow", "*")
    both["policyDocument"]["Statement"].append(_policy("Deny", arn)["policyDocument"]["Statement"][0])
    assert not policy_allows(both, arn)  # an explicit Deny wins
    assert not policy_allows({"principalId": "u1"}, arn)


def test_authorizer_context_values_become_strings():
    context = authorizer_request_context({"principalId": "u1", "context": {"userId": "u1", "admin": True, "n": 3}}, 5)
    assert context == {"userId": "u1", "admin": "true", "n": "3", "principalId": "u1", "integrationLatency": 5}
    with pytest.raises(ValueError):
        authorizer_request_context({"principalId": "u1", "context": {"nested": {"a": 1}}}, 0)


def test_proxy_result_headers_merge_and_base64_body():
    response = proxy_result_to_response(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "Set-Cookie": "a=1"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status == 201
    assert response.body == b"\x00\x01"
    assert sorted(v for k, v in response.headers if k == "Set-Cookie") == ["a=1", "b=2"]
    assert ("Content-Type", "application/json") in response.headers  # API Gateway's default


@pytest.mark.parametrize(
    "result", [None, "ok", {"body": "x"}, {"statusCode": "200"}, {"statusCode": 200, "body": {"not": "a string"}}]
)
def test_malformed_proxy_results_are_rejected(result):
    with pytest.raises(MalformedProxyResult):
        proxy_result_to_response(result)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Injected": "a\r\nSet-Cookie: stolen=1"},
        {"X-Line": "a\nb"},
        {"Bad Name": "1"},
        {"X-Snowman": "\u2603"},
    ],
    ids=["crlf-in-value", "lf-in-value", "space-in-name", "not-latin-1"],
)
def test_headers_that_would_break_the_response_framing_are_rejected(headers):
    # A handler header must never smuggle another header or line onto the wire
    with pytest.raises(MalformedProxyResult, match="invalid header"):
        proxy_result_to_response({"statusCode": 200, "headers": headers, "body": "{}"})
