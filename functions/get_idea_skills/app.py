"""GET /api/ideas/{id}/skills — the catalogue skills the idea most likely needs, best first,
each with its score and the words that matched; confirmed ones marked. 404 when no idea.
Reads what the recommendations consumer stored; ``pending`` until it has (nothing is ranked here)."""

from typing import Any

from skills_ideas import catalogue, models, recommendations
from skills_ideas.config import CatalogueConfig, TableConfig
from skills_ideas.http import Event, Response, api_handler, ok, path_param

TABLE = TableConfig.from_env()
STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    models.bind(TABLE)
    skills, pending = recommendations.suggestions(path_param(event, "id"), STORE.current())
    return ok(skills, count=len(skills), pending=pending)
