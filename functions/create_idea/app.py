"""POST /api/ideas — publish a new idea as the caller (201); once per Idempotency-Key."""

from typing import Any

from skills_ideas import ideas, idempotency, models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, json_body, ok
from skills_ideas.observability import count

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    owner = caller(event)
    fields = ideas.validate_full(json_body(event))

    def publish(fields: dict[str, Any]) -> Response:
        idea = ideas.create(owner.user_id, fields)
        count("IdeaCreated")
        return ok(idea, status_code=201, message="Idea created successfully")

    return idempotency.once("create_idea", TABLE, event, context, owner.user_id, fields, publish)
