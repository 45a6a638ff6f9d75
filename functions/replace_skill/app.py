"""PUT /api/skills/{id} — replace a skill: name, category, proficiency (and description) (admins only)."""

from typing import Any

from skills_ideas import catalogue, catalogue_edits
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, caller, json_body, ok, path_param

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    admin = catalogue_edits.require_admin(caller(event))
    fields = catalogue_edits.validate_full(json_body(event))
    change = catalogue_edits.modify(path_param(event, "id"), fields, replace=True)
    edit = catalogue_edits.apply(STORE, admin, "replace", change)
    return ok(edit.after, message="Skill updated successfully")
