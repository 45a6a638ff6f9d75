"""Hostile input never becomes a 5xx: every body, query, path and header value a fuzzer sent
gets a 4xx in the JSON envelope that says what is wrong (docs/security.md, "Input rules")."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from skills_ideas import contract
from skills_ideas.routes import ROUTES, Route
from tests.support import LambdaContext, authorize, event, load_handler

ADMIN = {"userId": "u-root", "username": "root", "role": "admin"}
BODY_ROUTES = [route for route in ROUTES if route.method in ("POST", "PUT", "PATCH")]


def _path_params(route: Route, value: str | None = None) -> dict[str, str] | None:
    names = re.findall(r"{(\w+)}", route.path)
    if not names:
        return None
    return {name: value if value is not None else ("1" if name == "id" else "database") for name in names}


def call(route: Route, *, base64_raw_body: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """The raw proxy result of ``route``'s real handler, called as API Gateway calls it
    (protected routes with an admin caller, so every check a body meets is reached).
    ``base64_raw_body`` is sent as is, flagged as base64 as API Gateway flags binary bodies."""
    kwargs.setdefault("path_params", _path_params(route))
    evt = event(route.method, route.path, resource=route.path, caller=ADMIN if route.protected else None, **kwargs)
    if base64_raw_body is not None:
        evt["body"], evt["isBase64Encoded"] = base64_raw_body, True
    return load_handler(route.function).lambda_handler(evt, LambdaContext())


def refused(response: dict[str, Any]) -> str:
    """The message of a 400 in the envelope (fails on anything else)."""
    assert response["statusCode"] == 400, response
    payload = json.loads(response["body"])
    assert payload["success"] is False
    return payload["message"]


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


# ---------------------------------------------------------------- bodies
HOSTILE_BODIES = [
    # (id, raw body, base64-encoded, the message or the part of it that must be there)
    ("arrays-1500-deep", nested(1500), False, "Request body is nested too deeply (at most 32 levels)"),
    ("objects-1500-deep", '{"a":' * 1500 + "1" + "}" * 1500, False, "nested too deeply"),
    ("deep-inside-a-string-field", '{"title": ' + nested(40, '"x"') + "}", False, "nested too deeply"),
    ("duplicate-key", '{"title": "a", "title": "b"}', False, "Duplicate key 'title' in request body"),
    ("NaN", '{"title": NaN}', False, "Request body must be valid JSON (NaN is not a JSON number)"),
    ("Infinity", '{"title": Infinity}', False, "Infinity is not a JSON number"),
    ("-Infinity", '{"title": -Infinity}', False, "-Infinity is not a JSON number"),
    ("1e999999", '{"title": 1e999999}', False, "Request body contains a number that is too large"),
    ("60000-digit-integer", '{"title": ' + "9" * 60_000 + "}", False, "number that is too large"),
    ("100000-digit-integer", '{"title": ' + "9" * 100_000 + "}", False, "Request body must be at most 64 KiB"),
    ("over-64-KiB", '{"title": "' + "x" * (64 * 1024) + '"}', False, "Request body must be at most 64 KiB"),
    ("lone-surrogate-in-the-text", '{"title": "\udc80"}', False, "Request body must be UTF-8 encoded JSON"),
    ("not-json", "{title: 1}", False, "Request body must be valid JSON"),
    ("not-an-object", "[1, 2]", False, "Request body must be a JSON object"),
    ("invalid-base64", "%%% not base64 %%%", True, "Request body must be valid base64"),
]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.function)
@pytest.mark.parametrize(
    ("raw", "encoded", "expected"), [h[1:] for h in HOSTILE_BODIES], ids=[h[0] for h in HOSTILE_BODIES]
)
def test_a_hostile_body_is_a_400_that_says_what_is_wrong_on_every_endpoint_with_a_body(
    aws, route, raw, encoded, expected
):
    # Given a body a fuzzer sent (nesting, duplicate keys, NaN, huge numbers, bad encodings)
    # When it reaches an endpoint that reads a body, login and register included
    response = call(route, base64_raw_body=raw) if encoded else call(route, raw_body=raw)
    # Then it is a 400 in the envelope naming the problem, never a 500
    assert expected in refused(response)


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r.function)
def test_invalid_utf8_in_a_base64_body_is_a_400(aws, route):
    # Given a binary body whose bytes are not UTF-8 (Latin-1 "café")
    latin1 = base64.b64encode(b'{"title": "caf\xe9"}').decode()
    # When it is sent, flagged base64 as API Gateway does
    # Then it is a 400 saying so
    assert refused(call(route, base64_raw_body=latin1)) == "Request body must be UTF-8 encoded JSON"


def test_nesting_is_allowed_up_to_32_levels_and_refused_beyond(aws):
    # Given an idea whose description is an array 31 deep: the body is 32 levels
    route = next(r for r in ROUTES if r.function == "create_idea")
    at_limit = json.dumps({"title": "Deep", "description": json.loads(nested(31))})
    over_limit = json.dumps({"title": "Deep", "description": json.loads(nested(32))})
    # When each is sent
    # Then 32 levels parse (and the field's own rule answers), 33 do not
    assert refused(call(route, raw_body=at_limit)) == "Description must be a string"
    assert refused(call(route, raw_body=over_limit)) == "Request body is nested too deeply (at most 32 levels)"


def test_brackets_inside_strings_do_not_count_as_nesting(aws):
    # Given a title made of brackets and escaped quotes, in a body only one level deep
    route = next(r for r in ROUTES if r.function == "create_idea")
    title = '[[[[{{{{\\"' * 10 + '"\\'
    # When it is created
    response = call(route, body={"title": title})
    # Then it is an ordinary idea, title intact
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["data"]["title"] == title


@pytest.mark.parametrize(
    ("function", "body", "message"),
    [
        ("register", {"username": {"a": 1}, "password": "correct-horse-9"}, "Username and password must be strings"),
        ("login", {"username": "ada", "password": ["correct-horse-9"]}, "Username and password must be strings"),
        ("create_idea", {"title": 12}, "Title must be a string"),
        ("create_idea", {"title": "T", "description": {"x": 1}}, "Description must be a string"),
        ("create_idea", {"title": "T", "status": True}, "Status must be a string"),
        ("create_idea", {"title": "T", "description": "d" * 5001}, "Description must be at most 5000 characters"),
        ("create_idea", {"title": "t" * 201}, "Title must be at most 200 characters"),
        ("create_skill", {"name": 1.5, "category": "c", "proficiency": "Expert"}, "Name must be a string"),
        ("create_skill", {"name": "n" * 101, "category": "c", "proficiency": "Expert"}, "at most 100 characters"),
        ("update_skill", {"proficiency": 3}, "Proficiency must be one of"),
    ],
)
def test_wrong_types_and_oversized_values_are_a_400_naming_the_field(aws, function, body, message):
    route = next(r for r in ROUTES if r.function == function)
    assert message in refused(call(route, body=body))


# ---------------------------------------------------------------- query, path and headers on every route
HOSTILE_VALUES = [
    "\x00",
    "ada\n",
    "\ud800",
    "\x1b[31m",
    "9" * 5000,
    "-1",
    "1e999999",
    "x" * 4000,
    "../../etc/passwd",
    base64.urlsafe_b64encode(nested(1500).encode()).decode(),
    base64.urlsafe_b64encode(b'{"v": 1, "p": NaN}').decode(),
    "%00",
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
def test_no_query_path_or_header_value_gets_a_5xx(aws, route, value):
    # Given every query parameter the route understands (and one it does not), every path
    # parameter and the conditional-request header set to a hostile value
    query = {name: value for name in (*route.query, "status", "userId", "_page", "unknown")}
    # When the route's real handler answers
    response = call(
        route,
        query=query,
        path_params=_path_params(route, value),
        headers={"If-None-Match": value, "Authorization": f"Bearer {value}"},
    )
    # Then it is an answer in the envelope below 500, with the protective headers
    assert response["statusCode"] < 500, response
    if response["statusCode"] != 204 and (response["statusCode"] >= 400 or contract.REPLIES[route.function].envelope):
        assert json.loads(response["body"])["success"] is (response["statusCode"] < 400)
    assert response["headers"]["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("function", "params", "message"),
    [
        ("list_ideas", {"status": "Concept\x00"}, "Query parameter 'status' must not contain control characters"),
        ("list_ideas", {"userId": "u-ada\n"}, "Query parameter 'userId' must not contain control characters"),
        ("list_ideas", {"cursor": "\ud800"}, "Query parameter 'cursor' must not contain unpaired surrogate"),
        ("list_skills", {"q": "py\x7fthon"}, "Query parameter 'q' must not contain control characters (found U+007F)"),
        ("list_skills", {"category": "\x9bdata"}, "Query parameter 'category' must not contain control characters"),
        ("list_skills", {"a\x00": "1"}, "Query parameter names must not contain control characters"),
        ("list_ideas", {"_limit": "9" * 5000}, "_limit must be an integer from 1 to 100"),
    ],
)
def test_a_control_character_in_a_query_parameter_is_a_400_naming_it(aws, function, params, message):
    route = next(r for r in ROUTES if r.function == function)
    assert message in refused(call(route, query=params))


@pytest.mark.parametrize(
    ("function", "value", "message"),
    [
        ("get_idea", "abc\x00", "Path parameter 'id' must not contain control characters (found U+0000)"),
        ("get_skill", "1\n", "Path parameter 'id' must not contain control characters (found U+000A)"),
        ("list_skills_by_category", "data\ud800", "Path parameter 'category' must not contain unpaired surrogate"),
        ("delete_idea", "\t1", "Path parameter 'id' must not contain control characters"),
    ],
)
def test_a_control_character_in_a_path_parameter_is_a_400_naming_it(aws, function, value, message):
    route = next(r for r in ROUTES if r.function == function)
    assert message in refused(call(route, path_params=_path_params(route, value)))


@pytest.mark.parametrize("function", ["list_ideas", "list_skills"])
def test_a_cursor_nested_deeper_than_python_recurses_is_a_400(aws, function):
    # Given a cursor that is base64 of JSON nested 1,500 deep (2 KB of query string)
    route = next(r for r in ROUTES if r.function == function)
    cursor = base64.urlsafe_b64encode(nested(1500).encode()).decode()
    # When a list is asked for with it
    # Then it is refused, not a 500
    assert refused(call(route, query={"cursor": cursor}))


# ---------------------------------------------------------------- the token header
def deep_header_token() -> str:
    header = base64.urlsafe_b64encode(nested(3000).encode()).decode().rstrip("=")
    return f"{header}.e30.c2ln"


@pytest.mark.parametrize(
    "token",
    ["a\ud800.b.c", "é.é.é", "\x00", "x" * 20_000, deep_header_token(), "a.b", "...."],
    ids=["lone-surrogate", "non-ascii", "nul", "20-kB", "deep-header", "two-parts", "dots"],
)
def test_the_authorizer_denies_a_hostile_token_instead_of_failing(aws, token):
    # Given a bearer token no client of ours would send
    # When the request authorizer looks at it (a failure there is a 500 from API Gateway)
    policy = authorize({"Authorization": f"Bearer {token}"})
    # Then it is an ordinary Deny with the legacy message
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert policy["context"] == {"message": "Token is not valid"}


def test_a_long_parameter_name_is_quoted_shortened(aws):
    route = next(r for r in ROUTES if r.function == "list_skills")
    message = refused(call(route, query={"n" * 5000: "\x00"}))
    assert message == f"Query parameter '{'n' * 40}…' must not contain control characters (found U+0000)"
