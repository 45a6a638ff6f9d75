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


def alarm_topic(scope: Construct, config: StageConfig, prefix: str) -> sns.Topic:
    """``<prefix>-alarms``: an SNS topic encrypted with its own rotating KMS key, TLS-only, that
    this account's CloudWatch alarms (of the scope's region) may publish to, and that every
    e-mail of the stage's ``alarm_emails`` subscribes to. Its key and topic are children of
    ``scope`` (ids ``AlarmTopicKey``, ``AlarmTopic``)."""
    key = kms.Key(
        scope,
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
    topic = sns.Topic(scope, "AlarmTopic", topic_name=f"{prefix}-alarms", master_key=key, enforce_ssl=True)
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            # Only this account's alarms (no confused deputy).
            conditions={
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"},
            },
        )
    )
    for email in config.alarm_emails:
        topic.add_subscription(subscriptions.EmailSubscription(email))

    return topic


#: The kinds of alarm that start a region failover or a fail-back (docs/runbook.md), each
#: named ``<prefix>-<region>-<kind>``.
HEALTH_CHECK = "health-check"
REPLICATION_LATENCY = "replication-latency"
API_5XX_RATE = "api-5xx-rate"
FAILOVER_ALARMS = (HEALTH_CHECK, REPLICATION_LATENCY, API_5XX_RATE)


def region_alarm_name(config: StageConfig, region: str, kind: str) -> str:
    """``skills-ideas-<stage>-<region>-<kind>``, one of ``FAILOVER_ALARMS``."""
    return f"{config.prefix}-{region}-{kind}"


def health_check_alarm(
    scope: Construct, construct_id: str, *, config: StageConfig, region: str, health_check_id: str, topic: sns.ITopic
) -> cloudwatch.Alarm:
    """The alarm on ``region``'s Route 53 health check (``HealthCheckStatus``: 1 healthy, 0 not),
    to ``topic``. Route 53 publishes the metric in us-east-1 only, so ``scope`` must be there.
    No data counts as unhealthy: Route 53 reports every check each minute while it exists, and a
    check that is gone no longer moves traffic away from a failing region."""
    minutes = config.alarms.health_check_unhealthy_minutes
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=region_alarm_name(config, region, HEALTH_CHECK),
        alarm_description=f"Route 53 finds the API in {region} unhealthy (GET /api/health) for {minutes} "
        "minute(s): its traffic is moving to the other regions (docs/runbook.md, failover)",
        metric=cloudwatch.Metric(
            namespace="AWS/Route53",
            metric_name="HealthCheckStatus",
            dimensions_map={"HealthCheckId": health_check_id},
            statistic="Minimum",
            period=Duration.minutes(1),
        ),
        threshold=1,
        evaluation_periods=minutes,
        datapoints_to_alarm=minutes,
        comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return alarm


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

        self.topic = alarm_topic(self, config, prefix)

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
        """Multi-region: two of the alarms that start the failover drill (docs/runbook.md, named
        as it names them): replication from this region to the slowest other one beyond the RPO
        promise, and this region's API answering 5xx at a rate that the other regions should take
        its traffic. The third, on the region's health check, lives in us-east-1 with Route 53's
        metrics (``health_check_alarm``)."""
        thresholds = config.alarms
        minute = Duration.minutes(1)
        others = [other for other in config.regions if other != region]
        # One alarm whatever the number of regions: the slowest receiving region decides (the
        # metric is per receiving region; the description names them, the console plots each).
        latencies: dict[str, cloudwatch.Metric] = {
            "to_" + other.replace("-", "_"): cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name="ReplicationLatency",
                dimensions_map={"TableName": table.table_name, "ReceivingRegion": other},
                statistic="Average",
                period=minute,
            )
            for other in others
        }
        # The runbook's first step reads each receiving region's latency on the dashboard.
        self._facade.monitor_custom(
            human_readable_name="Replication",
            alarm_friendly_name="Replication",
            metric_groups=[
                CustomMetricGroup(
                    title=f"Table replication latency from {region}, by receiving region (ms)",
                    metrics=list(latencies.values()),
                )
            ],
        )
        replication = cloudwatch.Alarm(
            self,
            "ReplicationLatency",
            alarm_name=region_alarm_name(config, region, REPLICATION_LATENCY),
            alarm_description=f"Table writes made in {region} reach {', '.join(others)} later than "
            f"{thresholds.replication_latency_seconds} s (the slowest of them, ReplicationLatency by "
            "ReceivingRegion): the RPO promise (docs/multi-region.md) is at risk; docs/runbook.md, failover",
            metric=cloudwatch.MathExpression(
                expression=f"MAX([{', '.join(latencies)}])",
                using_metrics=latencies,
                label=f"Replication latency from {region}, slowest receiving region (ms)",
                period=minute,
            ),
            threshold=thresholds.replication_latency_seconds * 1000,
            evaluation_periods=thresholds.region_alarm_periods,
            datapoints_to_alarm=thresholds.region_alarm_datapoints,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        five_xx = cloudwatch.Alarm(
            self,
            "Region5xxRate",
            alarm_name=region_alarm_name(config, region, API_5XX_RATE),
            alarm_description=f"The API in {region} answers {thresholds.region_5xx_rate_percent}% or more "
            "of its requests with 5xx: check the region's health (docs/runbook.md, failover)",
            metric=cloudwatch.MathExpression(
                # 5XXError is 1 or 0 per request: its average is the share of requests.
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
        alarms = [replication, five_xx]
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
