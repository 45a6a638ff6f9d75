"""GET /api/skills — skills; ?proficiency=, ?category=, ?q=, ?sort=name, paged by ?_limit= and ?cursor=.

Cacheable: ETag and Cache-Control on every 200, 304 for a matching If-None-Match."""

from typing import Any

from skills_ideas import catalogue
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, cacheable, ok, query

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    params = query(event)
    request = catalogue.parse_page(params)
    skills, next_cursor = catalogue.page(catalogue.filter_skills(STORE.current().skills, params), params, request)
    extra = {"nextCursor": next_cursor} if next_cursor else {}
    return cacheable(event, ok(skills, count=len(skills), **extra), STORE.config.cache_control)
