"""POST /api/logout — end the caller's session (204). Its token is refused from then on."""

from typing import Any

from skills_ideas import account, models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, json_body, no_content

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    json_body(event)  # none is needed, but a POST body that is not JSON is refused like anywhere else
    account.log_out(caller(event))
    return no_content()
