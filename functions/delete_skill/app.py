"""DELETE /api/skills/{id} — remove a skill; its id is never reused (admins only)."""

from typing import Any

from skills_ideas import catalogue, catalogue_edits
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, caller, ok, path_param

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    admin = catalogue_edits.require_admin(caller(event))
    catalogue_edits.apply(STORE, admin, "delete", catalogue_edits.delete(path_param(event, "id")))
    return ok(message="Skill deleted successfully")
