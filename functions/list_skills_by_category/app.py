"""GET /api/skills/category/{category} — exact, case-insensitive; an empty list, not 404."""

from typing import Any

from skills_ideas import catalogue
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, ok, path_param

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    skills = catalogue.in_category(STORE.current().skills, path_param(event, "category"))
    return ok(skills, count=len(skills))
