"""GET / — the API's name, version and every endpoint, straight from the route manifest."""

from typing import Any

from skills_ideas import __version__
from skills_ideas.http import Event, Response, api_handler, ok
from skills_ideas.routes import ROUTES


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    return ok(
        message="Skills & Ideas API",
        version=__version__,
        endpoints=[route.signature for route in ROUTES],
        routes=[{"method": r.method, "path": r.path, "access": r.access, "summary": r.summary} for r in ROUTES],
    )
