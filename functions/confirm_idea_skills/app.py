"""PUT /api/ideas/{id}/skills — the owner confirms the idea's skills: {"skillIds": [...]}."""

from typing import Any

from skills_ideas import catalogue, models, recommendations
from skills_ideas.config import CatalogueConfig, TableConfig
from skills_ideas.http import Event, Response, api_handler, caller, json_body, ok, path_param

TABLE = TableConfig.from_env()
STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    owner = caller(event)
    current = STORE.current()
    skill_ids = recommendations.parse_confirmation(json_body(event), current)
    skills = recommendations.confirm(owner.user_id, path_param(event, "id"), skill_ids, current)
    return ok(skills, count=len(skills), message="Skills confirmed")
