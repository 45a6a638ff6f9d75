"""Scheduled (``routes.SCHEDULES``): remove what is left of deleted accounts whose ideas were
too many for the deleting request (docs/accounts.md, "Deleting an account").

Their ideas are hidden from every listing from the deleting request on; this removes them,
``account.DELETE_IDEAS_PER_REQUEST`` per step, oldest deletion first, until the function's
remaining time falls under ``RESERVE_SECONDS`` (one step's worth). What a run leaves, the next
run continues; an error is the function's error (its alarm), and the next run retries."""

from typing import Any

from skills_ideas import account, models
from skills_ideas.config import TableConfig
from skills_ideas.observability import count, logger, metrics

TABLE = TableConfig.from_env()
#: Seconds kept back for one more step (1,000 ideas: 40 BatchWriteItems within the time budget).
RESERVE_SECONDS = 20.0


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict, context: Any) -> dict[str, Any]:
    models.bind(TABLE)
    finished = account.finish_pending_deletions(lambda: context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS)
    deleted = sum(f.ideas_deleted for f in finished)
    complete = sum(1 for f in finished if f.complete)
    count("DeletedAccountIdeasRemoved", deleted)
    summary = {"accounts": len(finished), "complete": complete, "ideasDeleted": deleted}
    if finished:
        logger.info("pending deletions worked on", extra=summary)
    return summary
