"""GET /api/me — the caller's own profile, with their ideas counted by status (``stats``)."""

from typing import Any

from skills_ideas import models, users
from skills_ideas.config import RegionConfig, TableConfig
from skills_ideas.events import stats
from skills_ideas.http import Event, Response, api_handler, caller, ok

TABLE = TableConfig.from_env()
REGIONS = RegionConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    who = caller(event).user_id
    return ok({**users.get(who).profile(), "stats": stats.user_counts(who, TABLE, REGIONS)})
