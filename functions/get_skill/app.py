"""GET /api/skills/{id} — one skill; 404 for an unknown or non-numeric id. Cacheable (ETag, 304)."""

from typing import Any

from skills_ideas import catalogue
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, cacheable, ok, path_param

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    skill = catalogue.find(STORE.current().skills, path_param(event, "id"))
    return cacheable(event, ok(skill), STORE.config.cache_control)
