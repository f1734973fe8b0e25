"""The origin re-checks what reaches the contract: an application relayed straight to the
ledger past the return centre's check (another list, order or goods, more pieces than
declared) is disputed by the origin's automatic recognition, with the reason naming each
problem's code and pointer; a bound application is recognised and settled."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from clients.applications import application_body
from clients.records import ReturnApplication, ReturnLine, TaxAssessment, canonical
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_return_application,
    sample_tax_assessment,
)
from node_gateway.api.schemas import ReturnApplicationIn
from node_gateway.run.local_consortium import PLATFORM, Consortium
from node_gateway.services import returns, tax_records
from node_gateway.services.auth import Principal
from node_gateway.store import Vault, index
from tests.utils.relay import relay_unchecked

PLATFORM_KEY = Principal(PLATFORM, "platform", "t")
CENTRE_OFFICER = Principal("customs-2900", "officer", "t")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    c = Consortium.open(
        tmp_path_factory.mktemp("binding"),
        genesis_timestamp=int(time.time()) - 3 * 86_400,
        recognition={"3100": "automatic", "4600": "officer"},
    )
    released = datetime.fromtimestamp(c.centre.ledger.now() - 86_400, UTC)
    first = sample_tax_assessment(25, "3100", lines=2)
    lists = [
        sample_tax_assessment(n, "3100", lines=2).model_copy(
            update={"release_time": released, "agent_code": first.agent_code}
        )
        for n in range(25, 30)
    ]
    ningbo = c.gateways["3100"]
    tax_records.ingest(
        ningbo.context,
        ningbo.connections.get(),
        [{"platform": PLATFORM, "record": canonical(a)} for a in lists],
    )
    c.drain()
    yield {"c": c, "lists": lists}
    c.stop()


def _through_inspection(
    c: Consortium, case_of: TaxAssessment, app: ReturnApplication, checked: bool
) -> str:
    """Apply (through the centre's check, or straight to the contract), arrive, inspect all
    lines accepted; the origin's worker then decides."""
    origin, centre = c.gateways["3100"], c.centre
    now = centre.ledger.now()
    when = datetime.fromtimestamp(now, UTC)
    app = app.model_copy(update={"applied_time": when})
    case_id = tax_records.case_id_of(origin.context, case_of.invt_no)
    case = tax_records.header_of(origin.context, origin.connections.get(), case_id)
    body = application_body(
        case, app, centre.context.member_hex, c.client_key(PLATFORM), now + 86_400
    )
    conn = centre.connections.get()
    if checked:
        model = ReturnApplicationIn.model_validate(body).to_input()
        rid = str(returns.apply(centre.context, conn, PLATFORM_KEY, model)["returnId"])
    else:
        rid = str(relay_unchecked(centre.context, conn, PLATFORM_KEY, body)["returnId"])
    c.drain()
    arrival = sample_arrival_record(app, rid).model_copy(update={"arrived_time": when})
    returns.arrival(centre.context, conn, CENTRE_OFFICER, rid, canonical(arrival))
    c.drain()
    gnums = [line.gnum for line in app.lines]
    report = sample_inspection_report(rid, gnums, accepted=True, inspected_time=when)
    returns.inspection(centre.context, conn, CENTRE_OFFICER, rid, canonical(report))
    c.drain()  # the origin's worker decides; the second round sends its decision
    c.drain()
    return rid


def _decided(c: Consortium, rid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The origin's ledger view of the return and its recognition decision record."""
    gw = c.gateways["3100"]
    conn = gw.connections.get()
    row = index.return_row(conn, rid)
    assert row is not None
    vault = Vault(conn, gw.context.keyring)
    (record_id,) = [
        r[0]
        for r in conn.execute(
            "SELECT record_id FROM case_documents WHERE return_id = ? AND doc_type = ?",
            (rid, "recognition"),
        )
    ]
    decision: dict[str, Any] = vault.get(record_id)["record"]
    return row, decision


def test_bound_application_is_recognised_and_settled(world: dict[str, Any]) -> None:
    c, a = world["c"], world["lists"][0]
    rid = _through_inspection(c, a, sample_return_application(a), checked=True)
    row, decision = _decided(c, rid)
    assert (row["state"], row["settledLines"]) == ("settled", [1, 2])
    assert decision["decision"] == "recognized" and decision["reason"] == ""


def test_application_of_another_list_relayed_to_the_contract_is_disputed(
    world: dict[str, Any],
) -> None:
    c, case, other = world["c"], world["lists"][2], world["lists"][1]
    # The record names list …10026's neighbour: its invtNo and order, signed against this case.
    rid = _through_inspection(c, case, sample_return_application(other), checked=False)
    row, decision = _decided(c, rid)
    assert (row["state"], row["settledLines"]) == ("disputed", [])
    assert decision["decision"] == "disputed"
    assert "/invtNo invt_no_mismatch" in decision["reason"]
    assert "/orderNo order_no_mismatch" in decision["reason"]


def test_other_goods_relayed_to_the_contract_are_disputed(
    world: dict[str, Any],
) -> None:
    c, a = world["c"], world["lists"][3]
    one, two = a.lines[0], a.lines[1]
    lines = [
        ReturnLine(gnum=1, qty=one.qty, gcode="9999999999", gname=one.gname),
        ReturnLine(gnum=2, qty=two.qty, gcode=two.gcode, gname="不是这个商品"),
    ]
    app = sample_return_application(a).model_copy(update={"lines": lines})
    rid = _through_inspection(c, a, app, checked=False)
    row, decision = _decided(c, rid)
    assert (row["state"], row["settledLines"]) == ("disputed", [])
    reason = decision["reason"]
    assert "/lines/0/gcode gcode_mismatch" in reason
    assert "/lines/1/gname gname_mismatch" in reason
    # Excess pieces cannot reach the ledger at all: the contract refuses them
    # (PiecesExceedDeclared, tests/contracts/test_partial_quantities.py).


def test_the_centre_refuses_what_the_origin_would_dispute(world: dict[str, Any]) -> None:
    from node_gateway.errors import DeclarationMismatch

    c, case, other = world["c"], world["lists"][4], world["lists"][1]
    with pytest.raises(DeclarationMismatch) as refused:
        _through_inspection(c, case, sample_return_application(other), checked=True)
    codes = {e["code"] for e in refused.value.extra["errors"]}
    assert {"invt_no_mismatch", "order_no_mismatch"} <= codes
