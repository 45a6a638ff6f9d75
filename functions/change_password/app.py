"""PUT /api/me/password — ``{currentPassword, newPassword}``: set a new password and end every
other session of the caller (403 when the current password is wrong; 429 after too many)."""

from typing import Any

from skills_ideas import account, models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, client, json_body, ok

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    ended = account.change_password(caller(event), json_body(event), client(event))
    return ok({"endedSessions": ended}, message="Password changed; your other sessions have ended")
