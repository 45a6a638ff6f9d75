"""GET /openapi.json, GET /docs and GET /docs/{asset}: the API serves its own document and a
Swagger UI page whose every file comes from the API itself (the pinned swagger-ui-dist)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import REPO, LambdaContext, event, load_handler

SWAGGER_UI = REPO / "node_modules" / "swagger-ui-dist"


def get(function: str, path: str, **kwargs: Any) -> dict[str, Any]:
    return load_handler(function).lambda_handler(event("GET", path, **kwargs), LambdaContext())


def asset(name: str, **kwargs: Any) -> dict[str, Any]:
    return get("api_docs_asset", f"/docs/{name}", resource="/docs/{asset}", path_params={"asset": name}, **kwargs)


def test_the_served_document_is_the_committed_one_and_revalidates_by_etag():
    # When the document is asked for, and again with its ETag
    first = get("openapi_document", "/openapi.json")
    again = get("openapi_document", "/openapi.json", headers={"If-None-Match": first["headers"]["ETag"]})
    # Then it is docs/openapi.json exactly, as JSON, and the second answer is a 304
    assert first["statusCode"] == 200 and first["headers"]["Content-Type"] == "application/json"
    assert first["body"] == (REPO / "docs" / "openapi.json").read_text()
    assert json.loads(first["body"])["openapi"] == "3.1.0"
    assert again["statusCode"] == 304 and again["body"] == ""


@pytest.mark.parametrize(
    ("domain", "stage", "base"),
    [
        ("abcdef1234.execute-api.us-east-1.amazonaws.com", "prod", "/prod/docs/"),  # API Gateway's own URL
        ("api.example.org", "prod", "/docs/"),  # a custom domain maps the stage to the root
        ("127.0.0.1:3000", "local", "/docs/"),  # the local gateway
    ],
)
def test_the_page_links_its_files_relative_to_where_it_is_served(domain, stage, base):
    # Given a request for /docs through a domain and stage
    evt = event("GET", "/docs")
    evt["requestContext"].update(domainName=domain, stage=stage)
    # When the page is served
    response = load_handler("api_docs").lambda_handler(evt, LambdaContext())
    # Then it is HTML whose files resolve under that base, and which may load nothing from elsewhere
    page = response["body"]
    assert response["statusCode"] == 200 and response["headers"]["Content-Type"].startswith("text/html")
    assert f'<base href="{base}">' in page
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-initializer.js"):
        assert f'"{name}"' in page
    assert "http" not in page.replace('name="viewport"', "")  # no absolute URL at all
    policy = response["headers"]["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy


def test_swagger_ui_is_served_from_the_pinned_package():
    # Given the version package.json pins, installed by npm ci
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]["swagger-ui-dist"]
    assert json.loads((SWAGGER_UI / "package.json").read_text())["version"] == pinned
    # When its script and style sheet are asked for
    script, style = asset("swagger-ui-bundle.js"), asset("swagger-ui.css")
    # Then they are that package's files, with their media types and cacheable
    assert script["body"] == (SWAGGER_UI / "swagger-ui-bundle.js").read_text()
    assert style["body"] == (SWAGGER_UI / "swagger-ui.css").read_text()
    assert script["headers"]["Content-Type"].startswith("text/javascript")
    assert style["headers"]["Content-Type"].startswith("text/css")
    assert script["headers"]["Cache-Control"].startswith("public") and script["headers"]["ETag"]


@pytest.mark.parametrize("name", ["app.py", "..", "swagger-ui.js", "swagger-ui-bundle.js.map", "index.html", ""])
def test_anything_but_the_listed_files_is_a_404(name):
    response = asset(name)
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"success": False, "message": "Not found"}
