"""GET /api/ideas/{id} — one idea (legacy numeric ids included); 404 when unknown. Cacheable (ETag, 304)."""

from typing import Any

from skills_ideas import ideas, models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, cacheable, ok, path_param

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    return cacheable(event, ok(ideas.get(path_param(event, "id"))), ideas.PUBLIC_CACHE_CONTROL)
