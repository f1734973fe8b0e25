"""Automatic recognition at the origin: the origin fetches the inspection report and the
application from the return centre over the peer protocol, checks them against the ledger and
its declaration, then recognises and settles — or disputes, for an officer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clients.applications import application_body
from clients.bindings import SettlementKind
from clients.commitments.document import DisclosedDocument
from clients.records import ReturnLine, canonical
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_return_application,
    sample_tax_assessment,
    sample_tax_payment,
)
from node_gateway.api.schemas import ReturnApplicationIn
from node_gateway.errors import PiecesExceedDeclared
from node_gateway.run.local_consortium import PLATFORM, Consortium
from node_gateway.services import returns, tax_payments, tax_records
from node_gateway.services.auth import Principal
from node_gateway.store import Vault, index

PLATFORM_KEY = Principal(PLATFORM, "platform", "t")
CENTRE_OFFICER = Principal("customs-2900", "officer", "t")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    c = Consortium.open(
        tmp_path_factory.mktemp("recognition"),
        genesis_timestamp=int(time.time()) - 3 * 86_400,
        recognition={"3100": "automatic", "4600": "officer"},
    )
    released = datetime.fromtimestamp(c.centre.ledger.now() - 86_400, UTC)
    lists: dict[str, list[Any]] = {}
    for code in ("3100", "4600"):
        first = sample_tax_assessment(1, code, lines=2)
        lists[code] = [
            sample_tax_assessment(n, code, lines=2).model_copy(
                update={"release_time": released, "agent_code": first.agent_code}
            )
            for n in range(1, 5)
        ]
        gw = c.gateways[code]
        tax_records.ingest(
            gw.context,
            gw.connections.get(),
            [{"platform": PLATFORM, "record": canonical(a)} for a in lists[code]],
        )
    ningbo = c.gateways["3100"]
    tax_payments.ingest_payment(
        ningbo.context, ningbo.connections.get(), canonical(sample_tax_payment(lists["3100"][1:2]))
    )
    c.drain()
    yield {"c": c, "lists": lists}
    c.stop()


def _through_inspection(
    w: dict[str, Any], a: Any, accepted: list[int], qty: dict[int, int] | None = None
) -> str:
    c: Consortium = w["c"]
    origin, centre = c.gateways[a.customs_code], c.centre
    now = centre.ledger.now()
    when = datetime.fromtimestamp(now, UTC)
    app = sample_return_application(a).model_copy(update={"applied_time": when})
    if qty:
        app = app.model_copy(
            update={"lines": [ReturnLine(gnum=g, qty=qty.get(g, 1)) for g in (1, 2)]}
        )
    case_id = tax_records.case_id_of(origin.context, a.invt_no)
    case = tax_records.header_of(origin.context, origin.connections.get(), case_id)
    body = application_body(
        case, app, centre.context.member_hex, c.client_key(PLATFORM), now + 86_400
    )
    conn = centre.connections.get()
    rid = str(
        returns.apply(
            centre.context, conn, PLATFORM_KEY, ReturnApplicationIn.model_validate(body).to_input()
        )["returnId"]
    )
    c.drain()
    arrival = sample_arrival_record(app, rid).model_copy(update={"arrived_time": when})
    returns.arrival(centre.context, conn, CENTRE_OFFICER, rid, canonical(arrival))
    c.drain()
    report = sample_inspection_report(rid, [1, 2], accepted=accepted, inspected_time=when)
    returns.inspection(centre.context, conn, CENTRE_OFFICER, rid, canonical(report))
    c.drain()  # the origin's worker decides; the second round sends its decision
    c.drain()
    return rid


def _state(c: Consortium, code: str, rid: str) -> dict[str, Any]:
    row = index.return_row(c.gateways[code].connections.get(), rid)
    assert row is not None
    return row


def test_partial_acceptance_is_recognised_and_settled_not_levied(world: dict[str, Any]) -> None:
    c = world["c"]
    rid = _through_inspection(world, world["lists"]["3100"][0], accepted=[1])
    row = _state(c, "3100", rid)
    assert (row["state"], row["acceptedLines"], row["settledLines"]) == ("settled", [1], [1])
    conn = c.gateways["3100"].connections.get()
    kinds = [
        json.loads(r[0])["kind"]
        for r in conn.execute(
            "SELECT args FROM ledger_index WHERE event = 'LinesSettled' AND return_id = ?", (rid,)
        )
    ]
    assert kinds == [int(SettlementKind.NOT_LEVIED)]
    decision = next(d for d in returns_docs(c, "3100", rid) if d["docType"] == "recognition")
    assert decision["record"]["mode"] == "automatic" and decision["record"]["decision"] == (
        "recognized"
    )


def test_paid_case_is_settled_refunded(world: dict[str, Any]) -> None:
    c = world["c"]
    rid = _through_inspection(world, world["lists"]["3100"][1], accepted=[1, 2])
    assert _state(c, "3100", rid)["state"] == "settled"
    conn = c.gateways["3100"].connections.get()
    (args,) = conn.execute(
        "SELECT args FROM ledger_index WHERE event = 'LinesSettled' AND return_id = ?", (rid,)
    ).fetchone()
    assert json.loads(args)["kind"] == int(SettlementKind.REFUNDED)


def test_more_pieces_than_declared_never_reach_the_ledger(world: dict[str, Any]) -> None:
    c = world["c"]
    a = world["lists"]["3100"][2]
    declared = {line.gnum: line.qty for line in a.lines}
    conn = c.centre.connections.get()
    queued = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    with pytest.raises(PiecesExceedDeclared) as refused:
        _through_inspection(world, a, accepted=[1, 2], qty={1: declared[1] + 5, 2: 1})
    extra = refused.value.extra
    assert (extra["gnum"], extra["requested"], extra["left"]) == (1, declared[1] + 5, declared[1])
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == queued


def test_officer_only_area_leaves_inspected_returns_to_officers(world: dict[str, Any]) -> None:
    c = world["c"]
    rid = _through_inspection(world, world["lists"]["4600"][0], accepted=[1])
    assert _state(c, "4600", rid)["state"] == "inspected"


def test_every_disclosure_is_logged_and_anchored(world: dict[str, Any]) -> None:
    c = world["c"]
    conn = c.centre.connections.get()
    logged = conn.execute("SELECT requester, digest, fields FROM disclosure_log").fetchall()
    ningbo = c.gateways["3100"].context.member_hex
    assert logged and all(r["requester"] == ningbo for r in logged)
    for r in logged:
        fields = json.loads(r["fields"])
        assert not any(f.startswith("/buyer") for f in fields)
    on_ledger = {
        json.loads(r[0])["disclosureDigest"]
        for r in conn.execute("SELECT args FROM ledger_index WHERE event = 'DisclosureLogged'")
    }
    assert {r["digest"] for r in logged} <= on_ledger


def returns_docs(c: Consortium, code: str, rid: str) -> list[dict[str, Any]]:
    """This area's vaulted documents of a return, decrypted: [{docType, record}]."""
    gw = c.gateways[code]
    conn = gw.connections.get()
    vault = Vault(conn, gw.context.keyring)
    rows = conn.execute(
        "SELECT record_id, doc_type FROM case_documents WHERE return_id = ?", (rid,)
    ).fetchall()
    return [{"docType": r["doc_type"], "record": vault.get(r["record_id"])["record"]} for r in rows]


def test_disclosed_report_verifies_against_the_ledger(world: dict[str, Any]) -> None:
    c = world["c"]
    rid = _through_inspection(world, world["lists"]["3100"][3], accepted=[2])
    ningbo = c.gateways["3100"]
    assert ningbo.peer is not None
    got = ningbo.peer.fetch(c.centre.context.member, rid, "inspection_report")
    (doc,) = got.documents
    assert isinstance(doc, DisclosedDocument)
    result = ningbo.ledger.verifier().verify(doc)
    assert result.ok, result.to_json()


def test_return_centre_knows_what_to_expect_without_personal_data(world: dict[str, Any]) -> None:
    c = world["c"]
    a = world["lists"]["3100"][0]
    conn = c.centre.connections.get()
    rows = conn.execute("SELECT return_id, lines, problems FROM expected_goods").fetchall()
    assert rows, "the centre fetched no expectations"
    declared_names = {line.gname for line in a.lines}
    everything = " ".join(r["lines"] for r in rows)
    assert any(name in everything for name in declared_names)
    for r in rows:
        for line in json.loads(r["lines"]):
            assert set(line) <= {
                "gnum",
                "itemRecordNo",
                "gcode",
                "gname",
                "qty",
                "unit",
                "qtyReturned",
            }
    assert a.buyer.name not in everything and a.buyer.id_number not in everything
    # an over-declared application never reaches the ledger now (PiecesExceedDeclared)
    assert all(json.loads(r["problems"]) == [] for r in rows)
    view = TestClient(c.centre.app).get(
        f"/v1/returns/{rows[0]['return_id']}",
        headers={"Authorization": f"Bearer {c.credentials['2900']['officer']}"},
    )
    assert view.status_code == 200 and view.json()["expected"]["lines"]


def test_disclosure_not_matching_the_ledger_digest_is_a_problem(world: dict[str, Any]) -> None:
    """A report whose fields were changed (or that is not the one on the ledger) is never
    recognised: the engine names the mismatch."""
    from clients.commitments.document import RevealedField
    from node_gateway.peer.client import PeerClient
    from node_gateway.services import recognition
    from node_gateway.services.context import Disclosure

    c = world["c"]
    rid = _through_inspection(world, world["lists"]["4600"][1], accepted=[1])  # officer area
    zhengzhou = c.gateways["4600"]
    peer = zhengzhou.peer
    assert peer is not None
    real = peer.fetch(c.centre.context.member, rid, "inspection_report").documents[0]
    forged = DisclosedDocument(
        real.doc_type,
        real.digest,
        [
            RevealedField(f.path, "accepted" if f.path.endswith("/result") else f.value, f.salt)
            for f in real.revealed
        ],
        real.withheld,
    )

    class Forging(PeerClient):
        def fetch(self, holder: bytes, subject: str, doc_type: str) -> Disclosure:
            got = super().fetch(holder, subject, doc_type)
            return Disclosure([forged] if doc_type == "inspection_report" else got.documents, "")

    zconn = zhengzhou.connections.get()
    state = index.return_state(zconn, rid)
    assert state is not None
    inspected = next(
        e["args"]
        for e in index.events_of(zconn, return_id=rid)
        if e["event"] == "InspectionRecorded"
    )
    forging = Forging(zhengzhou.context, peer.transport)
    problems = recognition.check_return(zhengzhou.context, zconn, forging, rid, state, inspected)
    assert problems == ["the inspection report's fields do not hash to its digest"]
