"""The route manifest is the one list of endpoints: functions, sample events and the
OpenAPI document must agree with it exactly."""

from __future__ import annotations

import json

import pytest

from skills_ideas import contract
from skills_ideas.routes import AUTHORIZER_FUNCTION, ROUTES, functions
from skills_ideas_tools import openapi
from tests.support import REPO, LambdaContext, load_handler

EVENTS = REPO / "events"


def test_each_route_is_listed_once_with_a_valid_access_level():
    signatures = [route.signature for route in ROUTES]
    assert len(signatures) == len(set(signatures))
    assert len({route.function for route in ROUTES}) == len(ROUTES)
    assert all(route.access in ("public", "user", "owner", "admin") for route in ROUTES)
    assert all(route.path.startswith("/") for route in ROUTES)


def test_every_function_directory_belongs_to_the_manifest_and_vice_versa():
    # Given the function directories on disk
    on_disk = {p.parent.name for p in (REPO / "functions").glob("*/app.py")}
    # Then they are exactly the manifest's functions plus the authorizer
    assert on_disk == set(functions())


def test_every_function_has_a_sample_event_for_its_route():
    for route in ROUTES:
        sample = json.loads((EVENTS / f"{route.function}.json").read_text())
        assert sample["httpMethod"] == route.method, route.function
        assert sample["resource"] == route.path, route.function
        assert sample["requestContext"]["resourcePath"] == route.path
        # A protected route's event carries what the authorizer would have put there.
        assert ("authorizer" in sample["requestContext"]) == route.protected, route.function
    authorizer = json.loads((EVENTS / f"{AUTHORIZER_FUNCTION}.json").read_text())
    assert authorizer["type"] == "REQUEST" and authorizer["methodArn"].startswith("arn:aws:execute-api:")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.function)
def test_every_handler_answers_its_sample_event_without_a_server_error(aws, route):
    # Given the handler's own sample event (as `make invoke` and `sam local invoke` use it)
    sample = json.loads((EVENTS / f"{route.function}.json").read_text())
    # When it is invoked against an empty table and the default catalogue
    response = load_handler(route.function).lambda_handler(sample, LambdaContext())
    # Then it answers, never with a 5xx: in the envelope, or in the media type its contract names
    assert response["statusCode"] < 500, response["body"][:500]
    reply = contract.REPLIES[route.function]
    if response["statusCode"] == 204:  # logout and ending a session: no body
        assert not response.get("body")
    elif reply.envelope:
        assert isinstance(json.loads(response["body"]).get("success"), bool)
    else:
        media_type = response["headers"]["Content-Type"].split(";")[0]
        assert media_type in reply.media and response["body"]


def test_committed_openapi_document_matches_the_manifest():
    # `make openapi` regenerates it; this fails when a route changes and the document does not.
    assert (REPO / "docs" / "openapi.json").read_text() == openapi.render()


def test_openapi_document_has_every_route_with_its_security():
    document = openapi.build()
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["operationId"] == route.function
        assert ("security" in operation) == route.protected
