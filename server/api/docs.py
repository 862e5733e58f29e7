"""The documentation pages: the OpenAPI document, Swagger UI, ReDoc and their assets.

``make gen`` writes the document and copies the pages' assets (npm ``swagger-ui-dist`` and
``redoc``) into the generated package ``mlanalytics.v1``; :func:`load` reads them once, with the
ETag of each. The pages load everything from this service (``/docs/...``, ``/openapi.json``):
no CDN, so they work on a network with no way out. (Absolute paths, because Envoy also routes
``/docs/`` to the Swagger UI page, where relative ones would resolve one folder too deep.)
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePosixPath

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}

#: Nothing but this service: the pages' own inline script and styles, data: images, and (ReDoc's
#: search) a blob: worker. It also keeps ReDoc from fetching its footer logo from a CDN.
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)

_SWAGGER_UI = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayRequestDuration: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
}});
</script>
</body>
</html>
"""

_REDOC = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<redoc spec-url="/openapi.json" expand-responses="200" path-in-middle-panel="true"></redoc>
<script src="/docs/redoc.standalone.js"></script>
</body>
</html>
"""


@dataclass(frozen=True, slots=True)
class Resource:
    """One HTTP body with its content type and strong ETag."""

    content_type: str
    body: bytes
    etag: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.body).hexdigest()[:24]
        object.__setattr__(self, "etag", f'"{digest}"')

    def matches(self, if_none_match: str | None) -> bool:
        """Whether an If-None-Match header names this ETag (weak comparison, RFC 9110 13.1.2)."""
        if not if_none_match:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or self.etag in tags


@dataclass(frozen=True, slots=True)
class Documentation:
    """The document, the two pages and the assets by file name (empty if not generated)."""

    document: Resource
    swagger_ui: Resource
    redoc: Resource
    assets: dict[str, Resource]


def load() -> Documentation:
    """Read the generated document and assets of ``mlanalytics.v1``."""
    generated = resources.files("mlanalytics.v1")
    document = generated.joinpath("openapi.json").read_bytes()
    title = html.escape(json.loads(document)["info"]["title"])
    folder = generated.joinpath("docs")
    assets = {
        entry.name: Resource(_CONTENT_TYPES[PurePosixPath(entry.name).suffix], entry.read_bytes())
        for entry in (folder.iterdir() if folder.is_dir() else ())
        if PurePosixPath(entry.name).suffix in _CONTENT_TYPES
    }
    return Documentation(
        document=Resource("application/json", document),
        swagger_ui=Resource(
            "text/html; charset=utf-8",
            _SWAGGER_UI.format(title=f"{title}: Swagger UI", csp=_CSP).encode(),
        ),
        redoc=Resource(
            "text/html; charset=utf-8", _REDOC.format(title=f"{title}: ReDoc", csp=_CSP).encode()
        ),
        assets=assets,
    )
