"""The skills catalogue: one JSON document in S3, cached in memory between warm
invocations and revalidated by ETag at most once per ``CATALOGUE_TTL_SECONDS``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from skills_ideas.config import CatalogueConfig
from skills_ideas.errors import BadRequest, NotFound, ServiceUnavailable
from skills_ideas.observability import count, logger

PROFICIENCIES = ("Beginner", "Intermediate", "Advanced", "Expert")


@dataclass(frozen=True)
class Catalogue:
    skills: tuple[dict[str, Any], ...]
    next_id: int
    etag: str


@dataclass
class CatalogueStore:
    """Reads the catalogue object; keeps the last good copy for warm invocations."""

    config: CatalogueConfig
    _client: Any = None
    _cached: Catalogue | None = None
    _checked_at: float = field(default=-1e18)

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", region_name=self.config.region, endpoint_url=self.config.endpoint_url)
        return self._client

    def current(self) -> Catalogue:
        """The catalogue, from memory while fresh, else revalidated against S3. If S3 fails
        while a copy is cached, the cached copy is served (logged and counted)."""
        now = time.monotonic()
        if self._cached is not None and now - self._checked_at < self.config.ttl_seconds:
            return self._cached
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Bucket": self.config.bucket, "Key": self.config.key}
        if self._cached is not None:
            kwargs["IfNoneMatch"] = self._cached.etag
        try:
            response = self.client().get_object(**kwargs)
            self._cached = parse(response["Body"].read(), response["ETag"])
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 304 or error.response.get("Error", {}).get("Code") in ("304", "NotModified"):
                pass  # our copy is current
            else:
                return self._fallback(error)
        except (BotoCoreError, ValueError) as error:
            return self._fallback(error)
        self._checked_at = now
        assert self._cached is not None
        return self._cached

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
            s for s in result
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
