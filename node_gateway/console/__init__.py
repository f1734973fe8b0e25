"""The officer and auditor web console: a static page (static/: index.html, its ES modules and
style.css; no build step, nothing fetched from elsewhere) that signs in with an API key and calls
this gateway's `/v1` API. node_gateway.api.routes.console serves it at `/console`; this module owns
the files, the headers they are served with, and the gateway profile the page shows.
"""

from __future__ import annotations

from pathlib import Path

from node_gateway.config import GatewaySettings

STATIC_DIR = Path(__file__).parent / "static"
INDEX = STATIC_DIR / "index.html"
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
# The scripts and styles the page loads, by file name; nothing else is served from static/.
ASSETS = {
    path.name: _MEDIA_TYPES[path.suffix]
    for path in STATIC_DIR.iterdir()
    if path.is_file() and path.suffix in _MEDIA_TYPES
}
# The page runs only its own script and styles and talks only to this gateway.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def asset(name: str) -> tuple[Path, str] | None:
    """The path and media type of a console asset, None when `name` is not one."""
    media_type = ASSETS.get(name)
    return None if media_type is None else (STATIC_DIR / name, media_type)


def gateway_profile(settings: GatewaySettings) -> dict[str, str]:
    """What the page shows before sign-in: which customs area's gateway it is talking to."""
    return {
        "customsCode": settings.customs_code,
        "label": settings.area_label,
        "role": settings.role,
    }
