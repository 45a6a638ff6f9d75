"""Identifiers: 26-character ULIDs (Crockford base32), time-ordered and URL-safe."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(timestamp_ms: int | None = None, randomness: bytes | None = None) -> str:
    """A new ULID. ``randomness`` (10 bytes) makes it deterministic, e.g. for migrations."""
    ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    rand = os.urandom(10) if randomness is None else randomness[:10]
    value = (ms << 80) | int.from_bytes(rand, "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
