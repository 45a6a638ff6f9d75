"""GET /api/me/sessions — the caller's live sessions, newest first, the current one marked."""

from typing import Any

from skills_ideas import account, models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, ok

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    found = account.list_sessions(caller(event))
    return ok(found, count=len(found))
