"""One Lambda function per manifest function (plus the authorizer), each with its own role.

Every function: Python 3.12 on ARM64, the shared-code and dependencies layers, its own log
group with retention, JSON logs, active X-Ray tracing, a published version behind a ``live``
alias that CodeDeploy shifts traffic to (canary in prod, all at once in dev) and rolls back
when the alias reports errors. Functions marked latency critical in the stage config keep
provisioned concurrency, scaled by Application Auto Scaling on utilization.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components import permissions
from infra.config import METRICS_NAMESPACE, SERVICE_NAME, StageConfig
from skills_ideas import routes

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "app.lambda_handler"
ALIAS_NAME = "live"
#: Provisioned concurrency utilization Application Auto Scaling keeps each scaled alias at.
PROVISIONED_UTILIZATION_TARGET = 0.7

PLACEHOLDER_HANDLER = '''"""Placeholder generated at synth time: functions/{name}/app.py did not exist yet."""


def lambda_handler(event, context):
    raise NotImplementedError("functions/{name}/app.py is missing from this build")
'''


def function_uses() -> dict[str, tuple[str, ...]]:
    """Each function's grants, from the route manifest (a function may serve several routes)."""
    uses: dict[str, set[str]] = {routes.AUTHORIZER_FUNCTION: set(routes.AUTHORIZER_USES)}
    for route in routes.ROUTES:
        uses.setdefault(route.function, set()).update(route.uses)
    for name, event_uses in routes.EVENT_FUNCTIONS.items():
        uses.setdefault(name, set()).update(event_uses)
    return {name: tuple(sorted(u)) for name, u in uses.items()}


def _descriptions() -> dict[str, str]:
    described = {routes.AUTHORIZER_FUNCTION: "Request authorizer: validates the bearer JWT"}
    for route in routes.ROUTES:
        described.setdefault(route.function, f"{route.signature}: {route.summary}"[:256])
    for name in routes.EVENT_FUNCTIONS:
        described.setdefault(name, f"Domain events: {name} (docs/events.md)")
    return described


@dataclass(frozen=True)
class Paths:
    functions_dir: Path
    common_layer_dir: Path
    dependencies_layer_dir: Path
    #: Where placeholders for not-yet-written handlers are generated (never inside functions/).
    placeholder_dir: Path


@dataclass(frozen=True)
class DeployedFunction:
    function: lambda_.Function
    alias: lambda_.Alias
    role: iam.Role


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        paths: Paths,
        grants: dict[str, permissions.Grant],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._paths = paths
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY

        self.layers = [
            lambda_.LayerVersion(
                self,
                "CommonLayer",
                code=lambda_.Code.from_asset(str(paths.common_layer_dir), exclude=["**/__pycache__"]),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description="skills_ideas: the shared code of every function",
                removal_policy=removal,
            ),
            lambda_.LayerVersion(
                self,
                "DependenciesLayer",
                code=lambda_.Code.from_asset(str(paths.dependencies_layer_dir)),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description="Third-party packages (layers/dependencies/requirements.txt)",
                removal_policy=removal,
            ),
        ]
        deploy_config = (
            codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES
            if config.canary_deploys
            else codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE
        )
        self.application = codedeploy.LambdaApplication(
            self, "Deployments", application_name=f"{config.prefix}-functions"
        )
        # One service role for every deployment group instead of one each.
        self.deploy_role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal("codedeploy.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSCodeDeployRoleForLambdaLimited")
            ],
        )

        descriptions = _descriptions()
        self.by_name: dict[str, DeployedFunction] = {
            name: self._function(name, uses, descriptions[name], grants, deploy_config, removal)
            for name, uses in function_uses().items()
        }

    def _code(self, name: str) -> lambda_.Code:
        source = self._paths.functions_dir / name
        if not (source / "app.py").is_file():
            source = self._paths.placeholder_dir / name
            source.mkdir(parents=True, exist_ok=True)
            (source / "app.py").write_text(PLACEHOLDER_HANDLER.format(name=name))
            Annotations.of(self).add_warning_v2(
                f"skills-ideas:missing-handler-{name}",
                f"functions/{name}/app.py does not exist: deploying a placeholder that fails",
            )
        return lambda_.Code.from_asset(str(source), exclude=["**/__pycache__", "**/*.pyc", "tests"])

    def _function(
        self,
        name: str,
        uses: tuple[str, ...],
        description: str,
        grants: dict[str, permissions.Grant],
        deploy_config: codedeploy.ILambdaDeploymentConfig,
        removal: RemovalPolicy,
    ) -> DeployedFunction:
        config = self._config
        settings = config.function(name)
        construct_id = "".join(part.capitalize() for part in name.split("_"))
        function_name = f"{config.prefix}-{name}"

        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=log_retention(config.log_retention_days),
            removal_policy=removal,
        )
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{function_name}: {', '.join(uses) or 'no data access'}",
        )
        # Instead of AWSLambdaBasicExecutionRole (any log group): only its own.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        environment = {
            "STAGE": config.stage,
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "CORS_ALLOW_ORIGIN": config.cors_origins[0],
        }
        environment.update(permissions.apply(role, uses, grants))

        function = lambda_.Function(
            self,
            construct_id,
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=self._code(name),
            layers=self.layers,
            memory_size=settings.memory_mb,
            timeout=Duration.seconds(settings.timeout_seconds),
            reserved_concurrent_executions=settings.reserved_concurrency,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            environment=environment,
        )
        alias = lambda_.Alias(
            self,
            f"{construct_id}Live",
            alias_name=ALIAS_NAME,
            version=function.current_version,
            provisioned_concurrent_executions=settings.provisioned_min,
        )
        if settings.provisioned_min:
            scaling = alias.add_auto_scaling(
                min_capacity=settings.provisioned_min,
                max_capacity=settings.provisioned_max or settings.provisioned_min,
            )
            scaling.scale_on_utilization(utilization_target=PROVISIONED_UTILIZATION_TARGET)

        rollback_alarm = cloudwatch.Alarm(
            self,
            f"{construct_id}DeployErrors",
            alarm_name=f"{function_name}-deploy-errors",
            alarm_description=f"Errors of {function_name}:{ALIAS_NAME}; rolls a CodeDeploy shift back",
            metric=alias.metric_errors(period=Duration.minutes(1), statistic="Sum"),
            threshold=config.alarms.deploy_rollback_errors,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        codedeploy.LambdaDeploymentGroup(
            self,
            f"{construct_id}Deployment",
            application=self.application,
            alias=alias,
            deployment_config=deploy_config,
            role=self.deploy_role,
            alarms=[rollback_alarm],
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        return DeployedFunction(function=function, alias=alias, role=role)


_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def log_retention(days: int) -> logs.RetentionDays:
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(f"log retention must be one of {sorted(_RETENTION)} days, got {days}") from None
