"""Ideas: validation, ownership-checked writes and the cursor-paged feed (docs/data-model.md).

An idea lives in its owner's partition, ``USER#<owner>`` / ``IDEA#<key>``, where the key is a
ULID (time-ordered). Its public id names both, ``<owner>-<key>``, so reading or writing an idea
by id is one GetItem or one conditional write on the base table, strongly consistent. Ideas
known by an id that does not name the owner (migrated numeric ids, ids from layout 1) resolve
through a small alias item first.
"""

from __future__ import annotations

import re
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from skills_ideas import contract, cursors, models
from skills_ideas.errors import BadRequest, Conflict, Forbidden, NotFound
from skills_ideas.ids import ulid
from skills_ideas.models import user_key
from skills_ideas.validation import bounded_int, choice, optional_string, reject_unknown, text

# The limits and enums are the contract's (docs/openapi.json shows the same ones).
STATUSES = contract.STATUSES
DEFAULT_STATUS = contract.DEFAULT_STATUS
TITLE_MAX = contract.IDEA_TITLE_MAX
DESCRIPTION_MAX = contract.IDEA_DESCRIPTION_MAX
#: Partitions of the feed indexes. One holds ~1,000 idea writes/s (a GSI partition's limit),
#: ten times the forecast, and lets a page be one Query; docs/capacity.md says when to raise it.
#: Fixed once data exists: changing it rewrites `feedShard` on every idea.
FEED_SHARDS = 1
FIELDS = set(contract.IDEA_INPUT.fields)
READ_ONLY_FIELDS = frozenset(contract.IDEA_INPUT.ignored)
ORDERS = contract.ORDERS
PAGE_MAX = contract.PAGE_MAX
#: Legacy `_page` paging reads the first `_page * _limit` ideas in one Query; this bounds it.
LEGACY_WINDOW = contract.LEGACY_WINDOW
#: Cache-Control of the public idea reads (the feed, one idea): an edge cache may answer them for a
#: few seconds, which takes most public reads off API Gateway and Lambda (docs/capacity.md); an
#: edit shows at the edge within that time, and the writer's own response carries it at once.
PUBLIC_CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30"
SUPPORTED_LISTINGS = (
    "newest or oldest first (sort=createdAt, order=desc|asc), "
    "one status (status=<status>, newest or oldest first), "
    "by status (sort=status, order=asc|desc), "
    "one user's ideas (userId=<id>, newest or oldest first)"
)

_ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
_OWNER = r"[A-Za-z0-9_-]{1,64}"
_PUBLIC_ID = re.compile(rf"(?P<owner>{_OWNER})-(?P<key>{_ULID})")
_ALIAS_ID = re.compile(rf"[0-9]{{1,20}}|{_ULID}")
_USER_ID = re.compile(_OWNER)


# ---------------------------------------------------------------- representation and keys
def idea_key(key: str) -> str:
    return f"IDEA#{key}"


def alias_key(alias: str) -> str:
    return f"IDEAALIAS#{alias}"


def public_id(owner_id: str, key: str) -> str:
    return f"{owner_id}-{key}"


def feed_shard(key: str) -> str:
    """The feed partition of an idea (a hash of its key, so writes spread evenly)."""
    return f"FEED#{zlib.crc32(key.encode()) % FEED_SHARDS}"


def to_dict(item: models.IdeaModel) -> dict[str, Any]:
    return {
        "id": item.ideaId,
        "title": item.title,
        "description": item.description,
        "status": item.status,
        "userId": item.userId,
        "createdAt": item.createdAt,
        "updatedAt": item.updatedAt,
    }


def key_of(item: models.IdeaModel) -> str:
    return item.sk.removeprefix("IDEA#")


def derive_keys(item: models.IdeaModel) -> None:
    """Set the index keys that follow from the idea's fields."""
    key = key_of(item)
    item.feedShard = feed_shard(key)
    item.statusSort = f"{item.status.lower()}#{key}"


def key_for(created_at: str, tiebreak: int | None = None) -> str:
    """The ULID of an idea created at ``created_at`` (ISO-8601): random for a new idea, or
    derived from ``tiebreak`` (the legacy id) so that a migration writes the same key every run
    and ideas of the same millisecond keep their legacy order."""
    ms = int(datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone(UTC).timestamp() * 1000)
    return ulid(ms, None if tiebreak is None else tiebreak.to_bytes(10, "big"))


# ---------------------------------------------------------------- validation
def _title(body: dict[str, Any]) -> str:
    return text(body, "title", max_length=TITLE_MAX, required=True)


def _status(body: dict[str, Any]) -> str:
    value = body.get("status")
    if value is None:
        return DEFAULT_STATUS
    if not isinstance(value, str):
        raise BadRequest("Status must be a string")
    return choice(value, STATUSES, name="Status")


def _description(body: dict[str, Any]) -> str | None:
    multiline = not contract.IDEA_DESCRIPTION.single_line
    return optional_string(body, "description", max_length=DESCRIPTION_MAX, multiline=multiline)


def validate_full(body: dict[str, Any]) -> dict[str, Any]:
    """A complete idea (create, replace): title required, the rest defaulted."""
    reject_unknown(body, FIELDS, READ_ONLY_FIELDS)
    return {"title": _title(body), "description": _description(body), "status": _status(body)}


def validate_patch(body: dict[str, Any]) -> dict[str, Any]:
    reject_unknown(body, FIELDS, READ_ONLY_FIELDS)
    changes: dict[str, Any] = {}
    if "title" in body:
        changes["title"] = _title(body)
    if "description" in body:
        changes["description"] = _description(body)
    if "status" in body:
        if body["status"] is None:
            raise BadRequest(f"Status must be one of: {', '.join(STATUSES)}")
        changes["status"] = _status(body)
    if not changes:
        raise BadRequest("Provide at least one of: title, description, status")
    return changes


# ---------------------------------------------------------------- reads and writes
def new_item(owner_id: str, key: str, idea_id: str | None = None, **fields: Any) -> models.IdeaModel:
    """An idea item with its keys and derived index keys (create, and the legacy migration)."""
    item = models.IdeaModel(
        user_key(owner_id), idea_key(key), ideaId=idea_id or public_id(owner_id, key), userId=owner_id, **fields
    )
    derive_keys(item)
    return item


def now_ms() -> int:
    """The clock of every idea write, in epoch milliseconds (a key's ULID and its createdAt agree)."""
    return time.time_ns() // 1_000_000


def aliased_item(
    owner_id: str, alias: str, created_at: str, tiebreak: int | None = None, **fields: Any
) -> tuple[models.IdeaModel, models.IdeaAliasModel]:
    """An idea whose public id is ``alias`` (a migrated numeric id, an id from layout 1), and
    the alias item that resolves it."""
    key = key_for(created_at, tiebreak)
    item = new_item(owner_id, key, alias, createdAt=created_at, **fields)
    return item, models.IdeaAliasModel(alias_key(alias), userId=owner_id, ideaKey=key)


def _now() -> tuple[str, int]:
    ms = now_ms()
    iso = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return iso, ms


def create(owner_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    created_at, ms = _now()
    item = new_item(owner_id, ulid(ms), createdAt=created_at, updatedAt=created_at, **fields)
    models.stamp(item)
    try:
        item.save(condition=models.IdeaModel.pk.does_not_exist())
    except PutError as error:
        # The key is new and random: only our own first attempt, landed before a retry, can hold it.
        if not models.condition_failed(error) or _stored(item) is None:
            raise
    return to_dict(item)


def _stored(item: models.IdeaModel) -> models.IdeaModel | None:
    try:
        return models.IdeaModel.get(item.pk, item.sk, consistent_read=True)
    except DoesNotExist:
        return None


def _locate(idea_id: str) -> tuple[str, str] | None:
    """(owner, key) of the idea ``idea_id`` names, or None when no idea can have that id."""
    if len(idea_id) > 100:
        return None
    match = _PUBLIC_ID.fullmatch(idea_id)
    if match:
        return match["owner"], match["key"]
    if not _ALIAS_ID.fullmatch(idea_id):
        return None
    try:
        alias = models.IdeaAliasModel.get(alias_key(idea_id), "ALIAS", consistent_read=True)
    except DoesNotExist:
        return None
    return alias.userId, alias.ideaKey


def locate(idea_id: str) -> tuple[str, str] | None:
    """(owner, key) of the idea ``idea_id`` names: from the id itself, or (ids that do not
    name their owner) one GetItem of its alias; None when no idea can have that id."""
    return _locate(idea_id)


def _read(owner_id: str, key: str) -> models.IdeaModel | None:
    try:
        return models.IdeaModel.get(user_key(owner_id), idea_key(key), consistent_read=True)
    except DoesNotExist:
        return None


def get(idea_id: str) -> dict[str, Any]:
    location = _locate(idea_id)
    item = _read(*location) if location else None
    if item is None:
        raise NotFound("Idea not found")
    return to_dict(item)


def _own(caller_id: str, idea_id: str) -> models.IdeaModel:
    """The caller's own idea ``idea_id``: 404 when there is none, 403 when it is someone else's."""
    location = _locate(idea_id)
    item = _read(*location) if location else None
    if item is None:
        raise NotFound("Idea not found")
    if item.userId != caller_id:
        raise Forbidden("You can only change your own ideas")
    return item


def update(owner_id: str, idea_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes`` to the caller's own idea. The write addresses the caller's own
    partition, and is conditioned on the version read: a concurrent edit or delete fails
    cleanly (409) instead of being overwritten."""
    item = _own(owner_id, idea_id)
    for name, value in changes.items():
        setattr(item, name, value)
    item.updatedAt = _now()[0]
    derive_keys(item)
    models.stamp(item)
    try:
        item.save()  # conditioned on the version read above
    except PutError as error:
        if not models.condition_failed(error):
            raise
        stored = _stored(item)
        # A retry after our own first attempt landed finds exactly what we wrote.
        if stored is None or to_dict(stored) != to_dict(item) or stored.version != item.version:
            raise Conflict("The idea was changed or deleted at the same time; reload and retry") from None
    return to_dict(item)


def delete(owner_id: str, idea_id: str) -> None:
    item = _own(owner_id, idea_id)
    try:
        item.delete(condition=models.IdeaModel.pk.exists(), add_version_condition=False)
    except DeleteError as error:
        if not models.condition_failed(error):
            raise
        raise NotFound("Idea not found") from None
    if item.ideaId != public_id(item.userId, key_of(item)):
        models.IdeaAliasModel(alias_key(item.ideaId)).delete(add_version_condition=False)


# ---------------------------------------------------------------- listing
@dataclass(frozen=True)
class ListQuery:
    order: str
    limit: int
    status: str | None = None
    user_id: str | None = None
    by_status: bool = False  # sort=status

    def signature(self) -> str:
        return "|".join([self.order, self.status or "", self.user_id or "", "status" if self.by_status else ""])


def _refuse(reason: str) -> BadRequest:
    return BadRequest(f"{reason}. Supported listings: {SUPPORTED_LISTINGS}")


def parse_list_query(params: dict[str, str]) -> tuple[ListQuery, str | None, int]:
    """Validate the listing parameters; returns the query, the cursor and the legacy page.
    Every listing it accepts is one key condition on one index: see SUPPORTED_LISTINGS."""
    sort = params.get("sort") or "createdAt"
    if sort.lower() == "title":
        raise _refuse("sort=title is not supported")
    sort = choice(sort, contract.IDEA_SORTS, name="sort")
    default_order = "desc" if sort == "createdAt" else "asc"
    order = choice(params["order"], ORDERS, name="order") if params.get("order") else default_order
    limit = bounded_int(
        params.get("_limit"),
        name="_limit",
        default=contract.IDEAS_PAGE_DEFAULT,
        minimum=contract.PAGE_MIN,
        maximum=PAGE_MAX,
    )
    page = bounded_int(params.get("_page"), name="_page", default=1, minimum=1, maximum=LEGACY_WINDOW)
    status = choice(params["status"], STATUSES, name="status") if params.get("status") else None
    user_id = params.get("userId") or None
    if user_id is not None and not _USER_ID.fullmatch(user_id):
        raise BadRequest("userId is not a valid user id")
    if user_id is not None and (status is not None or sort == "status"):
        raise _refuse("userId cannot be combined with status or sort=status")
    if status is not None and sort == "status":
        sort = "createdAt"  # one status: its ideas by creation time
    cursor = params.get("cursor") or None
    if cursor and page != 1:
        raise BadRequest("Use either cursor or _page, not both")
    if page * limit > LEGACY_WINDOW:
        raise BadRequest(
            f"_page reaches the first {LEGACY_WINDOW} ideas (_page × _limit ≤ {LEGACY_WINDOW}); "
            "follow nextCursor to go further"
        )
    return ListQuery(order, limit, status, user_id, by_status=sort == "status"), cursor, page


@dataclass(frozen=True)
class _Plan:
    """One listing as DynamoDB work: which index, which partitions, which key condition."""

    index: Any  # a pynamodb index, or the model itself for the base table
    partitions: list[str]
    condition: Any

    def start_key(self, partition: str, position: list[str]) -> dict[str, dict[str, str]]:
        """The ExclusiveStartKey of a saved position (owner, key[, status])."""
        owner, key = position[0], position[1]
        start = {"PK": {"S": user_key(owner)}, "SK": {"S": idea_key(key)}}
        if self.index is not models.IdeaModel:
            start["feedShard"] = {"S": partition}
        if self.index is models.IdeaModel.feed_by_status:
            start["statusSort"] = {"S": f"{position[2]}#{key}"}
        return start


def _plan(q: ListQuery) -> _Plan:
    if q.user_id:
        return _Plan(models.IdeaModel, [user_key(q.user_id)], models.IdeaModel.sk.startswith("IDEA#"))
    shards = [f"FEED#{n}" for n in range(FEED_SHARDS)]
    if q.status:
        return _Plan(
            models.IdeaModel.feed_by_status, shards, models.IdeaModel.statusSort.startswith(f"{q.status.lower()}#")
        )
    if q.by_status:
        return _Plan(models.IdeaModel.feed_by_status, shards, None)
    return _Plan(models.IdeaModel.feed, shards, None)


def _position(item: models.IdeaModel) -> list[str]:
    return [item.userId, key_of(item), item.status.lower()]


_POSITION_PART = re.compile(r"[A-Za-z0-9_ -]{1,64}")


def _positions(key: bytes, cursor: str | None, q: ListQuery, partitions: list[str]) -> list[Any]:
    """Per partition: None (from the start), "done", or the position of the last item given."""
    if not cursor:
        return [None] * len(partitions)
    positions = cursors.decode(key, cursor, q.signature())
    if not isinstance(positions, list) or len(positions) != len(partitions):
        raise BadRequest(cursors.INVALID)  # signed by an older layout of this query
    for position in positions:
        valid = (
            position is None
            or position == "done"
            or (
                isinstance(position, list)
                and len(position) == 3
                and all(isinstance(part, str) and _POSITION_PART.fullmatch(part) for part in position)
            )
        )
        if not valid:
            raise BadRequest(cursors.INVALID)
    return positions


def _query(plan: _Plan, partition: str, position: Any, q: ListQuery, count: int) -> list[models.IdeaModel]:
    if position == "done":
        return []
    return list(
        plan.index.query(
            partition,
            range_key_condition=plan.condition,
            scan_index_forward=q.order == "asc",
            limit=count,
            page_size=count,
            last_evaluated_key=None if position is None else plan.start_key(partition, position),
        )
    )


def _sort_value(item: models.IdeaModel, q: ListQuery) -> str:
    return item.statusSort if q.by_status else item.sk


# ---------------------------------------------------------------- accounts being deleted
#: Seconds a function instance keeps the set of accounts being deleted: a public listing's
#: max-age at the edge, so a listing is never staler than the edge makes it anyway.
HIDDEN_OWNERS_TTL_SECONDS = 5.0
#: Accounts being deleted that one read covers. Their markers exist only while a large
#: account's ideas are being removed (minutes); 1,000 of them are about 100 KB.
HIDDEN_OWNERS_MAX = 1000
_hidden: tuple[str, float, frozenset[str]] | None = None


def hidden_owners(via: type[models.Model] | None = None) -> frozenset[str]:
    """The accounts being deleted, whose ideas no listing shows: one Query of the small
    ``DELETIONS`` partition (0.5 RCU while it is empty) per function instance every
    ``HIDDEN_OWNERS_TTL_SECONDS``, on the client of ``via`` (the model the listing reads)."""
    global _hidden
    table = f"{models.PendingDeletionModel.Meta.host}/{models.PendingDeletionModel.Meta.table_name}"
    now = time.monotonic()
    if _hidden is None or _hidden[0] != table or now - _hidden[1] >= HIDDEN_OWNERS_TTL_SECONDS:
        found = models.dispatch(
            "Query",
            {
                "KeyConditionExpression": "#pk = :pk",
                "ExpressionAttributeNames": {"#pk": models.PARTITION_KEY},
                "ExpressionAttributeValues": {":pk": {"S": models.DELETIONS}},
                "ProjectionExpression": "userId",
                "Limit": HIDDEN_OWNERS_MAX,
            },
            via=via or models.IdeaModel,
        )
        _hidden = (table, now, frozenset(item["userId"]["S"] for item in found.get("Items", []) if "userId" in item))
    return _hidden[2]


def forget_hidden_owners() -> None:
    """Drop this instance's copy: an account deletion in this process shows at once."""
    global _hidden
    _hidden = None


def _consumed(
    merged: list[tuple[int, models.IdeaModel]],
    fetched: list[list[models.IdeaModel]],
    hidden: frozenset[str],
    need: int,
    count: int,
) -> list[tuple[int, models.IdeaModel]]:
    """The prefix of ``merged`` a page uses up: up to its ``need``-th idea that is shown, or,
    when hidden ideas leave fewer, up to the point where a partition that may hold more ran
    out of fetched items (beyond it that partition's next items could come first)."""
    shown = 0
    for index, (n, item) in enumerate(merged):
        if item.userId not in hidden:
            shown += 1
        if shown == need or (len(fetched[n]) == count and item is fetched[n][-1]):
            return merged[: index + 1]
    return merged


def list_page(
    q: ListQuery, cursor: str | None, *, cursor_key: bytes, skip: int = 0
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ideas: ``limit`` items after ``skip`` (legacy paging), and the cursor of
    the next page. Each partition is read from its saved position with one Query of at most
    ``skip + limit + 1`` items (the extra one tells whether there is more); the partitions of a
    sharded feed are read concurrently and merged by their sort key. Ideas of accounts being
    deleted are left out (a page may then be shorter, and its cursor goes past them)."""
    plan = _plan(q)
    positions = _positions(cursor_key, cursor, q, plan.partitions)
    count = skip + q.limit + 1
    if len(plan.partitions) == 1:
        fetched = [_query(plan, plan.partitions[0], positions[0], q, count)]
    else:
        with ThreadPoolExecutor(max_workers=len(plan.partitions)) as pool:
            fetched = list(
                pool.map(lambda pp: _query(plan, pp[0], pp[1], q, count), zip(plan.partitions, positions, strict=True))
            )
    merged = sorted(
        ((n, item) for n, items in enumerate(fetched) for item in items),
        key=lambda entry: _sort_value(entry[1], q),
        reverse=q.order == "desc",
    )
    hidden = hidden_owners() if merged else frozenset()
    consumed = _consumed(merged, fetched, hidden, skip + q.limit, count)
    page = [(n, item) for n, item in consumed if item.userId not in hidden][skip:]
    next_positions: list[Any] = []
    for n, items in enumerate(fetched):
        given = [item for m, item in consumed if m == n]
        if positions[n] == "done" or (len(items) < count and len(given) == len(items)):
            next_positions.append("done")  # this partition has nothing after what was given
        elif given:
            next_positions.append(_position(given[-1]))
        else:
            next_positions.append(positions[n])
    more = any(position != "done" for position in next_positions)
    went_past = any(item.userId in hidden for _, item in consumed)  # a page of only hidden ideas still moves on
    next_cursor = cursors.encode(cursor_key, q.signature(), next_positions) if more and (page or went_past) else None
    return [to_dict(item) for _, item in page], next_cursor


def list_ideas(
    q: ListQuery, cursor: str | None, page: int = 1, *, cursor_key: bytes
) -> tuple[list[dict[str, Any]], str | None]:
    """A page by cursor, or the legacy ``_page``: the first ``_page * _limit`` ideas in one
    bounded Query (``LEGACY_WINDOW``), of which the last ``_limit`` are the page."""
    return list_page(q, cursor, cursor_key=cursor_key, skip=(page - 1) * q.limit)


# ---------------------------------------------------------------- an account's deletion
#: Ideas read per Query while deleting an account's ideas (one BatchWriteItem holds 25).
DELETE_PAGE = 100


def delete_owned(owner_id: str, *, max_items: int) -> tuple[int, bool]:
    """Delete up to ``max_items`` of ``owner_id``'s ideas (and the alias items of those whose
    id does not name the owner), oldest first: Queries of ``DELETE_PAGE`` on the owner's
    partition, BatchWriteItem deletes of 25. Returns (ideas deleted, whether any remain)."""
    deleted = 0
    while deleted < max_items:
        page = min(DELETE_PAGE, max_items - deleted)
        found = list(
            models.IdeaModel.query(
                user_key(owner_id),
                models.IdeaModel.sk.startswith("IDEA#"),
                limit=page + 1,
                page_size=page + 1,
                consistent_read=True,
            )
        )
        batch = found[:page]
        keys = [models.raw_key(item.pk, item.sk) for item in batch]
        keys += [
            models.raw_key(alias_key(item.ideaId), "ALIAS")
            for item in batch
            if item.ideaId != public_id(owner_id, key_of(item))
        ]
        models.delete_keys(keys)
        deleted += len(batch)
        if len(found) <= page:
            return deleted, False
    return deleted, True
