"""Opaque, tamper-evident page cursors.

A cursor is ``base64url(JSON payload) "." base64url(HMAC-SHA256(payload))``, keyed with
``CURSOR_KEY``. The payload holds the query it belongs to (as a digest) and the position to
resume from as plain values (ids, a status), never key names or key prefixes, so a cursor shows
nothing of the table's layout. Any change to a cursor fails the signature check: nothing a
client invents ever reaches DynamoDB as a start key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from skills_ideas.errors import BadRequest

VERSION = 2
MAX_LENGTH = 2048
_SIGNATURE_BYTES = 16

INVALID = "cursor is not valid: use the nextCursor of the previous page, unchanged"
OTHER_QUERY = "cursor belongs to a different query: keep the same filters, sort and order"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def _query_digest(query_signature: str) -> str:
    return hashlib.sha256(query_signature.encode()).hexdigest()[:12]


def encode(key: bytes, query_signature: str, position: Any) -> str:
    """A cursor resuming ``query_signature`` at ``position`` (any JSON value)."""
    payload = json.dumps(
        {"v": VERSION, "q": _query_digest(query_signature), "p": position}, separators=(",", ":")
    ).encode()
    return f"{_b64(payload)}.{_b64(_sign(key, payload))}"


def decode(key: bytes, cursor: str, query_signature: str) -> Any:
    """The position a cursor holds, or a 400 when it was changed or belongs to another query."""
    if len(cursor) > MAX_LENGTH or cursor.count(".") != 1:
        raise BadRequest(INVALID)
    body, signature = cursor.split(".")
    try:
        payload, tag = _unb64(body), _unb64(signature)
    except (ValueError, binascii.Error):
        raise BadRequest(INVALID) from None
    # Only the canonical spelling counts: base64 ignores the spare bits of a last character.
    if _b64(payload) != body or _b64(tag) != signature or not hmac.compare_digest(_sign(key, payload), tag):
        raise BadRequest(INVALID)
    data = json.loads(payload)  # signed by us, so well-formed
    if data.get("v") != VERSION:
        raise BadRequest(INVALID)
    if data.get("q") != _query_digest(query_signature):
        raise BadRequest(OTHER_QUERY)
    return data.get("p")
