"""Rules that span two records: a return application against the assessment it returns from,
and the settlement a case's assessment gives for returned lines."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Literal

from clients.records.errors import FieldError, RecordValidationError
from clients.records.outcomes import QuotaAdjustment, SettlementLine, SettlementRecord
from clients.records.returns import ReturnApplication
from clients.records.tax import TaxAssessment


def return_problems(app: ReturnApplication, assessment: TaxAssessment) -> list[FieldError]:
    """What is wrong with `app` as a return of `assessment` (paths point into `app`)."""
    found: list[FieldError] = []
    for key, rule, mine, theirs in (
        ("invtNo", "invt_no_mismatch", app.invt_no, assessment.invt_no),
        ("orderNo", "order_no_mismatch", app.order_no, assessment.order_no),
        ("customsCode", "customs_code_mismatch", app.customs_code, assessment.customs_code),
        ("ebpCode", "ebp_code_mismatch", app.ebp_code, assessment.ebp_code),
    ):
        if mine != theirs:
            found.append(FieldError(f"/{key}", rule, f"{mine} != the assessment's {theirs}"))
    declared = {line.gnum: line.qty for line in assessment.lines}
    for index, line in enumerate(app.lines):
        if line.gnum not in declared:
            found.append(
                FieldError(
                    f"/lines/{index}/gnum",
                    "unknown_gnum",
                    f"gnum {line.gnum} is not a line of {assessment.invt_no}",
                )
            )
        elif line.qty > declared[line.gnum]:
            found.append(
                FieldError(
                    f"/lines/{index}/qty",
                    "qty_exceeds_declared",
                    f"qty {line.qty} exceeds the {declared[line.gnum]} declared for gnum "
                    f"{line.gnum}",
                )
            )
    return found


def validate_return_against_assessment(app: ReturnApplication, assessment: TaxAssessment) -> None:
    """Raise RecordValidationError unless `app` returns existing lines of `assessment`."""
    found = return_problems(app, assessment)
    if found:
        raise RecordValidationError(found)


def settlement_for(
    assessment: TaxAssessment,
    return_id: str,
    gnums: Collection[int],
    kind: Literal["not_levied", "refunded"],
    settled_time: datetime,
) -> SettlementRecord:
    """The settlement of whole lines `gnums` of a case: their taxes not levied or refunded, the
    buyer's yearly quota given back by the lines' value."""
    chosen = set(gnums)
    settled = [line for line in assessment.lines if line.gnum in chosen]
    if len(settled) != len(chosen):
        raise ValueError(f"gnums {sorted(chosen)} are not all lines of {assessment.invt_no}")
    lines = [
        SettlementLine(
            gnum=line.gnum,
            customs_duty=line.customs_duty,
            vat=line.vat,
            consumption_tax=line.consumption_tax,
            amount=line.customs_duty + line.vat + line.consumption_tax,
        )
        for line in settled
    ]
    zero = Decimal("0.00")
    return SettlementRecord(
        return_id=return_id,
        origin_code=assessment.customs_code,
        kind=kind,
        settled_time=settled_time,
        lines=lines,
        total=sum((line.amount for line in lines), zero),
        quota=QuotaAdjustment(
            buyer_id_number=assessment.buyer.id_number,
            year=assessment.release_time.year,
            amount=sum((line.total_price for line in settled), zero),
        ),
    )
