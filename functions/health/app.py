"""GET /api/health — service status, and whether the table answers."""

from typing import Any

from skills_ideas import models
from skills_ideas.config import TableConfig
from skills_ideas.http import Event, Response, api_handler, ok, respond
from skills_ideas.observability import logger

TABLE = TableConfig.from_env()


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    try:
        # A GetItem of a key that never exists: proves the table answers, using the same
        # permission as every read (no DescribeTable, whose rate limit is low).
        models.UserModel.get("HEALTH#probe", "PROFILE")
    except models.UserModel.DoesNotExist:
        pass
    except Exception as error:  # any failure to reach the table is the answer
        logger.warning("health check: table unreachable", extra={"error": type(error).__name__})
        return respond(
            503,
            {"success": False, "message": "Service degraded", "status": "degraded", "checks": {"table": "unreachable"}},
        )
    return ok(status="ok", checks={"table": "ok"})
