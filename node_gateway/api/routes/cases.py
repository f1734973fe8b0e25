"""Case views and audit trails."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from node_gateway.api.deps import Allow, CtxDep, DbDep
from node_gateway.api.schemas import HEX32
from node_gateway.services import audit, views
from node_gateway.services.auth import Principal

router = APIRouter(prefix="/v1/cases", tags=["cases"])

Reader = Annotated[Principal, Depends(Allow("officer", "system", "platform", "auditor"))]
CaseId = Annotated[str, Path(pattern=HEX32)]


@router.get("/{case_id}", summary="A case: ledger state, returns, tax record")
def get_case(case_id: CaseId, ctx: CtxDep, db: DbDep, who: Reader) -> dict[str, Any]:
    """The tax assessment is shown at the origin only, disclosed per the caller's role."""
    return views.case_view(ctx, db, who, case_id)


@router.get("/{case_id}/trail", summary="The audit trail of a case")
def get_trail(case_id: CaseId, ctx: CtxDep, db: DbDep, who: Reader) -> dict[str, Any]:
    """Every ledger step in order — event, block, tx hash, digest — each with the verification
    of the document this gateway holds for it, and a readable timeline."""
    return audit.trail(ctx, db, who, case_id)
