"""The REST API is the route manifest: nothing more, nothing less, guarded where it says; every
answer API Gateway writes itself is the JSON envelope."""

from __future__ import annotations

import json
from dataclasses import replace

from infra.components.api import allowed_methods
from skills_ideas import routes
from tests.infra.helpers import function_of_alias, methods, ref, refs_in


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
    for path, props in mocks.items():
        integration = props["Integration"]
        assert integration["Type"] == "MOCK"
        (response,) = integration["IntegrationResponses"]
        assert response["StatusCode"] == "405"
        body = json.loads(response["ResponseTemplates"]["application/json"])
        assert body == {"success": False, "message": "Method not allowed"}
        headers = response["ResponseParameters"]
        # As the local gateway answers (and the contract suite checks): what the path does allow.
        allow = headers["method.response.header.Allow"].strip("'").split(", ")
        assert allow == allowed_methods(path) and "OPTIONS" in allow, path
        assert {r.method for r in routes.ROUTES if r.path == path} <= set(allow), path
        assert headers["method.response.header.X-Content-Type-Options"] == "'nosniff'"


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
        "WAF_FILTERED": ("403", "Forbidden"),
        "REQUEST_TOO_LARGE": ("413", "Request body too large"),
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


def test_an_authorizer_that_cannot_reach_the_table_is_a_503_to_retry_not_a_500(stack):
    # The authorizer denies bad tokens and raises only when the table does not answer; API
    # Gateway then answers AUTHORIZER_FAILURE, which must be the handlers' 503 with Retry-After.
    failure = _gateway_responses(stack)["AUTHORIZER_FAILURE"]
    assert failure["StatusCode"] == "503"
    assert failure["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'2'"
    assert json.loads(failure["ResponseTemplates"]["application/json"]) == {
        "success": False,
        "message": "The service is busy or a dependency is not answering; retry in a few seconds",
    }


def test_every_answer_api_gateway_writes_itself_is_the_json_envelope(stack):
    # The catch-alls cover every response type not listed (bad request body, authorizer
    # failure, integration failure, expired token, ...): nothing falls back to API Gateway's
    # own {"message": ...} body.
    responses = _gateway_responses(stack)
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for response_type, props in responses.items():
        (template,) = props["ResponseTemplates"].items()
        assert template[0] == "application/json", response_type
        # As API Gateway fills them in: messageString is a quoted JSON string, the authorizer's
        # message a bare string inside the template's own quotes.
        rendered = json.loads(
            template[1]
            .replace("$context.error.messageString", '"Missing required request parameters"')
            .replace("$context.authorizer.message", "Token is not valid")
        )
        assert set(rendered) == {"success", "message"} and rendered["success"] is False, response_type
        assert isinstance(rendered["message"], str) and rendered["message"], response_type
        assert props["ResponseParameters"]["gatewayresponse.header.X-Content-Type-Options"] == "'nosniff'", (
            response_type
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


def test_the_stage_throttle_is_a_ceiling_and_no_method_throttle_is_shared_by_every_client(stack):
    # A method throttle on login or register would let one client use up everybody's logins:
    # the per-client limits are the edge web ACL's (test_waf.py).
    (stage,) = stack.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    settings = {(s["HttpMethod"], s["ResourcePath"]): s for s in props["MethodSettings"]}
    assert set(settings) == {("*", "/*")}
    default = settings[("*", "/*")]
    assert default["ThrottlingRateLimit"] == stack.config.stage_throttle.rate_limit
    assert default["ThrottlingRateLimit"] * 300 > stack.config.client_limits.requests  # far above one client
    assert default["LoggingLevel"] == "ERROR"
    assert props["TracingEnabled"] is True
    # Access logs are one JSON object per request.
    access_log = json.loads(props["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "httpMethod", "resourcePath", "ip"} <= set(access_log)


def test_no_usage_plan_without_a_method_that_requires_an_api_key(stack):
    # A usage plan throttles and counts only requests that present an API key; the legacy
    # clients present none, so a plan would be configuration that does nothing.
    keyed = [(m, p) for m, p, props in methods(stack) if props.get("ApiKeyRequired")]
    assert not keyed
    assert not stack.of_type("AWS::ApiGateway::UsagePlan")
    assert not stack.of_type("AWS::ApiGateway::ApiKey")


def test_the_stage_logs_into_groups_that_belong_to_the_stack(stack):
    (stage_id, stage) = next(iter(stack.of_type("AWS::ApiGateway::Stage").items()))
    groups = stack.of_type("AWS::Logs::LogGroup")
    access = stage["Properties"]["AccessLogSetting"]["DestinationArn"]
    assert refs_in(access) & set(groups)
    # The execution log group API Gateway would create on its own (and leave behind).
    (execution,) = [
        lid
        for lid, group in groups.items()
        if "API-Gateway-Execution-Logs_" in json.dumps(group["Properties"].get("LogGroupName", ""))
    ]
    name = groups[execution]["Properties"]["LogGroupName"]
    assert ref(name["Fn::Join"][1][1]) == next(iter(stack.of_type("AWS::ApiGateway::RestApi")))
    assert name["Fn::Join"][1][2] == f"/{stack.config.stage}"
    # created before the stage can write to it
    assert execution in stage.get("DependsOn", []), stage_id


def test_the_account_wide_logging_role_is_set_by_the_account_stack_only(stack):
    # Two stage stacks setting the account's API Gateway role fight each other.
    assert not stack.of_type("AWS::ApiGateway::Account")
    accounts = [r for r in stack.account["Resources"].values() if r["Type"] == "AWS::ApiGateway::Account"]
    (account,) = accounts
    role = stack.account["Resources"][ref(account["Properties"]["CloudWatchRoleArn"])]
    assert role["Type"] == "AWS::IAM::Role"
    assert "apigateway.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])


def test_an_authorizer_change_redeploys_the_api(dev, variant):
    # Given the dev stage, and the same stage with another authorizer cache TTL
    changed = variant(
        "authorizer-ttl",
        "dev",
        config=replace(dev.config, authorizer_cache_ttl_seconds=dev.config.authorizer_cache_ttl_seconds + 1),
    )
    # Then the authorizer differs...
    (before,) = dev.of_type("AWS::ApiGateway::Authorizer").values()
    (after,) = changed.of_type("AWS::ApiGateway::Authorizer").values()
    assert before["Properties"]["AuthorizerResultTtlInSeconds"] != after["Properties"]["AuthorizerResultTtlInSeconds"]
    # ...and so does the deployment: a new one is created and the stage points at it, so the
    # new TTL reaches the live stage (an unchanged deployment id would leave the old one live).
    (before_deployment,) = dev.of_type("AWS::ApiGateway::Deployment")
    (after_deployment,) = changed.of_type("AWS::ApiGateway::Deployment")
    assert before_deployment != after_deployment
    (stage,) = changed.of_type("AWS::ApiGateway::Stage").values()
    assert ref(stage["Properties"]["DeploymentId"]) == after_deployment
