"""The table is schema.py, with recovery, encryption and capacity from the stage config."""

from __future__ import annotations

from types import SimpleNamespace

from aws_cdk import aws_dynamodb as dynamodb

from infra.components.data import projection
from skills_ideas import schema


def _table(stack):
    ((lid, table),) = stack.of_type("AWS::DynamoDB::GlobalTable").items()
    return lid, table


def _projection(index) -> dict:
    """The projection CloudFormation should get for a schema index (ALL unless it says otherwise)."""
    projected = getattr(index, "projection", "ALL")
    if isinstance(projected, str):
        return {"ProjectionType": projected.upper()}
    return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(projected)}


def _key(index):
    keys = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
    if index.sort_key:
        keys.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
    return keys


def test_keys_and_indexes_come_from_the_schema(stack):
    _, table = _table(stack)
    props = table["Properties"]
    # No fixed name: the functions and the operator commands get it from the stack.
    assert "TableName" not in props
    assert props["KeySchema"] == [
        {"AttributeName": schema.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": schema.SORT_KEY, "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == {
        name: "S" for name in schema.KEY_ATTRIBUTES
    }
    gsis = {g["IndexName"]: g for g in props["GlobalSecondaryIndexes"]}
    for index in schema.INDEXES:
        assert gsis[index.name]["KeySchema"] == _key(index), index.name
        assert gsis[index.name]["Projection"] == _projection(index), index.name
    assert len(gsis) == len(schema.INDEXES)
    # no local secondary index: it would cap a user's partition at 10 GB and can never be removed
    assert "LocalSecondaryIndexes" not in props


def test_index_projections_follow_the_schema_whatever_it_says():
    # The data model may narrow projections: the stack must follow any of the three kinds.
    def index(**projected):
        return SimpleNamespace(name="X", kind="GSI", partition_key="pk", sort_key=None, **projected)

    assert projection(index()) == {"projection_type": dynamodb.ProjectionType.ALL}
    assert projection(index(projection="keys_only")) == {"projection_type": dynamodb.ProjectionType.KEYS_ONLY}
    assert projection(index(projection=("title", "status"))) == {
        "projection_type": dynamodb.ProjectionType.INCLUDE,
        "non_key_attributes": ["title", "status"],
    }


def test_ttl_pitr_and_encryption(stack):
    _, table = _table(stack)
    props = table["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": schema.TTL_ATTRIBUTE, "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    (replica,) = props["Replicas"]
    assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_dev_is_on_demand_and_disposable(dev):
    _, table = _table(dev)
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionPolicy"] == "Delete"
    (replica,) = props["Replicas"]
    assert not replica.get("DeletionProtectionEnabled", False)


def test_prod_is_provisioned_with_read_and_write_autoscaling_on_table_and_every_gsi(prod):
    _, table = _table(prod)
    props = table["Properties"]
    settings = prod.config.table
    target = settings.target_utilization_percent
    assert props.get("BillingMode", "PROVISIONED") == "PROVISIONED"
    write = props["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]
    assert (write["MinCapacity"], write["MaxCapacity"]) == (
        settings.table_capacity.write_min,
        settings.table_capacity.write_max,
    )
    assert write["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == target
    (replica,) = props["Replicas"]
    read = replica["ReadProvisionedThroughputSettings"]["ReadCapacityAutoScalingSettings"]
    assert (read["MinCapacity"], read["MaxCapacity"]) == (
        settings.table_capacity.read_min,
        settings.table_capacity.read_max,
    )
    replica_indexes = {g["IndexName"]: g for g in replica["GlobalSecondaryIndexes"]}
    for gsi in props["GlobalSecondaryIndexes"]:
        name = gsi["IndexName"]
        gsi_write = gsi["WriteProvisionedThroughputSettings"]["WriteCapacityAutoScalingSettings"]
        assert gsi_write["MaxCapacity"] == settings.index_capacity.write_max, name
        gsi_read = replica_indexes[name]["ReadProvisionedThroughputSettings"]["ReadCapacityAutoScalingSettings"]
        assert gsi_read["MaxCapacity"] == settings.index_capacity.read_max, name


def test_prod_is_retained_protected_and_has_contributor_insights(prod):
    _, table = _table(prod)
    # Kept when the stack is deleted, removed when the first create rolls back.
    assert table["DeletionPolicy"] == "RetainExceptOnCreate"
    assert table["UpdateReplacePolicy"] == "Retain"
    (replica,) = table["Properties"]["Replicas"]
    assert replica["DeletionProtectionEnabled"] is True
    assert replica["ContributorInsightsSpecification"]["Enabled"] is True
