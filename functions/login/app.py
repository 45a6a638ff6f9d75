"""POST /api/login — exchange username and password for a JWT naming a new session, and the
session's first refresh token (docs/accounts.md#refresh-tokens).

An unknown user and a wrong password get the same 401 after the same amount of work; too
many failures for the name (from this client, or from anywhere) get 429 with Retry-After."""

from typing import Any

from skills_ideas import account, models, tokens, users
from skills_ideas.config import AuthConfig, TableConfig
from skills_ideas.http import Event, Response, api_handler, client, json_body, ok
from skills_ideas.observability import count

TABLE = TableConfig.from_env()
AUTH = AuthConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    username, password = users.credentials(json_body(event))
    # The session lasts the refresh lifetime; its access tokens the (shorter) token lifetime.
    login = account.log_in(username, password, client(event), ttl_seconds=AUTH.refresh_ttl_seconds)
    user, session = login.user, login.session
    token = tokens.issue(
        AUTH, user_id=user.id, username=user.username, role=user.role, session_id=session.id, now=login.now
    )
    count("LoginSucceeded")
    return ok(
        message="Login successful",
        token=token,
        expiresIn=AUTH.ttl_seconds,
        sessionId=session.id,
        refreshToken=login.refresh_token,
        refreshExpiresIn=session.expires_at - login.now,
        user=user.public(),
    )
