"""The REST API is the route manifest: nothing more, nothing less, guarded where it says."""

from __future__ import annotations

import json

from skills_ideas import routes
from tests.infra.helpers import function_of_alias, methods, refs_in


def _routed(stack):
    return [(m, p, props) for m, p, props in methods(stack) if m not in ("OPTIONS", "ANY")]


def test_one_method_per_manifest_route_and_nothing_else(stack):
    # Given the synthesized API / When listing its non-CORS, non-405 methods
    found = sorted((method, path) for method, path, _ in _routed(stack))
    # Then they are exactly the manifest's routes
    assert found == sorted((r.method, r.path) for r in routes.ROUTES)


def test_each_method_invokes_its_own_function_through_the_live_alias(stack):
    aliases = function_of_alias(stack)
    expected = {(r.method, r.path): r.function for r in routes.ROUTES}
    for method, path, props in _routed(stack):
        integration = props["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        targets = {aliases[lid] for lid in refs_in(integration["Uri"]) if lid in aliases}
        assert targets == {expected[(method, path)]}, f"{method} {path}"


def test_authorizer_guards_exactly_the_protected_routes(stack):
    authorizers = stack.of_type("AWS::ApiGateway::Authorizer")
    assert len(authorizers) == 1
    ((authorizer_id, authorizer),) = authorizers.items()
    props = authorizer["Properties"]
    assert props["Type"] == "REQUEST"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    assert props["AuthorizerResultTtlInSeconds"] == stack.config.authorizer_cache_ttl_seconds
    assert set(function_of_alias(stack)[lid] for lid in refs_in(props["AuthorizerUri"])) == {routes.AUTHORIZER_FUNCTION}

    guarded = {(m, p) for m, p, props in methods(stack) if props["AuthorizationType"] == "CUSTOM"}
    assert guarded == {(r.method, r.path) for r in routes.ROUTES if r.protected}
    for method, path, props in methods(stack):
        if (method, path) in guarded:
            assert props["AuthorizerId"] == {"Ref": authorizer_id}
        else:
            assert props["AuthorizationType"] == "NONE", f"{method} {path}"


def test_a_known_path_with_another_method_answers_405_in_the_legacy_envelope(stack):
    mocks = {path: props for method, path, props in methods(stack) if method == "ANY"}
    assert set(mocks) == set(routes.paths())
    for props in mocks.values():
        integration = props["Integration"]
        assert integration["Type"] == "MOCK"
        (response,) = integration["IntegrationResponses"]
        assert response["StatusCode"] == "405"
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert body == {"success": False, "message": "Method not allowed"}


def _gateway_responses(stack):
    return {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in stack.of_type("AWS::ApiGateway::GatewayResponse").values()
    }


def test_gateway_responses_keep_the_legacy_messages_and_statuses(stack):
    responses = _gateway_responses(stack)
    fixed = {
        "MISSING_AUTHENTICATION_TOKEN": ("404", "Route not found"),
        "UNAUTHORIZED": ("401", "No token, authorization denied"),
        "THROTTLED": ("429", "Too many requests, please try again later"),
    }
    for response_type, (status, message) in fixed.items():
        props = responses[response_type]
        assert props["StatusCode"] == status
        assert json.loads(props["ResponseTemplates"]["application/json"]) == {
            "success": False,
            "message": message,
        }
    denied = responses["ACCESS_DENIED"]
    assert denied["StatusCode"] == "401"
    assert denied["ResponseTemplates"]["application/json"] == (
        '{"success": false, "message": "$context.authorizer.message"}'
    )


def test_gateway_responses_carry_the_cors_origin(stack):
    (origin,) = stack.config.cors_origins
    for response_type, props in _gateway_responses(stack).items():
        assert props["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == (f"'{origin}'"), (
            response_type
        )


def test_preflight_answers_from_the_configured_origin_on_every_route_path(stack):
    (origin,) = stack.config.cors_origins
    preflight = {path: props for method, path, props in methods(stack) if method == "OPTIONS"}
    assert set(routes.paths()) <= set(preflight)
    for props in preflight.values():
        (response,) = props["Integration"]["IntegrationResponses"]
        assert response["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"] == (f"'{origin}'")


def test_stage_throttles_with_tighter_limits_on_login_and_register(stack):
    (stage,) = stack.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    settings = {(s["HttpMethod"], s["ResourcePath"]): s for s in props["MethodSettings"]}
    default = settings[("*", "/*")]
    assert default["ThrottlingRateLimit"] == stack.config.stage_throttle.rate_limit
    assert default["LoggingLevel"] == "ERROR"
    for path in ("/~1api~1login", "/~1api~1register"):
        tight = settings[("POST", path)]
        assert tight["ThrottlingRateLimit"] == stack.config.auth_throttle.rate_limit
        assert tight["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
        assert tight["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    assert props["TracingEnabled"] is True
    # Access logs are one JSON object per request.
    access_log = json.loads(props["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "httpMethod", "resourcePath", "ip"} <= set(access_log)


def test_usage_plan_applies_to_the_stage(stack):
    (plan,) = stack.of_type("AWS::ApiGateway::UsagePlan").values()
    props = plan["Properties"]
    assert props["Throttle"]["RateLimit"] == stack.config.stage_throttle.rate_limit
    assert props["Quota"] == {"Limit": stack.config.usage_plan_daily_quota, "Period": "DAY"}
    (api_stage,) = props["ApiStages"]
    assert api_stage["Stage"] == {"Ref": next(iter(stack.of_type("AWS::ApiGateway::Stage")))}
