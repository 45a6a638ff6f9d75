"""The table's keys and indexes as plain data (docs/data-model.md explains them).

The CDK stack, the local setup (DynamoDB Local and moto) and the pynamodb models all derive
from this one description, so the key schema is written down exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTITION_KEY = "PK"
SORT_KEY = "SK"
TTL_ATTRIBUTE = "expiresAt"


@dataclass(frozen=True)
class Index:
    """A global secondary index (the table has no LSI: an LSI caps a partition at 10 GB and can
    never be removed from a table)."""

    name: str
    partition_key: str
    sort_key: str | None
    projection: str = "ALL"  # list pages answer straight from the index, so every attribute is there


#: Two indexes, each earning its write (docs/data-model.md, "What each index costs"): an idea is
#: in both, so a create costs 3 WCU (1 KB idea) and an update at most 4.
INDEXES: tuple[Index, ...] = (
    # All ideas by creation time: the sort key is the item's own SK, IDEA#<ULID>, time-ordered.
    Index("Feed", "feedShard", SORT_KEY),
    # All ideas by status, then creation time: `?status=` and `?sort=status`.
    Index("FeedByStatus", "feedShard", "statusSort"),
)

#: Every key attribute of the table and its indexes; all are strings.
KEY_ATTRIBUTES: tuple[str, ...] = (PARTITION_KEY, SORT_KEY, "feedShard", "statusSort")

#: Version of the key layout. 1: ideas keyed by a bare id with seven indexes (1.0.x);
#: 2: idea ids name their owner, two indexes. `skills-ideas upgrade-data` moves 1 to 2.
LAYOUT_VERSION = 2

#: Every change with the item before and after it: the events function needs both.
STREAM_SPECIFICATION = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def create_table_kwargs(table_name: str) -> dict:
    """Arguments for DynamoDB ``CreateTable`` (on-demand), used by local setup and tests."""

    def key_schema(index: Index) -> list[dict]:
        keys = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
        if index.sort_key:
            keys.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
        return keys

    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in KEY_ATTRIBUTES],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {"IndexName": i.name, "KeySchema": key_schema(i), "Projection": {"ProjectionType": i.projection}}
            for i in INDEXES
        ],
        # The table's changes feed the domain events (docs/events.md).
        "StreamSpecification": STREAM_SPECIFICATION,
    }
