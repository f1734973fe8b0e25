"""The origin area's outcome documents: recognition of the return centre's result and the tax
settlement (not levied or refunded) with the buyer's yearly quota adjustment."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import ClassVar, Literal

from clients.records.base import DocType, FieldClass, Part, Record, field
from clients.records.errors import FieldError
from clients.records.scalars import (
    CustomsCode,
    Explanation,
    Gnum,
    IdNumber,
    Lines,
    Money,
    Qty,
    ReturnId,
    ShortText,
    Timestamp,
    Year,
)

PERSONAL, COMMERCIAL, GOODS, INSPECTION, PUBLIC = (
    FieldClass.PERSONAL,
    FieldClass.COMMERCIAL,
    FieldClass.GOODS,
    FieldClass.INSPECTION,
    FieldClass.PUBLIC,
)


def _total(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, Decimal("0.00"))


class RecognitionDecision(Record):
    """The origin area recognises (or disputes) the return centre's inspection result."""

    doc_type: ClassVar[DocType] = DocType.RECOGNITION

    return_id: ReturnId = field(PUBLIC)
    origin_code: CustomsCode = field(PUBLIC)
    decided_time: Timestamp = field(PUBLIC)
    decision: Literal["recognized", "disputed"] = field(INSPECTION)
    mode: Literal["automatic", "officer"] = field(INSPECTION)
    officer: ShortText | None = field(INSPECTION, default=None)
    reason: Explanation = field(INSPECTION, default="")

    def _problems(self) -> list[FieldError]:
        found: list[FieldError] = []
        if self.mode == "officer" and self.officer is None:
            found.append(
                FieldError("/officer", "officer_required", "an officer decision names the officer")
            )
        if self.decision == "disputed" and not self.reason.strip():
            found.append(FieldError("/reason", "reason_required", "a dispute must say why"))
        return found


class SettlementLine(Part):
    """The taxes of the pieces of one returned line that are not levied or are refunded (each
    tax pro rata to the pieces, clients.records.checks.pro_rata)."""

    gnum: Gnum = field(GOODS)
    qty: Qty = field(GOODS)
    customs_duty: Money = field(COMMERCIAL)
    vat: Money = field(COMMERCIAL)
    consumption_tax: Money = field(COMMERCIAL)
    amount: Money = field(COMMERCIAL)

    def _problems(self) -> list[FieldError]:
        computed = self.customs_duty + self.vat + self.consumption_tax
        if self.amount != computed:
            return [
                FieldError(
                    "/amount",
                    "line_total_mismatch",
                    f"amount {self.amount} != duty + vat + consumption tax = {computed}",
                )
            ]
        return []


class QuotaAdjustment(Part):
    """The amount given back to the buyer's yearly cross-border quota."""

    buyer_id_number: IdNumber = field(PERSONAL)
    year: Year = field(COMMERCIAL)
    amount: Money = field(COMMERCIAL)


class SettlementRecord(Record):
    """The origin area settles the tax of returned lines and adjusts the buyer's quota."""

    doc_type: ClassVar[DocType] = DocType.SETTLEMENT

    return_id: ReturnId = field(PUBLIC)
    origin_code: CustomsCode = field(PUBLIC)
    kind: Literal["not_levied", "refunded"] = field(PUBLIC)
    settled_time: Timestamp = field(PUBLIC)
    lines: Lines[SettlementLine]
    total: Money = field(COMMERCIAL)
    quota: QuotaAdjustment

    def _problems(self) -> list[FieldError]:
        computed = _total(line.amount for line in self.lines)
        if self.total != computed:
            return [FieldError("/total", "totals_mismatch", f"total {self.total} != {computed}")]
        return []
