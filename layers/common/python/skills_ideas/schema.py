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
    name: str
    kind: str  # "GSI" or "LSI"
    partition_key: str
    sort_key: str | None


INDEXES: tuple[Index, ...] = (
    Index("IdeaById", "GSI", "ideaId", None),
    Index("FeedByCreated", "GSI", "feedShard", "createdSort"),
    Index("FeedByTitle", "GSI", "feedShard", "titleSort"),
    Index("FeedByStatus", "GSI", "feedShard", "statusSort"),
    Index("ByCreated", "LSI", PARTITION_KEY, "createdSort"),
    Index("ByTitle", "LSI", PARTITION_KEY, "titleSort"),
    Index("ByStatus", "LSI", PARTITION_KEY, "statusSort"),
)

#: Every key attribute of the table and its indexes; all are strings.
KEY_ATTRIBUTES: tuple[str, ...] = (
    PARTITION_KEY,
    SORT_KEY,
    "ideaId",
    "feedShard",
    "createdSort",
    "titleSort",
    "statusSort",
)


def create_table_kwargs(table_name: str) -> dict:
    """Arguments for DynamoDB ``CreateTable`` (on-demand), used by local setup and tests."""
    gsis = [i for i in INDEXES if i.kind == "GSI"]
    lsis = [i for i in INDEXES if i.kind == "LSI"]

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
            {"IndexName": i.name, "KeySchema": key_schema(i), "Projection": {"ProjectionType": "ALL"}} for i in gsis
        ],
        "LocalSecondaryIndexes": [
            {"IndexName": i.name, "KeySchema": key_schema(i), "Projection": {"ProjectionType": "ALL"}} for i in lsis
        ],
    }
