"""Quantity-exact partial returns end to end: a line of 3 pieces comes back 1 piece, then 2,
each part settled pro rata to the fen (the two parts summing exactly to the line's taxes and
value); a third part, and a settlement that is not the pro-rata share, are refused with nothing
written."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from clients.applications import application_body
from clients.records import (
    DeclaredTotals,
    ReturnLine,
    SettlementRecord,
    TaxAssessment,
    canonical,
    pro_rata,
    settlement_for,
)
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_recognition_decision,
    sample_return_application,
    sample_tax_assessment,
    sample_tax_payment,
)
from node_gateway.api.schemas import ReturnApplicationIn
from node_gateway.errors import PiecesExceedDeclared, RefundExceedsPayment, SettlementMismatch
from node_gateway.run.local_consortium import PLATFORM, Consortium
from node_gateway.services import returns, tax_payments, tax_records
from node_gateway.services.auth import Principal
from node_gateway.store import Vault, index

PLATFORM_KEY = Principal(PLATFORM, "platform", "t")
CENTRE_OFFICER = Principal("customs-2900", "officer", "t")
OFFICER = {code: Principal(f"customs-{code}", "officer", "t") for code in ("3100", "4600")}
TAXES = ("customs_duty", "vat", "consumption_tax")
CENT = Decimal("0.01")


def _three_piece_list(code: str, released: datetime, start: int) -> TaxAssessment:
    """A sample inventory list whose first line declares exactly 3 pieces."""
    for seed in range(start, start + 500):
        a = sample_tax_assessment(seed, code, lines=2)
        if a.lines[0].qty == 3:
            return a.model_copy(update={"release_time": released})
    raise AssertionError("no sample list with a 3-piece first line")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    c = Consortium.open(
        tmp_path_factory.mktemp("partial"),
        genesis_timestamp=int(time.time()) - 3 * 86_400,
        recognition={"3100": "automatic", "4600": "officer"},
    )
    released = datetime.fromtimestamp(c.centre.ledger.now() - 86_400, UTC)
    lists = {"3100": _three_piece_list("3100", released, 1)}
    first = lists["3100"]
    lists["4600"] = _three_piece_list("4600", released, 1).model_copy(
        update={"agent_code": first.agent_code}
    )
    # A bill whose head rounds its VAT a fen below the lines' sum, paid at the head's figure.
    headed = _three_piece_list("4600", released, 900)
    t = headed.totals
    lists["4600-headed"] = headed.model_copy(
        update={
            "agent_code": first.agent_code,
            "declared_totals": DeclaredTotals(
                customs_duty=t.customs_duty,
                vat=t.vat - CENT,
                consumption_tax=t.consumption_tax,
                tax_total=t.tax_total - CENT,
            ),
        }
    )
    for a in lists.values():
        gw = c.gateways[a.customs_code]
        tax_records.ingest(
            gw.context, gw.connections.get(), [{"platform": PLATFORM, "record": canonical(a)}]
        )
    payment = sample_tax_payment([lists["4600-headed"]])
    item = payment.items[0].model_copy(update={"tax_amount": t.tax_total - CENT})
    payment = payment.model_copy(update={"items": [item], "total": item.tax_amount})
    zz = c.gateways["4600"]
    tax_payments.ingest_payment(zz.context, zz.connections.get(), canonical(payment))
    c.drain()
    yield {"c": c, "lists": lists}
    c.stop()


def _apply(w: dict[str, Any], a: TaxAssessment, pieces: dict[int, int]) -> str:
    c: Consortium = w["c"]
    origin, centre = c.gateways[a.customs_code], c.centre
    now = centre.ledger.now()
    app = sample_return_application(a).model_copy(
        update={
            "applied_time": datetime.fromtimestamp(now, UTC),
            "lines": [ReturnLine(gnum=g, qty=n) for g, n in sorted(pieces.items())],
        }
    )
    case_id = tax_records.case_id_of(origin.context, a.invt_no)
    case = tax_records.header_of(origin.context, origin.connections.get(), case_id)
    body = application_body(
        case, app, centre.context.member_hex, c.client_key(PLATFORM), now + 90_000
    )
    done = returns.apply(
        centre.context,
        centre.connections.get(),
        PLATFORM_KEY,
        ReturnApplicationIn.model_validate(body).to_input(),
    )
    c.drain()
    return str(done["returnId"])


def _inspect(w: dict[str, Any], a: TaxAssessment, rid: str) -> None:
    c: Consortium = w["c"]
    centre, conn = c.centre, c.centre.connections.get()
    when = datetime.fromtimestamp(centre.ledger.now(), UTC)
    app = sample_return_application(a)
    arrival = sample_arrival_record(app, rid).model_copy(update={"arrived_time": when})
    returns.arrival(centre.context, conn, CENTRE_OFFICER, rid, canonical(arrival))
    c.drain()
    report = sample_inspection_report(rid, [1], accepted=[1], inspected_time=when)
    returns.inspection(centre.context, conn, CENTRE_OFFICER, rid, canonical(report))
    c.drain()  # the origin's engine decides; the second round sends its decision
    c.drain()


def _settlement(w: dict[str, Any], code: str, rid: str) -> SettlementRecord:
    gw = w["c"].gateways[code]
    conn = gw.connections.get()
    row = conn.execute(
        "SELECT record_id FROM case_documents WHERE return_id = ? AND doc_type = 'settlement'",
        (rid,),
    ).fetchone()
    record = Vault(conn, gw.context.keyring).get(row["record_id"])["record"]
    return SettlementRecord.model_validate(record)


def test_one_of_three_then_two_settle_to_the_fen(world: dict[str, Any]) -> None:
    c, a = world["c"], world["lists"]["3100"]
    line = a.lines[0]
    first = _apply(world, a, {1: 1})
    _inspect(world, a, first)
    one = _settlement(world, "3100", first)
    assert [(x.gnum, x.qty) for x in one.lines] == [(1, 1)]
    for tax in TAXES:
        assert getattr(one.lines[0], tax) == pro_rata(getattr(line, tax), 3, 0, 1)
    assert one.quota.amount == pro_rata(line.total_price, 3, 0, 1)

    second = _apply(world, a, {1: 2})
    _inspect(world, a, second)
    two = _settlement(world, "3100", second)
    assert [(x.gnum, x.qty) for x in two.lines] == [(1, 2)]
    for tax in TAXES:  # the two parts sum exactly to the line's assessed tax
        assert getattr(one.lines[0], tax) + getattr(two.lines[0], tax) == getattr(line, tax)
    assert one.quota.amount + two.quota.amount == line.total_price
    assert one.total + two.total == line.customs_duty + line.vat + line.consumption_tax

    conn = c.gateways["3100"].connections.get()
    for rid, n in ((first, 1), (second, 2)):
        state = index.return_state(conn, rid)
        assert state is not None and state["state"] == "settled"
        assert state["settledPieces"] == {1: n}
        on_ledger = c.gateways["3100"].ledger.get_return(bytes.fromhex(rid[2:]))
        assert on_ledger is not None and on_ledger.settled_pieces == {1: n}
    case_id = tax_records.case_id_of(c.gateways["3100"].context, a.invt_no)
    declared, applied = c.centre.ledger.case_pieces(bytes.fromhex(case_id[2:])) or ([], [])
    assert declared[0] == 3 and applied[0] == 3


def test_a_third_part_is_refused_and_nothing_is_written(world: dict[str, Any]) -> None:
    a = world["lists"]["3100"]
    conn = world["c"].centre.connections.get()
    tables = ("outbox", "vault_records")
    counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]
    with pytest.raises(PiecesExceedDeclared) as refused:
        _apply(world, a, {1: 1})
    extra = refused.value.extra
    assert (extra["gnum"], extra["requested"], extra["left"]) == (1, 1, 0)
    assert [(e["code"], e["pointer"]) for e in extra["errors"]] == [
        ("qty_exceeds_remaining", "/lines/0/qty")
    ]
    assert [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables] == counts


def test_an_officer_settlement_must_be_the_pro_rata_share(world: dict[str, Any]) -> None:
    c, a = world["c"], world["lists"]["4600"]
    rid = _apply(world, a, {1: 1})
    _inspect(world, a, rid)
    gw = c.gateways["4600"]
    conn = gw.connections.get()
    when = datetime.fromtimestamp(gw.ledger.now(), UTC)
    decision = sample_recognition_decision(rid, "4600", "recognized", "officer", when)
    returns.decide(gw.context, conn, OFFICER["4600"], rid, canonical(decision), "recognized")
    c.drain()

    whole = settlement_for(a, rid, {1: 1}, "not_levied", when)  # the right share
    inflated = canonical(whole)
    inflated["lines"][0]["vat"] = str(a.lines[0].vat)  # the whole line's VAT for one piece
    inflated["lines"][0]["amount"] = str(
        Decimal(inflated["lines"][0]["customsDuty"])
        + a.lines[0].vat
        + Decimal(inflated["lines"][0]["consumptionTax"])
    )
    inflated["total"] = inflated["lines"][0]["amount"]
    queued = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    with pytest.raises(SettlementMismatch, match="/lines/0/vat"):
        returns.settle(gw.context, conn, OFFICER["4600"], rid, inflated)
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == queued

    returns.settle(gw.context, conn, OFFICER["4600"], rid, canonical(whole))
    c.drain()
    state = index.return_state(conn, rid)
    assert state is not None and state["state"] == "settled"
    assert state["settledPieces"] == {1: 1}


def test_a_refund_never_exceeds_what_was_paid(world: dict[str, Any]) -> None:
    """Paid at the bill head's figure, a fen below the lines' sum that settlement follows: a
    refund of every piece would exceed the payment and is refused, nothing written."""
    c, a = world["c"], world["lists"]["4600-headed"]
    pieces = {line.gnum: line.qty for line in a.lines}
    rid = _apply(world, a, pieces)
    centre, conn = c.centre, c.centre.connections.get()
    when = datetime.fromtimestamp(centre.ledger.now(), UTC)
    arrival = sample_arrival_record(sample_return_application(a), rid)
    arrival = arrival.model_copy(update={"arrived_time": when})
    returns.arrival(centre.context, conn, CENTRE_OFFICER, rid, canonical(arrival))
    c.drain()
    gnums = sorted(pieces)
    report = sample_inspection_report(rid, gnums, accepted=gnums, inspected_time=when)
    returns.inspection(centre.context, conn, CENTRE_OFFICER, rid, canonical(report))
    c.drain()
    gw = c.gateways["4600"]
    zconn = gw.connections.get()
    decision = sample_recognition_decision(rid, "4600", "recognized", "officer", when)
    returns.decide(gw.context, zconn, OFFICER["4600"], rid, canonical(decision), "recognized")
    c.drain()
    whole = canonical(settlement_for(a, rid, pieces, "refunded", when))
    assert Decimal(whole["total"]) == a.totals.tax_total  # the lines' sum: a fen over the payment
    queued = zconn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    with pytest.raises(RefundExceedsPayment) as refused:
        returns.settle(gw.context, zconn, OFFICER["4600"], rid, whole)
    assert refused.value.extra["paid"] == f"{a.totals.tax_total - CENT:.2f}"
    assert zconn.execute("SELECT count(*) FROM outbox").fetchone()[0] == queued


def test_a_whole_long_list_comes_back_in_one_application(world: dict[str, Any]) -> None:
    """A 60-line list opened and applied for in one transaction: the gas the gateway gives it
    grows with the piece counts it carries (ledger.area.gas_limit)."""
    c = world["c"]
    gw = c.gateways["3100"]
    released = datetime.fromtimestamp(c.centre.ledger.now() - 86_400, UTC)
    a = sample_tax_assessment(77, "3100", lines=60).model_copy(update={"release_time": released})
    tax_records.ingest(
        gw.context, gw.connections.get(), [{"platform": PLATFORM, "record": canonical(a)}]
    )
    c.drain()
    rid = _apply(world, a, {line.gnum: line.qty for line in a.lines})
    on_ledger = c.centre.ledger.get_return(bytes.fromhex(rid[2:]))
    assert on_ledger is not None and len(on_ledger.applied_pieces) == 60
