"""Build the OpenAPI 3.1 document from the route manifest, the contract and the sample events.

Nothing here lists endpoints or limits: paths, methods, summaries and access come from
``skills_ideas.routes``; every field, its type, limits and allowed values, the request bodies
and the success replies from ``skills_ideas.contract`` (which the validators read too);
example request bodies from ``events/<function>.json``. ``make openapi`` writes
docs/openapi.json, and a test fails when the committed file drifts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from skills_ideas import __version__, contract
from skills_ideas.contract import AnyJson, Boolean, Choice, FieldKind, Integer, ListOf, Number, Reply, Shape, Text
from skills_ideas.faults import UNAVAILABLE_MESSAGE
from skills_ideas.http import MAX_BODY_BYTES
from skills_ideas.routes import ROUTES, Route
from skills_ideas_tools.gateway import MAX_BODY_BYTES as GATEWAY_MAX_BODY_BYTES

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
DOCUMENT = REPO / "docs" / "openapi.json"

Schema = dict[str, Any]


DESCRIPTION = f"""\
People register and log in (JWT), publish and manage project ideas, and browse a catalogue of skills.

Generated from the route manifest (`skills_ideas.routes`) and the contract (`skills_ideas.contract`,
the limits the validators enforce) by `make openapi`.

**Envelope.** Every JSON response is `{{"success": true, "data"?: ..., "count"?: n, "message"?: "...",
"nextCursor"?: "..."}}` (some routes add top-level fields, as shown) or, for any failure,
`{{"success": false, "message": "<the reason>"}}` (the `Error` schema) — a 500 *Internal server error*
too, which no operation expects.

**Beyond each operation.** A path with a method it does not have answers **405** `Method not allowed`
(with `Allow`); an unknown path **404** `Route not found`; a CORS preflight (`OPTIONS`) **204**.
A request body over {GATEWAY_MAX_BODY_BYTES // 2**20} MB is refused by the gateway with **413**; the
handlers take at most {MAX_BODY_BYTES // 2**10} KiB (a **400** beyond). A deployed stage may answer
**429** when throttled. A dependency that is down, throttling or slow answers **503** with `Retry-After` (seconds).

**Text.** No text value may hold control characters (descriptions keep newlines and tabs) or unpaired
surrogates; text is stored in Unicode NFC. JSON bodies must not repeat a key, use NaN/Infinity, an
integer over 100 digits or nesting over 32 levels (400). Enumerations accept any letter case and answer
the spelling listed.

**Caching.** Public skill reads carry `ETag` and `Cache-Control: public, max-age=60,
stale-while-revalidate=300`, public idea reads `Cache-Control: public, max-age=5,
stale-while-revalidate=30`; both answer 304 to a matching `If-None-Match`. Every other response
says `Cache-Control: no-store` (the documentation itself is public too)."""


# ---------------------------------------------------------------- JSON Schema of a field
def _nullable(schema: Schema, nullable: bool) -> Schema:
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def _text(kind: Text) -> Schema:
    schema: Schema = {"type": "string", "description": kind.description}
    if kind.min_length:
        schema["minLength"] = kind.min_length
    if kind.max_length is not None:
        schema["maxLength"] = kind.max_length
    if kind.pattern:
        schema["pattern"] = kind.pattern
    if kind.format:
        schema["format"] = kind.format
    if kind.example is not None:
        schema["examples"] = [kind.example]
    return _nullable(schema, kind.nullable)


def _choice(kind: Choice) -> Schema:
    schema: Schema = {"type": "string", "description": kind.description, "enum": list(kind.options)}
    if kind.nullable:
        schema["enum"].append(None)
    if kind.default is not None:
        schema["default"] = kind.default
    return _nullable(schema, kind.nullable)


def _integer(kind: Integer) -> Schema:
    schema: Schema = {"type": "integer", "description": kind.description}
    for key, value in (
        ("minimum", kind.minimum),
        ("maximum", kind.maximum),
        ("default", kind.default),
    ):
        if value is not None:
            schema[key] = value
    if kind.example is not None:
        schema["examples"] = [kind.example]
    return schema


class Builder:
    """Turns contract fields into JSON Schemas, collecting named shapes as components."""

    def __init__(self) -> None:
        self.components: dict[str, Schema] = {}

    def schema(self, kind: FieldKind) -> Schema:
        if isinstance(kind, Text):
            return _text(kind)
        if isinstance(kind, Choice):
            return _choice(kind)
        if isinstance(kind, Integer):
            return _integer(kind)
        if isinstance(kind, Number):
            number: Schema = {"type": "number", "description": kind.description}
            if kind.minimum is not None:
                number["minimum"] = kind.minimum
            return number
        if isinstance(kind, Boolean):
            return {"type": "boolean", "description": kind.description}
        if isinstance(kind, ListOf):
            return {"type": "array", "description": kind.description, "items": self.schema(kind.items)}
        if isinstance(kind, Shape):
            return self.shape(kind)
        if isinstance(kind, AnyJson):
            return {"description": kind.description}
        raise TypeError(f"not a contract field: {kind!r}")

    def shape(self, shape: Shape) -> Schema:
        """A named schema of the document, and the reference to it."""
        if shape.name not in self.components:
            self.components[shape.name] = self._object(shape)
        return {"$ref": f"#/components/schemas/{shape.name}"}

    def _object(self, shape: Shape) -> Schema:
        properties = {name: self.schema(kind) for name, kind in shape.fields.items()}
        for name in shape.ignored:
            properties[name] = {"description": "Read-only: accepted and ignored", "readOnly": True}
        schema: Schema = {"type": "object", "description": shape.description, "properties": properties}
        if shape.required:
            schema["required"] = list(shape.required)
        if shape.min_fields:
            # At least one of the fields that change something (ignored ones do not count).
            schema["anyOf"] = [{"required": [name]} for name in shape.fields]
        if shape.closed:
            schema["additionalProperties"] = False
        return schema

    # ------------------------------------------------------------ replies
    def envelope(self, reply: Reply) -> Schema:
        properties: Schema = {"success": {"const": True}}
        required = ["success"]
        if reply.message is not None:
            properties["message"] = {"type": "string", "examples": [reply.message]}
            required.append("message")
        if reply.counted:
            properties["count"] = {"type": "integer", "minimum": 0, "description": "Items in `data`"}
            required.append("count")
        if reply.data is not None:
            properties["data"] = self.schema(reply.data)
            required.append("data")
        if reply.next_cursor:
            properties["nextCursor"] = {
                "type": "string",
                "description": "Present when another page exists: pass it as `cursor`, unchanged",
            }
        for name, kind in reply.extra.items():
            properties[name] = self.schema(kind)
            required.append(name)
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


# ---------------------------------------------------------------- responses
ERROR_REF = {"$ref": "#/components/schemas/Error"}
CACHE_HEADERS = {
    "ETag": {"description": "Entity tag of this content", "required": True, "schema": {"type": "string"}},
    "Cache-Control": {"description": "How long caches may keep it", "required": True, "schema": {"type": "string"}},
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "required": True, "schema": {"type": "string"}}
}
NOT_FOUND = {
    "/api/skills/{id}": "Skill not found",
    "/api/ideas/{id}": "Idea not found",
    "/docs/{asset}": "Not found",
    "/api/ideas/{id}/skills": "Idea not found",
    "/api/skills/{id}/ideas": "Skill not found",
}


def _error(description: str, *examples: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": ERROR_REF}
    if examples:
        media["examples"] = {
            f"e{n}": {"value": {"success": False, "message": message}} for n, message in enumerate(examples, 1)
        }
    response: dict[str, Any] = {"description": description, "content": {"application/json": media}}
    if headers:
        response["headers"] = headers
    return response


def _success(builder: Builder, route: Route, reply: Reply) -> dict[str, Any]:
    schema = builder.envelope(reply) if reply.envelope or reply.data is None else builder.schema(reply.data)
    if reply.status == 204:
        return {"description": route.summary}  # no body
    response: dict[str, Any] = {
        "description": route.summary,
        "content": {media: {"schema": schema} for media in reply.media},
    }
    if reply.cacheable:
        response["headers"] = CACHE_HEADERS
    return response


def _responses(builder: Builder, route: Route, has_input: bool) -> dict[str, Any]:
    reply = contract.REPLIES[route.function]
    responses: dict[str, Any] = {str(reply.status): _success(builder, route, reply)}
    if reply.cacheable:
        responses["304"] = {"description": "Not modified: `If-None-Match` names this content", "headers": CACHE_HEADERS}
    if has_input:
        responses["400"] = _error("Invalid input; the message says what is wrong")
    if route.protected:
        responses["401"] = _error(
            "No token, or a bad, expired or tampered one", "No token, authorization denied", "Token is not valid"
        )
    if route.access == "owner":
        responses["403"] = _error("Someone else's idea", "You can only change your own ideas")
    if route.access == "admin":
        responses["403"] = _error("Admins only", "Admin access required")
    if route.path in NOT_FOUND:
        responses["404"] = _error("Not found", NOT_FOUND[route.path])
    for status, (message, meaning) in contract.REFUSALS.get(route.function, {}).items():
        responses[str(status)] = _error(meaning, message)
    if route.function in contract.BODIES:
        responses["413"] = _error("Request body over 10 MB (refused by the gateway)")
    if route.function == "health":
        responses["503"] = {
            "description": "The table does not answer",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HealthDegraded"}}},
        }
    elif route.uses:
        responses["503"] = _error(
            "A dependency is down, throttling or too slow: retry after `Retry-After` seconds",
            UNAVAILABLE_MESSAGE,
            headers=RETRY_AFTER,
        )
    return dict(sorted(responses.items()))


# ---------------------------------------------------------------- operations
TAGS = {
    "api_index": "service",
    "health": "service",
    "register": "account",
    "login": "account",
    "me": "account",
    "openapi_document": "documentation",
    "api_docs": "documentation",
    "api_docs_asset": "documentation",
}


def _example_body(route: Route) -> Any:
    path = EVENTS / f"{route.function}.json"
    if not path.exists():
        return None
    body = json.loads(path.read_text()).get("body")
    return json.loads(body) if body else None


def _parameter_schema(builder: Builder, kind: FieldKind) -> Schema:
    """A parameter's schema; its description is the parameter's own."""
    schema = builder.schema(kind)
    schema.pop("description", None)
    return schema


def _parameters(builder: Builder, route: Route) -> list[dict[str, Any]]:
    path_fields = contract.PATH_PARAMETERS.get(route.path, {})
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": path_fields[name].description,
            "schema": _parameter_schema(builder, path_fields[name]),
        }
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    query_fields = contract.QUERIES.get(route.function, {})
    for name in route.query:
        kind = query_fields[name]
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": kind.description,
                "schema": _parameter_schema(builder, kind),
            }
        )
    if contract.REPLIES[route.function].cacheable:
        parameters.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "ETag(s) of a copy the client has: 304 when it is still current",
                "schema": {"type": "string"},
            }
        )
    return parameters


def _operation(builder: Builder, route: Route) -> dict[str, Any]:
    segments = [s for s in route.path.split("/") if s and s != "api"]
    tag = TAGS.get(route.function) or (segments[0] if segments else "service")
    parameters = _parameters(builder, route)
    body = contract.BODIES.get(route.function)
    operation: dict[str, Any] = {
        "operationId": route.function,
        "summary": route.summary,
        "tags": [tag],
        "x-access": route.access,
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        media: dict[str, Any] = {"schema": builder.shape(body)}
        example = _example_body(route)
        if example is not None:
            media["example"] = example
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    if route.protected:
        operation["security"] = [{"bearer": []}]
    has_input = body is not None or bool(route.query) or "{" in route.path
    operation["responses"] = _responses(builder, route, has_input)
    return operation


def build() -> dict[str, Any]:
    builder = Builder()
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(builder, route)
    schemas = {
        **dict(sorted(builder.components.items())),
        "Error": {
            "type": "object",
            "description": "Every failure: the reason in `message`",
            "required": ["success", "message"],
            "properties": {"success": {"const": False}, "message": {"type": "string"}},
            "additionalProperties": False,
        },
        "HealthDegraded": {
            "type": "object",
            "required": ["success", "message", "status", "checks"],
            "properties": {
                "success": {"const": False},
                "message": {"type": "string", "examples": ["Service degraded"]},
                "status": {"const": "degraded"},
                "checks": builder.schema(contract.HEALTH_CHECKS),
            },
            "additionalProperties": False,
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Skills & Ideas API",
            "version": __version__,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [
            {"url": ".", "description": "Where this document is served from (GET /openapi.json)"},
            {"url": "http://127.0.0.1:3000", "description": "make dev"},
        ],
        "tags": [
            {"name": name, "description": text}
            for name, text in (
                ("service", "What the API is and whether it is up"),
                ("account", "Register, log in, who am I"),
                ("skills", "The skills catalogue: public reads, admin writes"),
                ("ideas", "Ideas: public reads, writes by their owner"),
                ("documentation", "This document and the page that shows it"),
            )
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The `token` of POST /api/login",
                }
            },
            "schemas": schemas,
        },
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def write(path: Path = DOCUMENT) -> Path:
    path.write_text(render())
    return path
