"""POST /api/login — exchange username and password for a JWT.

An unknown user and a wrong password get the same 401 after the same amount of work."""

from typing import Any

from skills_ideas import models, tokens, users
from skills_ideas.config import AuthConfig, TableConfig
from skills_ideas.errors import Unauthorized
from skills_ideas.http import Event, Response, api_handler, json_body, ok
from skills_ideas.observability import count

TABLE = TableConfig.from_env()
AUTH = AuthConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    username, password = users.credentials(json_body(event))
    user = users.authenticate(username, password)
    if user is None:
        count("LoginFailed")
        raise Unauthorized("Invalid credentials")
    token = tokens.issue(AUTH, user_id=user.id, username=user.username, role=user.role)
    count("LoginSucceeded")
    return ok(message="Login successful", token=token, expiresIn=AUTH.ttl_seconds, user=user.public())
