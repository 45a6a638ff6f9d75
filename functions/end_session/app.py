"""DELETE /api/me/sessions/{id} — end one of the caller's sessions (204); 404 when the caller
has no session of that id (someone else's included)."""

from typing import Any

from skills_ideas import account, models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, no_content, path_param

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    account.end_session(caller(event), path_param(event, "id"))
    return no_content()
