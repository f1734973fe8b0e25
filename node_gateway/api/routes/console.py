"""The web console's page, assets and gateway profile under `/console`: public (no API key);
every data call the page makes goes to the `/v1` API with the key its user typed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse

from node_gateway import console
from node_gateway.errors import NotFound

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("", summary="The console page")
def page() -> FileResponse:
    """index.html, with headers that keep the page to its own scripts and this gateway."""
    return FileResponse(console.INDEX, media_type="text/html", headers=console.HEADERS)


@router.get("/gateway.json", summary="The customs area this gateway serves")
def gateway(request: Request) -> dict[str, str]:
    """Customs code, member label and role (origin, return centre or both)."""
    return console.gateway_profile(request.app.state.settings)


@router.get("/static/{name}", summary="A console asset")
def static(name: Annotated[str, Path(pattern=r"^[a-z]+\.[a-z]+$")]) -> FileResponse:
    """app.js or style.css; anything else is 404."""
    found = console.asset(name)
    if found is None:
        raise NotFound(f"no console asset {name!r}")
    path, media_type = found
    return FileResponse(path, media_type=media_type, headers=console.HEADERS)
