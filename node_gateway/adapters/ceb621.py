"""CEB621 inventory lists with their CEB816 tax bills -> canonical tax assessments.

A CEB621Message carries one or more `ceb:Inventory` (an `InventoryHead` and up to 99
`InventoryList` goods lines); a CEB816Message carries one or more `ceb:Tax` (a `TaxHeadRd` and
its `TaxListRd` lines), the electronic tax bills customs issues when the lists are released.
Elements are in the namespace http://www.chinaport.gov.cn/ceb; elements the canonical record
does not need (guid, appType, ebpName, portCode, BaseTransfer, a signature, ...) are ignored.

**Join rule.** A list and a bill pair up by inventory list number: `TaxHeadRd/invtNo` =
`InventoryHead/invtNo`; their lines pair up by `gnum`. Every list needs exactly one bill and
every bill one list in the same request, each list line its bill line and each bill line its
list line; where the bill repeats the list's `customsCode`, `orderNo`, `agentCode`, `ebcCode`
or a line's `gcode`, they must agree. Anything else is `unmatched_tax_bill`, checked before any
field is validated. The order of the records is the order of the lists in the CEB621.

**Mapping** (canonical field <- element):

    invtNo, orderNo, customsCode, ebpCode,   <- InventoryHead, same names
      ebcCode, agentCode, logisticsNo,
      emsNo, tradeMode
    buyer.name, idType, idNumber, phone,     <- InventoryHead buyerName, buyerIdType,
      address                                   buyerIdNumber, buyerTelephone, consigneeAddress
    lines[].gnum, itemRecordNo, gcode,       <- InventoryList, same names
      gname, qty, unit, price, totalPrice
    lines[].customsDuty, vat, consumptionTax <- TaxListRd (same gnum) customsTax,
                                                valueAddedTax, consumptionTax
    releaseTime                              <- TaxHeadRd returnTime (the bill is issued
                                                when customs releases the list)
    totals.totalPrice, customsDuty, vat,     <- the sums of the lines' amounts (the CEB621
      consumptionTax                            head carries no goods value)
    totals.taxTotal                          <- the sum of those three taxes
    declaredTotals.customsDuty, vat,         <- TaxHeadRd customsTax, valueAddedTax,
      consumptionTax                            consumptionTax, as declared
    declaredTotals.taxTotal                  <- the sum of the TaxHeadRd's three taxes

**Rounding.** Customs rounds each line's taxes to the fen and the bill's head once, so a head
figure may differ from the sum of its lines by rounding: up to 1 fen per line of the bill
(clients.records.tax.ROUNDING_PER_LINE) is accepted, and both are kept; the lines (and
`totals`) are the basis of settlement. A larger difference is `totals_mismatch` at the
TaxHeadRd element, naming the list and both figures.

TaxListRd `taxPrice` (the dutiable value, which may include freight) is not used. A bill with
`status` 3 (void: the list was cancelled) gives no tax record. Amounts may carry up to five
decimal places as CEB does ("12.30000"), but must be whole fen; quantities must be whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clients.adapters.ceb import CEB_TIME_HINT, ceb_time, read_message
from clients.adapters.drafts import Draft, build_records, decimal_of, int_of, total
from clients.adapters.errors import SourceProblem, UnmatchedTaxBill
from clients.adapters.safe_xml import DEFAULT_LIMITS, Node, XmlLimits
from clients.records import DocType

HEAD_FIELDS = (
    ("/invtNo", "invtNo"),
    ("/orderNo", "orderNo"),
    ("/customsCode", "customsCode"),
    ("/ebpCode", "ebpCode"),
    ("/ebcCode", "ebcCode"),
    ("/agentCode", "agentCode"),
    ("/logisticsNo", "logisticsNo"),
    ("/emsNo", "emsNo"),
    ("/tradeMode", "tradeMode"),
    ("/buyer/name", "buyerName"),
    ("/buyer/idType", "buyerIdType"),
    ("/buyer/idNumber", "buyerIdNumber"),
    ("/buyer/phone", "buyerTelephone"),
    ("/buyer/address", "consigneeAddress"),
)
LINE_TEXT = ("itemRecordNo", "gcode", "gname", "unit")
LINE_INT = ("gnum", "qty")
LINE_MONEY = ("price", "totalPrice")
# canonical tax field <- CEB816 element, for the bill's head (under /totals) and its lines
TAXES = (
    ("customsDuty", "customsTax"),
    ("vat", "valueAddedTax"),
    ("consumptionTax", "consumptionTax"),
)
# head elements a bill may repeat from its list, which must then agree
SHARED_HEAD = ("customsCode", "orderNo", "agentCode", "ebcCode")
VOID_STATUS = "3"


@dataclass
class _Part:
    """An Inventory or a Tax: its head, its lines and its inventory list number."""

    node: Node
    head: Node | None
    lines: list[Node]
    invt_no: str | None

    def gnums(self) -> list[tuple[int | str, Node]]:
        return [(int_of(line.text("gnum") or ""), line) for line in self.lines]


def _read(node: Node, head: str, line: str) -> _Part:
    found = node.one(head)
    invt_no = found.text("invtNo") if found is not None else None
    if found is not None and not invt_no:
        found.report(found.at("invtNo"), "missing_element", "invtNo is required", "/invtNo")
        invt_no = None
    return _Part(node, found, node.all(line), invt_no)


def _join(lists: list[_Part], bills: list[_Part]) -> list[tuple[_Part, _Part]]:
    """Pair lists with bills (module docstring); UnmatchedTaxBill lists every mismatch."""
    unmatched: list[SourceProblem] = []
    by_invt: dict[str, _Part] = {}
    for bill in bills:
        if bill.head is None or bill.invt_no is None:
            continue  # reported as read: a bill without an invtNo pairs with nothing
        if bill.invt_no in by_invt:
            unmatched.append(
                SourceProblem(
                    bill.head.at("invtNo"),
                    "duplicate_tax_bill",
                    f"a second tax bill for {bill.invt_no}, first at "
                    f"{by_invt[bill.invt_no].node.path}",
                )
            )
            continue
        by_invt[bill.invt_no] = bill
    pairs: list[tuple[_Part, _Part]] = []
    paired: set[str] = set()
    for inventory in lists:
        if inventory.head is None or inventory.invt_no is None:
            continue  # reported as read
        match = by_invt.get(inventory.invt_no)
        if match is None:
            unmatched.append(
                SourceProblem(
                    inventory.head.at("invtNo"),
                    "no_tax_bill",
                    f"no ceb:Tax in the CEB816 for inventory list {inventory.invt_no}",
                )
            )
            continue
        if inventory.invt_no in paired:
            continue  # a repeated list: reported when its record is built
        paired.add(inventory.invt_no)
        unmatched += _compare(inventory, match)
        pairs.append((inventory, match))
    for invt_no, bill in by_invt.items():
        if invt_no not in paired and bill.head is not None:
            unmatched.append(
                SourceProblem(
                    bill.head.at("invtNo"),
                    "no_inventory_list",
                    f"no ceb:Inventory in the CEB621 for tax bill {invt_no}",
                )
            )
    if unmatched:
        raise UnmatchedTaxBill(unmatched, "inventory lists and tax bills do not pair up")
    return pairs


def _compare(inventory: _Part, bill: _Part) -> list[SourceProblem]:
    """Where a bill and its list disagree: repeated head fields and the lines."""
    assert inventory.head is not None and bill.head is not None
    found: list[SourceProblem] = []
    for name in SHARED_HEAD:
        stated = bill.head.text(name)
        expected = inventory.head.text(name)
        if stated and stated != expected:
            found.append(
                SourceProblem(
                    bill.head.at(name),
                    "bill_mismatch",
                    f"{name} {stated!r} != the inventory list's {expected!r}",
                )
            )
    bill_lines: dict[int | str, Node] = {}
    for gnum, line in bill.gnums():
        if gnum in bill_lines:
            found.append(SourceProblem(line.at("gnum"), "duplicate_line", f"gnum {gnum} repeats"))
        bill_lines.setdefault(gnum, line)
    seen: set[int | str] = set()
    for gnum, line in inventory.gnums():
        taxed = bill_lines.get(gnum)
        if taxed is None:
            found.append(
                SourceProblem(line.path, "line_without_tax", f"no TaxListRd for gnum {gnum!r}")
            )
            continue
        seen.add(gnum)
        gcode = taxed.text("gcode")
        if gcode and gcode != line.text("gcode"):
            found.append(
                SourceProblem(
                    taxed.at("gcode"),
                    "bill_mismatch",
                    f"gcode {gcode!r} != the inventory list line's {line.text('gcode')!r}",
                )
            )
    for gnum, line in bill.gnums():
        if gnum not in seen:
            found.append(
                SourceProblem(line.path, "tax_without_line", f"no InventoryList with gnum {gnum!r}")
            )
            seen.add(gnum)
    return found


def _money(node: Node, name: str) -> Any:
    text = node.text(name)
    return None if text is None else decimal_of(text)


def _draft(inventory: _Part, bill: _Part) -> Draft:
    """The tax assessment of a paired list and bill, each value with its element path."""
    head, tax = inventory.head, bill.head
    assert head is not None and tax is not None
    draft = Draft(inventory.node.path)
    draft.origin("/buyer", head.path)
    for pointer, name in HEAD_FIELDS:
        draft.put(pointer, head.text(name), head.at(name))
    when = tax.text("returnTime")
    released = None if when is None else ceb_time(when)
    if when is not None and released is None:
        draft.fail("/releaseTime", tax.at("returnTime"), "ceb_time", f"must be {CEB_TIME_HINT}")
    else:
        draft.put("/releaseTime", released, tax.at("returnTime"))
    if tax.text("status") == VOID_STATUS:
        draft.report(tax.at("status"), "tax_bill_void", "the tax bill is void (status 3)")
    taxed = dict(reversed(bill.gnums()))  # the first TaxListRd of a gnum
    draft.origin("/lines", inventory.node.path)
    line_totals = []
    for index, line in enumerate(inventory.lines):
        base = f"/lines/{index}"
        draft.origin(base, line.path)
        for name in LINE_INT:
            text = line.text(name)
            draft.put(f"{base}/{name}", None if text is None else int_of(text), line.at(name))
        for name in LINE_TEXT:
            draft.put(f"{base}/{name}", line.text(name), line.at(name))
        for name in LINE_MONEY:
            draft.put(f"{base}/{name}", _money(line, name), line.at(name))
        line_totals.append(_money(line, "totalPrice"))
        rd = taxed[int_of(line.text("gnum") or "")]
        for key, name in TAXES:
            draft.put(f"{base}/{key}", _money(rd, name), rd.at(name))
    draft.origin("/totals", inventory.node.path)
    draft.put("/totals/totalPrice", total(line_totals), inventory.node.path, derived=True)
    line_taxes = []
    for key, _ in TAXES:
        sums = total(draft.get(f"/lines/{i}/{key}") for i in range(len(inventory.lines)))
        draft.put(f"/totals/{key}", sums, bill.node.path, derived=True)
        line_taxes.append(sums)
    draft.put("/totals/taxTotal", total(line_taxes), bill.node.path, derived=True)
    draft.origin("/declaredTotals", tax.path)
    head_taxes = [_money(tax, name) for _, name in TAXES]
    for (key, name), value in zip(TAXES, head_taxes, strict=True):
        draft.put(f"/declaredTotals/{key}", value, tax.at(name))
    draft.put("/declaredTotals/taxTotal", total(head_taxes), tax.path, derived=True)
    return draft


def read_tax_assessments(
    ceb621: str | bytes, ceb816: str | bytes, limits: XmlLimits = DEFAULT_LIMITS
) -> list[dict[str, Any]]:
    """The canonical tax assessments of a CEB621 message and its CEB816 tax bills, in the
    CEB621's order. Raises InvalidXml, UnmatchedTaxBill or InvalidSourceRecord; problems name
    element paths (`/CEB621Message/Inventory[3]/InventoryList[2]/qty`)."""
    problems: list[SourceProblem] = []
    lists_root = read_message(ceb621, "CEB621Message", limits, problems)
    bills_root = read_message(ceb816, "CEB816Message", limits, problems)
    lists = [_read(node, "InventoryHead", "InventoryList") for node in lists_root.all("Inventory")]
    bills = [_read(node, "TaxHeadRd", "TaxListRd") for node in bills_root.all("Tax")]
    if not lists:
        lists_root.report(lists_root.at("Inventory"), "missing_element", "no ceb:Inventory")
    pairs = _join(lists, bills)
    drafts = [_draft(inventory, bill) for inventory, bill in pairs]
    first: dict[str, str] = {}
    for inventory in lists:
        if inventory.invt_no is None or inventory.head is None:
            continue
        if inventory.invt_no in first:
            inventory.head.report(
                inventory.head.at("invtNo"),
                "duplicate_invt_no",
                f"inventory list {inventory.invt_no} also at {first[inventory.invt_no]}",
                "/invtNo",
            )
        first.setdefault(inventory.invt_no, inventory.node.path)
    return build_records(DocType.TAX_ASSESSMENT, drafts, problems)
