"""The API's contract as plain data: every field a client sends or receives, its type, limits
and allowed values, and what each endpoint takes and answers.

Two readers, one source: the validators (``ideas``, ``users``, ``catalogue_edits``) take their
limits and enums from here, and the OpenAPI generator (``skills_ideas_tools.openapi``) turns the
same definitions into the JSON Schemas of docs/openapi.json. Change a limit here and both move;
a test fails when the committed document lags behind.

Standard library only, and no generated code, so importing it costs a handler well under a
millisecond.
Patterns are ECMA-262 regular expressions, as JSON Schema reads them; validators that need
one compile the same characters with Python's ``re`` (anchored with ``\\A``/``\\Z``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

# ---------------------------------------------------------------- kinds of field
# Plain classes with slots: defining a dataclass or a NamedTuple generates code at import
# (milliseconds per class), which every handler that validates would pay at cold start.


class Text:
    """A string. ``min_length``/``max_length`` count characters after trimming and NFC (what is
    stored); ``single_line`` forbids every control character (``False``: newline and tab are
    allowed); ``blank``: whether white space alone is accepted (as empty)."""

    __slots__ = (
        "description",
        "min_length",
        "max_length",
        "pattern",
        "single_line",
        "blank",
        "nullable",
        "format",
        "example",
    )

    def __init__(
        self,
        description: str,
        *,
        min_length: int = 0,
        max_length: int | None = None,
        pattern: str | None = None,
        single_line: bool = True,
        blank: bool = True,
        nullable: bool = False,
        format: str | None = None,  # noqa: A002 - JSON Schema's name
        example: str | None = None,
    ) -> None:
        self.description = description
        self.min_length = min_length
        self.max_length = max_length
        self.pattern = pattern
        self.single_line = single_line
        self.blank = blank
        self.nullable = nullable
        self.format = format
        self.example = example


class Choice:
    """One of ``options``; matched in any letter case, answered in the spelling given here."""

    __slots__ = ("description", "options", "default", "nullable")

    def __init__(
        self, description: str, options: tuple[str, ...], *, default: str | None = None, nullable: bool = False
    ) -> None:
        self.description = description
        self.options = options
        self.default = default
        self.nullable = nullable


class Integer:
    __slots__ = ("description", "minimum", "maximum", "default", "example")

    def __init__(
        self,
        description: str,
        minimum: int | None = None,
        maximum: int | None = None,
        *,
        default: int | None = None,
        example: int | None = None,
    ) -> None:
        self.description = description
        self.minimum = minimum
        self.maximum = maximum
        self.default = default
        self.example = example


class ListOf:
    __slots__ = ("description", "items")

    def __init__(self, description: str, items: FieldKind) -> None:
        self.description = description
        self.items = items


class Shape:
    """A JSON object. ``name`` makes it a named schema of the document; ``ignored`` fields are
    accepted in a request and dropped (read-only fields a client may echo back); a ``closed``
    shape refuses (request) or never holds (response) any other field."""

    __slots__ = ("name", "description", "fields", "required", "ignored", "closed", "min_fields")

    def __init__(
        self,
        name: str,
        description: str,
        fields: Mapping[str, FieldKind],
        *,
        required: tuple[str, ...] = (),
        ignored: tuple[str, ...] = (),
        closed: bool = True,
        min_fields: int = 0,
    ) -> None:
        self.name = name
        self.description = description
        self.fields = fields
        self.required = required
        self.ignored = ignored
        self.closed = closed
        self.min_fields = min_fields


class AnyJson:
    """Any JSON value (the OpenAPI document itself)."""

    __slots__ = ("description",)

    def __init__(self, description: str) -> None:
        self.description = description


class Number:
    """A JSON number (scores)."""

    __slots__ = ("description", "minimum")

    def __init__(self, description: str, minimum: float | None = None) -> None:
        self.description = description
        self.minimum = minimum


class Boolean:
    __slots__ = ("description",)

    def __init__(self, description: str) -> None:
        self.description = description


FieldKind = Text | Choice | Integer | Number | Boolean | ListOf | Shape | AnyJson


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


# ---------------------------------------------------------------- limits and enums
STATUSES = ("Concept", "Planning", "In Progress", "On Hold", "Completed")
DEFAULT_STATUS = "Concept"
PROFICIENCIES = ("Beginner", "Intermediate", "Advanced", "Expert")
ROLES = ("user", "admin")
ORDERS = ("asc", "desc")
IDEA_SORTS = ("createdAt", "status")
SKILL_SORTS = ("name",)

USERNAME_CHARACTERS = "A-Za-z0-9_.-"
USERNAME_MIN, USERNAME_MAX = 3, 50
PASSWORD_MIN, PASSWORD_MAX = 8, 128
#: Login looks a name up as typed; longer names cannot exist (migrated names included).
LOGIN_NAME_MAX = 255
IDEA_TITLE_MAX = 200
IDEA_DESCRIPTION_MAX = 5000
SKILL_NAME_MAX = 100
#: Other names of a skill the recommendations match (abbreviations, spellings: docs/recommendations.md).
SKILL_ALIASES_MAX = 20
SKILL_ALIAS_MAX = 50
#: Skills an owner may confirm for one idea (and suggestions shown at most).
IDEA_SKILLS_MAX = 10
SKILL_CATEGORY_MAX = 100
SKILL_DESCRIPTION_MAX = 1000
#: Page sizes (`_limit`) of both listings.
PAGE_MIN, PAGE_MAX = 1, 100
IDEAS_PAGE_DEFAULT = 20
#: Legacy `_page` paging reaches the first LEGACY_WINDOW ideas: `_page × _limit ≤ LEGACY_WINDOW`.
LEGACY_WINDOW = 200
#: A user id (`userId=`): new ids are ULIDs, migrated ones numbers.
USER_ID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
#: The longest cursor the ideas listing decodes (`cursors.MAX_LENGTH`).
CURSOR_MAX = 2048
#: Longest refresh token looked at (ours are at most 135 characters: ``<userId>.<sessionId>.<secret>``).
REFRESH_TOKEN_MAX = 256
#: The longest idea id that can name an idea (longer is a 404 without a read).
IDEA_ID_MAX = 100
#: Skill ids: digits, at most 12 (anything else is a 404 without a read).
SKILL_ID_PATTERN = "^[0-9]{1,12}$"
#: A non-blank value: at least one character that is not white space.
NOT_BLANK = r"\S"

# ---------------------------------------------------------------- fields
TIMESTAMP = Text("ISO-8601 UTC time, milliseconds", format="date-time", example="2026-11-29T12:34:56.789Z")
STATUS = Choice("Idea status (any letter case in, this spelling out)", STATUSES)
PROFICIENCY = Choice("Skill level (any letter case in, this spelling out)", PROFICIENCIES)

USERNAME = Text(
    f"{USERNAME_MIN}-{USERNAME_MAX} letters, digits, '_', '.' or '-'; unique in any letter case or width",
    min_length=USERNAME_MIN,
    max_length=USERNAME_MAX,
    pattern=f"^[{USERNAME_CHARACTERS}]+$",
    example="ada",
)
PASSWORD = Text(
    f"{PASSWORD_MIN}-{PASSWORD_MAX} characters; any but NUL",
    min_length=PASSWORD_MIN,
    max_length=PASSWORD_MAX,
    single_line=False,
    format="password",
    example="correct-horse-battery",
)
LOGIN_USERNAME = Text(
    "The name as registered, in any letter case or width", min_length=1, max_length=LOGIN_NAME_MAX, example="ada"
)
LOGIN_PASSWORD = Text(
    "The password", min_length=1, single_line=False, format="password", example="correct-horse-battery"
)

IDEA_ID = Text(
    "`<ownerId>-<ULID>`, or a migrated numeric id",
    min_length=1,
    max_length=IDEA_ID_MAX,
    example="01JD5X8Q3ZK2M4N6P8R0T2V4W6-01JD5XA1B2C3D4E5F6G7H8J9K0",
)
USER_ID = Text("A user's id (a ULID; migrated users keep their numeric id)", pattern=USER_ID_PATTERN)
IDEA_TITLE = Text("Title; trimmed", min_length=1, max_length=IDEA_TITLE_MAX, pattern=NOT_BLANK, blank=False)
IDEA_DESCRIPTION = Text(
    "Description; newlines and tabs allowed (CRLF is stored as LF)",
    max_length=IDEA_DESCRIPTION_MAX,
    single_line=False,
    nullable=True,
)
SKILL_ID = Integer("Skill id; never reused", minimum=1, example=3)
SKILL_NAME = Text(
    "Skill name; unique in any letter case; trimmed",
    min_length=1,
    max_length=SKILL_NAME_MAX,
    pattern=NOT_BLANK,
    blank=False,
)
SKILL_CATEGORY = Text("Category; trimmed", min_length=1, max_length=SKILL_CATEGORY_MAX, pattern=NOT_BLANK, blank=False)
SKILL_DESCRIPTION = Text(
    "Description; newlines and tabs allowed; trimmed",
    max_length=SKILL_DESCRIPTION_MAX,
    single_line=False,
    nullable=True,
)

# ---------------------------------------------------------------- request bodies
_IDEA_FIELDS = _frozen({"title": IDEA_TITLE, "description": IDEA_DESCRIPTION, "status": STATUS})
#: Absent or null: Concept (a whole idea).
_DEFAULTED_STATUS = Choice(STATUS.description, STATUSES, default=DEFAULT_STATUS, nullable=True)
IDEA_READ_ONLY = ("id", "userId", "createdAt", "updatedAt")
IDEA_INPUT = Shape(
    "IdeaInput",
    "A whole idea: title required; description empty and status Concept when absent. The read-only "
    "fields of an idea may be sent back and are ignored; any other field is a 400.",
    _frozen({**_IDEA_FIELDS, "status": _DEFAULTED_STATUS}),
    required=("title",),
    ignored=IDEA_READ_ONLY,
)
IDEA_PATCH = Shape(
    "IdeaPatch",
    "Some fields of an idea: at least one of title, description, status.",
    _IDEA_FIELDS,
    ignored=IDEA_READ_ONLY,
    min_fields=1,
)
SKILL_ALIASES = ListOf(
    f"Other names the recommendations match: at most {SKILL_ALIASES_MAX}, each 1-{SKILL_ALIAS_MAX} characters, "
    "distinct in any letter case",
    Text("An alias, e.g. k8s", min_length=1, max_length=SKILL_ALIAS_MAX),
)
_SKILL_FIELDS = _frozen(
    {
        "name": SKILL_NAME,
        "category": SKILL_CATEGORY,
        "proficiency": PROFICIENCY,
        "description": SKILL_DESCRIPTION,
        "aliases": SKILL_ALIASES,
    }
)
SKILL_READ_ONLY = ("id",)
SKILL_INPUT = Shape(
    "SkillInput",
    "A whole skill: name, category and proficiency required. `id` may be sent back and is ignored.",
    _SKILL_FIELDS,
    required=("name", "category", "proficiency"),
    ignored=SKILL_READ_ONLY,
)
SKILL_PATCH = Shape(
    "SkillPatch",
    "Some fields of a skill: at least one of name, category, proficiency, description, aliases.",
    _SKILL_FIELDS,
    ignored=SKILL_READ_ONLY,
    min_fields=1,
)
SKILL_CONFIRMATION = Shape(
    "SkillConfirmation",
    f"The skills an idea needs, best first: at most {IDEA_SKILLS_MAX} distinct catalogue skill ids; they replace "
    "the suggestions",
    _frozen({"skillIds": ListOf("Catalogue skill ids", Integer("Skill id", minimum=1, example=3))}),
    required=("skillIds",),
)
NEW_ACCOUNT = Shape(
    "Registration",
    "A new account. Other fields are ignored.",
    _frozen({"username": USERNAME, "password": PASSWORD}),
    required=("username", "password"),
    closed=False,
)
CREDENTIALS = Shape(
    "Credentials",
    "Username and password. Other fields are ignored.",
    _frozen({"username": LOGIN_USERNAME, "password": LOGIN_PASSWORD}),
    required=("username", "password"),
    closed=False,
)

PASSWORD_CHANGE = Shape(
    "PasswordChange",
    "The current password and a new one; every other session of the account ends. Other fields are ignored.",
    _frozen({"currentPassword": LOGIN_PASSWORD, "newPassword": PASSWORD}),
    required=("currentPassword", "newPassword"),
    closed=False,
)
ACCOUNT_DELETION = Shape(
    "AccountDeletion",
    "The account's password, to confirm. Other fields are ignored.",
    _frozen({"password": LOGIN_PASSWORD}),
    required=("password",),
    closed=False,
)

REFRESH_REQUEST = Shape(
    "RefreshRequest",
    "The refresh token of the last login or refresh, used once. Other fields are ignored.",
    _frozen(
        {
            "refreshToken": Text(
                "The `refreshToken` of the last login or refresh",
                min_length=1,
                max_length=REFRESH_TOKEN_MAX,
                example="01JD5X8Q3ZK2M4N6P8R0T2V4W6.01JD5X8Q3ZK2M4N6P8R0T2V4S5.dGhpcy1pcy1vbmx5LWFuLWV4YW1wbGUtc2VjcmV0LXg",
            )
        }
    ),
    required=("refreshToken",),
    closed=False,
)

#: The request body of each function that takes one.
BODIES: Mapping[str, Shape] = _frozen(
    {
        "register": NEW_ACCOUNT,
        "login": CREDENTIALS,
        "refresh_token": REFRESH_REQUEST,
        "create_idea": IDEA_INPUT,
        "replace_idea": IDEA_INPUT,
        "update_idea": IDEA_PATCH,
        "create_skill": SKILL_INPUT,
        "replace_skill": SKILL_INPUT,
        "update_skill": SKILL_PATCH,
        "confirm_idea_skills": SKILL_CONFIRMATION,
        "change_password": PASSWORD_CHANGE,
        "delete_account": ACCOUNT_DELETION,
    }
)

# ---------------------------------------------------------------- query and path parameters
_CURSOR = Text("The previous page's `nextCursor`, unchanged", max_length=CURSOR_MAX)
#: The query parameters of each function that reads any (the route manifest names them).
QUERIES: Mapping[str, Mapping[str, FieldKind]] = _frozen(
    {
        "list_skills": _frozen(
            {
                "proficiency": Text("Exact match, any letter case (Beginner, Intermediate, Advanced, Expert)"),
                "category": Text("Category contains, any letter case"),
                "q": Text("Name or description contains, any letter case"),
                "sort": Choice("Sort by name (default: by id)", SKILL_SORTS),
                "_limit": Integer(f"Page size, {PAGE_MIN}-{PAGE_MAX} (all skills when absent)", PAGE_MIN, PAGE_MAX),
                "cursor": _CURSOR,
            }
        ),
        "list_ideas": _frozen(
            {
                "status": Choice("Only ideas with this status", STATUSES),
                "userId": Text(
                    "Only this user's ideas; combines with neither status nor sort=status (400)",
                    pattern=USER_ID_PATTERN,
                ),
                "sort": Choice("Sort field (sort=title is a 400)", IDEA_SORTS, default="createdAt"),
                "order": Choice("Order (default: desc for createdAt, asc for status)", ORDERS),
                "_limit": Integer(f"Page size, {PAGE_MIN}-{PAGE_MAX}", PAGE_MIN, PAGE_MAX, default=IDEAS_PAGE_DEFAULT),
                "cursor": _CURSOR,
                "_page": Integer(
                    f"Legacy page number: `_page × _limit ≤ {LEGACY_WINDOW}` (the first {LEGACY_WINDOW} ideas; "
                    "follow nextCursor beyond); not with cursor",
                    1,
                    LEGACY_WINDOW,
                    default=1,
                ),
            }
        ),
    }
)
QUERIES = _frozen(
    {
        **QUERIES,
        "list_skill_ideas": _frozen(
            {
                "_limit": Integer(f"Page size, {PAGE_MIN}-{PAGE_MAX}", PAGE_MIN, PAGE_MAX, default=IDEAS_PAGE_DEFAULT),
                "cursor": _CURSOR,
            }
        ),
    }
)
#: Path parameters, by route path.
PATH_PARAMETERS: Mapping[str, Mapping[str, FieldKind]] = _frozen(
    {
        "/api/skills/{id}": _frozen({"id": Text("Skill id (digits; anything else is a 404)", example="3")}),
        "/api/skills/category/{category}": _frozen(
            {"category": Text("Category, exact, any letter case", example="Database")}
        ),
        "/api/ideas/{id}": _frozen({"id": IDEA_ID}),
        "/docs/{asset}": _frozen({"asset": Text("A file of the docs page", example="swagger-ui.css")}),
        "/api/ideas/{id}/skills": _frozen({"id": IDEA_ID}),
        "/api/me/sessions/{id}": _frozen({"id": Text("Session id (from GET /api/me/sessions)", max_length=64)}),
        "/api/skills/{id}/ideas": _frozen({"id": Text("Skill id (digits; anything else is a 404)", example="3")}),
    }
)

# ---------------------------------------------------------------- response data
# What is stored may predate today's input limits (the legacy migration keeps long titles and
# legacy usernames whole), so answers promise types and shapes, not the input limits.
_NAME = Text("Username, as registered", example="ada")
USER = Shape(
    "User", "A user as others may see them", _frozen({"id": USER_ID, "username": _NAME}), required=("id", "username")
)
IDEAS_BY_STATUS = Shape(
    "IdeasByStatus",
    "Ideas counted by status",
    _frozen({status: Integer(f"Ideas in {status}", minimum=0) for status in STATUSES}),
    required=STATUSES,
)
USER_STATS = Shape(
    "UserStats",
    "The caller's own ideas, counted (kept by the statistics consumer: seconds behind the writes)",
    _frozen({"ideas": Integer("Ideas", minimum=0), "ideasByStatus": IDEAS_BY_STATUS}),
    required=("ideas", "ideasByStatus"),
)
STATISTICS = Shape(
    "Statistics",
    "The community in numbers (docs/events.md): kept by the statistics consumer, seconds behind the writes",
    _frozen(
        {
            "users": Integer("Accounts", minimum=0),
            "ideas": Integer("Ideas", minimum=0),
            "ideasByStatus": IDEAS_BY_STATUS,
            "ideasCreatedPerDay": ListOf(
                "Ideas created on each of the last 30 days (UTC), oldest first",
                Shape(
                    "DayCount",
                    "One day",
                    _frozen(
                        {"date": Text("Day, YYYY-MM-DD", example="2026-11-29"), "count": Integer("Ideas", minimum=0)}
                    ),
                    required=("date", "count"),
                ),
            ),
            "updatedAt": Text("When a counter last changed; null before the first event", nullable=True),
        }
    ),
    required=("users", "ideas", "ideasByStatus", "ideasCreatedPerDay", "updatedAt"),
)
PROFILE = Shape(
    "Profile",
    "The caller's own profile",
    _frozen(
        {
            "id": USER_ID,
            "username": _NAME,
            "role": Choice("Role", ROLES),
            "createdAt": TIMESTAMP,
            "stats": USER_STATS,
        }
    ),
    required=("id", "username", "role", "createdAt", "stats"),
)
IDEA = Shape(
    "Idea",
    "An idea",
    _frozen(
        {
            "id": IDEA_ID,
            "title": Text("Title", example="Skill-swap evenings"),
            "description": Text("Description (null when none was given)", single_line=False, nullable=True),
            "status": STATUS,
            "userId": USER_ID,
            "createdAt": TIMESTAMP,
            "updatedAt": TIMESTAMP,
        }
    ),
    required=("id", "title", "description", "status", "userId", "createdAt", "updatedAt"),
)
SKILL = Shape(
    "Skill",
    "A skill of the catalogue",
    _frozen(
        {
            "id": SKILL_ID,
            "name": Text("Name", example="Python"),
            "category": Text("Category", example="Programming Language"),
            "proficiency": Text("Beginner, Intermediate, Advanced or Expert", example="Advanced"),
            "description": Text("Description", single_line=False),
            "aliases": ListOf("Other names the recommendations match", Text("An alias")),
        }
    ),
    required=("id", "name", "category", "proficiency"),
    closed=False,
)
SKILL_SUGGESTION = Shape(
    "SkillOfIdea",
    "A skill an idea needs: suggested by the model (with its evidence) or confirmed by the owner",
    _frozen(
        {
            "id": SKILL_ID,
            "name": Text("Skill name", example="PostgreSQL"),
            "category": Text("Category", example="Database"),
            "score": Number("Relevance: higher is better; suggestions score at least the threshold", minimum=0),
            "matched": ListOf("The idea's words that matched", Text("A word or phrase", example="postgres")),
            "confirmed": Boolean("Confirmed by the idea's owner"),
        }
    ),
    required=("id", "name", "category", "score", "matched", "confirmed"),
)
IDEA_OF_SKILL = Shape(
    "IdeaOfSkill",
    "An idea that needs a skill",
    _frozen(
        {
            "id": IDEA_ID,
            "title": Text("Title"),
            "status": Text("Status"),
            "userId": USER_ID,
            "createdAt": TIMESTAMP,
            "score": Number("How strongly the idea needs the skill", minimum=0),
            "confirmed": Boolean("Confirmed by the idea's owner"),
        }
    ),
    required=("id", "title", "status", "userId", "createdAt", "score", "confirmed"),
)
SESSION = Shape(
    "Session",
    "One login of the caller's account (docs/accounts.md)",
    _frozen(
        {
            "id": Text("Session id"),
            "createdAt": TIMESTAMP,
            "lastUsedAt": Text(
                "When a request last used it (updated at most once per authorizer cache period)", nullable=True
            ),
            "userAgent": Text("The User-Agent of the login", nullable=True),
            "sourceIp": Text("The client address of the login", nullable=True),
            "expiresAt": TIMESTAMP,
            "current": Boolean("The session of this request"),
        }
    ),
    required=("id", "createdAt", "expiresAt", "current"),
)
CATEGORY = Shape(
    "Category",
    "A category and how many skills it has",
    _frozen({"name": Text("Category"), "count": Integer("Skills in it", minimum=1)}),
    required=("name", "count"),
)
ROUTE = Shape(
    "Endpoint",
    "One endpoint of the route manifest",
    _frozen(
        {
            "method": Text("HTTP method", example="GET"),
            "path": Text("Path template", example="/api/skills/{id}"),
            "access": Choice("Who may call it", ("public", "user", "owner", "admin")),
            "summary": Text("What it does"),
        }
    ),
    required=("method", "path", "access", "summary"),
)
HEALTH_CHECKS = Shape(
    "HealthChecks",
    "Each dependency's state",
    _frozen({"table": Choice("The DynamoDB table", ("ok", "unreachable"))}),
    required=("table",),
)


class Reply:
    """What a function answers when it succeeds, inside the envelope ``{"success": true, ...}``:
    ``data`` (when it has any), ``count`` (lists: ``counted``), ``nextCursor`` (paged lists),
    ``message`` (writes) and any other top-level fields (``extra``). Without ``envelope`` the
    body is ``data`` itself, in one of the ``media`` types. ``cacheable``: ETag, Cache-Control,
    and 304 for a matching If-None-Match."""

    __slots__ = ("status", "data", "message", "counted", "next_cursor", "extra", "cacheable", "envelope", "media")

    def __init__(
        self,
        status: int = 200,
        data: FieldKind | None = None,
        *,
        message: str | None = None,
        counted: bool = False,
        next_cursor: bool = False,
        extra: Mapping[str, FieldKind] | None = None,
        cacheable: bool = False,
        envelope: bool = True,
        media: tuple[str, ...] = ("application/json",),
    ) -> None:
        self.status = status
        self.data = data
        self.message = message
        self.counted = counted
        self.next_cursor = next_cursor
        self.extra: Mapping[str, FieldKind] = extra or {}
        self.cacheable = cacheable
        self.envelope = envelope
        self.media = media


_REFRESH_FIELDS = {
    "refreshToken": Text(
        "Opaque; send once to POST /api/token/refresh for a new token and a new refresh token", min_length=1
    ),
    "refreshExpiresIn": Integer("Seconds until the session, and so this refresh token, expires", minimum=1),
}
#: The success reply of every function of the route manifest.
REPLIES: Mapping[str, Reply] = _frozen(
    {
        "api_index": Reply(
            message="Skills & Ideas API",
            extra=_frozen(
                {
                    "version": Text("API version", example="1.1.0"),
                    "endpoints": ListOf(
                        "`METHOD /path` of every endpoint", Text("Endpoint", example="GET /api/skills")
                    ),
                    "routes": ListOf("Every endpoint", ROUTE),
                }
            ),
        ),
        "health": Reply(
            extra=_frozen({"status": Choice("Service status", ("ok",)), "checks": HEALTH_CHECKS}),
        ),
        "register": Reply(201, USER, message="User registered successfully"),
        "login": Reply(
            message="Login successful",
            extra=_frozen(
                {
                    "token": Text("HS256 JWT; send as `Authorization: Bearer <token>`", min_length=1),
                    "expiresIn": Integer("Seconds the token is valid", minimum=1, example=86400),
                    "sessionId": Text("The session this token belongs to (GET /api/me/sessions)"),
                    **_REFRESH_FIELDS,
                    "user": USER,
                }
            ),
        ),
        "refresh_token": Reply(
            message="Token refreshed",
            extra=_frozen(
                {
                    "token": Text("A new HS256 JWT of the same session", min_length=1),
                    "expiresIn": Integer(
                        "Seconds the token is valid (never past the session's end)", minimum=1, example=86400
                    ),
                    "sessionId": Text("The session (unchanged)"),
                    **_REFRESH_FIELDS,
                }
            ),
        ),
        "me": Reply(data=PROFILE),
        "logout": Reply(204),
        "list_sessions": Reply(data=ListOf("The caller's live sessions, newest first", SESSION), counted=True),
        "end_session": Reply(204),
        "change_password": Reply(
            data=Shape(
                "PasswordChanged",
                "What the change ended",
                _frozen({"endedSessions": Integer("Other sessions ended", minimum=0)}),
                required=("endedSessions",),
            ),
            message="Password changed; your other sessions have ended",
        ),
        "delete_account": Reply(204),
        "list_skills": Reply(data=ListOf("Skills", SKILL), counted=True, next_cursor=True, cacheable=True),
        "list_skill_categories": Reply(data=ListOf("Categories", CATEGORY), counted=True, cacheable=True),
        "get_skill": Reply(data=SKILL, cacheable=True),
        "list_skills_by_category": Reply(data=ListOf("Skills", SKILL), counted=True, cacheable=True),
        "create_skill": Reply(201, SKILL, message="Skill created successfully"),
        "replace_skill": Reply(data=SKILL, message="Skill updated successfully"),
        "update_skill": Reply(data=SKILL, message="Skill updated successfully"),
        "delete_skill": Reply(message="Skill deleted successfully"),
        "list_ideas": Reply(data=ListOf("Ideas", IDEA), counted=True, next_cursor=True, cacheable=True),
        "get_idea": Reply(data=IDEA, cacheable=True),
        "create_idea": Reply(201, IDEA, message="Idea created successfully"),
        "replace_idea": Reply(data=IDEA, message="Idea updated successfully"),
        "update_idea": Reply(data=IDEA, message="Idea updated successfully"),
        "delete_idea": Reply(message="Idea deleted successfully"),
        "get_stats": Reply(data=STATISTICS, cacheable=True),
        "get_idea_skills": Reply(
            data=ListOf("The idea's skills, best first", SKILL_SUGGESTION),
            counted=True,
            extra=_frozen(
                {
                    "pending": Boolean(
                        "True while the idea's skills are not worked out yet (the seconds after it was "
                        "published): `data` is then empty; ask again shortly"
                    )
                }
            ),
        ),
        "confirm_idea_skills": Reply(
            data=ListOf("The confirmed skills, in the owner's order", SKILL_SUGGESTION),
            counted=True,
            message="Skills confirmed",
        ),
        "list_skill_ideas": Reply(
            data=ListOf("Ideas that need the skill, newest first", IDEA_OF_SKILL), counted=True, next_cursor=True
        ),
        "openapi_document": Reply(data=AnyJson("This OpenAPI 3.1 document"), cacheable=True, envelope=False),
        "api_docs": Reply(data=Text("The Swagger UI page"), cacheable=True, envelope=False, media=("text/html",)),
        "api_docs_asset": Reply(
            data=Text("A script, style sheet or licence text of Swagger UI"),
            cacheable=True,
            envelope=False,
            media=("text/javascript", "text/css", "text/plain"),
        ),
    }
)

_SKILL_CONFLICT = (
    "A skill with this name already exists",
    "The name is taken (in any letter case), or others kept changing the catalogue at the same time",
)
_IDEA_CONFLICT = (
    "The idea was changed or deleted at the same time; reload and retry",
    "Someone changed or deleted the idea between its read and this write",
)
#: Refusals particular to a function, status -> (the message, what it means), beyond those every
#: route of its kind can answer (400 for bad input, 401/403 by access level, 404 for an unknown
#: id, 503 when a dependency fails).
REFUSALS: Mapping[str, Mapping[int, tuple[str, str]]] = _frozen(
    {
        "register": {409: ("User already exists", "The name is taken, in any letter case or width")},
        "login": {
            401: ("Invalid credentials", "An unknown user or a wrong password, alike"),
            429: ("Too many failed logins; try again in 30 s", "Too many failures for this name (docs/accounts.md)"),
        },
        "refresh_token": {
            401: (
                "Refresh token was already used; the session has ended, log in again",
                "Not a refresh token of ours (`Refresh token is not valid`), its session is over "
                "(`Session has ended; log in again`), or it was rotated already: then its session "
                "ends too (docs/accounts.md#refresh-tokens)",
            ),
        },
        "end_session": {404: ("Session not found", "No such session of the caller's")},
        "change_password": {
            403: ("Password is incorrect", "The current password does not match"),
            429: (
                "Too many failed logins; try again in 30 s",
                "Too many wrong passwords for this account (docs/accounts.md)",
            ),
        },
        "delete_account": {
            403: ("Password is incorrect", "The password does not match"),
            429: (
                "Too many failed logins; try again in 30 s",
                "Too many wrong passwords for this account (docs/accounts.md)",
            ),
        },
        "me": {404: ("User not found", "The token's user no longer exists")},
        "create_skill": {409: _SKILL_CONFLICT},
        "replace_skill": {409: _SKILL_CONFLICT},
        "update_skill": {409: _SKILL_CONFLICT},
        "replace_idea": {409: _IDEA_CONFLICT},
        "update_idea": {409: _IDEA_CONFLICT},
    }
)
