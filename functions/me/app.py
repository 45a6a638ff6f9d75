"""GET /api/me — the caller's own profile."""

from typing import Any

from skills_ideas import models, users
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, ok

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    return ok(users.get(caller(event).user_id).profile())
