"""Typed configuration, parsed once per cold start from the environment.

Each handler loads only the sections it needs. A missing or malformed setting raises
``ConfigError`` at import time, so a misconfigured function fails loudly on its first
invocation instead of half-working.

| variable | meaning | default |
|---|---|---|
| TABLE_NAME | DynamoDB table | required |
| DYNAMODB_ENDPOINT_URL | DynamoDB endpoint (local only) | AWS |
| CATALOGUE_BUCKET | S3 bucket of the skills catalogue | required |
| CATALOGUE_KEY | object key of the catalogue | catalogue/skills.json |
| CATALOGUE_TTL_SECONDS | revalidation interval: how long a warm function trusts its cached copy | 5 |
| SKILLS_MAX_AGE_SECONDS | Cache-Control max-age of the public skill reads | 60 |
| SKILLS_STALE_WHILE_REVALIDATE_SECONDS | Cache-Control stale-while-revalidate of those reads | 300 |
| CATALOGUE_WRITE_ATTEMPTS | compare-and-swap attempts of one catalogue write | 10 |
| CDN_DISTRIBUTION_ID | CloudFront distribution to invalidate after a write (unset locally) | – |
| S3_ENDPOINT_URL | S3 endpoint (local only) | AWS |
| JWT_SECRET | HS256 signing key, >= 32 bytes (local only) | – |
| JWT_SECRET_NAME | Secrets Manager name/ARN of the signing key (cloud) | – |
| JWT_ISSUER / JWT_AUDIENCE | iss / aud claims | skills-ideas / skills-ideas-api |
| JWT_TTL_SECONDS | access token lifetime | 86400 |
| REFRESH_TTL_SECONDS | session (refresh token) lifetime from login, >= JWT_TTL_SECONDS | 2592000 (30 d) |
| CURSOR_KEY | HMAC key of the ideas list's page cursors, >= 32 bytes | required by list_ideas |
| STAGE | deployment stage | local |
| HOME_REGION | multi-region: the primary, where registration claims names (docs/multi-region.md) | unset |
| REGIONS | multi-region: the stage's regions, comma-separated (statistics sum theirs) | HOME_REGION, AWS_REGION |
| HOME_DYNAMODB_ENDPOINT_URL | the home region's DynamoDB endpoint (local and tests only) | AWS |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


def _env(name: str, env: Mapping[str, str], default: str | None = None) -> str:
    value = env.get(name, default)
    if value is None or value == "":
        raise ConfigError(f"environment variable {name} is required")
    return value


def _int(name: str, env: Mapping[str, str], default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"environment variable {name} must be >= {minimum}, got {value}")
    return value


def _region(env: Mapping[str, str]) -> str:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"


@dataclass(frozen=True)
class TableConfig:
    table_name: str
    region: str
    endpoint_url: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TableConfig:
        return cls(
            table_name=_env("TABLE_NAME", env),
            region=_region(env),
            endpoint_url=env.get("DYNAMODB_ENDPOINT_URL") or None,
        )


REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


def _region_name(name: str, raw: str) -> str:
    if not REGION_NAME.fullmatch(raw):
        raise ConfigError(f"environment variable {name} must name AWS regions, got {raw!r}")
    return raw


@dataclass(frozen=True)
class RegionConfig:
    """Where this function runs and, in multi-region mode (``HOME_REGION`` set), the stage's
    regions. Single-region mode: ``home`` is ``region`` and ``regions`` is just it, so every
    rule that depends on regions reduces to what one region did before."""

    region: str
    home: str
    regions: tuple[str, ...]
    #: The home region's table endpoint (local and tests only; AWS's regional endpoint otherwise).
    home_endpoint_url: str | None = None

    @property
    def multi_region(self) -> bool:
        return len(self.regions) > 1 or self.home != self.region

    @property
    def is_home(self) -> bool:
        return self.home == self.region

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> RegionConfig:
        region = _region(env)
        raw_home = env.get("HOME_REGION") or ""
        if not raw_home:
            return cls(region, region, (region,))
        home = _region_name("HOME_REGION", raw_home)
        listed = [r.strip() for r in (env.get("REGIONS") or "").split(",") if r.strip()]
        regions = [_region_name("REGIONS", r) for r in listed] or [home, region]
        if home not in regions or region not in regions:
            raise ConfigError(f"REGIONS ({', '.join(regions)}) must include HOME_REGION and AWS_REGION")
        return cls(region, home, tuple(sorted(set(regions))), env.get("HOME_DYNAMODB_ENDPOINT_URL") or None)


@dataclass(frozen=True)
class CatalogueConfig:
    bucket: str
    key: str
    #: Revalidation interval. Short on purpose: a revalidation is a conditional GET answered
    #: 304 without a body, and CloudFront absorbs the read traffic, so a few seconds keep an
    #: admin's edit from being re-cached stale at the edge after the invalidation.
    ttl_seconds: int
    region: str
    endpoint_url: str | None
    max_age_seconds: int = 60
    stale_while_revalidate_seconds: int = 300
    write_attempts: int = 10
    distribution_id: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> CatalogueConfig:
        return cls(
            bucket=_env("CATALOGUE_BUCKET", env),
            key=_env("CATALOGUE_KEY", env, "catalogue/skills.json"),
            ttl_seconds=_int("CATALOGUE_TTL_SECONDS", env, 5),
            region=_region(env),
            endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            max_age_seconds=_int("SKILLS_MAX_AGE_SECONDS", env, 60),
            stale_while_revalidate_seconds=_int("SKILLS_STALE_WHILE_REVALIDATE_SECONDS", env, 300),
            write_attempts=_int("CATALOGUE_WRITE_ATTEMPTS", env, 10, minimum=1),
            distribution_id=env.get("CDN_DISTRIBUTION_ID") or None,
        )

    @property
    def cache_control(self) -> str:
        """Cache-Control of every public skill read and of the catalogue object CloudFront serves."""
        return f"public, max-age={self.max_age_seconds}, stale-while-revalidate={self.stale_while_revalidate_seconds}"


@dataclass(frozen=True)
class AuthConfig:
    secret: str | None
    secret_name: str | None
    issuer: str
    audience: str
    ttl_seconds: int
    #: A session's lifetime from its login: its refresh tokens work until then, however often
    #: they rotate, and no access token outlives it (docs/accounts.md#refresh-tokens).
    refresh_ttl_seconds: int = 30 * 86400

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AuthConfig:
        secret = env.get("JWT_SECRET") or None
        secret_name = env.get("JWT_SECRET_NAME") or None
        if secret is None and secret_name is None:
            raise ConfigError("set JWT_SECRET_NAME (Secrets Manager) or JWT_SECRET (local only)")
        if secret is not None and len(secret.encode()) < 32:
            raise ConfigError("JWT_SECRET must be at least 32 bytes")
        ttl_seconds = _int("JWT_TTL_SECONDS", env, 86400, minimum=60)
        refresh_ttl_seconds = _int("REFRESH_TTL_SECONDS", env, 30 * 86400, minimum=60)
        if refresh_ttl_seconds < ttl_seconds:
            # A login's access token lives its full lifetime (legacy clients rely on expiresIn).
            raise ConfigError("REFRESH_TTL_SECONDS must be at least JWT_TTL_SECONDS")
        return cls(
            secret=secret,
            secret_name=secret_name,
            issuer=env.get("JWT_ISSUER") or "skills-ideas",
            audience=env.get("JWT_AUDIENCE") or "skills-ideas-api",
            ttl_seconds=ttl_seconds,
            refresh_ttl_seconds=refresh_ttl_seconds,
        )


@dataclass(frozen=True)
class CursorConfig:
    """The key that signs page cursors (``skills_ideas.cursors``); rotating it only makes
    outstanding cursors answer 400, so it can be any stable secret of the stage."""

    key: bytes

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> CursorConfig:
        key = _env("CURSOR_KEY", env).encode()
        if len(key) < 32:
            raise ConfigError("CURSOR_KEY must be at least 32 bytes")
        return cls(key)
