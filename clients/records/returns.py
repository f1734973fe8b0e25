"""The return enterprise's return application (CEB625-like): which lines of which inventory
list come back, to which return centre, and why."""

from __future__ import annotations

from typing import ClassVar

from clients.records.base import DocType, FieldClass, Part, Record, field
from clients.records.errors import FieldError
from clients.records.scalars import (
    CustomsCode,
    EnterpriseCode,
    Gcode,
    Gnum,
    GoodsName,
    InvtNo,
    Lines,
    Qty,
    Reason,
    ShortText,
    Timestamp,
)
from clients.records.tax import invt_no_customs_code

COMMERCIAL, GOODS, PUBLIC = FieldClass.COMMERCIAL, FieldClass.GOODS, FieldClass.PUBLIC


class ReturnLine(Part):
    """A returned line of the original inventory list and how many pieces come back; `gcode`
    and `gname` (optional, as the return list gives them) say which goods, and must be the
    declared line's (checked by the return centre before relaying, and by the origin)."""

    gnum: Gnum = field(GOODS)
    qty: Qty = field(GOODS)
    gcode: Gcode | None = field(GOODS, default=None)
    gname: GoodsName | None = field(GOODS, default=None)


class ReturnApplication(Record):
    """A return application, signed by the return enterprise (the platform's agent or broker)."""

    doc_type: ClassVar[DocType] = DocType.RETURN_APPLICATION

    invt_no: InvtNo = field(PUBLIC)
    order_no: ShortText = field(COMMERCIAL)
    logistics_no: ShortText = field(COMMERCIAL)
    customs_code: CustomsCode = field(PUBLIC)
    return_centre_code: CustomsCode = field(PUBLIC)
    ebp_code: EnterpriseCode = field(PUBLIC)
    agent_code: EnterpriseCode = field(PUBLIC)
    applied_time: Timestamp = field(PUBLIC)
    lines: Lines[ReturnLine]
    reason: Reason = field(GOODS)

    def _problems(self) -> list[FieldError]:
        if self.invt_no[:4] != self.customs_code:
            return [invt_no_customs_code(self.invt_no, self.customs_code)]
        return []
