"""The return centre's documents: the goods' arrival at the supervised site and the inspection
result per line."""

from __future__ import annotations

from typing import ClassVar, Literal

from clients.records.base import DocType, FieldClass, Part, Record, field
from clients.records.errors import FieldError
from clients.records.scalars import (
    CustomsCode,
    Evidence,
    Explanation,
    Gnum,
    Lines,
    PackageCount,
    Qty,
    ReasonCode,
    ReturnId,
    ShortText,
    Timestamp,
)

INSPECTION, PUBLIC = FieldClass.INSPECTION, FieldClass.PUBLIC

ACCEPTED_REASON_CODE = "00"


class ArrivalRecord(Record):
    """The returned parcel arrived at the return centre's supervised site."""

    doc_type: ClassVar[DocType] = DocType.ARRIVAL

    return_id: ReturnId = field(PUBLIC)
    centre_code: CustomsCode = field(PUBLIC)
    arrived_time: Timestamp = field(PUBLIC)
    logistics_no: ShortText = field(INSPECTION)
    package_count: PackageCount = field(INSPECTION)
    officer: ShortText = field(INSPECTION)


class InspectionLine(Part):
    """The result for one returned line; photos are referenced by their digests only."""

    gnum: Gnum = field(INSPECTION)
    result: Literal["accepted", "rejected"] = field(INSPECTION)
    reason_code: ReasonCode = field(INSPECTION)
    evidence: Evidence = field(INSPECTION)
    # Pieces of the line accepted back; absent: every piece applied for. The rest are rejected.
    accepted_qty: Qty | None = field(INSPECTION, default=None)

    def _problems(self) -> list[FieldError]:
        accepted = self.result == "accepted"
        if not accepted and self.accepted_qty is not None:
            return [
                FieldError(
                    "/acceptedQty",
                    "accepted_qty_of_rejected_line",
                    "a rejected line accepts no pieces",
                )
            ]
        if accepted != (self.reason_code == ACCEPTED_REASON_CODE):
            expected = "is" if accepted else "is not"
            return [
                FieldError(
                    "/reasonCode",
                    "reason_code_mismatch",
                    f"the reason code of a {self.result} line {expected} {ACCEPTED_REASON_CODE!r}",
                )
            ]
        return []


class InspectionReport(Record):
    """The return centre's inspection of a return, line by line."""

    doc_type: ClassVar[DocType] = DocType.INSPECTION_REPORT

    return_id: ReturnId = field(PUBLIC)
    centre_code: CustomsCode = field(PUBLIC)
    inspected_time: Timestamp = field(PUBLIC)
    officer: ShortText = field(INSPECTION)
    lines: Lines[InspectionLine]
    remark: Explanation | None = field(INSPECTION, default=None)
