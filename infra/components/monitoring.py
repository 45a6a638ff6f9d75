"""Dashboard and alarms with cdk-monitoring-constructs; alarms notify an encrypted SNS topic.

Alarms, one per critical signal (thresholds in the stage config; docs/runbook.md says what
each means and what to do): API 5xx count and p99 latency; per function errors and
throttles; DynamoDB read/write throttles and system errors; CloudFront 5xx rate; skill reads
served stale because S3 failed (CatalogueStaleServed) and admin catalogue writes that gave up
(CatalogueWriteGaveUp). The per-alias error alarms that roll CodeDeploy back live with the
functions.

Application metrics carry the dimension ``stage`` next to ``service`` (skills_ideas.observability
sets it from STAGE), so each stage's dashboard and alarms count only that stage. The topic's
policy allows CloudWatch to publish: the TLS-only policy CDK writes for ``enforce_ssl`` replaces
SNS's default policy, and a policy with only a Deny would silence every alarm.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from cdk_monitoring_constructs import (
    AlarmFactoryDefaults,
    CustomMetricGroup,
    CustomMetricWithAlarm,
    CustomThreshold,
    DefaultDashboardFactory,
    ErrorCountThreshold,
    ErrorRateThreshold,
    LatencyThreshold,
    MonitoringFacade,
    SnsAlarmActionStrategy,
    ThrottledEventsThreshold,
)
from constructs import Construct

from infra.components.functions import DeployedFunction
from infra.components.lifecycle import removal_policy
from infra.config import (
    BUSINESS_EVENTS,
    CATALOGUE_METRICS,
    EVENT_METRICS,
    METRICS_NAMESPACE,
    SECURITY_METRICS,
    SERVICE_NAME,
    StageConfig,
)

CRITICAL = "Critical"
RUNBOOK = "docs/runbook.md"


def business_metric(name: str, stage: str) -> cloudwatch.Metric:
    """One Powertools count of one stage: namespace SkillsIdeas, dimensions service and stage,
    per 5 minutes."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME, "stage": stage},
        statistic="Sum",
        period=Duration.minutes(5),
        label=name,
    )


def _count_above(threshold: int, *, datapoints: int | None = None) -> CustomThreshold:
    """More than ``threshold`` in a period; no data (nothing emitted) is not a breach."""
    periods: dict[str, Any] = (
        {"datapoints_to_alarm": datapoints, "evaluation_periods": datapoints} if datapoints else {}
    )
    return CustomThreshold(
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        threshold=threshold,
        treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
        **periods,
    )


#: Functions summed into one errors (or throttles) alarm: metric math takes at most 10 metrics.
FUNCTIONS_PER_ALARM = 10


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        rest_api: apigw.RestApi | None,
        functions: dict[str, DeployedFunction],
        table: dynamodb.ITableV2 | None,
        distribution: cloudfront.IDistribution | None,
        name_prefix: str | None = None,
    ) -> None:
        """Monitor what is given: a multi-region stage's global stack has only the distribution,
        each regional stack everything but the distribution. ``name_prefix`` (default the stage's
        prefix) names the topic, dashboard and alarms, unique within a region."""
        super().__init__(scope, construct_id)
        thresholds = config.alarms
        prefix = name_prefix or config.prefix

        key = kms.Key(
            self,
            "AlarmTopicKey",
            enable_key_rotation=True,
            description=f"{prefix} alarm topic",
            # kms.Key keeps itself by default: a disposable stage would leave it behind.
            removal_policy=removal_policy(config),
        )
        # CloudWatch publishes alarm notifications to the encrypted topic.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(self, "AlarmTopic", topic_name=f"{prefix}-alarms", master_key=key, enforce_ssl=True)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                # Only this account's alarms (no confused deputy).
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
                    },
                },
            )
        )
        for email in config.alarm_emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

        facade = MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=prefix,
                action=SnsAlarmActionStrategy(on_alarm_topic=self.topic),
                runbook_link=RUNBOOK,
                datapoints_to_alarm=3,
                evaluation_periods=5,
            ),
            dashboard_factory=DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=prefix,
                create_dashboard=True,
                create_summary_dashboard=False,
                create_alarm_dashboard=False,
            ),
        )
        self._facade = facade
        if rest_api is not None:
            self._monitor_api(config, rest_api)
        for name, deployed in functions.items():
            facade.monitor_lambda_function(lambda_function=deployed.function, alarm_friendly_name=name)
        # Errors and throttles alarm per group of up to ten functions (metric math: the sum of
        # the group's metrics), not per function: one alarm a function for each would take the
        # stack past CloudFormation's 500 resources. The dashboard still plots every function,
        # and the alarm's description names the group's functions.
        self._grouped_alarms(config, functions, "Errors", thresholds.lambda_errors)
        self._grouped_alarms(config, functions, "Throttles", thresholds.lambda_throttles)
        if table is not None:
            self._monitor_table(config, table)
        if distribution is not None:
            facade.monitor_cloud_front_distribution(
                distribution=distribution,
                alarm_friendly_name="cdn",
                additional_metrics_enabled=config.cloudfront_additional_metrics,
                add_fault5xx_rate={CRITICAL: ErrorRateThreshold(max_error_rate=thresholds.cloudfront_5xx_rate_percent)},
            )
        if functions:
            self._monitor_application(config)

    def _monitor_api(self, config: StageConfig, rest_api: apigw.RestApi) -> None:
        thresholds = config.alarms
        self._facade.monitor_api_gateway(
            api=rest_api,
            api_stage=config.stage,
            human_readable_name="API",
            alarm_friendly_name="api",
            add5_xx_fault_count_alarm={CRITICAL: ErrorCountThreshold(max_error_count=thresholds.api_5xx_errors)},
            add_latency_p99_alarm={
                CRITICAL: LatencyThreshold(max_latency=Duration.millis(thresholds.api_latency_p99_ms))
            },
        )

    def _monitor_table(self, config: StageConfig, table: dynamodb.ITableV2) -> None:
        thresholds = config.alarms
        throttled = ThrottledEventsThreshold(max_throttled_events_threshold=thresholds.dynamodb_throttled_requests)
        self._facade.monitor_dynamo_table(
            table=table,
            alarm_friendly_name="table",
            billing_mode=(
                dynamodb.BillingMode.PAY_PER_REQUEST if config.table.on_demand else dynamodb.BillingMode.PROVISIONED
            ),
            add_read_throttled_events_count_alarm={CRITICAL: throttled},
            add_write_throttled_events_count_alarm={CRITICAL: throttled},
            add_system_error_count_alarm={
                CRITICAL: ErrorCountThreshold(max_error_count=thresholds.dynamodb_system_errors)
            },
        )

    def _monitor_application(self, config: StageConfig) -> None:
        """The stage's application metrics (Powertools), with the alarms of the critical ones."""
        thresholds = config.alarms
        alarmed = {
            "CatalogueStaleServed": _count_above(thresholds.catalogue_stale_served),
            "LoginFailed": _count_above(thresholds.login_failures),
            "LoginLockedOut": _count_above(thresholds.login_lockouts),
            "CatalogueWriteGaveUp": _count_above(
                thresholds.catalogue_write_gave_up, datapoints=thresholds.catalogue_write_gave_up_datapoints
            ),
        }

        def with_alarms(names: tuple[str, ...]) -> list[Any]:
            """The metrics ``names`` of this stage, those in ``alarmed`` with their alarm."""
            return [
                CustomMetricWithAlarm(
                    metric=business_metric(name, config.stage),
                    alarm_friendly_name=name,
                    add_alarm={CRITICAL: alarmed[name]},
                )
                if name in alarmed
                else business_metric(name, config.stage)
                for name in names
            ]

        self._facade.monitor_custom(
            human_readable_name="Business and cold starts",
            alarm_friendly_name="Business",
            metric_groups=[
                CustomMetricGroup(
                    title="Business events (per 5 minutes); a spike of failed logins alarms",
                    metrics=with_alarms(BUSINESS_EVENTS),
                ),
                CustomMetricGroup(
                    title="Skills catalogue: stale reads, write conflicts, failed writes and invalidations",
                    metrics=with_alarms(CATALOGUE_METRICS),
                ),
                CustomMetricGroup(
                    title="Domain events: published, redeliveries recognised, not published",
                    metrics=[business_metric(name, config.stage) for name in EVENT_METRICS],
                ),
                CustomMetricGroup(
                    title="Security events (docs/accounts.md): lockouts, password changes, sessions ended, deletions",
                    metrics=with_alarms(SECURITY_METRICS),
                ),
                CustomMetricGroup(
                    title="Cold starts (Powertools ColdStart metric)",
                    metrics=[
                        cloudwatch.MathExpression(
                            # Powertools' ColdStart has only function_name and service: this
                            # stage's functions are the ones named after its prefix.
                            expression=(
                                f"SEARCH('{{{METRICS_NAMESPACE},function_name,service}} "
                                f'MetricName="ColdStart" function_name="{config.prefix}"\', \'Sum\', 300)'
                            ),
                            label="Cold starts",
                            period=Duration.minutes(5),
                        )
                    ],
                ),
            ],
        )

    def add_region_alarms(
        self, config: StageConfig, *, table: dynamodb.ITableV2, rest_api: apigw.RestApi, region: str
    ) -> list[cloudwatch.Alarm]:
        """Multi-region: the alarms that start the failover drill (docs/runbook.md). Replication
        from this region to each other one slower than the RPO promise, and this region's API
        answering 5xx at a rate that the other regions should take its traffic."""
        thresholds = config.alarms
        minute = Duration.minutes(1)
        alarms = [
            cloudwatch.Alarm(
                self,
                f"ReplicationLatency{''.join(part.capitalize() for part in other.split('-'))}",
                alarm_name=f"{config.prefix}-{region}-replication-latency-{other}",
                alarm_description=f"Table writes made in {region} reach {other} later than "
                f"{thresholds.replication_latency_seconds} s: the RPO promise (docs/multi-region.md) is at risk",
                metric=cloudwatch.Metric(
                    namespace="AWS/DynamoDB",
                    metric_name="ReplicationLatency",
                    dimensions_map={"TableName": table.table_name, "ReceivingRegion": other},
                    statistic="Average",
                    period=minute,
                ),
                threshold=thresholds.replication_latency_seconds * 1000,
                evaluation_periods=thresholds.region_alarm_periods,
                datapoints_to_alarm=thresholds.region_alarm_datapoints,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for other in config.regions
            if other != region
        ]
        alarms.append(
            cloudwatch.Alarm(
                self,
                "Region5xxRate",
                alarm_name=f"{config.prefix}-{region}-5xx-rate",
                alarm_description=f"The API in {region} answers {thresholds.region_5xx_rate_percent}% or more "
                "of its requests with 5xx: check the region's health (docs/runbook.md, failover)",
                metric=cloudwatch.MathExpression(
                    expression="100 * errors",
                    using_metrics={"errors": rest_api.metric_server_error(period=minute, statistic="Average")},
                    label=f"5xx rate in {region} (%)",
                    period=minute,
                ),
                threshold=thresholds.region_5xx_rate_percent,
                evaluation_periods=thresholds.region_alarm_periods,
                datapoints_to_alarm=thresholds.region_alarm_datapoints,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        for alarm in alarms:
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        return alarms

    def _grouped_alarms(
        self, config: StageConfig, functions: dict[str, DeployedFunction], metric: str, threshold: int
    ) -> None:
        """One alarm per group of up to ``FUNCTIONS_PER_ALARM`` functions on the sum of their ``metric``."""
        names = sorted(functions)
        for group, start in enumerate(range(0, len(names), FUNCTIONS_PER_ALARM), 1):
            members = names[start : start + FUNCTIONS_PER_ALARM]
            metrics: dict[str, cloudwatch.IMetric] = {
                f"m{n}": functions[name].function.metric(metric, statistic="Sum", period=Duration.minutes(5))
                for n, name in enumerate(members)
            }
            alarm = cloudwatch.MathExpression(
                expression=" + ".join(metrics), using_metrics=metrics, period=Duration.minutes(5)
            ).create_alarm(
                self,
                f"Lambda{metric}Group{group}",
                alarm_name=f"{config.prefix}-lambda-{metric}-group{group}",
                alarm_description=f"Lambda {metric.lower()} of: {', '.join(members)} (docs/runbook.md)",
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
