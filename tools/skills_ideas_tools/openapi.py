"""Build the OpenAPI 3 document from the route manifest and the sample events.

Nothing here lists endpoints: paths, methods, summaries, access and query parameters come
from ``skills_ideas.routes``; example request bodies come from ``events/<function>.json``.
``make openapi`` writes docs/openapi.json and a test fails when the committed file drifts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from skills_ideas import __version__
from skills_ideas.routes import ROUTES, Route

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
DOCUMENT = REPO / "docs" / "openapi.json"

#: What each query parameter means, wherever it appears.
QUERY_DOCS: dict[str, tuple[str, dict[str, Any]]] = {
    "proficiency": ("Exact match, case-insensitive (Beginner, Intermediate, Advanced, Expert)", {"type": "string"}),
    "category": ("Substring of the category, case-insensitive", {"type": "string"}),
    "q": ("Name or description contains, case-insensitive", {"type": "string"}),
    "sort": ("Sort field", {"type": "string"}),
    "order": ("asc or desc (default: desc for createdAt, asc otherwise)", {"type": "string", "enum": ["asc", "desc"]}),
    "status": ("Only ideas with this status (case-insensitive)", {"type": "string"}),
    "userId": ("Only ideas of this user", {"type": "string"}),
    "_limit": (
        "Page size, 1-100 (ideas: 20 when absent; skills: all when absent)",
        {"type": "integer", "minimum": 1, "maximum": 100},
    ),
    "cursor": ("The previous page's nextCursor, unchanged", {"type": "string"}),
    "_page": ("Legacy page number (1-100); prefer cursor", {"type": "integer", "minimum": 1, "maximum": 100}),
}

ENVELOPE = {
    "type": "object",
    "required": ["success"],
    "properties": {
        "success": {"type": "boolean"},
        "message": {"type": "string"},
        "count": {"type": "integer"},
        "data": {},
        "nextCursor": {"type": "string", "description": "Present when another page exists"},
    },
}
ERROR = {
    "type": "object",
    "required": ["success", "message"],
    "properties": {"success": {"type": "boolean", "enum": [False]}, "message": {"type": "string"}},
}


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _example_body(route: Route) -> Any:
    path = EVENTS / f"{route.function}.json"
    if not path.exists():
        return None
    body = json.loads(path.read_text()).get("body")
    return json.loads(body) if body else None


def _operation(route: Route) -> dict[str, Any]:
    segments = [s for s in route.path.split("/") if s and s != "api"]
    tag = segments[0] if segments and not segments[0].startswith("{") else "service"
    if route.function in ("register", "login", "me"):
        tag = "account"
    operation: dict[str, Any] = {
        "operationId": route.function,
        "summary": route.summary,
        "tags": [tag],
        "x-access": route.access,
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", route.path)
        ]
        + [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": QUERY_DOCS[name][0],
                "schema": QUERY_DOCS[name][1],
            }
            for name in route.query
        ],
        "responses": {
            "200" if route.method != "POST" else "201": {
                "description": "Success",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}},
            },
            "400": _error("Invalid input; the message says why"),
            "404": _error("Not found"),
        },
    }
    if route.function == "login":
        operation["responses"]["200"] = operation["responses"].pop("201")
        operation["responses"]["401"] = _error("Invalid credentials")
    example = _example_body(route)
    if route.method in ("POST", "PUT", "PATCH"):
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}, **({"example": example} if example else {})}
            },
        }
    if route.protected:
        operation["security"] = [{"bearer": []}]
        operation["responses"]["401"] = _error("No token, authorization denied / Token is not valid")
        if route.access in ("owner", "admin"):
            operation["responses"]["403"] = _error("Not the owner" if route.access == "owner" else "Admins only")
    if route.function == "register":
        operation["responses"]["409"] = _error("User already exists")
    return operation


def build() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Skills & Ideas API",
            "version": __version__,
            "description": "Generated from the route manifest (skills_ideas.routes) by `make openapi`. "
            "Every response uses the JSON envelope {success, message?, data?, count?}.",
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make dev"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Envelope": ENVELOPE, "Error": ERROR},
        },
    }


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def write(path: Path = DOCUMENT) -> Path:
    path.write_text(render())
    return path
