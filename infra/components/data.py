"""The DynamoDB table, built from the plain description in ``skills_ideas.schema``."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.config import Capacity, StageConfig
from skills_ideas import schema

_STRING = dynamodb.AttributeType.STRING


def _attribute(name: str | None) -> dynamodb.Attribute | None:
    return dynamodb.Attribute(name=name, type=_STRING) if name else None


def _capacity(capacity: Capacity, target: int) -> tuple[dynamodb.Capacity, dynamodb.Capacity]:
    return (
        dynamodb.Capacity.autoscaled(
            min_capacity=capacity.read_min, max_capacity=capacity.read_max, target_utilization_percent=target
        ),
        dynamodb.Capacity.autoscaled(
            min_capacity=capacity.write_min, max_capacity=capacity.write_max, target_utilization_percent=target
        ),
    )


class DataStore(Construct):
    """Users and ideas in one table (docs/data-model.md)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        settings = config.table
        target = settings.target_utilization_percent

        if settings.on_demand:
            billing = dynamodb.Billing.on_demand()
            index_capacity: dict = {}
        else:
            read, write = _capacity(settings.table_capacity, target)
            billing = dynamodb.Billing.provisioned(read_capacity=read, write_capacity=write)
            index_read, index_write = _capacity(settings.index_capacity, target)
            index_capacity = {"read_capacity": index_read, "write_capacity": index_write}

        self.table = dynamodb.TableV2(
            self,
            # Layout 2 of the keys (docs/data-model.md): a new resource, since the LSIs of layout 1
            # cannot be removed in place; an older stack keeps its retained table for upgrade-data.
            "TableLayout2",
            table_name=config.table_name,
            partition_key=_attribute(schema.PARTITION_KEY),
            sort_key=_attribute(schema.SORT_KEY),
            billing=billing,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index.name,
                    partition_key=_attribute(index.partition_key),
                    sort_key=_attribute(index.sort_key),
                    projection_type=dynamodb.ProjectionType(index.projection),
                    **index_capacity,
                )
                for index in schema.INDEXES
            ],
            time_to_live_attribute=schema.TTL_ATTRIBUTE,
            # Every change, before and after: the domain events read it (infra/components/events.py).
            dynamo_stream=dynamodb.StreamViewType(schema.STREAM_SPECIFICATION["StreamViewType"]),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=settings.point_in_time_recovery
            ),
            # The AWS managed key (aws/dynamodb): auditable in CloudTrail, no key to pay for.
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            deletion_protection=settings.deletion_protection,
            contributor_insights_specification=dynamodb.ContributorInsightsSpecification(
                enabled=settings.contributor_insights
            ),
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
