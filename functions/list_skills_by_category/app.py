"""GET /api/skills/category/{category} — exact, case-insensitive; an empty list, not 404.
Cacheable (ETag, 304)."""

from typing import Any

from skills_ideas import catalogue
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, cacheable, ok, path_param

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    skills = catalogue.in_category(STORE.current().skills, path_param(event, "category"))
    return cacheable(event, ok(skills, count=len(skills)), STORE.config.cache_control)
