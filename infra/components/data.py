"""The DynamoDB table, built from the plain description in ``skills_ideas.schema``.

Generic over ``schema.INDEXES``: any number of GSIs (the table has no LSI), each with the projection the
schema gives it (``projection``: "ALL" by default, "KEYS_ONLY", or the non-key attributes
to include), so the data model changes without touching this file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.components.lifecycle import removal_policy
from infra.config import Capacity, StageConfig
from skills_ideas import schema

_STRING = dynamodb.AttributeType.STRING


def _attribute(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=_STRING)


def _sort_key(index: schema.Index) -> dict[str, Any]:
    return {"sort_key": _attribute(index.sort_key)} if index.sort_key else {}


def projection(index: schema.Index) -> dict[str, Any]:
    """The index's projection: ``projection`` "ALL" (default) or "KEYS_ONLY", or a sequence of
    non-key attribute names (INCLUDE)."""
    projected = getattr(index, "projection", "ALL")
    if isinstance(projected, str):
        return {"projection_type": dynamodb.ProjectionType[projected.upper()]}
    return {"projection_type": dynamodb.ProjectionType.INCLUDE, "non_key_attributes": list(projected)}


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

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, replica_regions: Sequence[str] = ()
    ) -> None:
        """``replica_regions``: a replica of the global table in each (docs/multi-region.md), each
        with its own stream; the table's settings (capacity, indexes, TTL) apply to every replica."""
        super().__init__(scope, construct_id)
        settings = config.table
        replicas: dict[str, Any] = (
            {"replicas": [dynamodb.ReplicaTableProps(region=region) for region in replica_regions]}
            if replica_regions
            else {}
        )
        target = settings.target_utilization_percent

        if settings.on_demand:
            billing = dynamodb.Billing.on_demand()
            index_capacity: dict[str, Any] = {}
        else:
            read, write = _capacity(settings.table_capacity, target)
            billing = dynamodb.Billing.provisioned(read_capacity=read, write_capacity=write)
            index_read, index_write = _capacity(settings.index_capacity, target)
            index_capacity = {"read_capacity": index_read, "write_capacity": index_write}

        # No fixed name (see infra/components/lifecycle.py): functions and operator commands
        # get it from the environment and the stack outputs.
        self.table = dynamodb.TableV2(
            self,
            # Layout 2 of the keys (docs/data-model.md): a new resource, since the LSIs of layout 1
            # cannot be removed in place; an older stack keeps its retained table for upgrade-data.
            "TableLayout2",
            partition_key=_attribute(schema.PARTITION_KEY),
            sort_key=_attribute(schema.SORT_KEY),
            billing=billing,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index.name,
                    partition_key=_attribute(index.partition_key),
                    **_sort_key(index),
                    **projection(index),
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
            removal_policy=removal_policy(config),
            **replicas,
        )
