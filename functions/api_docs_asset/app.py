"""GET /docs/{asset} — the files of the documentation page, served by the API itself.

Swagger UI's files come from the npm package swagger-ui-dist at the version package.json pins,
copied into ``swagger-ui/`` beside this handler by ``make install`` (so they ship in the
function's package); ``swagger-initializer.js`` is ours. Anything not listed is a 404.
Cacheable (ETag, 304)."""

from pathlib import Path
from typing import Any

from skills_ideas.errors import NotFound
from skills_ideas.http import Event, Response, api_handler, cacheable, path_param, respond

HERE = Path(__file__).parent
JS, CSS, TEXT = "text/javascript; charset=utf-8", "text/css; charset=utf-8", "text/plain; charset=utf-8"
#: Name in the URL -> (file beside this handler, Content-Type).
ASSETS = {
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", JS),
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", CSS),
    "swagger-initializer.js": ("swagger-initializer.js", JS),
    "swagger-ui-bundle.js.LICENSE.txt": ("swagger-ui/swagger-ui-bundle.js.LICENSE.txt", TEXT),
    "LICENSE": ("swagger-ui/LICENSE", TEXT),
    "NOTICE": ("swagger-ui/NOTICE", TEXT),
}
CACHE_CONTROL = "public, max-age=3600"
_read: dict[str, str] = {}  # kept between warm invocations


def _content(name: str) -> str:
    if name not in _read:
        _read[name] = (HERE / ASSETS[name][0]).read_text(encoding="utf-8")
    return _read[name]


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    name = path_param(event, "asset")
    if name not in ASSETS:
        raise NotFound("Not found")
    headers = {"Content-Type": ASSETS[name][1]}
    return cacheable(event, {**respond(200, None, headers), "body": _content(name)}, CACHE_CONTROL)
