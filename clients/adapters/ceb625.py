"""CEB625 return lists -> canonical return applications.

A CEB625Message carries one or more `ceb:InvtRefund`: an `InvtRefundHead` and up to 99
`InvtRefundList` lines, in the namespace http://www.chinaport.gov.cn/ceb. The return enterprise
converts its CEB625 with this adapter, then commits and signs the canonical record (a gateway
never accepts a CEB625 in its place: the platform signs the canonical form).

**Mapping** (canonical field <- element):

    invtNo, orderNo, customsCode, ebpCode,   <- InvtRefundHead, same names (customsCode is the
      agentCode, logisticsNo                    list's customs area; logisticsNo the waybill
                                                of the returned parcel)
    appliedTime                              <- InvtRefundHead appTime (CST)
    reason                                   <- InvtRefundHead reason
    returnCentreCode                         <- InvtRefundHead returnCustomsCode, an element
                                                the one-point-returns pilot adds; when absent,
                                                the caller's `return_centre_code`
    lines[].gnum, qty, gcode, gname          <- InvtRefundList gnum, qty, gcode, gname
                                                (gcode and gname when given: which goods
                                                come back, checked against the declaration)

InvtRefundList unit is not part of the application. The return centre checks every line
against the origin's declaration before relaying (node_gateway.services.binding), the origin
again before recognising.
"""

from __future__ import annotations

from typing import Any

from clients.adapters.ceb import CEB_TIME_HINT, ceb_time, read_message
from clients.adapters.drafts import Draft, build_records, int_of
from clients.adapters.errors import SourceProblem
from clients.adapters.safe_xml import DEFAULT_LIMITS, Node, XmlLimits
from clients.records import DocType

HEAD_FIELDS = (
    ("/invtNo", "invtNo"),
    ("/orderNo", "orderNo"),
    ("/logisticsNo", "logisticsNo"),
    ("/customsCode", "customsCode"),
    ("/ebpCode", "ebpCode"),
    ("/agentCode", "agentCode"),
    ("/reason", "reason"),
)
RETURN_CENTRE = "returnCustomsCode"


def _draft(refund: Node, return_centre_code: str | None) -> Draft | None:
    head = refund.one("InvtRefundHead")
    if head is None:
        return None  # reported as read
    draft = Draft(refund.path)
    for pointer, name in HEAD_FIELDS:
        draft.put(pointer, head.text(name), head.at(name))
    centre = head.text(RETURN_CENTRE)
    draft.put("/returnCentreCode", centre or return_centre_code, head.at(RETURN_CENTRE))
    when = head.text("appTime")
    applied = None if when is None else ceb_time(when)
    if when is not None and applied is None:
        draft.fail("/appliedTime", head.at("appTime"), "ceb_time", f"must be {CEB_TIME_HINT}")
    else:
        draft.put("/appliedTime", applied, head.at("appTime"))
    draft.origin("/lines", refund.path)
    for index, line in enumerate(refund.all("InvtRefundList")):
        draft.origin(f"/lines/{index}", line.path)
        for name in ("gnum", "qty"):
            text = line.text(name)
            value = None if text is None else int_of(text)
            draft.put(f"/lines/{index}/{name}", value, line.at(name))
        for name in ("gcode", "gname"):
            # Optional: an empty element is "not given", as an absent one.
            draft.put(f"/lines/{index}/{name}", line.text(name) or None, line.at(name))
    return draft


def read_return_applications(
    ceb625: str | bytes,
    return_centre_code: str | None = None,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> list[dict[str, Any]]:
    """The canonical return applications of a CEB625 message, in its order. Raises InvalidXml
    or InvalidSourceRecord; problems name element paths
    (`/CEB625Message/InvtRefund[1]/InvtRefundList[2]/qty`)."""
    problems: list[SourceProblem] = []
    root = read_message(ceb625, "CEB625Message", limits, problems)
    refunds = root.all("InvtRefund")
    if not refunds:
        root.report(root.at("InvtRefund"), "missing_element", "no ceb:InvtRefund")
    drafts = [d for d in (_draft(r, return_centre_code) for r in refunds) if d is not None]
    return build_records(DocType.RETURN_APPLICATION, drafts, problems)
