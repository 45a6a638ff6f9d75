"""A stage in several regions (docs/multi-region.md, "The stack"), from the same configuration
as the single-region stack (``StageConfig.regions``, primary first):

- ``SkillsIdeas-<stage>-catalogue-<region>`` per secondary region: the bucket the catalogue is
  replicated to (deployed first: the primary bucket's replication rules name it);
- ``SkillsIdeas-<stage>-global`` in us-east-1: CloudFront with its web ACL and its alarms, the
  primary catalogue bucket (replicated to each secondary's), the origin-verify token
  (replicated to every secondary);
- ``SkillsIdeas-<stage>-<region>`` per region: the API with its regional web ACL, custom domain,
  latency record and health check, the functions, the event backbone, alarms and dashboard. The
  primary's creates the global table with a replica per secondary and the JWT and cursor keys
  with replicas; a secondary's refers to its replicas by name;
- ``SkillsIdeas-<stage>-failover-alarms`` in us-east-1, deployed after every regional stack: an
  alarm on each region's Route 53 health check (Route 53's metrics exist in us-east-1 only, and
  an alarm lives in its metric's region) and the topic they notify;
- ``SkillsIdeas-account`` (and ``SkillsIdeas-account-<region>`` for each secondary): API
  Gateway's logging role, one per account and region.

Every stack sets ``cross_region_references``: a value of another region's stack reaches a
stack through CDK's SSM-backed references (an export within a region), never as a copied ARN.
Dependencies run one way: catalogue replicas -> global -> primary -> secondaries -> failover alarms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import App, CfnOutput, CrossStackReferences, Environment, ReferenceStrength, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.components.account import AccountSettingsStack
from infra.components.api import Api
from infra.components.data import DataStore
from infra.components.delivery import ApiOrigin, CatalogueBucket, Distribution, replica_bucket
from infra.components.events import EventBus
from infra.components.monitoring import Monitoring, alarm_topic, health_check_alarm
from infra.components.permissions import GrantTargets
from infra.components.routing import HEALTH_CHECK_METRICS_REGION, RegionalOrigin, health_check_path
from infra.components.secrets import JwtSecret, OriginVerifySecret
from infra.config import ACCOUNT_STACK_NAME, SERVICE_NAME, StageConfig
from infra.nag import acknowledge, cross_region_reference, logical_id, managed_policy
from infra.stack import (
    OUTPUT_ALARM_TOPIC,
    OUTPUT_JWT_SECRET,
    OUTPUT_ORIGIN_VERIFY,
    Sources,
    add_functions,
    serve,
)
from skills_ideas import deployment

#: CDK's custom resource providers here (the catalogue seed's, a secondary's replica stream
#: lookup) run with AWS's basic execution role.
HELPER_FINDINGS = {
    managed_policy("service-role/AWSLambdaBasicExecutionRole"): "CDK's custom resource provider (the "
    "catalogue seed, the lookup of a replica's stream) logs with AWS's basic execution role.",
}


def stack_name(stage: str, part: str) -> str:
    """``SkillsIdeas-<stage>-<part>``: global, <region>, catalogue-<region>."""
    return f"{deployment.stack_name(stage)}-{part}"


def account_stack_name(config: StageConfig, region: str) -> str:
    return ACCOUNT_STACK_NAME if region == config.region else f"{ACCOUNT_STACK_NAME}-{region}"


class CatalogueReplicaStack(Stack):
    """A secondary region's copy of the skills catalogue (S3 Cross-Region Replication)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.bucket = replica_bucket(self, "CatalogueReplica", config)
        CfnOutput(self, deployment.OUTPUT_BUCKET, value=self.bucket.bucket_name)


class GlobalStack(Stack):
    """What a stage has once, in us-east-1: the front door and the primary catalogue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        sources: Sources,
        catalogue_replicas: list[s3.IBucket],
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.origin_verify = OriginVerifySecret(self, "FrontDoor", config=config, replica_regions=config.secondaries)
        self.catalogue = CatalogueBucket(
            self,
            "Skills",
            config=config,
            default_catalogue=sources.default_catalogue,
            replicas=catalogue_replicas,
        )
        self.delivery = Distribution(
            self,
            "Delivery",
            config=config,
            catalogue=self.catalogue,
            # The latency-routed name: the regional APIs serve their stage at its root.
            api=ApiOrigin(config.origin_domain, ""),
            origin_verify_token=self.origin_verify.header_value,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            rest_api=None,
            functions={},
            table=None,
            distribution=self.delivery.distribution,
            # The primary regional stack is in this region too and names its own after the stage.
            name_prefix=f"{config.prefix}-edge",
        )
        replication = (
            "S3 replication (CDK's replication role) reads every object version of the catalogue "
            "bucket and writes them into the replica buckets: these buckets' objects only."
        )
        acknowledge(
            self.catalogue,
            {
                f"IAM5[Resource::<{logical_id(self.catalogue.bucket)}.Arn>/*]": replication,
                **{
                    f"IAM5[Resource::{cross_region_reference(replica, self, 'Arn')}/*]": replication
                    for replica in catalogue_replicas
                },
            },
        )
        acknowledge(self, HELPER_FINDINGS)
        distribution = self.delivery.distribution
        CfnOutput(
            self,
            deployment.OUTPUT_CLOUDFRONT_URL,
            value=f"https://{distribution.distribution_domain_name}",
            description="CloudFront: the API under /api/* (nearest healthy region), the catalogue at /catalogue/",
        )
        CfnOutput(self, deployment.OUTPUT_BUCKET, value=self.catalogue.bucket.bucket_name)
        CfnOutput(self, deployment.OUTPUT_CATALOGUE_KEY, value=config.catalogue_key)
        CfnOutput(self, deployment.OUTPUT_DISTRIBUTION, value=distribution.distribution_id)
        CfnOutput(self, OUTPUT_ALARM_TOPIC, value=self.monitoring.topic.topic_arn, description="Edge alarms")
        CfnOutput(
            self,
            OUTPUT_ORIGIN_VERIFY,
            value=self.origin_verify.secret.secret_arn,
            description="The token CloudFront sends every regional API (replicated to each region)",
        )


@dataclass(frozen=True)
class HomeData:
    """What the primary's regional stack creates and the secondaries refer to by name."""

    table: dynamodb.TableV2
    jwt_secret: secretsmanager.ISecret
    cursor_key: secretsmanager.ISecret


class RegionalStack(Stack):
    """A stage's API in one region; ``home`` is None in the primary, which creates the data."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        sources: Sources,
        front: GlobalStack,
        home: HomeData | None,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        region = self.region
        names: dict[str, str | None] = {"jwt_secret_name": None, "cursor_key_name": None, "home_table_arn": None}
        table: dynamodb.ITableV2
        jwt_secret: secretsmanager.ISecret
        cursor_key: secretsmanager.ISecret
        if home is None:
            data = DataStore(self, "Data", config=config, replica_regions=config.secondaries)
            secrets = JwtSecret(self, "Secrets", config=config, replica_regions=config.secondaries)
            self.home = HomeData(data.table, secrets.secret, secrets.cursor_key)
            table, jwt_secret, cursor_key = data.table, secrets.secret, secrets.cursor_key
        else:
            self.home = home
            table = self._replica(config, home.table)
            jwt_secret = secretsmanager.Secret.from_secret_name_v2(self, "JwtKey", home.jwt_secret.secret_name)
            cursor_key = secretsmanager.Secret.from_secret_name_v2(self, "CursorKey", home.cursor_key.secret_name)
            names = {
                "jwt_secret_name": home.jwt_secret.secret_name,
                "cursor_key_name": home.cursor_key.secret_name,
                # Registration claims usernames in the home region (docs/multi-region.md).
                "home_table_arn": self.format_arn(
                    service="dynamodb", region=config.region, resource="table", resource_name=home.table.table_name
                ),
            }
        origin_token = OriginVerifySecret.value_of(front.origin_verify.secret.secret_name)
        api = Api(
            self, "Api", config=config, origin_verify_token=origin_token, health_check_path=health_check_path(config)
        )
        origin = RegionalOrigin(self, "Origin", config=config, rest_api=api.rest_api, region=region)
        bus = EventBus(self, "EventBus", config=config)
        table_evidence = (
            None
            if home is None
            else f"arn:aws:dynamodb:{region}:<AWS::AccountId>:table/"
            + cross_region_reference(home.table, self, in_nested_stack=True)
        )
        functions = add_functions(
            self,
            config,
            sources,
            GrantTargets(
                table=table,
                catalogue_bucket=front.catalogue.bucket,
                jwt_secret=jwt_secret,
                cursor_key=cursor_key,
                distribution=front.delivery.distribution,
                event_bus=bus.bus,
                **names,
            ),
            table_arn_evidence=table_evidence,
        )
        monitoring = serve(self, config, api=api, functions=functions, bus=bus, table=table, distribution=None)
        self.region_alarms = monitoring.add_region_alarms(config, table=table, rest_api=api.rest_api, region=region)
        self.origin = origin
        acknowledge(self, HELPER_FINDINGS)
        CfnOutput(self, deployment.OUTPUT_API_URL, value=api.rest_api.url, description=f"The API in {region}")
        CfnOutput(self, deployment.OUTPUT_TABLE, value=table.table_name)
        if home is None:  # the secondaries hold replicas of it, under the same name
            CfnOutput(self, OUTPUT_JWT_SECRET, value=jwt_secret.secret_arn, description="The JWT signing key")
        CfnOutput(self, OUTPUT_ALARM_TOPIC, value=monitoring.topic.topic_arn, description="Where this region alarms")

    def _replica(self, config: StageConfig, primary: dynamodb.TableV2) -> dynamodb.ITableV2:
        """This region's replica of the global table, by name, with its own stream (whose ARN
        carries a creation time: read from DynamoDB once, when the stack is created or updated)."""
        name = primary.table_name
        arn = self.format_arn(service="dynamodb", resource="table", resource_name=name)
        describe = cr.AwsSdkCall(
            service="DynamoDB",
            action="describeTable",
            parameters={"TableName": name},
            physical_resource_id=cr.PhysicalResourceId.of(f"{config.prefix}-{self.region}-replica-stream"),
            output_paths=["Table.LatestStreamArn"],
        )
        stream = cr.AwsCustomResource(
            self,
            "ReplicaStream",
            on_create=describe,
            on_update=describe,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[arn]),
            install_latest_aws_sdk=False,
        )
        return dynamodb.TableV2.from_table_attributes(
            self,
            "Table",
            table_name=name,
            table_stream_arn=stream.get_response_field("Table.LatestStreamArn"),
            grant_index_permissions=True,
        )


class FailoverAlarmStack(Stack):
    """In us-east-1: the alarm on every region's Route 53 health check and the topic the
    operators subscribe to. The checks are the regional stacks', read through CDK's references
    (an export from the primary, SSM parameters from the others), which also make CloudFormation
    deploy this stack after every regional one."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, regional: dict[str, RegionalStack], **kwargs
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.topic = alarm_topic(self, config, f"{config.prefix}-failover")
        self.alarms = {
            region: health_check_alarm(
                self,
                f"HealthCheck{''.join(part.capitalize() for part in region.split('-'))}",
                config=config,
                region=region,
                health_check_id=stack.origin.health_check.health_check_id,
                topic=self.topic,
            )
            for region, stack in regional.items()
        }
        CfnOutput(self, OUTPUT_ALARM_TOPIC, value=self.topic.topic_arn, description="Where the health checks alarm")


@dataclass
class RegionStacks:
    """Every stack of a stage in several regions."""

    config: StageConfig
    global_stack: GlobalStack
    regional: dict[str, RegionalStack]
    catalogue_replicas: dict[str, CatalogueReplicaStack]
    failover_alarms: FailoverAlarmStack
    accounts: dict[str, Stack] = field(default_factory=dict)

    @property
    def home(self) -> RegionalStack:
        return self.regional[self.config.region]

    def all(self) -> list[Stack]:
        return [
            *self.accounts.values(),
            *self.catalogue_replicas.values(),
            self.global_stack,
            *self.regional.values(),
            self.failover_alarms,
        ]


def build_regions(app: App, config: StageConfig, sources: Sources, account: str | None) -> RegionStacks:
    """The stacks of a multi-region stage (see the module's docstring), tagged and ordered."""

    def env(region: str) -> Environment:
        return Environment(account=account, region=region)

    # Strong references (cdk.json defaults to weak ones, Fn::GetStackOutput, which CloudFormation
    # does not take inside Fn::Join or Fn::Split, where ARNs and secret references are built):
    # SSM parameters written by the producer and read by the consumer, and a producer that
    # cannot be deleted while a consumer reads it. Set before any stack exists.
    CrossStackReferences.of(app).consume(ReferenceStrength.STRONG)

    common = {"cross_region_references": True}
    accounts: dict[str, Stack] = {
        region: AccountSettingsStack(
            app,
            account_stack_name(config, region),
            description=f"Skills & Ideas API: account-wide settings in {region} (API Gateway logging role)",
            env=env(region),
        )
        for region in config.regions
    }
    replicas = {
        region: CatalogueReplicaStack(
            app,
            stack_name(config.stage, f"catalogue-{region}"),
            config=config,
            description=f"Skills & Ideas API ({config.stage}): the catalogue's replica in {region}",
            env=env(region),
            **common,
        )
        for region in config.secondaries
    }
    front = GlobalStack(
        app,
        stack_name(config.stage, "global"),
        config=config,
        sources=sources,
        catalogue_replicas=[stack.bucket for stack in replicas.values()],
        description=f"Skills & Ideas API ({config.stage}): CloudFront, its web ACL and the primary catalogue",
        env=env(config.region),
        **common,
    )
    regional: dict[str, RegionalStack] = {}
    for region in config.regions:
        home = None if region == config.region else regional[config.region].home
        regional[region] = RegionalStack(
            app,
            stack_name(config.stage, region),
            config=config,
            sources=sources,
            front=front,
            home=home,
            description=f"Skills & Ideas API ({config.stage}) in {region}"
            + (" (primary: home of registrations)" if home is None else ""),
            env=env(region),
            **common,
        )
        regional[region].add_dependency(accounts[region], "API Gateway logs through the account's role")
        if home is not None:
            regional[region].add_dependency(regional[config.region], "the table and keys replicate from the primary")
    failover_alarms = FailoverAlarmStack(
        app,
        stack_name(config.stage, "failover-alarms"),
        config=config,
        regional=regional,
        description=f"Skills & Ideas API ({config.stage}): alarms on every region's Route 53 health check",
        env=env(HEALTH_CHECK_METRICS_REGION),
        **common,
    )
    stacks = RegionStacks(config, front, regional, replicas, failover_alarms, accounts)
    for stack in stacks.all():
        Tags.of(stack).add("service", SERVICE_NAME)
        if stack not in accounts.values():
            Tags.of(stack).add("stage", config.stage)
    return stacks
