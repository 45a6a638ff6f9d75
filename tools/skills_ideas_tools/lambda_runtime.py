"""Run Lambda handlers in-process the way the Lambda runtime would.

Handlers are imported once and kept (a warm container), get a context object with the
attributes Powertools reads, and exchange JSON only: the event and the result both go
through ``json`` so a handler that returns something Lambda could not serialise fails
here too instead of in the cloud.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Handler = Callable[[dict, Any], Any]
#: Turns a function name of the manifest into its handler; tests pass fakes through this hook.
Loader = Callable[[str], Handler]

REGION_DEFAULT = "us-east-1"
ACCOUNT_ID = "123456789012"


@dataclass
class LambdaContext:
    """The attributes of the runtime's context object that handlers and Powertools use."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 256
    timeout_seconds: int = 29
    function_version: str = "$LATEST"
    region: str = REGION_DEFAULT
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.invoked_function_arn = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class HandlerError(RuntimeError):
    """The handler could not be imported, raised, or returned something Lambda rejects."""


def module_loader(repo_root: Path) -> Loader:
    """Import ``functions.<name>.app.lambda_handler`` with the repository root on sys.path."""

    def load(function: str) -> Handler:
        root = str(repo_root)
        if root not in sys.path:
            sys.path.insert(0, root)
        module = importlib.import_module(f"functions.{function}.app")
        return module.lambda_handler

    return load


def mapping_loader(handlers: Mapping[str, Handler]) -> Loader:
    """A loader over fixed handlers (tests); an unknown name fails like a missing module."""

    def load(function: str) -> Handler:
        try:
            return handlers[function]
        except KeyError:
            raise ModuleNotFoundError(f"No module named 'functions.{function}'") from None

    return load


class WarmHandlers:
    """Imports each handler on first use and keeps it, like a warm Lambda container."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()

    def get(self, function: str) -> Handler:
        handler = self._handlers.get(function)
        if handler is None:
            with self._lock:
                handler = self._handlers.get(function)
                if handler is None:
                    try:
                        handler = self._loader(function)
                    except Exception as exc:
                        raise HandlerError(f"cannot import handler {function!r}: {exc!r}") from exc
                    self._handlers[function] = handler
        return handler

    def invoke(self, function: str, event: dict, region: str = REGION_DEFAULT) -> Any:
        """Call the handler on a JSON copy of the event; return its JSON-round-tripped result."""
        handler = self.get(function)
        payload = json.loads(json.dumps(event))
        context = LambdaContext(function_name=function, region=region)
        try:
            result = handler(payload, context)
        except Exception as exc:
            raise HandlerError(f"handler {function!r} raised {type(exc).__name__}: {exc}") from exc
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as exc:
            raise HandlerError(f"handler {function!r} returned a non-JSON result: {exc}") from exc
