"""One Lambda function per manifest function (plus the authorizer), each with its own role.

Every function: Python 3.12 on ARM64, the shared-code and dependencies layers, its own log
group with retention, JSON logs, active X-Ray tracing, a published version behind a ``live``
alias that CodeDeploy shifts traffic to (canary in prod, all at once in dev) and rolls back
when the alias fails a share of its invocations. A change to either layer publishes a new
version of every function (cdk.json: ``@aws-cdk/aws-lambda:recognizeLayerVersion``), so a
deploy of layer-only changes reaches the ``live`` aliases through CodeDeploy like any other.
Functions marked latency critical in the stage config keep a fixed provisioned concurrency
on their alias (see ``FunctionSettings.provisioned`` for why it is not autoscaled).
"""

from __future__ import annotations

import gzip
import json
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
from infra.components.lifecycle import log_retention, removal_policy
from infra.config import METRICS_NAMESPACE, SERVICE_NAME, StageConfig
from skills_ideas import routes

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "app.lambda_handler"
ALIAS_NAME = "live"
#: The S3 model file of botocore, where PutObject's parameters are listed.
S3_MODEL = Path("botocore", "data", "s3", "2006-03-01", "service-2.json.gz")

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


def layer_ships_conditional_put(dependencies_layer_dir: Path) -> bool:
    """Whether the dependencies layer ships a botocore whose S3 PutObject takes ``IfMatch``
    (the compare-and-swap of the admin catalogue writes). Without it the functions use the
    Lambda runtime's own boto3, which may predate S3's If-Match writes."""
    model = dependencies_layer_dir / "python" / S3_MODEL
    if not model.is_file():
        return False
    with gzip.open(model, "rt", encoding="utf-8") as opened:
        shapes = json.load(opened).get("shapes", {})
    return "IfMatch" in shapes.get("PutObjectRequest", {}).get("members", {})


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
        removal = removal_policy(config)
        if any("catalogue:write" in uses for uses in function_uses().values()) and not layer_ships_conditional_put(
            paths.dependencies_layer_dir
        ):
            Annotations.of(self).add_warning_v2(
                "skills-ideas:runtime-boto3-for-if-match",
                "the dependencies layer ships no botocore: admin catalogue writes rely on the Lambda "
                "runtime's boto3 accepting S3 PutObject IfMatch (docs/operations.md, 'What the "
                "dependencies layer must ship')",
            )

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
            name: self._function(
                name, self._uses(name, uses, grants), descriptions[name], grants, deploy_config, removal
            )
            for name, uses in function_uses().items()
        }

    @staticmethod
    def _uses(name: str, uses: tuple[str, ...], grants: dict[str, permissions.Grant]) -> tuple[str, ...]:
        """The manifest's uses, and a write on the home region's table for the functions that
        claim there when this region is not the home region (the grant exists only then)."""
        if name in permissions.HOME_REGION_WRITERS and permissions.HOME_WRITE in grants:
            return (*uses, permissions.HOME_WRITE)
        return uses

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

        # No fixed name (see infra/components/lifecycle.py): the function's configuration
        # points at it, and the Lambda console's "View logs" opens it.
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
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
        if config.multi_region:
            # Where registration claims usernames (AWS_REGION, set by Lambda, is where it runs),
            # and every region of the stage (the statistics sum one counter item per region).
            environment["HOME_REGION"] = config.region
            environment["REGIONS"] = ",".join(config.regions)
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
            provisioned_concurrent_executions=settings.provisioned,
        )
        rollback_alarm = self._rollback_alarm(construct_id, function_name, alias)
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

    def _rollback_alarm(self, construct_id: str, function_name: str, alias: lambda_.Alias) -> cloudwatch.Alarm:
        """In alarm when the alias fails a share of its invocations, with a minimum number of
        errors, in most of the last few minutes: a real regression, not one cold-start timeout."""
        thresholds = self._config.alarms
        minute = Duration.minutes(1)
        error_rate = cloudwatch.MathExpression(
            expression=f"IF(errors >= {thresholds.deploy_rollback_min_errors}, 100 * errors / invocations, 0)",
            using_metrics={
                "errors": alias.metric_errors(period=minute, statistic="Sum"),
                "invocations": alias.metric_invocations(period=minute, statistic="Sum"),
            },
            label=f"{function_name}:{ALIAS_NAME} error rate (%)",
            period=minute,
        )
        return cloudwatch.Alarm(
            self,
            f"{construct_id}DeployErrors",
            alarm_name=f"{function_name}-deploy-errors",
            alarm_description=f"Error rate of {function_name}:{ALIAS_NAME}; rolls a CodeDeploy shift back",
            metric=error_rate,
            threshold=thresholds.deploy_rollback_error_rate_percent,
            evaluation_periods=thresholds.deploy_rollback_periods,
            datapoints_to_alarm=thresholds.deploy_rollback_datapoints,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
