"""GET /docs — the API's interactive documentation: Swagger UI on GET /openapi.json.

Everything the page loads is served by this API itself (GET /docs/{asset}, from the pinned
npm package swagger-ui-dist); the Content-Security-Policy lets it load nothing from anywhere
else. Links are relative to a ``<base>`` that includes the stage when the page is reached
through API Gateway's own domain (``/prod/docs``)."""

from html import escape
from typing import Any

from skills_ideas.http import Event, Response, api_handler, cacheable, respond

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Skills &amp; Ideas API</title>
  <base href="{base}">
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-url="../openapi.json"></div>
  <script src="swagger-ui-bundle.js"></script>
  <script src="swagger-initializer.js"></script>
</body>
</html>
"""
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    # Swagger UI sets inline styles; everything else comes from this origin only.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
CACHE_CONTROL = "public, max-age=300"


def base_path(event: Event) -> str:
    """Where /docs is as the browser sees it: under the stage on API Gateway's own domain
    (``https://<id>.execute-api.<region>.amazonaws.com/<stage>/docs``), at the root elsewhere
    (a custom domain, CloudFront, the local gateway)."""
    context = event.get("requestContext") or {}
    domain, stage = str(context.get("domainName") or ""), str(context.get("stage") or "")
    prefix = f"/{stage}" if stage and domain.endswith(".amazonaws.com") else ""
    return f"{prefix}/docs/"


@api_handler
def lambda_handler(event: Event, context: Any) -> Response:
    page = PAGE.format(base=escape(base_path(event), quote=True))
    return cacheable(event, {**respond(200, None, HEADERS), "body": page}, CACHE_CONTROL)
