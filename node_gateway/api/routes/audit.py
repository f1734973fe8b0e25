"""Audit reports: totals per origin area and week, the report card, anomalies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from node_gateway.api.deps import Allow, CtxDep, DbDep
from node_gateway.services import audit
from node_gateway.services.auth import Principal

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(Allow("auditor", "officer", "admin"))]
Seconds = Annotated[int, Query(ge=0, lt=2**40, description="unix seconds")]


@router.get("/report", summary="Returns, items and values per origin area and week")
def get_report(
    ctx: CtxDep,
    db: DbDep,
    who: Auditor,
    from_: Annotated[int, Query(alias="from", ge=0, lt=2**40, description="unix seconds")],
    to: Seconds,
    area: Annotated[str | None, Query(pattern=r"^[0-9]{4}$", description="origin code")] = None,
    recognition_days: Annotated[int, Query(alias="recognitionDays", ge=1, le=365)] = 7,
) -> dict[str, Any]:
    """Over the returns applied for in [from, to): totals (returns, items, value and tax not
    levied / refunded, with the cases summed), the report card (pieces inspected and
    released, value), days from application to settlement, and anomalies."""
    return audit.report(ctx, db, from_, to, area, recognition_days)
