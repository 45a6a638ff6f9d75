"""The skills service in the stack: admin write functions hold exactly the catalogue write and
the invalidation they need, the public reads stay read-only, and the edge serves what the
writes publish and invalidate."""

from __future__ import annotations

from skills_ideas import routes
from skills_ideas.catalogue_edits import API_PATHS
from tests.infra.helpers import functions_by_name, methods, ref, refs_in, role_actions

BASELINE = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
WRITERS = ("create_skill", "replace_skill", "update_skill", "delete_skill")
READERS = ("list_skills", "get_skill", "list_skills_by_category", "list_skill_categories")


def _statements_of(stack, function: str) -> list[dict]:
    role = ref(stack.props(functions_by_name(stack)[function])["Role"])
    found = []
    for policy in stack.of_type("AWS::IAM::Policy").values():
        if any(ref(r) == role for r in policy["Properties"].get("Roles", [])):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def _actions(statement: dict) -> list[str]:
    listed = statement["Action"]
    return [listed] if isinstance(listed, str) else listed


def _distribution(stack) -> str:
    return next(iter(stack.of_type("AWS::CloudFront::Distribution")))


def test_manifest_declares_the_admin_routes_with_write_and_invalidate():
    by_function = {route.function: route for route in routes.ROUTES}
    for name in WRITERS:
        assert by_function[name].access == "admin"
        assert set(by_function[name].uses) == {"catalogue:read", "catalogue:write", "cdn:invalidate", "events:publish"}
    for name in READERS:
        assert by_function[name].access == "public" and by_function[name].uses == ("catalogue:read",)


def test_write_functions_hold_exactly_the_catalogue_write_and_the_invalidation(stack):
    actions = role_actions(stack)
    for name in WRITERS:
        assert actions[name] == BASELINE | {
            "s3:GetObject",
            "s3:ListBucket",
            "s3:PutObject",
            "cloudfront:CreateInvalidation",
            "events:PutEvents",  # SkillCatalogueChanged
        }, name


def test_writes_are_scoped_to_the_catalogue_object_and_the_distribution(stack):
    distribution = _distribution(stack)
    for name in WRITERS:
        for statement in _statements_of(stack, name):
            if "s3:PutObject" in _actions(statement):
                # (IAM policies are minimized: the read of the same object shares the statement)
                assert set(_actions(statement)) <= {"s3:GetObject", "s3:PutObject"}, name
                resources = statement["Resource"]
                resources = resources if isinstance(resources, list) else [resources]
                assert len(resources) == 1, name
                assert resources[0]["Fn::Join"][1][-1] == f"/{stack.config.catalogue_key}", name
            if "cloudfront:CreateInvalidation" in _actions(statement):
                assert _actions(statement) == ["cloudfront:CreateInvalidation"], name
                referenced = {r for r in refs_in(statement["Resource"]) if not r.startswith("AWS::")}
                assert referenced == {distribution}, name


def test_write_functions_know_the_distribution_to_invalidate(stack):
    distribution = _distribution(stack)
    for name in WRITERS:
        env = stack.props(functions_by_name(stack)[name])["Environment"]["Variables"]
        assert ref(env["CDN_DISTRIBUTION_ID"]) == distribution, name
        assert env["CATALOGUE_KEY"] == stack.config.catalogue_key


def test_public_skill_reads_stay_read_only(stack):
    actions = role_actions(stack)
    for name in READERS:
        # ListBucket turns a missing catalogue object into a 404 instead of a 403.
        assert actions[name] == BASELINE | {"s3:GetObject", "s3:ListBucket"}, name
        env = stack.props(functions_by_name(stack)[name])["Environment"]["Variables"]
        assert "CDN_DISTRIBUTION_ID" not in env, name


def test_admin_routes_are_behind_the_authorizer_and_categories_is_public(stack):
    found = {(method, path): props for method, path, props in methods(stack)}
    for method, path in (
        ("POST", "/api/skills"),
        ("PUT", "/api/skills/{id}"),
        ("PATCH", "/api/skills/{id}"),
        ("DELETE", "/api/skills/{id}"),
    ):
        assert found[(method, path)]["AuthorizationType"] == "CUSTOM", (method, path)
    assert found[("GET", "/api/skills/categories")]["AuthorizationType"] == "NONE"


def _behaviours(stack) -> dict[str, dict]:
    config = stack.props(_distribution(stack))["DistributionConfig"]
    # CloudFront accepts a path pattern with or without its leading slash.
    return {"/" + b["PathPattern"].lstrip("/"): b for b in config.get("CacheBehaviors", [])}


def test_the_edge_serves_the_catalogue_object_the_writes_publish(stack):
    # The writes put the catalogue object itself (the static JSON file) and invalidate
    # /<catalogue_key>: CloudFront must serve that key from the bucket.
    behaviours = _behaviours(stack)
    folder = stack.config.catalogue_key.split("/", 1)[0]
    assert f"/{folder}/*" in behaviours
    assert behaviours[f"/{folder}/*"]["AllowedMethods"] == ["GET", "HEAD"]


def test_the_invalidated_api_paths_are_the_cached_ones(stack):
    behaviours = _behaviours(stack)
    for path in API_PATHS:
        cached = behaviours[path]
        assert cached["CachedMethods"] == ["GET", "HEAD"]  # writes pass through, never cached
        assert "POST" in cached["AllowedMethods"] and "DELETE" in cached["AllowedMethods"]


def test_the_stack_outputs_the_table_the_admin_command_reads(stack):
    from skills_ideas.deployment import OUTPUT_TABLE, STACK_NAME

    assert OUTPUT_TABLE in stack.json["Outputs"]
    assert STACK_NAME.format(stage=stack.config.stage) == stack.config.stack_name
