"""GET /api/ideas — newest first; ?status=, ?userId=, ?sort=createdAt|status, ?order=, ?_limit=, ?cursor=, ?_page=."""

from typing import Any

from skills_ideas import ideas, models
from skills_ideas.config import CursorConfig, TableConfig
from skills_ideas.http import Event, Response, api_handler, cacheable, ok, query

TABLE = TableConfig.from_env()
CURSORS = CursorConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    list_query, cursor, page = ideas.parse_list_query(query(event))
    items, next_cursor = ideas.list_ideas(list_query, cursor, page, cursor_key=CURSORS.key)
    extra = {"nextCursor": next_cursor} if next_cursor else {}
    return cacheable(event, ok(items, count=len(items), **extra), ideas.PUBLIC_CACHE_CONTROL)
