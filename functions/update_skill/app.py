"""PATCH /api/skills/{id} — change some fields of a skill (admins only)."""

from typing import Any

from skills_ideas import catalogue, catalogue_edits
from skills_ideas.config import CatalogueConfig
from skills_ideas.http import Event, Response, api_handler, caller, json_body, ok, path_param

STORE = catalogue.CatalogueStore(CatalogueConfig.from_env())


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    admin = catalogue_edits.require_admin(caller(event))
    changes = catalogue_edits.validate_patch(json_body(event))
    change = catalogue_edits.modify(path_param(event, "id"), changes, replace=False)
    edit = catalogue_edits.apply(STORE, admin, "update", change)
    return ok(edit.after, message="Skill updated successfully")
