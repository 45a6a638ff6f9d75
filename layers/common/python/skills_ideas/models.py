"""pynamodb models of the single table (docs/data-model.md).

The models are bound to a table at run time by ``bind`` (table name, region, endpoint come
from ``TableConfig``), so importing this module never opens a connection and tests can point
the models at moto or DynamoDB Local before the first request.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from skills_ideas.config import TableConfig
from skills_ideas.errors import ServiceUnavailable
from skills_ideas.schema import INDEXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
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


class TableModel(Model):
    """A model of the single table. pynamodb gives every model class a connection, and so a
    botocore client, of its own: a request that reads two models (a profile and a session, an
    idea and its skills) built two clients on a cold start, tens of milliseconds each. Every
    model here uses ``IdeaModel``'s connection instead (the same table; its metadata has the key
    schema every model shares and the only indexes), so a function builds one DynamoDB client.
    Every model is keyed by ``PK`` and ``SK`` (a model may give either a default)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, attr_name=PARTITION_KEY)
    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY)

    @classmethod
    def _get_connection(cls) -> TableConnection:
        fresh = cls._connection is None or cls._connection.table_name != cls.Meta.table_name
        connection = super()._get_connection()
        if fresh and cls is not IdeaModel:
            connection.connection = IdeaModel._get_connection().connection
        return connection


class UserModel(TableModel):
    """``USER#<userId>`` / ``PROFILE``."""

    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY, default="PROFILE")
    userId = UnicodeAttribute()
    username = UnicodeAttribute()
    usernameLower = UnicodeAttribute()
    passwordHash = UnicodeAttribute(null=True)
    role = UnicodeAttribute(default="user")
    createdAt = UnicodeAttribute()
    legacyId = UnicodeAttribute(null=True)
    #: ``deleted`` from the moment an account's deletion starts (absent: active).
    status = UnicodeAttribute(null=True)
    deletedAt = UnicodeAttribute(null=True)
    #: Sessions of an older epoch are refused: a password change moves it on (absent: 0).
    sessionEpoch = NumberAttribute(null=True)
    #: The region of the last write (``stamp``): which region's stream function publishes it.
    writtenIn = UnicodeAttribute(null=True)


class UsernameModel(TableModel):
    """``USERNAME#<NFKC case fold of the username>`` / ``USERNAME``: the uniqueness claim."""

    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY, default="USERNAME")
    userId = UnicodeAttribute()
    username = UnicodeAttribute()


class SessionModel(TableModel):
    """``USER#<userId>`` / ``SESSION#<sessionId>``: one login and its refresh tokens, the
    "family" (docs/accounts.md). DynamoDB's TTL removes it after ``expiresAt``, the end of
    the refresh lifetime, when every token of the session has expired anyway."""

    sessionId = UnicodeAttribute()
    userId = UnicodeAttribute()
    createdAt = UnicodeAttribute()
    lastUsedAt = UnicodeAttribute()
    #: Epoch seconds of ``lastUsedAt`` (the authorizer compares numbers, not strings).
    lastUsed = NumberAttribute()
    userAgent = UnicodeAttribute(null=True)
    sourceIp = UnicodeAttribute(null=True)
    epoch = NumberAttribute(default=0)
    expiresAt = NumberAttribute(attr_name=TTL_ATTRIBUTE)
    #: SHA-256 (hex) of the secret of the session's first refresh token (later ones are on its
    #: ``RefreshRotationModel``); ``previousRefreshHash`` is no longer written (older items
    #: may hold it). Never the secrets.
    refreshHash = UnicodeAttribute(null=True)
    previousRefreshHash = UnicodeAttribute(null=True)


class SessionUseModel(TableModel):
    """``USER#<userId>`` / ``SESSIONUSE#<sessionId>``: when a session was last used, kept apart
    from the session in multi-region mode (``sessions.touch``), so that recording a use never
    rewrites the session item: under last writer wins that write could undo a logout made in
    another region within the replication lag. Removed by TTL with its session's expiry."""

    lastUsedAt = UnicodeAttribute()
    lastUsed = NumberAttribute()
    expiresAt = NumberAttribute(attr_name=TTL_ATTRIBUTE)


class RefreshRotationModel(TableModel):
    """``USER#<userId>`` / ``REFRESH#<sessionId>``: a session's refresh token once it has been
    rotated (the session item keeps the first one's hash and is never rewritten by a refresh):
    under last writer wins a rotation in one region within the replication lag of a logout in
    another would otherwise bring the ended session back. Removed with its session, or by TTL."""

    refreshHash = UnicodeAttribute()
    previousRefreshHash = UnicodeAttribute()
    expiresAt = NumberAttribute(attr_name=TTL_ATTRIBUTE)


class LoginFailuresModel(TableModel):
    """``LOGINFAIL#<digest of the name's fold>`` / ``ACCOUNT`` or ``CLIENT#<ip>``: failed logins
    of one account (known or not), from anywhere or from one client (``login_limits``)."""

    failures = NumberAttribute(default=0)
    lastFailure = NumberAttribute(null=True)
    expiresAt = NumberAttribute(attr_name=TTL_ATTRIBUTE)


#: The partition of the accounts being deleted.
DELETIONS = "DELETIONS"


class PendingDeletionModel(TableModel):
    """``DELETIONS`` / ``USER#<userId>``: an account being deleted, from the request that
    deletes it until its last idea is gone. Listings hide the ideas of these accounts; the
    scheduled ``finish_deletions`` function removes what one request could not."""

    pk = UnicodeAttribute(hash_key=True, attr_name=PARTITION_KEY, default=DELETIONS)
    userId = UnicodeAttribute()
    deletedAt = UnicodeAttribute()


def _gsi(index_name: str, hash_attr: str, range_attr: str):
    spec = next(index for index in INDEXES if index.name == index_name)
    attrs: dict = {
        "Meta": type("Meta", (), {"index_name": index_name, "projection": AllProjection()}),
        "feed_shard": UnicodeAttribute(hash_key=True, attr_name=spec.partition_key),
        range_attr: UnicodeAttribute(range_key=True, attr_name=spec.sort_key),
    }
    return type(index_name, (GlobalSecondaryIndex,), attrs)


class IdeaModel(TableModel):
    """``USER#<ownerId>`` / ``IDEA#<key>``: the key is a ULID, so the owner's partition keeps
    their ideas in creation order; the public id names both (``ideas.public_id``)."""

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
    #: The region of the last write (``stamp``): which region's stream function publishes it.
    writtenIn = UnicodeAttribute(null=True)

    feed = _gsi("Feed", "feedShard", "sk")()
    feed_by_status = _gsi("FeedByStatus", "feedShard", "statusSort")()


class IdeaAliasModel(TableModel):
    """``IDEAALIAS#<id>`` / ``ALIAS``: where an idea known by an id that does not name its
    owner lives (migrated numeric ids, and ids handed out before layout 2)."""

    sk = UnicodeAttribute(range_key=True, attr_name=SORT_KEY, default="ALIAS")
    userId = UnicodeAttribute()
    ideaKey = UnicodeAttribute()


class IdeaSkillsModel(TableModel):
    """``USER#<ownerId>`` / ``IDEASKILLS#<ideaId>``: the skills an idea needs, ranked, with
    scores, matched words and whether the owner confirmed them (skills_ideas.recommendations)."""

    ideaId = UnicodeAttribute()
    userId = UnicodeAttribute()
    ideaSort = UnicodeAttribute()  # the sort key of the idea's links on the skill side
    title = UnicodeAttribute()  # the summary the links repeat, to tell when they need rewriting
    status = UnicodeAttribute()
    confirmed = BooleanAttribute(default=False)
    skills = JSONAttribute()  # [{"id", "score", "matched", "confirmed"}], best first
    catalogueVersion = UnicodeAttribute(null=True)
    updatedAt = UnicodeAttribute()
    #: Every write of the list is conditioned on the version it read (absent on lists written
    #: before it existed): a refresh cannot overwrite the owner's confirmation it did not see.
    version = VersionAttribute()


class SkillIdeaModel(TableModel):
    """``SKILL#<skillId>`` / ``<idea createdAt>#<ideaId>``: one idea that needs the skill, with
    the summary a listing shows; the skill's partition holds its ideas newest last."""

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
    SessionModel,
    SessionUseModel,
    RefreshRotationModel,
    LoginFailuresModel,
    PendingDeletionModel,
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


def dispatch(operation: str, request: dict, via: type[Model] | None = None) -> dict:
    """One raw request on the bound table (``TableName`` filled in), through the models' own
    connection and so within their time budget: for reads and writes that span several models
    in one call (BatchGetItem, BatchWriteItem), or a Query of items no model describes. Keys
    and items are in DynamoDB's JSON."""
    if _bound is None:
        raise RuntimeError("models are not bound to a table: call bind() first")
    name = _bound.table_name
    filled = {k: ({name: v} if k == "RequestItems" else v) for k, v in request.items()}
    if "RequestItems" not in filled:
        filled["TableName"] = name  # a single-table operation (Query)
    # Each model keeps its own client: ``via`` the model a request already uses spares a cold
    # start a second client (tens of milliseconds).
    return (via or UserModel)._get_connection().connection.dispatch(operation, filled)


#: Deletes per BatchWriteItem (DynamoDB's limit), and rounds for what it leaves unprocessed.
BATCH = 25
BATCH_ROUNDS = 4


def busy() -> ServiceUnavailable:
    """What DynamoDB leaving keys unprocessed round after round means: it is throttling."""
    from skills_ideas.faults import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE

    error = ServiceUnavailable(UNAVAILABLE_MESSAGE)
    error.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return error


def delete_keys(keys: list[dict[str, dict[str, str]]]) -> None:
    """Delete items by key, ``BATCH`` per BatchWriteItem, retrying what DynamoDB leaves
    unprocessed a few rounds (then it is a throttling error: the caller answers 503)."""
    for start in range(0, len(keys), BATCH):
        requests: list[dict] = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + BATCH]]
        for _ in range(BATCH_ROUNDS):
            response = dispatch("BatchWriteItem", {"RequestItems": requests})
            requests = next(iter((response.get("UnprocessedItems") or {}).values()), [])
            if not requests:
                break
        else:
            raise busy()


def region() -> str:
    """The region of the bound table: where this function runs."""
    if _bound is None:
        raise RuntimeError("models are not bound to a table: call bind() first")
    return _bound.region


def stamp(item: UserModel | IdeaModel, written_in: str | None = None) -> None:
    """Mark a user or idea item about to be put as written in this region (or ``written_in``,
    the region whose replica the put goes to). Their stream records drive the domain events,
    and in multi-region mode each region's stream function publishes only the writes that
    originated in its own region (docs/events.md)."""
    item.writtenIn = written_in or region()


def stamped(model: type[UserModel] | type[IdeaModel], actions: list) -> list:
    """``actions`` of an update of a user or idea item, plus the region stamp (see ``stamp``)."""
    return [*actions, model.writtenIn.set(region())]


def condition_failed(error: Exception) -> bool:
    """Whether a write failed its condition: a pynamodb error (``cause_response_code``) or the
    ClientError of a raw request (``dispatch``)."""
    code = getattr(error, "cause_response_code", None)
    if code is None:
        response = getattr(error, "response", None) or getattr(getattr(error, "cause", None), "response", None)
        code = (response or {}).get("Error", {}).get("Code")
    return code == "ConditionalCheckFailedException"


def raw_key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {PARTITION_KEY: {"S": pk}, SORT_KEY: {"S": sk}}


def connection() -> Connection:
    """A low-level connection for transactions, bound like the models and within the same
    time budget (``_Meta``): a stalled table fails a registration or a password change fast,
    as a 503, instead of holding the function until its timeout."""
    if _bound is None:
        raise RuntimeError("models are not bound to a table: call bind() first")
    return IdeaModel._get_connection().connection  # the models' one client (``TableModel``)


_home_connections: dict[tuple[str, str | None], Connection] = {}


def home_connection(home: str, endpoint_url: str | None = None) -> Connection:
    """A connection to the home region's replica of the bound table (same name in every region),
    for registration's claim in multi-region mode; with the models' time budget (``_Meta``), so
    an unreachable home region is a quick 503, not a hang. Kept per home, like a warm client."""
    key = (home, endpoint_url)
    found = _home_connections.get(key)
    if found is None:
        found = _home_connections[key] = Connection(
            region=home,
            host=endpoint_url,
            read_timeout_seconds=_Meta.read_timeout_seconds,
            connect_timeout_seconds=_Meta.connect_timeout_seconds,
            max_retry_attempts=_Meta.max_retry_attempts,
        )
    return found


def unbind() -> None:
    """Forget the binding (tests that switch between moto and DynamoDB Local)."""
    global _bound
    _bound = None
    _home_connections.clear()
    for model in MODELS:
        model._connection = None
