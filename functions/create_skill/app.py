"""POST /api/skills — add a skill to the catalogue (admins only; 201 with the new id)."""

from typing import Any

from skills_ideas import catalogue, catalogue_edits
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, caller, json_body, ok

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    admin = catalogue_edits.require_admin(caller(event))
    fields = catalogue_edits.validate_full(json_body(event))
    edit = catalogue_edits.apply(STORE, admin, "create", catalogue_edits.create(fields))
    return ok(edit.after, status_code=201, message="Skill created successfully")
