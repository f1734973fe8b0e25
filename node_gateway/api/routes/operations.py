"""Operations (accepted writes on their way to the ledger) and document verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from node_gateway.api.deps import Allow, CtxDep, DbDep
from node_gateway.api.schemas import VerifyIn
from node_gateway.services import views
from node_gateway.services.auth import ROLES, Principal

router = APIRouter(prefix="/v1", tags=["operations"])

Anyone = Annotated[Principal, Depends(Allow(*ROLES))]
# Outbox row ids: SQLite integers, so positive and below 2**63.
OperationId = Annotated[int, Path(ge=1, lt=2**63, description="the operation's id")]


@router.get("/operations/{op_id}", summary="Where an accepted write stands")
def get_operation(op_id: OperationId, db: DbDep, who: Anyone) -> dict[str, Any]:
    """pending -> sent -> confirmed (block, tx hash) or failed (reason)."""
    return views.operation(db, who, op_id)


@router.post("/verify", summary="Check a disclosed document against the ledger")
def post_verify(body: VerifyIn, ctx: CtxDep, db: DbDep, who: Anyone) -> dict[str, Any]:
    """Integrity, anchoring, revocation, issuer and ledger state, each named with its result.
    Reads only: nothing is written, so no Idempotency-Key is needed. A platform key verifies
    documents of its own cases and returns only (others answer 404 `not_found`)."""
    return views.verify(ctx, db, who, body.document)
