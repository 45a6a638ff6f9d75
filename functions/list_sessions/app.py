"""GET /api/me/sessions — the caller's live sessions, newest first, the current one marked."""

from typing import Any

from skills_ideas import account, models
from skills_ideas.config import RegionConfig, TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, ok

TABLE = TableConfig.from_env()
REGIONS = RegionConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    found = account.list_sessions(caller(event), uses_apart=REGIONS.multi_region)
    return ok(found, count=len(found))
