"""PATCH /api/ideas/{id} — change some fields of one of the caller's ideas."""

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
    changes = ideas.validate_patch(json_body(event))
    idea = ideas.update(owner.user_id, path_param(event, "id"), changes)
    count("IdeaUpdated")
    return ok(idea, message="Idea updated successfully")
