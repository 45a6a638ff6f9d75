"""GET /api/stats — users, ideas, ideas by status and ideas created per day (last 30 days).

One GetItem of the counters the stats consumer keeps (multi-region: one BatchGetItem of every
region's, summed). Cacheable: ETag and a short
Cache-Control on every 200, 304 for a matching If-None-Match."""

from typing import Any

from skills_ideas.config import RegionConfig, TableConfig
from skills_ideas.events import stats
from skills_ideas.http import Event, Response, api_handler, cacheable, ok

TABLE = TableConfig.from_env()
REGIONS = RegionConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    return cacheable(event, ok(stats.totals(TABLE, regions=REGIONS)), stats.CACHE_CONTROL)
