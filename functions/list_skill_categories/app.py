"""GET /api/skills/categories — every category with its number of skills, sorted by name.
Cacheable (ETag, 304)."""

from typing import Any

from skills_ideas import catalogue
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, cacheable, ok

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    found = catalogue.categories(STORE.current().skills)
    return cacheable(event, ok(found, count=len(found)), STORE.config.cache_control)
