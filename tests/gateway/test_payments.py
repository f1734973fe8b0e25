"""Tax payments: one payment leaf per case, anchored in payment batches; a settlement is
`refunded` (proving the case's payment leaf on the ledger) exactly when the tax was paid."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from clients.applications import application_body
from clients.bindings import SettlementKind
from clients.records import canonical
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_recognition_decision,
    sample_return_application,
    sample_settlement_record,
    sample_tax_assessment,
    sample_tax_payment,
)
from node_gateway.api.schemas import ReturnApplicationIn
from node_gateway.errors import (
    DuplicatePayment,
    PaymentMismatch,
    SettlementKindMismatch,
    UnknownInventoryList,
)
from node_gateway.run.local_consortium import PLATFORM, Consortium
from node_gateway.services import returns, tax_payments, tax_records
from node_gateway.services.auth import Principal
from node_gateway.store import outbox


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    c = Consortium.open(
        tmp_path_factory.mktemp("pay"), genesis_timestamp=int(time.time()) - 3 * 86400
    )
    now = c.centre.ledger.now()
    released = datetime.fromtimestamp(now - 86400, UTC)
    first = sample_tax_assessment(1, "3100")
    lists = [
        sample_tax_assessment(n, "3100").model_copy(
            update={"release_time": released, "agent_code": first.agent_code}
        )
        for n in (1, 2, 3)
    ]
    ningbo = c.gateways["3100"]
    tax_records.ingest(
        ningbo.context,
        ningbo.connections.get(),
        [{"platform": PLATFORM, "record": canonical(a)} for a in lists],
    )
    yield {"c": c, "lists": lists, "now": now, "ningbo": ningbo}
    c.stop()


def _returned_and_recognized(w: dict[str, Any], a: Any) -> str:
    c: Consortium = w["c"]
    ningbo, centre, now = w["ningbo"], c.centre, w["now"]
    when = datetime.fromtimestamp(now, UTC)
    case_id = tax_records.case_id_of(ningbo.context, a.invt_no)
    app = sample_return_application(a, gnums=[1]).model_copy(update={"applied_time": when})
    body = application_body(
        tax_records.header_of(ningbo.context, ningbo.connections.get(), case_id),
        app,
        centre.context.member_hex,
        c.client_key(PLATFORM),
        deadline=now + 86400,
    )
    platform = Principal(PLATFORM, "platform", "t")
    centre_officer = Principal("customs-2900", "officer", "t")
    origin_officer = Principal("customs-3100", "officer", "t")
    cconn = centre.connections.get()
    rid = returns.apply(
        centre.context, cconn, platform, ReturnApplicationIn.model_validate(body).to_input()
    )["returnId"]
    c.drain()
    arrival = sample_arrival_record(app, rid).model_copy(update={"arrived_time": when})
    returns.arrival(centre.context, cconn, centre_officer, rid, canonical(arrival))
    c.drain()
    report = sample_inspection_report(rid, [1], accepted=True, inspected_time=when)
    returns.inspection(centre.context, cconn, centre_officer, rid, canonical(report))
    c.drain()
    decision = sample_recognition_decision(rid, "3100", "recognized", "officer", when)
    returns.decide(
        ningbo.context,
        ningbo.connections.get(),
        origin_officer,
        rid,
        canonical(decision),
        "recognized",
    )
    c.drain()
    return str(rid)


def test_paid_case_settles_refunded_with_its_payment_proof(world: dict[str, Any]) -> None:
    c, ningbo, lists = world["c"], world["ningbo"], world["lists"]
    conn = ningbo.connections.get()
    paid = tax_payments.ingest_payment(
        ningbo.context, conn, canonical(sample_tax_payment(lists[:2]))
    )
    assert len(paid["cases"]) == 2
    c.drain()
    rid = _returned_and_recognized(world, lists[0])
    officer = Principal("customs-3100", "officer", "t")
    now = datetime.fromtimestamp(world["now"], UTC)
    not_levied = sample_settlement_record(lists[0], rid, [1], "not_levied", now)
    with pytest.raises(SettlementKindMismatch):
        returns.settle(ningbo.context, conn, officer, rid, canonical(not_levied))
    refunded = sample_settlement_record(lists[0], rid, [1], "refunded", now)
    done = returns.settle(ningbo.context, conn, officer, rid, canonical(refunded))
    c.drain()
    row = outbox.get(conn, done["operation"]["id"])
    assert row is not None and row.kind == "settle_refunded" and row.status == "confirmed"
    settled = conn.execute(
        "SELECT json_extract(args, '$.kind') FROM ledger_index WHERE event = 'LinesSettled'"
        " AND return_id = ?",
        (rid,),
    ).fetchone()[0]
    assert settled == int(SettlementKind.REFUNDED)


def test_unpaid_case_cannot_settle_refunded(world: dict[str, Any]) -> None:
    ningbo, lists = world["ningbo"], world["lists"]
    rid = _returned_and_recognized(world, lists[2])
    now = datetime.fromtimestamp(world["now"], UTC)
    refunded = sample_settlement_record(lists[2], rid, [1], "refunded", now)
    with pytest.raises(SettlementKindMismatch):
        returns.settle(
            ningbo.context,
            ningbo.connections.get(),
            Principal("customs-3100", "officer", "t"),
            rid,
            canonical(refunded),
        )


def test_payment_refuses_unknown_and_already_paid_lists(world: dict[str, Any]) -> None:
    ningbo, lists = world["ningbo"], world["lists"]
    conn = ningbo.connections.get()
    stranger = sample_tax_assessment(99, "3100").model_copy(
        update={"agent_code": lists[0].agent_code}
    )
    before = conn.execute("SELECT count(*) FROM vault_records").fetchone()[0]
    with pytest.raises(UnknownInventoryList, match="/record/items/1/invtNo"):
        tax_payments.ingest_payment(
            ningbo.context, conn, canonical(sample_tax_payment([lists[2], stranger]))
        )
    tax_payments.ingest_payment(ningbo.context, conn, canonical(sample_tax_payment([lists[2]])))
    with pytest.raises(DuplicatePayment):
        tax_payments.ingest_payment(
            ningbo.context, conn, canonical(sample_tax_payment([lists[2]], serial=2))
        )
    assert conn.execute("SELECT count(*) FROM vault_records").fetchone()[0] == before + 1


def test_payment_must_pay_the_assessed_tax_of_each_list(world: dict[str, Any]) -> None:
    """A refund proves the payment leaf: a payment of another sum than the list's assessed tax
    (a fen more or less) or by another agent would later refund a wrong sum, so it is refused
    whole, naming the item, and nothing is written."""
    ningbo, lists = world["ningbo"], world["lists"]
    conn = ningbo.connections.get()
    fresh = [
        sample_tax_assessment(n, "3100").model_copy(update={"agent_code": lists[0].agent_code})
        for n in (41, 42)
    ]
    tax_records.ingest(
        ningbo.context, conn, [{"platform": PLATFORM, "record": canonical(a)} for a in fresh]
    )
    before = conn.execute("SELECT count(*) FROM vault_records").fetchone()[0]
    good = canonical(sample_tax_payment(fresh, serial=41))
    for delta in ("0.01", "-0.01"):
        wrong = {**good, "items": [dict(item) for item in good["items"]]}
        paid = Decimal(wrong["items"][1]["taxAmount"]) + Decimal(delta)
        wrong["items"][1]["taxAmount"] = f"{paid:.2f}"
        wrong["total"] = f"{sum(Decimal(i['taxAmount']) for i in wrong['items']):.2f}"
        with pytest.raises(PaymentMismatch, match=r"/record/items/1/taxAmount: .* pays"):
            tax_payments.ingest_payment(ningbo.context, conn, wrong)
    other_agent = {**good, "agentCode": "3301960000", "entDutyNo": "3301960000"}
    with pytest.raises(PaymentMismatch, match="/record/agentCode"):
        tax_payments.ingest_payment(ningbo.context, conn, other_agent)
    assert conn.execute("SELECT count(*) FROM vault_records").fetchone()[0] == before
    tax_payments.ingest_payment(ningbo.context, conn, good)  # the right one is taken
    assert conn.execute("SELECT count(*) FROM vault_records").fetchone()[0] == before + 1


def test_payment_of_the_bill_heads_figure_is_accepted(world: dict[str, Any]) -> None:
    """Where the bill's head total differs from its lines' sum by rounding, the agent may pay
    either figure (it pays what the bill says)."""
    ningbo, lists = world["ningbo"], world["lists"]
    conn = ningbo.connections.get()
    a = sample_tax_assessment(51, "3100").model_copy(update={"agent_code": lists[0].agent_code})
    assert a.declared_totals is not None
    head = a.declared_totals.model_copy(
        update={
            "vat": a.declared_totals.vat + Decimal("0.01"),
            "tax_total": a.declared_totals.tax_total + Decimal("0.01"),
        }
    )
    a = a.model_copy(update={"declared_totals": head})
    tax_records.ingest(ningbo.context, conn, [{"platform": PLATFORM, "record": canonical(a)}])
    payment = canonical(sample_tax_payment([a], serial=51))
    payment["items"][0]["taxAmount"] = payment["total"] = f"{head.tax_total:.2f}"
    tax_payments.ingest_payment(ningbo.context, conn, payment)
