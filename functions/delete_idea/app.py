"""DELETE /api/ideas/{id} — delete one of the caller's ideas."""

from typing import Any

from skills_ideas import ideas, models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, ok, path_param
from skills_ideas.observability import count

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    ideas.delete(caller(event).user_id, path_param(event, "id"))
    count("IdeaDeleted")
    return ok(message="Idea deleted successfully")
