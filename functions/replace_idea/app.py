"""PUT /api/ideas/{id} — replace one of the caller's ideas (title required)."""

from typing import Any

from skills_ideas import ideas, models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, json_body, ok, path_param
from skills_ideas.observability import count

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    owner = caller(event)
    fields = ideas.validate_full(json_body(event))
    idea = ideas.update(owner.user_id, path_param(event, "id"), fields)
    count("IdeaUpdated")
    return ok(idea, message="Idea updated successfully")
