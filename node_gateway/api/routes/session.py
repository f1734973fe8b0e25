"""Who am I: the principal behind the presented API key and the gateway's own area (console
sign-in, client checks, the return centre a platform addresses its application to)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from node_gateway.api.deps import Allow
from node_gateway.config import GatewaySettings
from node_gateway.services.auth import ROLES, Principal
from node_gateway.services.context import AreaContext, area_profile

router = APIRouter(prefix="/v1", tags=["session"])


class GatewayArea(BaseModel):
    """The customs area this gateway serves."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    member_id: str
    label: str
    customs_code: str
    role: str


class WhoAmI(BaseModel):
    """The caller as the gateway sees it, and the gateway's own area."""

    member_id: str
    role: str
    key_id: str
    gateway: GatewayArea


def _settings(request: Request) -> GatewaySettings:
    ctx: AreaContext | None = getattr(request.app.state, "context", None)
    settings: GatewaySettings = ctx.settings if ctx is not None else request.app.state.settings
    return settings


@router.get("/whoami", summary="The member and role of the presented key, and this gateway")
def whoami(principal: Annotated[Principal, Depends(Allow(*ROLES))], request: Request) -> WhoAmI:
    """Any valid key: its member, role and key id, and this gateway's area (member id, label,
    customs code, role origin | return_centre | both)."""
    return WhoAmI(
        member_id=principal.member_id,
        role=principal.role,
        key_id=principal.key_id,
        gateway=GatewayArea.model_validate(area_profile(_settings(request))),
    )
