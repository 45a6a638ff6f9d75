"""POST /api/register — create an account (201), 409 when the name is taken."""

from typing import Any

from skills_ideas import models, users
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, json_body, ok
from skills_ideas.observability import count

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    username, password = users.credentials(json_body(event))
    user = users.register(username, password)
    count("UserRegistered")
    return ok(user.public(), status_code=201, message="User registered successfully")
