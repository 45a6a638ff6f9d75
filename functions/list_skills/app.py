"""GET /api/skills — every skill; ?proficiency=, ?category=, ?q=, ?sort=name."""

from typing import Any

from skills_ideas import catalogue
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, ok, query

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    skills = catalogue.filter_skills(STORE.current().skills, query(event))
    return ok(skills, count=len(skills))
