"""Ideas: validation, ownership-checked writes and the sharded, cursor-paged feed."""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import zlib
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from skills_ideas import models
from skills_ideas.errors import BadRequest, Conflict, Forbidden, NotFound
from skills_ideas.ids import ulid
from skills_ideas.models import now_iso, user_key
from skills_ideas.schema import INDEXES
from skills_ideas.validation import bounded_int, choice, optional_string, reject_unknown, text

STATUSES = ("Concept", "Planning", "In Progress", "On Hold", "Completed")
DEFAULT_STATUS = "Concept"
TITLE_MAX = 200
DESCRIPTION_MAX = 5000
#: Shards of the all-ideas feed; docs/data-model.md explains the choice. Fixed once data exists.
FEED_SHARDS = 4
SORT_PREFIX_CHARS = 200
FIELDS = {"title", "description", "status"}
READ_ONLY_FIELDS = frozenset({"id", "userId", "createdAt", "updatedAt"})
SORTS = ("createdAt", "title", "status")
ORDERS = ("asc", "desc")
PAGE_MAX = 100
LEGACY_PAGE_MAX = 100


# ---------------------------------------------------------------- representation and keys
def idea_key(idea_id: str) -> str:
    return f"IDEA#{idea_id}"


def feed_shard(idea_id: str) -> str:
    return f"FEED#{zlib.crc32(idea_id.encode()) % FEED_SHARDS}"


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


def derive_keys(item: models.IdeaModel) -> None:
    """Set the index keys that follow from the idea's fields."""
    item.feedShard = feed_shard(item.ideaId)
    item.createdSort = f"{item.createdAt}#{item.ideaId}"
    # U+0001, not "#", ends the title: it sorts below every character a title has, so
    # "solar" comes before "solar kettle" and "solar!" (" " and "!" sort below "#").
    item.titleSort = f"{item.title.lower()[:SORT_PREFIX_CHARS]}\x01{item.ideaId}"
    item.statusSort = f"{item.status.lower()}#{item.createdAt}#{item.ideaId}"


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
    return optional_string(body, "description", max_length=DESCRIPTION_MAX, multiline=True)


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
def new_item(owner_id: str, idea_id: str, **fields: Any) -> models.IdeaModel:
    """An idea item with its keys and derived index keys (create, and the legacy migration)."""
    item = models.IdeaModel(user_key(owner_id), idea_key(idea_id), ideaId=idea_id, userId=owner_id, **fields)
    derive_keys(item)
    return item


def create(owner_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    now = now_iso()
    item = new_item(owner_id, ulid(), createdAt=now, updatedAt=now, **fields)
    item.save(condition=models.IdeaModel.pk.does_not_exist())
    return to_dict(item)


def get(idea_id: str) -> dict[str, Any]:
    item = _find(idea_id)
    if item is None:
        raise NotFound("Idea not found")
    return to_dict(item)


def _find(idea_id: str) -> models.IdeaModel | None:
    if not idea_id or len(idea_id) > 64:
        return None
    for item in models.IdeaModel.by_id.query(idea_id, limit=1):
        return item
    return None


def _missing_or_forbidden(idea_id: str) -> Exception:
    """After a write on the caller's own key failed its existence check: someone else's
    idea (403) or no idea at all (404)."""
    if _find(idea_id) is None:
        return NotFound("Idea not found")
    return Forbidden("You can only change your own ideas")


def _own(owner_id: str, idea_id: str) -> models.IdeaModel:
    try:
        return models.IdeaModel.get(user_key(owner_id), idea_key(idea_id), consistent_read=True)
    except models.IdeaModel.DoesNotExist:
        raise _missing_or_forbidden(idea_id) from None


def update(owner_id: str, idea_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes`` to the caller's own idea. The item is addressed by the caller's own
    partition, so another user's idea can never be written; the version check makes a
    concurrent edit or delete fail cleanly instead of being overwritten."""
    if len(idea_id) > 64:
        raise NotFound("Idea not found")
    item = _own(owner_id, idea_id)
    for name, value in changes.items():
        setattr(item, name, value)
    item.updatedAt = now_iso()
    derive_keys(item)
    try:
        item.save()  # conditioned on the version read above
    except PutError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise Conflict("The idea was changed or deleted at the same time; reload and retry") from None
        raise
    return to_dict(item)


def delete(owner_id: str, idea_id: str) -> None:
    if len(idea_id) > 64:
        raise NotFound("Idea not found")
    item = models.IdeaModel(user_key(owner_id), idea_key(idea_id))
    try:
        item.delete(condition=models.IdeaModel.pk.exists(), add_version_condition=False)
    except DeleteError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            raise _missing_or_forbidden(idea_id) from None
        raise


# ---------------------------------------------------------------- listing
@dataclass(frozen=True)
class ListQuery:
    sort: str
    order: str
    limit: int
    status: str | None
    user_id: str | None

    def signature(self) -> str:
        return "|".join([self.sort, self.order, self.status or "", self.user_id or ""])


def parse_list_query(params: dict[str, str]) -> tuple[ListQuery, str | None, int]:
    """Validate the listing parameters; returns the query, the cursor and the legacy page."""
    sort = choice(params["sort"], SORTS, name="sort") if params.get("sort") else "createdAt"
    default_order = "desc" if sort == "createdAt" else "asc"
    order = choice(params["order"], ORDERS, name="order") if params.get("order") else default_order
    limit = bounded_int(params.get("_limit"), name="_limit", default=20, minimum=1, maximum=PAGE_MAX)
    page = bounded_int(params.get("_page"), name="_page", default=1, minimum=1, maximum=LEGACY_PAGE_MAX)
    status = choice(params["status"], STATUSES, name="status") if params.get("status") else None
    user_id = params.get("userId") or None
    if user_id is not None and (len(user_id) > 64 or not user_id.replace("-", "").replace("_", "").isalnum()):
        raise BadRequest("userId is not a valid user id")
    cursor = params.get("cursor") or None
    if cursor and page != 1:
        raise BadRequest("Use either cursor or _page, not both")
    return ListQuery(sort, order, limit, status, user_id), cursor, page


def _plan(q: ListQuery) -> tuple[Any, list[str], str, Any, Any]:
    """Which index to read, its partitions, the sort attribute, a key condition and a filter."""
    sort_attr = {"createdAt": "createdSort", "title": "titleSort", "status": "statusSort"}[q.sort]
    use_status_index = q.status is not None and q.sort != "title"
    if use_status_index:
        sort_attr = "statusSort"
    if q.user_id:
        index = {
            "createdSort": models.IdeaModel.by_created,
            "titleSort": models.IdeaModel.by_title,
            "statusSort": models.IdeaModel.by_status,
        }[sort_attr]
        partitions = [user_key(q.user_id)]
    else:
        index = {
            "createdSort": models.IdeaModel.feed_by_created,
            "titleSort": models.IdeaModel.feed_by_title,
            "statusSort": models.IdeaModel.feed_by_status,
        }[sort_attr]
        partitions = [f"FEED#{n}" for n in range(FEED_SHARDS)]
    attribute = getattr(models.IdeaModel, sort_attr)
    condition = attribute.startswith(f"{q.status.lower()}#") if use_status_index and q.status else None
    filter_ = (models.IdeaModel.status == q.status) if q.status and not use_status_index else None
    return index, partitions, sort_attr, condition, filter_


def _index_key_names(index: Any) -> tuple[str, str]:
    spec = next(i for i in INDEXES if i.name == index.Meta.index_name)
    return spec.partition_key, spec.sort_key or ""


def _position(item: models.IdeaModel, index: Any) -> dict[str, dict[str, str]]:
    hash_name, range_name = _index_key_names(index)
    serialized = item.serialize()
    names = {"PK", "SK", hash_name, range_name}
    return {name: serialized[name] for name in names}


def _encode_cursor(q: ListQuery, positions: dict[str, Any]) -> str:
    raw = json.dumps({"v": 1, "q": q.signature(), "p": positions}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, q: ListQuery, partitions: list[str], index: Any) -> dict[str, Any]:
    invalid = BadRequest("cursor is not valid: use the nextCursor of the previous page, unchanged")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error):
        raise invalid from None
    if not isinstance(data, dict) or data.get("v") != 1 or not isinstance(data.get("p"), dict):
        raise invalid
    if data.get("q") != q.signature():
        raise BadRequest("cursor belongs to a different query: keep the same filters, sort and order")
    hash_name, range_name = _index_key_names(index)
    expected = {"PK", "SK", hash_name, range_name}
    positions = data["p"]
    if set(positions) != set(partitions):
        raise invalid
    for partition, position in positions.items():
        if position in (None, "done"):
            continue
        if (
            not isinstance(position, dict)
            or set(position) != expected
            or not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in position.values())
            or position[hash_name]["S"] != partition
        ):
            raise invalid
    return positions


def list_page(q: ListQuery, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ideas. Every partition (feed shard, or the one user's) is queried from
    its saved position; the results are merged by the sort key and the first ``limit``
    returned. The cursor records, per partition, the last item it contributed."""
    index, partitions, sort_attr, condition, filter_ = _plan(q)
    positions: dict[str, Any] = _decode_cursor(cursor, q, partitions, index) if cursor else dict.fromkeys(partitions)
    descending = q.order == "desc"
    fetched: dict[str, list[models.IdeaModel]] = {}
    finished: dict[str, bool] = {}
    for partition in partitions:
        position = positions[partition]
        if position == "done":
            fetched[partition], finished[partition] = [], True
            continue
        results = index.query(
            partition,
            range_key_condition=condition,
            filter_condition=filter_,
            scan_index_forward=not descending,
            limit=q.limit + 1,  # one more than a page tells whether the partition has more
            last_evaluated_key=position,
        )
        items = list(results)
        fetched[partition] = items
        finished[partition] = len(items) <= q.limit

    def sort_value(entry: tuple[str, models.IdeaModel]) -> str:
        return str(getattr(entry[1], sort_attr))

    merged = heapq.merge(*[[(p, item) for item in fetched[p]] for p in partitions], key=sort_value, reverse=descending)
    page: list[tuple[str, models.IdeaModel]] = []
    for entry in merged:
        if len(page) == q.limit:
            break
        page.append(entry)

    used: dict[str, int] = dict.fromkeys(partitions, 0)
    for partition, _ in page:
        used[partition] += 1
    next_positions: dict[str, Any] = {}
    for partition in partitions:
        if finished[partition] and used[partition] == len(fetched[partition]):
            next_positions[partition] = "done"
        elif used[partition]:
            last = [item for p, item in page if p == partition][-1]
            next_positions[partition] = _position(last, index)
        else:
            next_positions[partition] = positions[partition]
    more = any(value != "done" for value in next_positions.values())
    return [to_dict(item) for _, item in page], (_encode_cursor(q, next_positions) if more else None)


def list_ideas(q: ListQuery, cursor: str | None, page: int = 1) -> tuple[list[dict[str, Any]], str | None]:
    """A page by cursor, or the legacy ``_page`` (walked from the start, bounded)."""
    items, next_cursor = list_page(q, cursor)
    for _ in range(page - 1):
        if next_cursor is None:
            return [], None
        items, next_cursor = list_page(q, next_cursor)
    return items, next_cursor
