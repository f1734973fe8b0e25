"""Who am I: the principal behind the presented API key (console sign-in, client checks)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from node_gateway.api.deps import Allow
from node_gateway.services.auth import ROLES, Principal

router = APIRouter(prefix="/v1", tags=["session"])


class WhoAmI(BaseModel):
    """The caller as the gateway sees it."""

    member_id: str
    role: str
    key_id: str


@router.get("/whoami", summary="The member and role of the presented key")
def whoami(principal: Annotated[Principal, Depends(Allow(*ROLES))]) -> WhoAmI:
    """Any valid key: its member, role and key id."""
    return WhoAmI(member_id=principal.member_id, role=principal.role, key_id=principal.key_id)
