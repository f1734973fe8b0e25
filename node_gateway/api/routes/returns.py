"""Returns: application (relayed by the return centre), arrival, inspection, recognition or
dispute, settlement; return views and lists."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from node_gateway.api.deps import Allow, CtxDep, DbDep, WriteDep, idempotent
from node_gateway.api.schemas import HEX32, ReturnApplicationIn, StepIn
from node_gateway.services import binding, returns, views
from node_gateway.services.auth import Principal

router = APIRouter(prefix="/v1/returns", tags=["returns"])

Platform = Annotated[Principal, Depends(Allow("platform"))]
Centre = Annotated[Principal, Depends(Allow("officer", "system"))]
Officer = Annotated[Principal, Depends(Allow("officer"))]
Reader = Annotated[Principal, Depends(Allow("officer", "system", "platform", "auditor"))]
ReturnId = Annotated[str, Path(pattern=HEX32)]


@router.post("", status_code=202, summary="Relay a signed return application")
def post_return(
    body: ReturnApplicationIn,
    ctx: CtxDep,
    db: DbDep,
    who: Platform,
    write: WriteDep,
    response: Response,
) -> Any:
    """The return enterprise's application with its EIP-712 signature; opens the case from its
    anchored header when it is the case's first return."""
    application = body.to_input()
    # the origin is asked for its declaration outside the write transaction
    binding.prefetch(
        ctx, db, application, lambda: returns.check_application(ctx, db, who, application)
    )
    return idempotent(response, db, who, write, partial(returns.apply, ctx, db, who, application))


@router.post("/{return_id}/arrival", status_code=202, summary="Record the parcel's arrival")
def post_arrival(
    return_id: ReturnId,
    body: StepIn,
    ctx: CtxDep,
    db: DbDep,
    who: Centre,
    write: WriteDep,
    response: Response,
) -> Any:
    """Return centre only."""
    # ReturnId admits one spelling: lowercase
    step = partial(returns.arrival, ctx, db, who, return_id, body.record)
    return idempotent(response, db, who, write, step)


@router.post("/{return_id}/inspection", status_code=202, summary="Record the inspection result")
def post_inspection(
    return_id: ReturnId,
    body: StepIn,
    ctx: CtxDep,
    db: DbDep,
    who: Centre,
    write: WriteDep,
    response: Response,
) -> Any:
    """Return centre only; the report covers every applied line."""
    step = partial(returns.inspection, ctx, db, who, return_id, body.record)
    return idempotent(response, db, who, write, step)


@router.post("/{return_id}/recognition", status_code=202, summary="Recognise the result")
def post_recognition(
    return_id: ReturnId,
    body: StepIn,
    ctx: CtxDep,
    db: DbDep,
    who: Officer,
    write: WriteDep,
    response: Response,
) -> Any:
    """Origin only, by an officer: recognise the return centre's inspection result."""
    step = partial(returns.decide, ctx, db, who, return_id, body.record, "recognized")
    return idempotent(response, db, who, write, step)


@router.post("/{return_id}/dispute", status_code=202, summary="Dispute the result")
def post_dispute(
    return_id: ReturnId,
    body: StepIn,
    ctx: CtxDep,
    db: DbDep,
    who: Officer,
    write: WriteDep,
    response: Response,
) -> Any:
    """Origin only, by an officer: the reason is committed, kept off the ledger."""
    step = partial(returns.decide, ctx, db, who, return_id, body.record, "disputed")
    return idempotent(response, db, who, write, step)


@router.post("/{return_id}/settlement", status_code=202, summary="Settle accepted lines")
def post_settlement(
    return_id: ReturnId,
    body: StepIn,
    ctx: CtxDep,
    db: DbDep,
    who: Centre,
    write: WriteDep,
    response: Response,
) -> Any:
    """Origin only: tax not levied on the accepted lines, quota adjusted."""
    step = partial(returns.settle, ctx, db, who, return_id, body.record)
    return idempotent(response, db, who, write, step)


@router.get("", summary="List returns")
def list_returns(
    db: DbDep,
    who: Reader,
    state: Annotated[Literal[views.STATES] | None, Query()] = None,  # type: ignore[valid-type]
    area: Annotated[str | None, Query(pattern=r"^\d{4}$")] = None,
    role: Annotated[Literal["origin", "centre"] | None, Query()] = None,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    after: Annotated[str, Query(pattern=r"^(0x[0-9a-f]{64})?$")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Filtered by state, customs area (as origin, return centre or either) and application
    time; paged by return id (`after` = the last id of the previous page)."""
    filters: dict[str, Any] = {"state": state, "after": after, "limit": limit}
    if area is not None:
        key = {"origin": "origin_code", "centre": "centre_code", None: "area_code"}[role]
        filters[key] = int(area)
    if since is not None:
        filters["since"] = int(since.timestamp())
    if until is not None:
        filters["until"] = int(until.timestamp())
    items = views.list_returns(db, who, **filters)
    return {"items": items, "next": items[-1]["returnId"] if len(items) == limit else None}


@router.get("/{return_id}", summary="A return: ledger state and documents")
def get_return(return_id: ReturnId, ctx: CtxDep, db: DbDep, who: Reader) -> dict[str, Any]:
    """The documents come as disclosed documents the caller may verify."""
    return views.return_view(ctx, db, who, return_id)
