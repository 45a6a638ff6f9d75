"""POST /api/token/refresh — a refresh token, used once, for a new JWT of the same session and
a new refresh token (docs/accounts.md#refresh-tokens).

Public: the refresh token is the credential. A token rotated already ends its whole session
(401); one of an ended or expired session, or not one of ours, is a 401 too. No password
hashing here, so this handler does not import it."""

from typing import Any

from skills_ideas import models, refresh_tokens, tokens
from skills_ideas.config import AuthConfig, RegionConfig, TableConfig
from skills_ideas.http import Event, Response, api_handler, client, json_body, ok
from skills_ideas.observability import count

TABLE = TableConfig.from_env()
AUTH = AuthConfig.from_env()
#: Multi-region mode: the last use goes to its own item, never to the session (``sessions``).
USES_APART = RegionConfig.from_env().multi_region


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    presented = refresh_tokens.presented(json_body(event))
    refreshed = refresh_tokens.refresh(presented, client(event), uses_apart=USES_APART)
    access = refreshed.access
    # No access token outlives its session: near the end of the refresh lifetime it is shorter.
    lifetime = min(AUTH.ttl_seconds, refreshed.seconds_left)
    token = tokens.issue(
        AUTH,
        user_id=access.user_id,
        username=access.username,
        role=access.role,
        session_id=access.session_id,
        now=refreshed.now,
        ttl_seconds=lifetime,
    )
    count("TokenRefreshed")
    return ok(
        message="Token refreshed",
        token=token,
        expiresIn=lifetime,
        sessionId=access.session_id,
        refreshToken=refreshed.refresh_token,
        refreshExpiresIn=refreshed.seconds_left,
    )
