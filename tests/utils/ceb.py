"""Writers of CEB messages from canonical records, for adapter tests: CEB621 inventory lists,
CEB816 tax bills and CEB625 return lists, with the elements real messages carry beyond what
the records need (guid, names, ports, a BaseTransfer), so the adapters are seen ignoring them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, SubElement, register_namespace, tostring

from clients.adapters.ceb import CEB_NS, CST, format_ceb_time
from clients.records import DeclaredTotals, ReturnApplication, TaxAssessment, canonical

register_namespace("ceb", CEB_NS)


def _el(parent: Element, name: str, text: object | None = None) -> Element:
    child = SubElement(parent, f"{{{CEB_NS}}}{name}")
    if text is not None:
        child.text = str(text)
    return child


def _fields(parent: Element, values: Sequence[tuple[str, object]]) -> None:
    for name, value in values:
        _el(parent, name, value)


def _message(name: str) -> Element:
    root = Element(f"{{{CEB_NS}}}{name}", {"guid": str(uuid.uuid4()).upper(), "version": "1.0"})
    return root


def _transfer(root: Element, agent_code: str) -> None:
    _fields(
        _el(root, "BaseTransfer"),
        [
            ("copCode", agent_code),
            ("copName", "报关企业"),
            ("dxpMode", "DXP"),
            ("dxpId", "DXPENT0000000001"),
        ],
    )


def _xml(root: Element) -> str:
    body = tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _five(amount: Decimal) -> str:
    """An amount with five decimals, as CEB tax bills write them."""
    return f"{amount:.5f}"


def ceb621(assessments: Sequence[TaxAssessment]) -> str:
    """One CEB621Message holding the inventory list of every assessment."""
    root = _message("CEB621Message")
    for a in assessments:
        inventory = _el(root, "Inventory")
        head = _el(inventory, "InventoryHead")
        _fields(
            head,
            [
                ("guid", str(uuid.uuid4()).upper()),
                ("appType", "1"),
                ("appTime", format_ceb_time(a.release_time)),
                ("appStatus", "2"),
                ("orderNo", a.order_no),
                ("ebpCode", a.ebp_code),
                ("ebpName", "跨境电商平台"),
                ("ebcCode", a.ebc_code),
                ("ebcName", "跨境电商企业"),
                ("logisticsNo", a.logistics_no),
                ("logisticsCode", "3100980001"),
                ("logisticsName", "物流企业"),
                ("copNo", a.order_no),
                ("assureCode", a.agent_code),
                ("emsNo", a.ems_no),
                ("invtNo", a.invt_no),
                ("ieFlag", "I"),
                ("declTime", a.release_time.astimezone(CST).strftime("%Y%m%d")),
                ("customsCode", a.customs_code),
                ("portCode", a.customs_code),
                ("buyerIdType", a.buyer.id_type),
                ("buyerIdNumber", a.buyer.id_number),
                ("buyerName", a.buyer.name),
                ("buyerTelephone", a.buyer.phone),
                ("consigneeAddress", a.buyer.address),
                ("agentCode", a.agent_code),
                ("agentName", "申报企业"),
                ("tradeMode", a.trade_mode),
                ("trafMode", "4"),
                ("country", "502"),
                ("freight", "0"),
                ("insuredFee", "0"),
                ("currency", "142"),
                ("packNo", "1"),
                ("grossWeight", "1.2"),
                ("netWeight", "1.0"),
            ],
        )
        for line in a.lines:
            _fields(
                _el(inventory, "InventoryList"),
                [
                    ("gnum", line.gnum),
                    ("itemRecordNo", line.item_record_no),
                    ("itemNo", f"SKU{line.gnum:04d}"),
                    ("gcode", line.gcode),
                    ("gname", line.gname),
                    ("gmodel", "规格型号"),
                    ("country", "116"),
                    ("currency", "142"),
                    ("qty", line.qty),
                    ("unit", line.unit),
                    ("qty1", line.qty),
                    ("unit1", line.unit),
                    ("price", line.price),
                    ("totalPrice", line.total_price),
                ],
            )
    _transfer(root, assessments[0].agent_code if assessments else "3100980001")
    return _xml(root)


def ceb816(
    assessments: Sequence[TaxAssessment],
    status: str = "1",
    amount: Callable[[Decimal], str] = _five,
) -> str:
    """One CEB816Message holding the tax bill of every assessment (in the order given): its
    head as the assessment declares it (its line sums if it declares none), amounts written
    by `amount` (five decimals by default, as CEB writes them)."""
    root = _message("CEB816Message")
    for a in assessments:
        head = a.declared_totals or a.totals
        tax = _el(root, "Tax")
        _fields(
            _el(tax, "TaxHeadRd"),
            [
                ("guid", str(uuid.uuid4()).upper()),
                ("returnTime", format_ceb_time(a.release_time, millis=True)),
                ("invtNo", a.invt_no),
                ("taxNo", f"{a.invt_no}_0"),
                ("customsTax", amount(head.customs_duty)),
                ("valueAddedTax", amount(head.vat)),
                ("consumptionTax", amount(head.consumption_tax)),
                ("status", status),
                ("entDutyNo", ""),
                ("note", ""),
                ("assureCode", a.agent_code),
                ("ebcCode", a.ebc_code),
                ("logisticsCode", "3100980001"),
                ("agentCode", a.agent_code),
                ("customsCode", a.customs_code),
                ("orderNo", a.order_no),
            ],
        )
        for line in a.lines:
            _fields(
                _el(tax, "TaxListRd"),
                [
                    ("gnum", line.gnum),
                    ("gcode", line.gcode),
                    ("taxPrice", amount(line.total_price)),
                    ("customsTax", amount(line.customs_duty)),
                    ("valueAddedTax", amount(line.vat)),
                    ("consumptionTax", amount(line.consumption_tax)),
                ],
            )
    return _xml(root)


def shortest(amount: Decimal) -> str:
    """An amount without trailing zeros ("12.3", "0", "100"), as some systems write them."""
    return f"{amount.normalize():f}"


def with_head(a: TaxAssessment, duty: int = 0, vat: int = 0, excise: int = 0) -> TaxAssessment:
    """`a` with a bill head declaring its lines' sums off by `duty`, `vat` and `excise` fen."""
    fen = Decimal("0.01")
    head = DeclaredTotals(
        customs_duty=a.totals.customs_duty + duty * fen,
        vat=a.totals.vat + vat * fen,
        consumption_tax=a.totals.consumption_tax + excise * fen,
        tax_total=a.totals.tax_total + (duty + vat + excise) * fen,
    )
    return a.model_copy(update={"declared_totals": head})


def rounded_once(a: TaxAssessment, rng: random.Random) -> TaxAssessment:
    """`a` with the head a customs system declares when it rounds each line's taxes to the fen
    but the bill's once: each line's tax before rounding lies within half a fen of its amount
    (a zero tax is exact), the head rounds their sum. With 2 to 4 lines about one bill in
    four ends up a fen or so off its lines' sums, in either direction; one line never is."""
    half = 500  # in thousandths of a fen
    off = {"duty": 0, "vat": 0, "excise": 0}
    for line in a.lines:
        for key, value in (
            ("duty", line.customs_duty),
            ("vat", line.vat),
            ("excise", line.consumption_tax),
        ):
            if value:
                off[key] += rng.randrange(-half + 1, half)
    fen = {k: (abs(v) + half) // 1000 * (1 if v >= 0 else -1) for k, v in off.items()}
    return with_head(a, **fen)


def ceb625(applications: Sequence[ReturnApplication], with_centre: bool = True) -> str:
    """One CEB625Message holding every return application (with the pilot's
    returnCustomsCode unless `with_centre` is False)."""
    root = _message("CEB625Message")
    for app in applications:
        refund = _el(root, "InvtRefund")
        head = _el(refund, "InvtRefundHead")
        values: list[tuple[str, object]] = [
            ("guid", str(uuid.uuid4()).upper()),
            ("appType", "1"),
            ("appTime", format_ceb_time(app.applied_time)),
            ("appStatus", "2"),
            ("customsCode", app.customs_code),
            ("orderNo", app.order_no),
            ("ebpCode", app.ebp_code),
            ("ebpName", "跨境电商平台"),
            ("ebcCode", app.ebp_code),
            ("ebcName", "跨境电商企业"),
            ("logisticsNo", app.logistics_no),
            ("logisticsCode", "3100980001"),
            ("logisticsName", "物流企业"),
            ("copNo", app.order_no),
            ("invtNo", app.invt_no),
            ("buyerIdType", "1"),
            ("buyerIdNumber", "330106199001011234"),
            ("buyerName", "张三"),
            ("buyerTelephone", "13800000000"),
            ("agentCode", app.agent_code),
            ("agentName", "申报企业"),
            ("reason", app.reason),
        ]
        if with_centre:
            values.append(("returnCustomsCode", app.return_centre_code))
        _fields(head, values)
        for line in app.lines:
            _fields(
                _el(refund, "InvtRefundList"),
                [
                    ("gnum", line.gnum),
                    ("gcode", line.gcode or ""),
                    ("gname", line.gname or ""),
                    ("qty", line.qty),
                    ("unit", "142"),
                ],
            )
    _transfer(root, applications[0].agent_code if applications else "3100980001")
    return _xml(root)


def expected(record: TaxAssessment | ReturnApplication) -> dict[str, Any]:
    """The canonical form the adapters give back: times in China Standard Time, since CEB
    times carry no offset."""
    if isinstance(record, TaxAssessment):
        record = record.model_copy(update={"release_time": record.release_time.astimezone(CST)})
    else:
        record = record.model_copy(update={"applied_time": record.applied_time.astimezone(CST)})
    return canonical(record)
