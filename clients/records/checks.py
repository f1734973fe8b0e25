"""Rules that span two records: a return application against the assessment it returns from,
and the settlement a case's assessment gives for returned lines."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

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


CENT = Decimal("0.01")


def declared_pieces(assessment_doc: Mapping[str, Any]) -> tuple[int, ...]:
    """The declared pieces of lines 1..n of a canonical tax assessment (the case header's
    `pieces`); lines run 1..n without gaps (rule `gnum_gap`)."""
    lines = sorted(assessment_doc["lines"], key=lambda line: int(line["gnum"]))
    return tuple(int(line["qty"]) for line in lines)


def pro_rata(amount: Decimal, declared: int, before: int, pieces: int) -> Decimal:
    """The share of a line's assessed `amount` (for its `declared` pieces) that settling
    `pieces` more pieces gives, when `before` pieces of the line were settled earlier:

        H(amount × (before + pieces) / declared) − H(amount × before / declared)

    where H rounds half-up to the fen. The parts of a line therefore sum exactly to `amount`
    once all its pieces are settled (the part settling the last piece takes the remainder),
    and a part never depends on how earlier parts were split."""
    if not 0 < pieces <= declared - before or before < 0:
        raise ValueError(f"{pieces} pieces after {before} of {declared} declared")

    def cumulative(n: int) -> Decimal:
        return (amount * n / declared).quantize(CENT, rounding=ROUND_HALF_UP)

    return cumulative(before + pieces) - cumulative(before)


def settlement_for(
    assessment: TaxAssessment,
    return_id: str,
    pieces: Mapping[int, int] | Collection[int],
    kind: Literal["not_levied", "refunded"],
    settled_time: datetime,
    settled_before: Mapping[int, int] | None = None,
) -> SettlementRecord:
    """The settlement of `pieces` ({gnum: pieces}; a collection of gnums settles every piece
    of those lines) of a case: each tax of each line not levied or refunded pro rata to the
    pieces (`pro_rata`), the buyer's yearly quota given back by the same share of the lines'
    value. `settled_before` counts the pieces of each line settled by earlier settlements."""
    declared = {line.gnum: line for line in assessment.lines}
    counts = (
        pieces
        if isinstance(pieces, Mapping)
        else {g: declared[g].qty for g in pieces if g in declared}
    )
    if not isinstance(pieces, Mapping) and len(counts) != len(set(pieces)):
        raise ValueError(f"gnums {sorted(set(pieces))} are not all lines of {assessment.invt_no}")
    unknown = sorted(set(counts) - set(declared))
    if unknown:
        raise ValueError(f"gnums {unknown} are not lines of {assessment.invt_no}")
    before = settled_before or {}
    lines: list[SettlementLine] = []
    quota = Decimal("0.00")
    for gnum in sorted(counts):
        line, part = declared[gnum], (before.get(gnum, 0), counts[gnum])
        duty, vat, excise, value = (
            pro_rata(amount, line.qty, *part)
            for amount in (line.customs_duty, line.vat, line.consumption_tax, line.total_price)
        )
        lines.append(
            SettlementLine(
                gnum=gnum,
                qty=counts[gnum],
                customs_duty=duty,
                vat=vat,
                consumption_tax=excise,
                amount=duty + vat + excise,
            )
        )
        quota += value
    return SettlementRecord(
        return_id=return_id,
        origin_code=assessment.customs_code,
        kind=kind,
        settled_time=settled_time,
        lines=lines,
        total=sum((line.amount for line in lines), Decimal("0.00")),
        quota=QuotaAdjustment(
            buyer_id_number=assessment.buyer.id_number,
            year=assessment.release_time.year,
            amount=quota,
        ),
    )
