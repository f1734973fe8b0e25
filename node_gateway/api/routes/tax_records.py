"""Tax records of this origin area: single and bulk ingest, case lookup, case header + proof."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from node_gateway.api.deps import Allow, CtxDep, DbDep, WriteDep, idempotent
from node_gateway.api.schemas import HEX32, CebTaxRecordsIn, StepIn, TaxRecordIn, TaxRecordsIn
from node_gateway.services import tax_payments, tax_records, views
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext

router = APIRouter(prefix="/v1", tags=["tax records"])

Writer = Annotated[Principal, Depends(Allow("system", "officer"))]
Reader = Annotated[Principal, Depends(Allow("system", "officer", "platform", "auditor"))]


def _ingest(
    ctx: AreaContext, db: sqlite3.Connection, bodies: Sequence[TaxRecordIn]
) -> list[dict[str, Any]]:
    """Accept tax-record bodies, all or nothing (services.tax_records.ingest)."""
    return tax_records.ingest(ctx, db, [body.model_dump() for body in bodies])


@router.post("/tax-records", status_code=202, summary="Accept one tax assessment")
def post_tax_record(
    body: TaxRecordIn, ctx: CtxDep, db: DbDep, who: Writer, write: WriteDep, response: Response
) -> Any:
    """Vault and commit one released inventory list; it is anchored with the next batch."""
    return idempotent(response, db, who, write, lambda: _ingest(ctx, db, [body])[0])


@router.post("/tax-records/bulk", status_code=202, summary="Accept many tax assessments")
def post_tax_records(
    body: TaxRecordsIn, ctx: CtxDep, db: DbDep, who: Writer, write: WriteDep, response: Response
) -> Any:
    """All or nothing: every record is validated before any is written."""
    return idempotent(
        response, db, who, write, lambda: {"accepted": _ingest(ctx, db, body.records)}
    )


@router.post(
    "/tax-records/ceb",
    status_code=202,
    summary="Accept the inventory lists of a CEB621 message with their CEB816 tax bills",
)
def post_ceb_tax_records(
    body: CebTaxRecordsIn, ctx: CtxDep, db: DbDep, who: Writer, write: WriteDep, response: Response
) -> Any:
    """The area system's own messages, as JSON `{"platform", "ceb621", "ceb816"}` holding the
    two XML documents as text: every `ceb:Inventory` of the CEB621 becomes a tax assessment
    with the `ceb:Tax` of the same `invtNo` in the CEB816 (node_gateway.adapters.ceb621), all
    for `platform`, then they are accepted as `/tax-records/bulk` accepts records: all or
    nothing. Answers `{"accepted": [{"invtNo", "caseId", "recordDigest", "leaf", "batchId"}]}`
    in the CEB621's order.

    Refusals (problem+json): `invalid_xml` (malformed, a DTD or entity, too deep; 413 when too
    large), `unmatched_tax_bill` (a list without its bill or the reverse), `invalid_record`
    (fields by element path, `/CEB621Message/Inventory[3]/InventoryList[2]/qty`), then those
    of the bulk route (`wrong_area`, `duplicate_record`, ...; record paths `/records/<i>` are
    in the CEB621's order).
    """

    batch = tax_records.read_ceb(body.platform, body.ceb621, body.ceb816)  # outside the write
    return idempotent(response, db, who, write, lambda: tax_records.ingest_ceb(ctx, db, batch))


@router.get("/cases/lookup", summary="The pseudonymous case id of an inventory list")
def lookup_case(
    ctx: CtxDep,
    db: DbDep,
    who: Reader,
    invt_no: Annotated[str, Query(alias="invtNo", pattern=r"^\d{4}\d{4}I\d{9}$")],
) -> dict[str, str]:
    """Only for inventory lists this area holds (and, for a platform, only its own). Absent and
    not visible answer alike, and never with the computed id: a pseudonymous case id stays
    with the parties of its case."""
    return views.lookup_case(ctx, db, who, invt_no)


@router.get("/cases/{case_id}/header", summary="A case header with its batch root and proof")
def case_header(
    case_id: Annotated[str, Path(pattern=HEX32)], ctx: CtxDep, db: DbDep, who: Reader
) -> dict[str, Any]:
    """What a return enterprise needs to sign and submit a return application."""
    return views.case_header(ctx, db, who, case_id)


@router.post("/tax-payments", status_code=202, summary="Accept a tax payment")
def post_tax_payment(
    body: StepIn, ctx: CtxDep, db: DbDep, who: Writer, write: WriteDep, response: Response
) -> Any:
    """The withholding agent's payment of a period's tax bills (canonical tax_payment): one
    payment leaf per covered case, anchored in payment batches; a refund must prove it."""
    return idempotent(
        response, db, who, write, lambda: tax_payments.ingest_payment(ctx, db, body.record)
    )
