"""The REST API, generated from the route manifest.

Per manifest path: one resource; per route: one method with a Lambda proxy integration on the
function's ``live`` alias (the request authorizer on exactly the protected routes); per path
an ``ANY`` mock answering 405 for the methods the path does not have. Gateway responses keep
the legacy JSON envelope ``{"success": false, "message": ...}`` with CORS headers.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.components.functions import DeployedFunction, log_retention
from infra.components.waf import WebAcl
from infra.config import StageConfig
from infra.nag import acknowledge, managed_policy
from skills_ideas import routes

#: Routes with tighter per-method throttling: the credential endpoints.
AUTH_THROTTLED = (("POST", "/api/login"), ("POST", "/api/register"))
NOT_ALLOWED = {"success": False, "message": "Method not allowed"}

_FIXED = json.dumps
#: Gateway response type -> (status code, JSON expression of the message). "" keeps the
#: type's own status. ``$context.error.messageString`` is API Gateway's already-quoted message.
GATEWAY_RESPONSES: dict[str, tuple[str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", _FIXED("Route not found")),
    "UNAUTHORIZED": ("401", _FIXED("No token, authorization denied")),
    # The authorizer denies with context {"message": "Token is not valid"}.
    "ACCESS_DENIED": ("401", '"$context.authorizer.message"'),
    "THROTTLED": ("429", _FIXED("Too many requests, please try again later")),
    "QUOTA_EXCEEDED": ("429", _FIXED("Too many requests, please try again later")),
    "DEFAULT_4XX": ("", "$context.error.messageString"),
    "DEFAULT_5XX": ("", "$context.error.messageString"),
}


def _envelope(message_expression: str) -> str:
    return '{"success": false, "message": ' + message_expression + "}"


def cors_origin_header(origins: tuple[str, ...]) -> str:
    """Access-Control-Allow-Origin for responses API Gateway writes itself (errors, 405)."""
    (origin,) = origins
    return f"'{origin}'"


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._origin = cors_origin_header(config.cors_origins)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/apigateway/{config.prefix}-access",
            retention=log_retention(config.log_retention_days),
            removal_policy=removal,
        )
        auth_throttle = apigw.MethodDeploymentOptions(
            throttling_rate_limit=config.auth_throttle.rate_limit,
            throttling_burst_limit=config.auth_throttle.burst_limit,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{config.prefix}-api",
            description="Skills & Ideas API (generated from skills_ideas.routes)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
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
                method_options={f"{path}/{method}": auth_throttle for method, path in AUTH_THROTTLED},
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
        for response_type, (status, message) in GATEWAY_RESPONSES.items():
            self.rest_api.add_gateway_response(
                response_type.title().replace("_", ""),
                type=apigw.ResponseType.of(response_type),
                status_code=status or None,
                response_headers={"Access-Control-Allow-Origin": self._origin},
                templates={"application/json": _envelope(message)},
            )
        self.rest_api.add_usage_plan(
            "UsagePlan",
            name=f"{config.prefix}-default",
            throttle=apigw.ThrottleSettings(
                rate_limit=config.stage_throttle.rate_limit, burst_limit=config.stage_throttle.burst_limit
            ),
            quota=apigw.QuotaSettings(limit=config.usage_plan_daily_quota, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.stage)],
        )
        self.web_acl = WebAcl(self, "Waf", config=config, scope_name="REGIONAL")
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
                managed_policy("service-role/AmazonAPIGatewayPushToCloudWatchLogs"): "The API "
                "Gateway account role needs it to write access and execution logs (AWS's documented "
                "policy for that role).",
            },
        )

    def add_routes(self, functions: dict[str, DeployedFunction]) -> None:
        config = self._config
        authorizer = apigw.RequestAuthorizer(
            self,
            "Authorizer",
            authorizer_name=f"{config.prefix}-jwt",
            handler=functions[routes.AUTHORIZER_FUNCTION].alias,
            identity_sources=[apigw.IdentitySource.header("Authorization")],
            results_cache_ttl=Duration.seconds(config.authorizer_cache_ttl_seconds),
        )
        for route in routes.ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            resource.add_method(
                route.method,
                apigw.LambdaIntegration(functions[route.function].alias),
                operation_name=route.function,
                authorizer=authorizer if route.protected else None,
                authorization_type=apigw.AuthorizationType.CUSTOM if route.protected else apigw.AuthorizationType.NONE,
            )
        for path in routes.paths():
            self._method_not_allowed(self.rest_api.root.resource_for_path(path))

    def _method_not_allowed(self, resource: apigw.IResource) -> None:
        origin_header = "method.response.header.Access-Control-Allow-Origin"
        resource.add_method(
            "ANY",
            apigw.MockIntegration(
                request_templates={"application/json": '{"statusCode": 405}'},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="405",
                        response_templates={"application/json": json.dumps(NOT_ALLOWED)},
                        response_parameters={origin_header: self._origin},
                    )
                ],
            ),
            method_responses=[apigw.MethodResponse(status_code="405", response_parameters={origin_header: True})],
            authorization_type=apigw.AuthorizationType.NONE,
        )
