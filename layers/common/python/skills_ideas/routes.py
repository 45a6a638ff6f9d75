"""The route manifest: every endpoint of the API, listed once.

Plain data with no AWS imports, so that the local gateway, ``GET /``, the CDK
stack, the OpenAPI document and the tests can all read it cheaply.

Adding an endpoint = one line here, one handler in ``functions/<function>/app.py``,
one sample event in ``events/<function>.json``, what it takes and answers in
``skills_ideas.contract`` (the OpenAPI document's source) and its tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Access = Literal["public", "user", "owner", "admin"]

#: What a function may touch. The stack grants exactly these and nothing more.
#: table:read / table:write  - the DynamoDB table and its indexes
#: catalogue:read / catalogue:write - the skills catalogue object in S3
#: secret:read - the JWT signing key
#: cdn:invalidate - create CloudFront invalidations
#: cursor:sign - the key that signs page cursors (CURSOR_KEY)
#: events:publish - put events on the stage's EventBridge bus (EVENT_BUS_NAME)
#: table:stream - read the table's DynamoDB stream
Use = Literal[
    "table:read",
    "table:write",
    "catalogue:read",
    "catalogue:write",
    "secret:read",
    "cdn:invalidate",
    "cursor:sign",
    "events:publish",
    "table:stream",
]

#: Access levels that need a valid bearer token (checked by the request authorizer).
PROTECTED: frozenset[str] = frozenset({"user", "owner", "admin"})

#: The Lambda request authorizer that guards every protected route.
AUTHORIZER_FUNCTION = "authorizer"
#: It reads the profile and session of every token, and records a session's last use.
AUTHORIZER_USES: tuple[str, ...] = ("secret:read", "table:read", "table:write")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    access: Access
    summary: str
    uses: tuple[Use, ...] = ()
    #: Query parameters the endpoint understands (documented in the OpenAPI document).
    query: tuple[str, ...] = ()

    @property
    def protected(self) -> bool:
        return self.access in PROTECTED

    @property
    def signature(self) -> str:
        return f"{self.method} {self.path}"


ROUTES: tuple[Route, ...] = (
    Route("GET", "/", "api_index", "public", "API name, version and the list of endpoints"),
    Route("GET", "/api/health", "health", "public", "Service status and whether the table answers", ("table:read",)),
    Route("POST", "/api/register", "register", "public", "Create an account", ("table:write",)),
    Route(
        "POST",
        "/api/login",
        "login",
        "public",
        "Exchange username and password for a JWT",
        ("table:read", "table:write", "secret:read"),
    ),
    Route(
        "POST",
        "/api/token/refresh",
        "refresh_token",
        "public",
        "Exchange a refresh token (used once) for a new JWT and a new refresh token",
        ("table:read", "table:write", "secret:read"),
    ),
    Route("GET", "/api/me", "me", "user", "The caller's own profile", ("table:read",)),
    Route("POST", "/api/logout", "logout", "user", "End the caller's session (204)", ("table:write",)),
    Route(
        "GET", "/api/me/sessions", "list_sessions", "user", "The caller's live sessions, newest first", ("table:read",)
    ),
    Route(
        "DELETE",
        "/api/me/sessions/{id}",
        "end_session",
        "user",
        "End one of the caller's sessions (204)",
        ("table:write",),
    ),
    Route(
        "PUT",
        "/api/me/password",
        "change_password",
        "user",
        "Change the caller's password and end their other sessions",
        ("table:read", "table:write"),
    ),
    Route(
        "DELETE",
        "/api/me",
        "delete_account",
        "user",
        "Delete the caller's account, sessions and ideas",
        ("table:read", "table:write"),
    ),
    Route(
        "GET",
        "/api/skills",
        "list_skills",
        "public",
        "List skills: filter, search, sort, page",
        ("catalogue:read",),
        query=("proficiency", "category", "q", "sort", "_limit", "cursor"),
    ),
    Route(
        "GET",
        "/api/skills/categories",
        "list_skill_categories",
        "public",
        "Every skill category with its number of skills",
        ("catalogue:read",),
    ),
    Route("GET", "/api/skills/{id}", "get_skill", "public", "One skill by id", ("catalogue:read",)),
    Route(
        "GET",
        "/api/skills/category/{category}",
        "list_skills_by_category",
        "public",
        "Skills in one category (exact, case-insensitive)",
        ("catalogue:read",),
    ),
    Route(
        "POST",
        "/api/skills",
        "create_skill",
        "admin",
        "Add a skill to the catalogue",
        ("catalogue:read", "catalogue:write", "cdn:invalidate", "events:publish"),
    ),
    Route(
        "PUT",
        "/api/skills/{id}",
        "replace_skill",
        "admin",
        "Replace a skill",
        ("catalogue:read", "catalogue:write", "cdn:invalidate", "events:publish"),
    ),
    Route(
        "PATCH",
        "/api/skills/{id}",
        "update_skill",
        "admin",
        "Change some fields of a skill",
        ("catalogue:read", "catalogue:write", "cdn:invalidate", "events:publish"),
    ),
    Route(
        "DELETE",
        "/api/skills/{id}",
        "delete_skill",
        "admin",
        "Remove a skill (its id is never reused)",
        ("catalogue:read", "catalogue:write", "cdn:invalidate", "events:publish"),
    ),
    Route(
        "GET",
        "/api/ideas",
        "list_ideas",
        "public",
        "List ideas: newest first, filter, sort, page",
        ("table:read", "cursor:sign"),
        query=("status", "userId", "sort", "order", "_limit", "cursor", "_page"),
    ),
    Route("GET", "/api/ideas/{id}", "get_idea", "public", "One idea by id", ("table:read",)),
    Route("POST", "/api/ideas", "create_idea", "user", "Publish a new idea", ("table:write",)),
    Route(
        "PUT", "/api/ideas/{id}", "replace_idea", "owner", "Replace one of your ideas", ("table:read", "table:write")
    ),
    Route(
        "PATCH",
        "/api/ideas/{id}",
        "update_idea",
        "owner",
        "Change some fields of one of your ideas",
        ("table:read", "table:write"),
    ),
    Route(
        "DELETE", "/api/ideas/{id}", "delete_idea", "owner", "Delete one of your ideas", ("table:read", "table:write")
    ),
    Route(
        "GET",
        "/api/stats",
        "get_stats",
        "public",
        "Users, ideas by status and ideas per day (last 30)",
        ("table:read",),
    ),
    Route(
        "GET",
        "/api/ideas/{id}/skills",
        "get_idea_skills",
        "public",
        "The catalogue skills an idea most likely needs, best first, with scores and matched words",
        ("table:read", "catalogue:read"),
    ),
    Route(
        "PUT",
        "/api/ideas/{id}/skills",
        "confirm_idea_skills",
        "owner",
        "Confirm the skills one of your ideas needs (they replace the suggestions)",
        ("table:read", "table:write", "catalogue:read"),
    ),
    Route(
        "GET",
        "/api/skills/{id}/ideas",
        "list_skill_ideas",
        "public",
        "The ideas that need a skill, newest first, paged",
        ("table:read", "catalogue:read", "cursor:sign"),
        query=("_limit", "cursor"),
    ),
    Route("GET", "/openapi.json", "openapi_document", "public", "This API's OpenAPI 3.1 document"),
    Route("GET", "/docs", "api_docs", "public", "Interactive API documentation (Swagger UI)"),
    Route("GET", "/docs/{asset}", "api_docs_asset", "public", "A script or style sheet of the documentation page"),
)


#: Functions no route calls: the table stream's consumer, the bus subscriptions' consumers
#: (``skills_ideas.events``) and the scheduled ones (``SCHEDULES``), with what each may touch.
EVENT_FUNCTIONS: dict[str, tuple[Use, ...]] = {
    "events": ("table:stream", "events:publish"),
    "stats_consumer": ("table:write",),
    "finish_deletions": ("table:read", "table:write"),
    # Reads ideas and the catalogue, writes links; signs the position of a catalogue walk's
    # next step (the queue it sends that step to is granted with its subscription).
    "recommendations_consumer": ("table:read", "table:write", "catalogue:read", "cursor:sign"),
}
#: Functions run on a schedule: minutes between runs (the stack's EventBridge rule, and
#: ``make dev``'s event pipeline). A run must end before the next starts (its timeout).
SCHEDULES: dict[str, int] = {"finish_deletions": 1}


def functions() -> list[str]:
    """Every Lambda function of the API: one per route, the authorizer and the event consumers."""
    return [route.function for route in ROUTES] + [AUTHORIZER_FUNCTION, *EVENT_FUNCTIONS]


def paths() -> list[str]:
    """Distinct resource paths, in manifest order."""
    seen: dict[str, None] = {}
    for route in ROUTES:
        seen.setdefault(route.path, None)
    return list(seen)
