"""The origin area's tax documents: the assessment at release (CEB621 inventory list with its
CEB816 tax bill) and the withholding agent's payment of a period's bills."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import ClassVar

from clients.records.base import DocType, FieldClass, Part, Record, field
from clients.records.errors import FieldError
from clients.records.scalars import (
    Address,
    CustomsCode,
    EmsNo,
    EnterpriseCode,
    Gcode,
    Gnum,
    GoodsName,
    IdNumber,
    IdType,
    InvtNo,
    Items,
    Lines,
    Money,
    Name,
    Phone,
    Qty,
    ShortText,
    Timestamp,
    TradeMode,
    Unit,
)

PERSONAL, COMMERCIAL, GOODS, PUBLIC = (
    FieldClass.PERSONAL,
    FieldClass.COMMERCIAL,
    FieldClass.GOODS,
    FieldClass.PUBLIC,
)


# A tax bill's head may round once where its lines were rounded each: its figures may differ
# from the sums of the lines' amounts by up to this much per line of the bill.
ROUNDING_PER_LINE = Decimal("0.01")


def _total(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, Decimal("0.00"))


class Buyer(Part):
    """The consumer (order buyer); every field is personal data."""

    name: Name = field(PERSONAL)
    id_type: IdType = field(PERSONAL)
    id_number: IdNumber = field(PERSONAL)
    phone: Phone = field(PERSONAL)
    address: Address = field(PERSONAL)

    def _problems(self) -> list[FieldError]:
        if self.id_type == "1" and not (
            len(self.id_number) == 18
            and self.id_number[:17].isdigit()
            and self.id_number[17] in "0123456789X"
        ):
            return [
                FieldError(
                    "/idNumber", "id_number", "a resident ID number is 17 digits and a digit or X"
                )
            ]
        return []


class AssessmentLine(Part):
    """One goods line of the inventory list with its taxes."""

    gnum: Gnum = field(GOODS)
    item_record_no: ShortText = field(GOODS)
    gcode: Gcode = field(GOODS)
    gname: GoodsName = field(GOODS)
    qty: Qty = field(GOODS)
    unit: Unit = field(GOODS)
    price: Money = field(COMMERCIAL)
    total_price: Money = field(COMMERCIAL)
    customs_duty: Money = field(COMMERCIAL)
    vat: Money = field(COMMERCIAL)
    consumption_tax: Money = field(COMMERCIAL)

    def _problems(self) -> list[FieldError]:
        expected = self.price * self.qty
        if self.total_price != expected:
            return [
                FieldError(
                    "/totalPrice",
                    "line_total_mismatch",
                    f"totalPrice {self.total_price} != price * qty = {expected}",
                )
            ]
        return []


class TaxTotals(Part):
    """The sums over all lines, exactly: the basis of settlement."""

    total_price: Money = field(COMMERCIAL)
    customs_duty: Money = field(COMMERCIAL)
    vat: Money = field(COMMERCIAL)
    consumption_tax: Money = field(COMMERCIAL)
    tax_total: Money = field(COMMERCIAL)


class DeclaredTotals(Part):
    """The tax bill head's own figures as declared (CEB816 TaxHeadRd); they may differ from
    the lines' sums by rounding (ROUNDING_PER_LINE per line), and settle nothing."""

    customs_duty: Money = field(COMMERCIAL)
    vat: Money = field(COMMERCIAL)
    consumption_tax: Money = field(COMMERCIAL)
    tax_total: Money = field(COMMERCIAL)

    def _problems(self) -> list[FieldError]:
        computed = self.customs_duty + self.vat + self.consumption_tax
        if self.tax_total != computed:
            return [
                FieldError(
                    "/taxTotal", "totals_mismatch", f"taxTotal {self.tax_total} != {computed}"
                )
            ]
        return []


class TaxAssessment(Record):
    """A released inventory list and its tax bill, as the origin area records it."""

    doc_type: ClassVar[DocType] = DocType.TAX_ASSESSMENT

    invt_no: InvtNo = field(PUBLIC)
    order_no: ShortText = field(COMMERCIAL)
    customs_code: CustomsCode = field(PUBLIC)
    ebp_code: EnterpriseCode = field(PUBLIC)
    ebc_code: EnterpriseCode = field(PUBLIC)
    agent_code: EnterpriseCode = field(PUBLIC)
    logistics_no: ShortText = field(COMMERCIAL)
    ems_no: EmsNo = field(PUBLIC)
    trade_mode: TradeMode = field(PUBLIC)
    release_time: Timestamp = field(PUBLIC)
    buyer: Buyer
    lines: Lines[AssessmentLine]
    totals: TaxTotals
    # null when the source carries no bill head of its own (totals computed from the lines)
    declared_totals: DeclaredTotals | None = field(COMMERCIAL, default=None)

    def _problems(self) -> list[FieldError]:
        found: list[FieldError] = []
        if self.invt_no[:4] != self.customs_code:
            found.append(invt_no_customs_code(self.invt_no, self.customs_code))
        found += self._gnum_gaps()
        lines = {
            "customsDuty": _total(x.customs_duty for x in self.lines),
            "vat": _total(x.vat for x in self.lines),
            "consumptionTax": _total(x.consumption_tax for x in self.lines),
        }
        lines["taxTotal"] = _total(lines.values())
        sums = {
            "totalPrice": (self.totals.total_price, _total(x.total_price for x in self.lines)),
            "customsDuty": (self.totals.customs_duty, lines["customsDuty"]),
            "vat": (self.totals.vat, lines["vat"]),
            "consumptionTax": (self.totals.consumption_tax, lines["consumptionTax"]),
            "taxTotal": (
                self.totals.tax_total,
                self.totals.customs_duty + self.totals.vat + self.totals.consumption_tax,
            ),
        }
        for key, (stated, computed) in sums.items():
            if stated != computed:
                found.append(
                    FieldError(f"/totals/{key}", "totals_mismatch", f"{key} {stated} != {computed}")
                )
        if self.declared_totals is not None:
            found += self._declared_problems(self.declared_totals, lines)
        return found

    def _gnum_gaps(self) -> list[FieldError]:
        """Lines numbered 1..n without a gap: the ledger knows a case by its line count, so a
        line numbered beyond it could never be returned (duplicates are refused elsewhere)."""
        count = len(self.lines)
        numbers = {line.gnum for line in self.lines}
        missing = sorted(set(range(1, count + 1)) - numbers)
        if not missing or len(numbers) != count:
            return []
        index = next(i for i, line in enumerate(self.lines) if line.gnum > count)
        return [
            FieldError(
                f"/lines/{index}/gnum",
                "gnum_gap",
                f"{self.invt_no}: its {count} lines must be numbered 1..{count}; "
                f"gnum {self.lines[index].gnum} given, line {missing[0]} missing",
            )
        ]

    def _declared_problems(
        self, declared: DeclaredTotals, lines: dict[str, Decimal]
    ) -> list[FieldError]:
        """The bill head's figures that differ from the sums of the lines' amounts by more
        than rounding allows: ROUNDING_PER_LINE per line of the bill."""
        count = len(self.lines)
        allowed = ROUNDING_PER_LINE * count
        found: list[FieldError] = []
        for key, stated in (
            ("customsDuty", declared.customs_duty),
            ("vat", declared.vat),
            ("consumptionTax", declared.consumption_tax),
            ("taxTotal", declared.tax_total),
        ):
            off = abs(stated - lines[key])
            if off > allowed:
                found.append(
                    FieldError(
                        f"/declaredTotals/{key}",
                        "totals_mismatch",
                        f"tax bill {self.invt_no}: declared {key} {stated} differs from its "
                        f"{count} line{'s' if count != 1 else ''}' sum {lines[key]} by {off}, "
                        f"more than {ROUNDING_PER_LINE} per line allows ({allowed})",
                    )
                )
        return found


def invt_no_customs_code(invt_no: str, customs_code: str) -> FieldError:
    """The error for an inventory list number of another customs area."""
    return FieldError(
        "/invtNo",
        "invt_no_customs_code",
        f"invtNo {invt_no} does not start with customs code {customs_code}",
    )


class PaymentItem(Part):
    """The tax paid for one inventory list."""

    invt_no: InvtNo = field(PUBLIC)
    tax_amount: Money = field(COMMERCIAL)


class TaxPayment(Record):
    """The withholding agent's payment of a period's tax bills (no consumer data)."""

    doc_type: ClassVar[DocType] = DocType.TAX_PAYMENT

    tax_no: ShortText = field(PUBLIC)
    ent_duty_no: EnterpriseCode = field(PUBLIC)
    agent_code: EnterpriseCode = field(PUBLIC)
    customs_code: CustomsCode = field(PUBLIC)
    paid_time: Timestamp = field(PUBLIC)
    items: Items[PaymentItem]
    total: Money = field(COMMERCIAL)

    def _problems(self) -> list[FieldError]:
        found: list[FieldError] = []
        seen: set[str] = set()
        for index, item in enumerate(self.items):
            if item.invt_no in seen:
                found.append(
                    FieldError(
                        f"/items/{index}/invtNo", "duplicate_invt_no", f"{item.invt_no} repeats"
                    )
                )
            seen.add(item.invt_no)
        computed = _total(item.tax_amount for item in self.items)
        if self.total != computed:
            found.append(
                FieldError("/total", "totals_mismatch", f"total {self.total} != {computed}")
            )
        return found
