"""The skills catalogue: one JSON document in S3, cached in memory between warm
invocations and revalidated by ETag at most once per ``CATALOGUE_TTL_SECONDS``.

Reads only: the admin writes (compare-and-swap on the object's ETag) live in
``catalogue_edits`` so that read functions do not import them."""

from __future__ import annotations

import base64
import binascii
import json
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from skills_ideas.config import CatalogueConfig
from skills_ideas.errors import BadRequest, NotFound, ServiceUnavailable
from skills_ideas.observability import count, logger
from skills_ideas.validation import bounded_int

PROFICIENCIES = ("Beginner", "Intermediate", "Advanced", "Expert")
SCHEMA_VERSION = 1
PAGE_MAX = 100
PAGE_DEFAULT = 20

#: Every store of this process. Locally all handlers share one process (the gateway), so a
#: write drops them all, the local stand-in for a CloudFront invalidation; in Lambda each
#: function is its own process and this holds just its own store.
_STORES: weakref.WeakSet[CatalogueStore] = weakref.WeakSet()


@dataclass(frozen=True)
class Catalogue:
    skills: tuple[dict[str, Any], ...]
    next_id: int
    etag: str

    def document(self) -> dict[str, Any]:
        """The catalogue as stored in S3."""
        return {"schemaVersion": SCHEMA_VERSION, "nextId": self.next_id, "skills": list(self.skills)}


@dataclass(eq=False)
class CatalogueStore:
    """Reads the catalogue object; keeps the last good copy for warm invocations."""

    config: CatalogueConfig
    clock: Callable[[], float] = time.monotonic
    _client: Any = None
    _cached: Catalogue | None = None
    _checked_at: float = field(default=-1e18)

    def __post_init__(self) -> None:
        _STORES.add(self)

    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # The time budget (docs/security.md): bounded connect and read, two attempts at most.
            budget = Config(connect_timeout=0.5, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})
            self._client = boto3.client(
                "s3", region_name=self.config.region, endpoint_url=self.config.endpoint_url, config=budget
            )
        return self._client

    def current(self) -> Catalogue:
        """The catalogue, from memory while fresh, else revalidated against S3. If S3 fails
        while a copy is cached, the cached copy is served (logged and counted)."""
        now = self.clock()
        cached = self._cached
        if cached is not None and now - self._checked_at < self.config.ttl_seconds:
            return cached
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Bucket": self.config.bucket, "Key": self.config.key}
        if cached is not None:
            kwargs["IfNoneMatch"] = cached.etag
        try:
            response = self.client().get_object(**kwargs)
            cached = parse(response["Body"].read(), response["ETag"])
        except ClientError as error:
            if not _not_modified(error):
                return self._fallback(error)
        except (BotoCoreError, ValueError, KeyError, TypeError) as error:
            return self._fallback(error)
        assert cached is not None
        self._cached, self._checked_at = cached, now
        return cached

    def latest(self) -> Catalogue:
        """The catalogue as S3 has it now, bypassing the cache (writers: S3 reads are strongly
        consistent, so this is the version a conditional write must match)."""
        response = self.client().get_object(Bucket=self.config.bucket, Key=self.config.key)
        return parse(response["Body"].read(), response["ETag"])

    def remember(self, catalogue: Catalogue) -> None:
        """Keep a version this process just wrote (its writer reads its own write)."""
        self._cached, self._checked_at = catalogue, self.clock()

    def _fallback(self, error: Exception) -> Catalogue:
        if self._cached is None:
            logger.error("skills catalogue unavailable", extra={"error": str(error)})
            raise ServiceUnavailable("The skills catalogue is temporarily unavailable") from None
        logger.warning("serving cached skills catalogue: S3 read failed", extra={"error": str(error)})
        count("CatalogueStaleServed")
        return self._cached

    def forget(self) -> None:
        """Drop the cached copy (after this process wrote a new version, and in tests)."""
        self._cached = None
        self._checked_at = -1e18

    def reset(self) -> None:
        """Forget the copy and the client (tests that start a fresh S3 emulation)."""
        self.forget()
        self._client = None


def forget_all(keep: CatalogueStore | None = None) -> None:
    """Drop the cached copy of every store in this process but ``keep`` (see ``_STORES``)."""
    for store in list(_STORES):
        if store is not keep:
            store.forget()


def _not_modified(error: Any) -> bool:
    response = error.response
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 304 or response.get("Error", {}).get("Code") in ("304", "NotModified")


def parse(raw: bytes, etag: str) -> Catalogue:
    doc = json.loads(raw)
    skills = doc["skills"] if isinstance(doc, dict) else doc
    next_id = doc.get("nextId") if isinstance(doc, dict) else None
    if next_id is None:
        next_id = max((s["id"] for s in skills), default=0) + 1
    return Catalogue(tuple(skills), int(next_id), etag)


# ---------------------------------------------------------------- queries
def filter_skills(skills: tuple[dict[str, Any], ...], params: dict[str, str]) -> list[dict[str, Any]]:
    """The legacy filters (``proficiency`` exact, ``category`` substring, both
    case-insensitive; ``sort=name``) plus ``q``: name or description contains."""
    result = list(skills)
    if params.get("proficiency"):
        wanted = params["proficiency"].strip().lower()
        result = [s for s in result if str(s.get("proficiency", "")).lower() == wanted]
    if params.get("category"):
        part = params["category"].strip().lower()
        result = [s for s in result if part in str(s.get("category", "")).lower()]
    if params.get("q"):
        needle = params["q"].strip().lower()
        result = [
            s
            for s in result
            if needle in str(s.get("name", "")).lower() or needle in str(s.get("description", "")).lower()
        ]
    sort = params.get("sort")
    if sort:
        if sort.lower() != "name":
            raise BadRequest("sort must be one of: name")
        result.sort(key=lambda s: str(s.get("name", "")).lower())
    return result


def in_category(skills: tuple[dict[str, Any], ...], category: str) -> list[dict[str, Any]]:
    wanted = category.strip().lower()
    return [s for s in skills if str(s.get("category", "")).lower() == wanted]


def find(skills: tuple[dict[str, Any], ...], raw_id: str) -> dict[str, Any]:
    if not raw_id.isdigit() or len(raw_id) > 12:
        raise NotFound("Skill not found")
    skill_id = int(raw_id)
    for skill in skills:
        if skill.get("id") == skill_id:
            return skill
    raise NotFound("Skill not found")


def categories(skills: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Every category with its number of skills, sorted by name (case-insensitively)."""
    counts: dict[str, int] = {}
    for skill in skills:
        name = str(skill.get("category", ""))
        counts[name] = counts.get(name, 0) + 1
    return [{"name": name, "count": counts[name]} for name in sorted(counts, key=lambda n: (n.lower(), n))]


# ---------------------------------------------------------------- paging
@dataclass(frozen=True)
class PageRequest:
    limit: int | None  # None: the whole list (the legacy behaviour)
    after: list[Any] | None  # sort key of the last skill of the previous page


def _signature(params: dict[str, str]) -> str:
    return "|".join(params.get(name, "").strip().lower() for name in ("proficiency", "category", "q", "sort"))


def _sort_key(skill: dict[str, Any], by_name: bool) -> list[Any]:
    skill_id = skill.get("id") if isinstance(skill.get("id"), int) else 0
    return [str(skill.get("name", "")).lower(), skill_id] if by_name else [skill_id]


def parse_page(params: dict[str, str]) -> PageRequest:
    """``_limit`` (1-100) and ``cursor`` (the previous page's ``nextCursor``, unchanged). The
    cursor holds the sort key of the last skill served, not an offset, so an edit between two
    pages neither repeats nor skips a skill that was there all along. Without either the whole
    list comes back, as the legacy API did."""
    raw_cursor = params.get("cursor") or None
    limit = bounded_int(params.get("_limit"), name="_limit", default=0, minimum=1, maximum=PAGE_MAX) or None
    if raw_cursor is None:
        return PageRequest(limit, None)
    invalid = BadRequest("cursor is not valid: use the nextCursor of the previous page, unchanged")
    try:
        data = json.loads(base64.urlsafe_b64decode(raw_cursor + "=" * (-len(raw_cursor) % 4)))
    except (ValueError, binascii.Error):
        raise invalid from None
    if (
        not isinstance(data, dict)
        or data.get("v") != 1
        or not isinstance(data.get("a"), list)
        or not isinstance(data.get("n"), int)
        or not 1 <= data["n"] <= PAGE_MAX
        or not all(isinstance(part, str | int) and not isinstance(part, bool) for part in data["a"])
    ):
        raise invalid
    if data.get("q") != _signature(params):
        raise BadRequest("cursor belongs to a different query: keep the same filters and sort")
    return PageRequest(limit or data["n"], data["a"])


def page(
    skills: list[dict[str, Any]], params: dict[str, str], request: PageRequest
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``skills`` (already filtered and sorted by ``filter_skills``) and the cursor
    of the next page, None on the last one."""
    if request.limit is None:
        return skills, None
    by_name = bool(params.get("sort"))
    if not by_name:  # catalogue order is id order; sort anyway so the cursor's key is monotonic
        skills = sorted(skills, key=lambda s: _sort_key(s, False))
    if request.after is not None:
        after = request.after
        shape = (str, int) if by_name else (int,)
        if len(after) != len(shape) or not all(isinstance(v, t) for v, t in zip(after, shape, strict=False)):
            raise BadRequest("cursor belongs to a different query: keep the same filters and sort")
        skills = [s for s in skills if _sort_key(s, by_name) > after]
    chunk = skills[: request.limit]
    if len(skills) <= request.limit:
        return chunk, None
    cursor = {"v": 1, "q": _signature(params), "n": request.limit, "a": _sort_key(chunk[-1], by_name)}
    raw = json.dumps(cursor, separators=(",", ":")).encode()
    return chunk, base64.urlsafe_b64encode(raw).decode().rstrip("=")
