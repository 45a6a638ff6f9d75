"""The stack of one stage, assembled from one construct per concern, and the app around it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_cdk import App, CfnOutput, Environment, NestedStack, Stack, Tags
from aws_cdk.aws_cloudfront import IDistribution
from aws_cdk.aws_dynamodb import ITableV2, TableV2
from constructs import Construct

from infra import layer_build
from infra.components.account import AccountSettingsStack
from infra.components.api import Api
from infra.components.data import DataStore
from infra.components.delivery import ApiOrigin, CatalogueBucket, Distribution
from infra.components.events import EventBackbone, EventBus
from infra.components.functions import Functions, Paths
from infra.components.monitoring import Monitoring
from infra.components.permissions import GrantTargets, grants
from infra.components.secrets import JwtSecret, OriginVerifySecret
from infra.config import (
    ACCOUNT_STACK_NAME,
    REGION_SETTINGS,
    SERVICE_NAME,
    SETTINGS,
    StageConfig,
    deployment_config,
)
from infra.nag import acknowledge, add_checks, managed_policy, nested_reference
from skills_ideas import deployment

if TYPE_CHECKING:
    from infra.regions import RegionStacks

ROOT = layer_build.ROOT
DEFAULT_CATALOGUE = ROOT / "layers" / "common" / "python" / "skills_ideas" / "data" / "skills.json"
CDK_JSON = ROOT / "cdk.json"
#: Outputs only the operators read (the layer's skills_ideas.deployment has the shared ones).
OUTPUT_JWT_SECRET = "JwtSecretArn"
OUTPUT_ALARM_TOPIC = "AlarmTopicArn"
OUTPUT_ORIGIN_VERIFY = "OriginVerifySecretArn"
#: CloudFormation refuses a stack of more than 500 resources. The functions (function, role,
#: policy, version, alias, deployment group, deploy-error alarm, log group: eight each, and the
#: layers and event source mappings) are more than half of a stage, and every endpoint adds
#: eight more: they live in a nested stack, so the stage's own stack keeps the API, data,
#: delivery, events and monitoring, and each side keeps room to grow (tests/infra/test_checks.py).
FUNCTIONS_STACK_DESCRIPTION = (
    "Skills & Ideas API: one function, role, version, live alias and deployment group per endpoint"
)


def cdk_json_context() -> dict[str, Any]:
    """The context of cdk.json (feature flags): the CLI passes it to the app; an app built in
    Python (the tests) must be given it to synthesize what the CLI synthesizes."""
    return dict(json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {}))


def settings_from(app: App, environ: Mapping[str, str] = os.environ) -> dict[str, str | None]:
    """Deployment settings: CDK context first (``-c corsOrigin=...``), then the environment."""
    return {
        key: app.node.try_get_context(key) or environ.get(variable)
        for key, variable in {**SETTINGS, **REGION_SETTINGS}.items()
    }


@dataclass(frozen=True)
class Sources:
    """Where the stack's code and data come from (overridable through CDK context)."""

    paths: Paths
    default_catalogue: Path = DEFAULT_CATALOGUE

    @classmethod
    def from_context(cls, app: App) -> Sources:
        def path(key: str, default: Path) -> Path:
            value = app.node.try_get_context(key)
            return Path(value).resolve() if value else default

        return cls(
            paths=Paths(
                functions_dir=path("functions_dir", ROOT / "functions"),
                common_layer_dir=path("common_layer_dir", ROOT / "layers" / "common"),
                dependencies_layer_dir=path("dependencies_layer_dir", layer_build.DEFAULT_OUT),
                placeholder_dir=path("placeholder_dir", ROOT / ".build" / "placeholder-functions"),
            ),
            default_catalogue=path("default_catalogue", DEFAULT_CATALOGUE),
        )


def add_functions(
    stack: Stack, config: StageConfig, sources: Sources, targets: GrantTargets, *, table_arn_evidence: str | None = None
) -> Functions:
    """Every function of the manifest, in a nested stack of ``stack`` (see FUNCTIONS_STACK_DESCRIPTION).
    ``table_arn_evidence``: how cdk-nag prints the table's ARN there (default: a table of ``stack``)."""
    if table_arn_evidence is None:
        if not isinstance(targets.table, TableV2):
            raise TypeError("an imported table needs table_arn_evidence")
        table_arn_evidence = f"<{nested_reference(targets.table, 'Arn')}>"
    functions_stack = NestedStack(stack, "Functions", description=FUNCTIONS_STACK_DESCRIPTION)
    functions = Functions(
        functions_stack, "Functions", config=config, paths=sources.paths, grants=grants(config, targets)
    )
    acknowledge(
        functions,
        {
            "L1": "Python 3.12 is the project's runtime: the dependencies layer is built for "
            "cp312 and local development and CI run 3.12.",
            "IAM5[Resource::*]": "X-Ray PutTraceSegments/PutTelemetryRecords (and dynamodb:ListStreams, which "
            "the stream's event source mapping needs) support no resource-level permission.",
            f"IAM5[Resource::{table_arn_evidence}/index/*]": "Queries need the "
            "table's own indexes; the wildcard covers only this table's indexes.",
            managed_policy("service-role/AWSCodeDeployRoleForLambdaLimited"): "The CodeDeploy "
            "service role for Lambda deployments; AWS's least-privilege policy for it.",
        },
    )
    return functions


def serve(
    stack: Stack,
    config: StageConfig,
    *,
    api: Api,
    functions: Functions,
    bus: EventBus,
    table: ITableV2,
    distribution: IDistribution | None,
) -> Monitoring:
    """Route the API to the functions, wire the event backbone, and monitor it all."""
    api.add_routes(functions.by_name)
    backbone = EventBackbone(stack, "Events", config=config, bus=bus.bus, table=table, functions=functions.by_name)
    acknowledge(
        backbone,
        {
            "SQS3": "These queues are dead-letter queues (the stream's on-failure destination and "
            "each subscription's redrive target) and need none of their own.",
        },
    )
    monitoring = Monitoring(
        stack,
        "Monitoring",
        config=config,
        rest_api=api.rest_api,
        functions=functions.by_name,
        table=table,
        distribution=distribution,
    )
    backbone.add_alarms(monitoring.topic)
    return monitoring


class SkillsIdeasStack(Stack):
    """A stage in one region (the default): everything in one stack and its functions' nested stack."""

    account_stack: Stack | None = None

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, sources: Sources, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        data = DataStore(self, "Data", config=config)
        secret = JwtSecret(self, "Secrets", config=config)
        origin_verify = OriginVerifySecret(self, "FrontDoor", config=config)
        catalogue = CatalogueBucket(self, "Skills", config=config, default_catalogue=sources.default_catalogue)
        api = Api(self, "Api", config=config, origin_verify_token=origin_verify.header_value)
        bus = EventBus(self, "EventBus", config=config)
        delivery = Distribution(
            self,
            "Delivery",
            config=config,
            catalogue=catalogue,
            api=ApiOrigin.of_rest_api(api.rest_api, config.stage),
            origin_verify_token=origin_verify.header_value,
        )
        functions = add_functions(
            self,
            config,
            sources,
            GrantTargets(
                table=data.table,
                catalogue_bucket=catalogue.bucket,
                jwt_secret=secret.secret,
                cursor_key=secret.cursor_key,
                distribution=delivery.distribution,
                event_bus=bus.bus,
            ),
        )
        monitoring = serve(
            self, config, api=api, functions=functions, bus=bus, table=data.table, distribution=delivery.distribution
        )
        # Output names are shared with the operator commands (skills_ideas.deployment).
        CfnOutput(
            self,
            deployment.OUTPUT_API_URL,
            value=api.rest_api.url,
            description="API Gateway stage URL: answers only requests that came through CloudFront",
        )
        CfnOutput(
            self,
            deployment.OUTPUT_CLOUDFRONT_URL,
            value=f"https://{delivery.distribution.distribution_domain_name}",
            description="CloudFront: the API under /api/*, the catalogue at /catalogue/skills.json",
        )
        CfnOutput(self, deployment.OUTPUT_TABLE, value=data.table.table_name)
        CfnOutput(self, deployment.OUTPUT_BUCKET, value=catalogue.bucket.bucket_name)
        CfnOutput(self, deployment.OUTPUT_CATALOGUE_KEY, value=config.catalogue_key)
        CfnOutput(self, deployment.OUTPUT_DISTRIBUTION, value=delivery.distribution.distribution_id)
        CfnOutput(self, OUTPUT_JWT_SECRET, value=secret.secret.secret_arn, description="The JWT signing key")
        CfnOutput(self, OUTPUT_ALARM_TOPIC, value=monitoring.topic.topic_arn, description="Where every alarm goes")
        CfnOutput(
            self,
            OUTPUT_ORIGIN_VERIFY,
            value=origin_verify.secret.secret_arn,
            description="The token CloudFront sends the API (docs/operations.md: rotating it)",
        )


def build_app(
    stage: str | None = None, *, app: App | None = None, config: StageConfig | None = None
) -> tuple[App, SkillsIdeasStack | RegionStacks]:
    """Build the app for one stage (CDK context ``stage``, default dev), with cdk-nag on: the
    stage's stack and the account settings stack it depends on, or, for a stage in several
    regions (the ``regions`` setting), every stack of ``infra.regions``. ``config`` replaces
    the stage's configuration (tests); otherwise settings come from context or the environment
    and a missing one raises SettingsError."""
    app = app or App()
    if config is None:
        config = deployment_config(stage or app.node.try_get_context("stage") or "dev", settings_from(app))
    sources = Sources.from_context(app)
    layer_build.build(sources.paths.dependencies_layer_dir)
    if config.multi_region:
        from infra.regions import build_regions  # noqa: PLC0415 - it builds on this module

        stacks = build_regions(app, config, sources, os.environ.get("CDK_DEFAULT_ACCOUNT"))
        add_checks(app)
        return app, stacks
    env = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=config.region)
    account = AccountSettingsStack(
        app,
        ACCOUNT_STACK_NAME,
        description="Skills & Ideas API: account-wide settings shared by every stage (API Gateway logging role)",
        env=env,
    )
    stack = SkillsIdeasStack(
        app,
        config.stack_name,
        config=config,
        sources=sources,
        description=f"Skills & Ideas API ({config.stage})",
        env=env,
    )
    stack.add_stack_dependency(account, "API Gateway needs the account's CloudWatch role before a stage can log")
    stack.account_stack = account
    for tagged in (account, stack):
        Tags.of(tagged).add("service", SERVICE_NAME)
    Tags.of(stack).add("stage", config.stage)
    add_checks(app)
    return app, stack
