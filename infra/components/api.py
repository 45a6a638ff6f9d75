"""The REST API, generated from the route manifest.

Per manifest path: one resource; per route: one method with a Lambda proxy integration on the
function's ``live`` alias (the request authorizer on exactly the protected routes); per path
an ``ANY`` mock answering 405 (with ``Allow``) for the methods the path does not have. Every
answer API Gateway writes itself (gateway responses: unknown route, missing or bad token,
throttled, WAF-blocked, too large, timeouts, any other 4xx/5xx) keeps the legacy JSON envelope
``{"success": false, "message": ...}`` with CORS and ``X-Content-Type-Options: nosniff``.

The stage's web ACL (``waf.FrontDoorWebAcl``) admits only requests that came through
CloudFront; the per-client limits live at the edge (``waf.EdgeWebAcl``). The stage throttle
is only a ceiling that protects the table from a flood.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, Fn
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.components.functions import DeployedFunction
from infra.components.lifecycle import log_retention, removal_policy
from infra.components.waf import FrontDoorWebAcl
from infra.config import StageConfig
from infra.nag import acknowledge
from skills_ideas import routes
from skills_ideas.faults import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE

NOT_ALLOWED = {"success": False, "message": "Method not allowed"}
TOO_MANY_REQUESTS = "Too many requests, please try again later"

_FIXED = json.dumps
#: Gateway response type -> (status code, JSON expression of the message). "" keeps the
#: type's own status. ``$context.error.messageString`` is API Gateway's already-quoted message.
GATEWAY_RESPONSES: dict[str, tuple[str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", _FIXED("Route not found")),
    "UNAUTHORIZED": ("401", _FIXED("No token, authorization denied")),
    # The authorizer denies with context {"message": "Token is not valid"}.
    "ACCESS_DENIED": ("401", '"$context.authorizer.message"'),
    "THROTTLED": ("429", _FIXED(TOO_MANY_REQUESTS)),
    "WAF_FILTERED": ("403", _FIXED("Forbidden")),
    "REQUEST_TOO_LARGE": ("413", _FIXED("Request body too large")),
    "INTEGRATION_TIMEOUT": ("504", _FIXED("The request took too long, please try again")),
    # The authorizer raises only when the table does not answer (a bad token is a Deny): a
    # 503 the client retries, as the handlers answer, not the type's default 500.
    "AUTHORIZER_FAILURE": ("503", _FIXED(UNAVAILABLE_MESSAGE)),
    "DEFAULT_4XX": ("", "$context.error.messageString"),
    "DEFAULT_5XX": ("", "$context.error.messageString"),
}
#: Headers on every answer API Gateway writes itself (the value is a mapping expression).
NOSNIFF = "'nosniff'"
#: Further headers of some gateway responses.
GATEWAY_RESPONSE_HEADERS: dict[str, dict[str, str]] = {
    "AUTHORIZER_FAILURE": {"Retry-After": f"'{RETRY_AFTER_SECONDS}'"},
}


def _envelope(message_expression: str) -> str:
    return '{"success": false, "message": ' + message_expression + "}"


def allowed_methods(path: str) -> list[str]:
    """The methods a manifest path answers (and OPTIONS, the CORS preflight)."""
    return sorted({route.method for route in routes.ROUTES if route.path == path} | {"OPTIONS"})


def cors_origin_header(origins: tuple[str, ...]) -> str:
    """Access-Control-Allow-Origin for responses API Gateway writes itself (errors, 405)."""
    (origin,) = origins
    return f"'{origin}'"


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        origin_verify_token: str,
        health_check_path: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._origin = cors_origin_header(config.cors_origins)
        removal = removal_policy(config)

        # No fixed name: see infra/components/lifecycle.py.
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=log_retention(config.log_retention_days),
            removal_policy=removal,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{config.prefix}-api",
            description="Skills & Ideas API (generated from skills_ideas.routes)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The account-wide logging role belongs to the account settings stack
            # (infra/components/account.py), not to each stage.
            cloud_watch_role=False,
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(config.cors_origins),
                allow_methods=apigw.Cors.ALL_METHODS,
                allow_headers=["Content-Type", "Authorization"],
                max_age=Duration.hours(1),
            ),
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                throttling_rate_limit=config.stage_throttle.rate_limit,
                throttling_burst_limit=config.stage_throttle.burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        self.stage = self.rest_api.deployment_stage
        # Execution logs (level ERROR) go to a group API Gateway names itself; created here, it
        # belongs to the stack (retention, removal) instead of outliving it. Its name holds the
        # API's id, so it is unique to this stack.
        execution_logs = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=Fn.join("", ["API-Gateway-Execution-Logs_", self.rest_api.rest_api_id, f"/{config.stage}"]),
            retention=log_retention(config.log_retention_days),
            removal_policy=removal,
        )
        self.stage.node.add_dependency(execution_logs)
        for response_type, (status, message) in GATEWAY_RESPONSES.items():
            self.rest_api.add_gateway_response(
                response_type.title().replace("_", ""),
                type=apigw.ResponseType.of(response_type),
                status_code=status or None,
                response_headers={
                    "Access-Control-Allow-Origin": self._origin,
                    "X-Content-Type-Options": NOSNIFF,
                    **GATEWAY_RESPONSE_HEADERS.get(response_type, {}),
                },
                templates={"application/json": _envelope(message)},
            )
        # No usage plan: it acts only on methods that require an API key, and the legacy
        # clients send none. Per-client limits are the edge web ACL's rate rules.
        self.web_acl = FrontDoorWebAcl(
            self, "Waf", config=config, token=origin_verify_token, health_check_path=health_check_path
        )
        wafv2.CfnWebACLAssociation(
            self, "WafAssociation", resource_arn=self.stage.stage_arn, web_acl_arn=self.web_acl.acl.attr_arn
        )
        acknowledge(
            self.rest_api,
            {
                "APIG2": "Bodies are validated by the handlers so the local gateway and the cloud "
                "answer alike, with the legacy messages.",
                "APIG4": "Public routes are public by design (route manifest access=public); "
                "protected routes use the request authorizer.",
                "COG4": "Users are the API's own (username/password, JWT), not a Cognito user pool.",
            },
        )

    def add_routes(self, functions: dict[str, DeployedFunction]) -> None:
        config = self._config
        authorizer = apigw.RequestAuthorizer(
            self,
            "Authorizer",
            authorizer_name=f"{config.prefix}-jwt",
            handler=self._invoked_from_here("AuthorizerHandler", functions[routes.AUTHORIZER_FUNCTION]),
            identity_sources=[apigw.IdentitySource.header("Authorization")],
            results_cache_ttl=Duration.seconds(config.authorizer_cache_ttl_seconds),
        )
        for route in routes.ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            resource.add_method(
                route.method,
                apigw.LambdaIntegration(functions[route.function].alias, allow_test_invoke=False),
                operation_name=route.function,
                authorizer=authorizer if route.protected else None,
                authorization_type=apigw.AuthorizationType.CUSTOM if route.protected else apigw.AuthorizationType.NONE,
            )
        for path in routes.paths():
            self._method_not_allowed(self.rest_api.root.resource_for_path(path), path)

    def _invoked_from_here(self, construct_id: str, function: DeployedFunction) -> lambda_.IFunction:
        """The function's ``live`` alias as this stack sees it. A construct that grants API Gateway
        the right to invoke a handler puts the permission beside the handler; the functions live in
        a nested stack, and a permission there naming this API's authorizer would make each stack
        wait for the other. Through this reference the permission stays here, with the API."""
        return lambda_.Function.from_function_attributes(
            self, construct_id, function_arn=function.alias.function_arn, same_environment=True
        )

    def _method_not_allowed(self, resource: apigw.IResource, path: str) -> None:
        headers = {
            "Access-Control-Allow-Origin": self._origin,
            "X-Content-Type-Options": NOSNIFF,
            # What the path does have, as the local gateway and RFC 9110 answer a 405.
            "Allow": f"'{', '.join(allowed_methods(path))}'",
        }
        resource.add_method(
            "ANY",
            apigw.MockIntegration(
                request_templates={"application/json": '{"statusCode": 405}'},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="405",
                        response_templates={"application/json": json.dumps(NOT_ALLOWED)},
                        response_parameters={
                            f"method.response.header.{name}": value for name, value in headers.items()
                        },
                    )
                ],
            ),
            method_responses=[
                apigw.MethodResponse(
                    status_code="405",
                    response_parameters={f"method.response.header.{name}": True for name in headers},
                )
            ],
            authorization_type=apigw.AuthorizationType.NONE,
        )
