"""What DynamoDB work a piece of code does: every call the data layer makes, with the capacity
DynamoDB reports for it (pynamodb asks for ``ReturnConsumedCapacity=TOTAL`` on every call).

Used by the DynamoDB Local tests that assert the documented bounds and by ``make capacity``::

    with CapacityMeter() as meter:
        ideas.list_ideas(...)
    meter.read_units, meter.calls
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pynamodb.connection.base import Connection

READS = {"GetItem", "Query", "BatchGetItem", "TransactGetItems", "Scan"}


@dataclass(frozen=True)
class Call:
    operation: str
    index: str | None
    units: float
    items: int  # items read (ScannedCount) or written


@dataclass
class CapacityMeter:
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _original: Any = field(default=None, repr=False)

    def __enter__(self) -> CapacityMeter:
        original = Connection.dispatch
        meter = self

        def dispatch(connection: Connection, operation: str, kwargs: dict) -> dict:
            data = original(connection, operation, kwargs)
            meter._record(operation, kwargs, data)
            return data

        self._original = original
        Connection.dispatch = dispatch  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        Connection.dispatch = self._original  # type: ignore[method-assign]

    def _record(self, operation: str, kwargs: dict, data: dict | None) -> None:
        consumed = (data or {}).get("ConsumedCapacity") or {}
        if isinstance(consumed, list):
            units = sum(float(entry.get("CapacityUnits", 0)) for entry in consumed)
        else:
            units = float(consumed.get("CapacityUnits", 0))
        items = int((data or {}).get("ScannedCount", (data or {}).get("Count", 1 if "Item" in (data or {}) else 0)))
        if operation not in READS:
            items = 1
        with self._lock:
            self.calls.append(Call(operation, kwargs.get("IndexName"), units, items))

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    @property
    def read_units(self) -> float:
        return sum(call.units for call in self.calls if call.operation in READS)

    @property
    def write_units(self) -> float:
        return sum(call.units for call in self.calls if call.operation not in READS)

    @property
    def items_read(self) -> int:
        return sum(call.items for call in self.calls if call.operation in READS)

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]


def eventual_read_units(item_count: int, item_bytes: int) -> float:
    """What DynamoDB bills for one eventually consistent Query or Scan that reads ``item_count``
    items of ``item_bytes``: half a unit per started 4 KB of their total size."""
    return 0.5 * -(-(item_count * item_bytes) // 4096)


def item_bytes(item: dict[str, dict[str, Any]]) -> int:
    """DynamoDB's size of a serialized item: attribute names plus values (strings in UTF-8,
    numbers about one byte per two digits, booleans and nulls one byte)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        ((kind, raw),) = value.items()
        if kind == "S":
            size += len(raw.encode())
        elif kind == "N":
            size += len(raw.lstrip("-").replace(".", "")) // 2 + 1
        else:
            size += 1
    return size
