"""DELETE /api/me — ``{password}``: delete the caller's account, its sessions and its ideas
(204). An account with more ideas than one request removes answers 202: it is deleted and
refused everywhere, and its remaining ideas are removed by the operators' finish-deletions."""

from typing import Any

from skills_ideas import account, models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, client, json_body, no_content, ok

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    deletion = account.delete_account(caller(event), json_body(event), client(event))
    if deletion.complete:
        return no_content()
    return ok(
        {"ideasDeleted": deletion.ideas_deleted, "complete": False},
        status_code=202,
        message="Account deleted; its remaining ideas are being removed",
    )
