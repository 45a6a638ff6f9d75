"""GET /api/skills/{id}/ideas — the ideas that need this skill, newest first; ?_limit=, ?cursor=."""

from typing import Any

from skills_ideas import catalogue, models, recommendations
from skills_ideas.config import CatalogueConfig, CursorConfig, TableConfig
from skills_ideas.http import Event, Response, api_handler, ok, path_param, query

TABLE = TableConfig.from_env()
CURSORS = CursorConfig.from_env()
STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    request = recommendations.parse_ideas_of_skill(path_param(event, "id"), query(event), STORE.current())
    items, next_cursor = recommendations.ideas_of_skill(request, cursor_key=CURSORS.key)
    extra = {"nextCursor": next_cursor} if next_cursor else {}
    return ok(items, count=len(items), **extra)
