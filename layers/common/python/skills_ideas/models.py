"""pynamodb models of the single table (docs/data-model.md).

The models are bound to a table at run time by ``bind`` (table name, region, endpoint come
from ``TableConfig``), so importing this module never opens a connection and tests can point
the models at moto or DynamoDB Local before the first request.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from skills_ideas.config import TableConfig
from skills_ideas.schema import INDEXES, PARTITION_KEY, SORT_KEY
from skills_ideas.validation import caseless


class _Meta:
    """The time budget of every call (docs/security.md, "Time budget"): one attempt, 0.5 s to
    connect and 2 s to answer. A request makes at most three calls in sequence, so it answers
    within 7.5 s, inside the functions' 10 s timeout; a slow or throttling table becomes a 503
    with Retry-After (the client retries), never a hang, and no SDK retry can replay a
    conditional write that already landed."""

    table_name = "unbound"
    region = "us-east-1"
    host: str | None = None
    max_retry_attempts = 0
    connect_timeout_seconds = 0.5
    read_timeout_seconds = 2


class UserModel(Model):
    """``USER#<userId>`` / ``PROFILE``."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name=PARTITION_KEY)
    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY, default="PROFILE")
    userId = UnicodeAttribute()
    username = UnicodeAttribute()
    usernameLower = UnicodeAttribute()
    passwordHash = UnicodeAttribute(null=True)
    role = UnicodeAttribute(default="user")
    createdAt = UnicodeAttribute()
    legacyId = UnicodeAttribute(null=True)


class UsernameModel(Model):
    """``USERNAME#<NFKC case fold of the username>`` / ``USERNAME``: the uniqueness claim."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name=PARTITION_KEY)
    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY, default="USERNAME")
    userId = UnicodeAttribute()
    username = UnicodeAttribute()


def _gsi(index_name: str, hash_attr: str, range_attr: str):
    spec = next(index for index in INDEXES if index.name == index_name)
    attrs: dict = {
        "Meta": type("Meta", (), {"index_name": index_name, "projection": AllProjection()}),
        "feed_shard": UnicodeAttribute(hash_key=True, attr_name=spec.partition_key),
        range_attr: UnicodeAttribute(range_key=True, attr_name=spec.sort_key),
    }
    return type(index_name, (GlobalSecondaryIndex,), attrs)


class IdeaModel(Model):
    """``USER#<ownerId>`` / ``IDEA#<key>``: the key is a ULID, so the owner's partition keeps
    their ideas in creation order; the public id names both (``ideas.public_id``)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name=PARTITION_KEY)
    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY)
    ideaId = UnicodeAttribute()
    userId = UnicodeAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    createdAt = UnicodeAttribute()
    updatedAt = UnicodeAttribute()
    feedShard = UnicodeAttribute()
    statusSort = UnicodeAttribute()
    legacyId = UnicodeAttribute(null=True)
    legacyStatus = UnicodeAttribute(null=True)
    createdAtEstimated = BooleanAttribute(null=True)
    version = VersionAttribute()

    feed = _gsi("Feed", "feedShard", "sk")()
    feed_by_status = _gsi("FeedByStatus", "feedShard", "statusSort")()


class IdeaAliasModel(Model):
    """``IDEAALIAS#<id>`` / ``ALIAS``: where an idea known by an id that does not name its
    owner lives (migrated numeric ids, and ids handed out before layout 2)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name=PARTITION_KEY)
    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY, default="ALIAS")
    userId = UnicodeAttribute()
    ideaKey = UnicodeAttribute()


class IdeaSkillsModel(Model):
    """``USER#<ownerId>`` / ``IDEASKILLS#<ideaId>``: the skills an idea needs, ranked, with
    scores, matched words and whether the owner confirmed them (skills_ideas.recommendations)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name=PARTITION_KEY)
    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY)
    ideaId = UnicodeAttribute()
    userId = UnicodeAttribute()
    ideaSort = UnicodeAttribute()  # the sort key of the idea's links on the skill side
    title = UnicodeAttribute()  # the summary the links repeat, to tell when they need rewriting
    status = UnicodeAttribute()
    confirmed = BooleanAttribute(default=False)
    skills = JSONAttribute()  # [{"id", "score", "matched", "confirmed"}], best first
    catalogueVersion = UnicodeAttribute(null=True)
    updatedAt = UnicodeAttribute()


class SkillIdeaModel(Model):
    """``SKILL#<skillId>`` / ``<idea createdAt>#<ideaId>``: one idea that needs the skill, with
    the summary a listing shows; the skill's partition holds its ideas newest last."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name=PARTITION_KEY)
    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY)
    ideaId = UnicodeAttribute()
    userId = UnicodeAttribute()
    title = UnicodeAttribute()
    status = UnicodeAttribute()
    createdAt = UnicodeAttribute()
    score = NumberAttribute()
    confirmed = BooleanAttribute(default=False)


def user_key(user_id: str) -> str:
    return f"USER#{user_id}"


def username_key(username: str) -> str:
    """The claim key of a name: its NFKC case fold, so ``ada``, ``ADA`` and ``ａｄａ`` are one."""
    return f"USERNAME#{caseless(username)}"


def now_iso() -> str:
    """The time stamps items carry: ISO-8601 UTC with milliseconds and a Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


MODELS: tuple[type[Model], ...] = (
    UserModel,
    UsernameModel,
    IdeaModel,
    IdeaAliasModel,
    IdeaSkillsModel,
    SkillIdeaModel,
)
_bound: TableConfig | None = None


def bind(config: TableConfig) -> None:
    """Point every model at ``config``'s table (idempotent; resets cached connections)."""
    global _bound
    if _bound == config:
        return
    for model in MODELS:
        model.Meta.table_name = config.table_name
        model.Meta.region = config.region
        model.Meta.host = config.endpoint_url
        model._connection = None
    _bound = config


def connection() -> Connection:
    """A low-level connection for transactions, bound like the models."""
    if _bound is None:
        raise RuntimeError("models are not bound to a table: call bind() first")
    return Connection(region=_bound.region, host=_bound.endpoint_url)


def unbind() -> None:
    """Forget the binding (tests that switch between moto and DynamoDB Local)."""
    global _bound
    _bound = None
    for model in MODELS:
        model._connection = None
