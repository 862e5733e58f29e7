"""The documentation pages: the OpenAPI document, Swagger UI, ReDoc and their assets; and the
desk view (``/dashboard``) with its assets.

``make gen`` writes the document and copies the pages' assets (npm ``swagger-ui-dist`` and
``redoc``) into the generated package ``mlanalytics.v1``; :func:`load` reads them once, with the
ETag of each. The pages load everything from this service (``/docs/...``, ``/openapi.json``):
no CDN, so they work on a network with no way out. (Absolute paths, because Envoy also routes
``/docs/`` to the Swagger UI page, where relative ones would resolve one folder too deep.)

The desk view's body is ``dashboard.html`` of the generated ``mlanalytics.v1/dashboard`` folder
(from ``docs/ui/dashboard``), its assets the other files there: its compiled script, its style
sheet and uplot's. It runs no inline script: its CSP allows scripts of this service only.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import PurePosixPath

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}

#: Nothing but this service: the pages' own inline script and styles, data: images, and (ReDoc's
#: search) a blob: worker.
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)

#: The desk view: scripts and data from this service only (uplot styles its elements inline).
_DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'"
)

#: Every page: this service's CSP, the title and the favicon; ``head`` and ``body`` are its own.
#: (The desk view has a copy of the icon under /dashboard/, public like the rest of the page when
#: the edge asks for tokens.)
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{icon}" sizes="32x32">
{head}
</head>
<body>
{body}
</body>
</html>
"""

_SWAGGER_UI_HEAD = '<link rel="stylesheet" href="/docs/swagger-ui.css">'
_SWAGGER_UI_BODY = """\
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  displayRequestDuration: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
</script>"""

#: ReDoc's menu footer shows a logo from a CDN (no option hides it); served, it is an empty image
#: of this page's own, so the browser neither fetches it nor reports the CSP blocking it.
_REDOC_LOGO = (
    b"https://cdn.redoc.ly/redoc/logo-mini.svg",
    b"data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7",
)

_REDOC_HEAD = "<style>body { margin: 0; padding: 0; }</style>"
_REDOC_BODY = """\
<redoc spec-url="/openapi.json" expand-responses="200" path-in-middle-panel="true"></redoc>
<script src="/docs/redoc.standalone.js"></script>"""


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
    #: The desk view and its assets (an empty page and none when not generated).
    dashboard: Resource = field(default_factory=lambda: Resource("text/html; charset=utf-8", b""))
    dashboard_assets: dict[str, Resource] = field(default_factory=dict)


#: In the desk view's head when the edge asks for bearer tokens: the page asks for one before
#: its first call.
_TOKENS_REQUIRED = '<meta name="mlanalytics-tokens" content="required">'


def load(*, tokens: bool = False) -> Documentation:
    """Read the generated document and assets of ``mlanalytics.v1``; ``tokens``: the edge asks
    for bearer tokens (AUTH_JWKS_FILE is set)."""
    generated = resources.files("mlanalytics.v1")
    document = generated.joinpath("openapi.json").read_bytes()
    title = html.escape(json.loads(document)["info"]["title"])
    assets = _assets(generated.joinpath("docs"))
    desk = generated.joinpath("dashboard")
    dashboard_assets = _assets(desk)
    body = desk.joinpath("dashboard.html")
    return Documentation(
        document=Resource("application/json", document),
        swagger_ui=_page(f"{title}: Swagger UI", _SWAGGER_UI_HEAD, _SWAGGER_UI_BODY),
        redoc=_page(f"{title}: ReDoc", _REDOC_HEAD, _REDOC_BODY),
        assets=assets,
        dashboard=_page(
            "USD/COP desk: models live",
            _DASHBOARD_HEAD + ("\n" + _TOKENS_REQUIRED if tokens else ""),
            body.read_text() if body.is_file() else _NOT_GENERATED,
            csp=_DASHBOARD_CSP,
            icon="/dashboard/favicon-32x32.png",
        ),
        dashboard_assets=dashboard_assets,
    )


_DASHBOARD_HEAD = """\
<link rel="stylesheet" href="/dashboard/uPlot.min.css">
<link rel="stylesheet" href="/dashboard/dashboard.css">
<script src="/dashboard/uPlot.iife.min.js" defer></script>
<script src="/dashboard/dashboard.js" defer></script>"""
_NOT_GENERATED = "<p>The desk view was not generated: run <code>make gen</code> (with npm).</p>"


def _assets(folder: Traversable) -> dict[str, Resource]:
    """The files of a generated folder that a page loads, by name (none if it does not exist);
    ReDoc's CDN logo replaced (:data:`_REDOC_LOGO`)."""
    return {
        entry.name: Resource(
            _CONTENT_TYPES[PurePosixPath(entry.name).suffix],
            entry.read_bytes().replace(*_REDOC_LOGO),
        )
        for entry in (folder.iterdir() if folder.is_dir() else ())
        if PurePosixPath(entry.name).suffix in _CONTENT_TYPES
    }


def _page(
    title: str, head: str, body: str, csp: str = _CSP, icon: str = "/docs/favicon-32x32.png"
) -> Resource:
    """An HTML page of :data:`_PAGE` (``title`` already escaped)."""
    page = _PAGE.format(csp=csp, title=title, head=head, body=body, icon=icon)
    return Resource("text/html; charset=utf-8", page.encode())
