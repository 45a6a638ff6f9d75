"""GET /openapi.json — this API's OpenAPI 3.1 document. Cacheable (ETag, 304).

The document is docs/openapi.json (``make openapi``), copied beside this handler by ``make
install`` so that it ships in the function's package."""

from pathlib import Path
from typing import Any

from skills_ideas.http import Event, Response, api_handler, cacheable, respond

DOCUMENT = Path(__file__).with_name("openapi.json").read_text(encoding="utf-8")
CACHE_CONTROL = "public, max-age=300"


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    return cacheable(event, {**respond(200, None), "body": DOCUMENT}, CACHE_CONTROL)
