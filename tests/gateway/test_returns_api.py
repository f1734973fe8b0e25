"""The return-flow API on a live consortium: tax records in, returns through every state,
idempotent writes, views and disclosure, verification, operations and metrics.

Every refusal is checked for its status, the problem+json media type and its stable `code`,
and for having written nothing (`gw.unchanged()` compares the row counts of every table a
write touches, in every area's store).
"""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

import pytest

from clients.commitments.ledger_leaves import CaseHeader
from clients.commitments.merkle import verify_proof
from clients.records import DocType, FieldClass, field_class
from node_gateway.run.local_consortium import AUDITOR, PLATFORM
from node_gateway.services.auth import ROLES, issue_key
from tests.utils.gateway import (
    CENTRE,
    DAY,
    NINGBO,
    UNKNOWN_ID,
    ZHENGZHOU,
    Application,
    Case,
    GatewayWorld,
    arrival,
    assert_problem,
    decision,
    inspection,
    settlement,
    tax_assessment,
    tax_item,
)

BULK = "/v1/tax-records/bulk"
VERIFY_CHECKS = ["integrity", "anchored", "not_revoked", "issuer", "ledger_state"]


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def _assert_anchored(header: dict[str, Any]) -> None:
    """The header is anchored and its leaf, rebuilt from the header, proves into the root."""
    assert header["anchorStatus"] == "anchored", header
    h = header["header"]
    leaf = CaseHeader(
        _b(h["caseId"]),
        _b(h["originArea"]),
        _b(h["platform"]),
        h["releaseTime"],
        h["lineCount"],
        _b(h["recordDigest"]),
        tuple(h["pieces"]),
    ).leaf()
    assert "0x" + leaf.hex() == header["leaf"]
    assert verify_proof(_b(header["root"]), leaf, [_b(p) for p in header["proof"]])


def _personal(document: dict[str, Any]) -> list[str]:
    """The revealed paths of a disclosed document that hold personal data."""
    doc_type = document["docType"]
    return [
        f["path"]
        for f in document["revealed"]
        if field_class(doc_type, f["path"]) == FieldClass.PERSONAL
    ]


# ====================================================================== tax records


def test_ingest_single_record_accepted_then_anchored(gw: GatewayWorld) -> None:
    (a,) = gw.assessments()
    before = gw.rows(NINGBO)
    r = gw.call(NINGBO, "system", "POST", "/v1/tax-records", json=tax_item(a))
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert set(accepted) == {"caseId", "recordDigest", "leaf", "batchId"}
    after = gw.rows(NINGBO)
    assert after["tax_records"] == before["tax_records"] + 1
    assert after["vault_records"] == before["vault_records"] + 1
    assert gw.case_of(a).header["anchorStatus"] != "anchored"

    gw.drain()
    case = gw.case_of(a)
    assert case.case_id == accepted["caseId"]
    assert case.header["leaf"] == accepted["leaf"]
    assert case.header["header"]["recordDigest"] == accepted["recordDigest"]
    _assert_anchored(case.header)


def test_ingest_bulk_accepted_then_anchored(gw: GatewayWorld) -> None:
    items = gw.assessments(count=20)  # more than one batch of 16
    before = gw.rows(NINGBO)
    r = gw.ingest(items)
    assert r.status_code == 202, r.text
    accepted = r.json()["accepted"]
    assert len({x["caseId"] for x in accepted}) == 20
    assert len({x["batchId"] for x in accepted}) >= 2
    assert gw.rows(NINGBO)["tax_records"] == before["tax_records"] + 20

    gw.drain()
    for a, x in zip(items, accepted, strict=True):
        case = gw.case_of(a)
        assert case.case_id == x["caseId"]
        _assert_anchored(case.header)


def test_ingest_bulk_with_one_bad_record_writes_nothing(gw: GatewayWorld) -> None:
    body = {"records": [tax_item(a) for a in gw.assessments(count=3)]}
    body["records"][1]["record"]["invtNo"] = "not an inventory number"
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", BULK, json=body)
    problem = assert_problem(r, 422, "invalid_record")
    paths = [e["path"] for e in problem["errors"]]
    assert paths and all(p.startswith("/records/1/record/") for p in paths), paths
    assert "/records/1/record/invtNo" in paths


def test_ingest_record_released_in_future_refused(gw: GatewayWorld) -> None:
    a = tax_assessment(NINGBO, gw.now() + DAY)
    with gw.unchanged():
        r = gw.ingest([a])
    problem = assert_problem(r, 422, "invalid_record")
    assert "/records/0/record/releaseTime" in [e["path"] for e in problem["errors"]]


def test_ingest_duplicate_invt_no_in_one_bulk_refused(gw: GatewayWorld) -> None:
    (a,) = gw.assessments()
    with gw.unchanged():
        r = gw.ingest([a, a])
    problem = assert_problem(r, 409, "duplicate_record")
    assert "/records/1" in problem["detail"]


def test_ingest_invt_no_already_held_refused(gw: GatewayWorld) -> None:
    held, fresh = gw.assessments(count=2)
    assert gw.ingest([held]).status_code == 202
    with gw.unchanged():
        r = gw.ingest([fresh, held])
    problem = assert_problem(r, 409, "duplicate_record")
    assert problem["caseId"] == gw.case_of(held).case_id


def test_ingest_record_of_another_area_refused(gw: GatewayWorld) -> None:
    (foreign,) = gw.assessments(code=ZHENGZHOU)
    with gw.unchanged():
        r = gw.ingest([foreign], code=NINGBO)
    problem = assert_problem(r, 422, "wrong_area")
    assert problem["path"] == "/records/0/record/customsCode"


@pytest.mark.parametrize("platform", ["platform-nobody", AUDITOR])
def test_ingest_for_unknown_platform_refused(gw: GatewayWorld, platform: str) -> None:
    (a,) = gw.assessments()
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", BULK, json={"records": [tax_item(a, platform)]})
    assert_problem(r, 422, "unknown_member")


def test_ingest_more_than_max_bulk_records_refused(gw: GatewayWorld) -> None:
    limit = gw.consortium.gateways[NINGBO].settings.max_bulk_records
    body = {"records": [{"platform": PLATFORM, "record": {}}] * (limit + 1)}
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", BULK, json=body)
    assert_problem(r, 413, "too_many_records")


def test_ingest_with_unknown_field_refused(gw: GatewayWorld) -> None:
    (a,) = gw.assessments()
    body = {"records": [tax_item(a) | {"priority": "high"}]}
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", BULK, json=body)
    problem = assert_problem(r, 422, "invalid_request")
    assert any(e["path"].endswith("/priority") for e in problem["errors"]), problem


def test_ingest_malformed_json_refused(gw: GatewayWorld) -> None:
    with gw.unchanged():
        r = gw.call(
            NINGBO,
            "system",
            "POST",
            BULK,
            content=b'{"records": [',
            headers={"Content-Type": "application/json"},
        )
    assert 400 <= r.status_code < 500
    assert_problem(r, r.status_code, "invalid_request")


def test_ingest_oversized_body_refused(gw: GatewayWorld) -> None:
    limit = gw.consortium.gateways[NINGBO].settings.max_body_bytes
    with gw.unchanged():
        r = gw.call(
            NINGBO,
            "system",
            "POST",
            BULK,
            content=b" " * (limit + 1),
            headers={"Content-Type": "application/json"},
        )
    assert_problem(r, 413, "body_too_large")


# ====================================================================== returns


def test_advance_return_through_every_state(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    app = gw.application(case, (1, 2))
    r = gw.apply(app)
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["operation"]["kind"] == "open_and_apply"
    assert accepted["operation"]["status"] == "pending"
    assert (accepted["returnId"], accepted["caseId"]) == (app.return_id, case.case_id)
    assert accepted["digest"] == app.body["terms"]["applicationDigest"]
    pending = gw.call(CENTRE, "platform", "GET", f"/v1/returns/{app.return_id}").json()
    assert pending["ledger"] is None
    assert [op["id"] for op in pending["pending"]] == [accepted["operation"]["id"]]

    gw.drain()
    states = [gw.state(app.return_id)]
    steps = [
        ("arrival", arrival(app, gw.now()), "arrival"),
        ("inspection", inspection(app, accepted=(1,)), "inspection"),
        ("recognition", decision(app, "recognized"), "recognition"),
        ("settlement", settlement(app, (1,)), "settle_not_levied"),
    ]
    for action, body, kind in steps:
        r = gw.step(app, action, body)
        assert r.status_code == 202, (action, r.text)
        assert r.json()["operation"]["kind"] == kind
        gw.drain()
        states.append(gw.state(app.return_id))

    assert states == ["applied", "arrived", "inspected", "recognized", "settled"]
    for code in (CENTRE, NINGBO):  # both areas' indexes agree
        ledger = gw.call(code, "auditor", "GET", f"/v1/returns/{app.return_id}").json()["ledger"]
        assert ledger["state"] == "settled"
        assert (ledger["lines"], ledger["acceptedLines"], ledger["settledLines"]) == (
            [1, 2],
            [1],
            [1],
        )
        assert (ledger["originCode"], ledger["centreCode"]) == (NINGBO, CENTRE)


def test_dispute_then_recognise(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    app = gw.inspected(case)
    gw.advance(app, ("dispute", decision(app, "disputed")))
    assert gw.state(app.return_id) == "disputed"
    with gw.unchanged():  # a dispute is answered by recognition, not a second dispute
        r = gw.step(app, "dispute", decision(app, "disputed"))
    assert_problem(r, 409, "step_out_of_order")
    gw.advance(app, ("recognition", decision(app, "recognized")))
    assert gw.state(app.return_id) == "recognized"
    assert gw.state(app.return_id, NINGBO) == "recognized"


@pytest.fixture(scope="module")
def applied(gw: GatewayWorld) -> Application:
    """A return of lines 1 and 2 on the ledger, state applied (refusals leave it so)."""
    (case,) = gw.anchored_cases()
    return gw.applied(case, (1, 2))


def test_inspect_before_arrival_refused(gw: GatewayWorld, applied: Application) -> None:
    with gw.unchanged():
        r = gw.step(applied, "inspection", inspection(applied))
    problem = assert_problem(r, 409, "step_out_of_order")
    assert problem["state"] == "applied"


def test_arrive_at_origin_gateway_refused(gw: GatewayWorld, applied: Application) -> None:
    path = f"/v1/returns/{applied.return_id}/arrival"
    with gw.unchanged():
        r = gw.call(NINGBO, "officer", "POST", path, json=arrival(applied, gw.now()))
    assert_problem(r, 403, "not_responsible")
    assert gw.state(applied.return_id) == "applied"


def test_apply_overlapping_lines_refused(gw: GatewayWorld, applied: Application) -> None:
    second = gw.application(applied.case, (2, 3))
    with gw.unchanged():
        r = gw.apply(second)
    assert_problem(r, 409, "pieces_exceed_declared")


def test_apply_same_return_id_again_refused(gw: GatewayWorld, applied: Application) -> None:
    again = gw.application(applied.case, (3,), return_id=applied.return_id)
    with gw.unchanged():
        r = gw.apply(again)
    assert_problem(r, 409, "duplicate_return")


def test_apply_overlapping_lines_while_first_pending_refused(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    first, second = gw.application(case, (1, 2)), gw.application(case, (2, 3))
    assert gw.apply(first).status_code == 202
    try:
        with gw.unchanged():
            r = gw.apply(second)
        assert_problem(r, 409, "pieces_exceed_declared")
    finally:
        gw.drain()


@pytest.mark.parametrize("signer", ["auditor", "stranger"])
def test_apply_signed_by_non_platform_key_refused(gw: GatewayWorld, signer: str) -> None:
    (case,) = gw.anchored_cases()
    key = gw.consortium.client_key(AUDITOR) if signer == "auditor" else secrets.token_bytes(32)
    app = gw.application(case, (1,), signer_key=key)
    with gw.unchanged():
        r = gw.apply(app)
    assert_problem(r, 422, "bad_signature")


def test_apply_document_altered_after_signing_refused(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    app = gw.application(case, (1,))
    body = copy.deepcopy(app.body)
    body["document"]["record"]["reason"] = "改变主意了"
    with gw.unchanged():
        r = gw.call(CENTRE, "platform", "POST", "/v1/returns", json=body)
    assert_problem(r, 422, "digest_mismatch")


def test_view_unknown_return_not_found(gw: GatewayWorld) -> None:
    r = gw.call(CENTRE, "auditor", "GET", f"/v1/returns/{UNKNOWN_ID}")
    assert_problem(r, 404, "not_found")


def test_arrive_unknown_return_not_found(gw: GatewayWorld, applied: Application) -> None:
    body = arrival(applied, gw.now())
    body["record"]["returnId"] = UNKNOWN_ID
    with gw.unchanged():
        r = gw.call(CENTRE, "officer", "POST", f"/v1/returns/{UNKNOWN_ID}/arrival", json=body)
    assert_problem(r, 404, "not_found")


def test_inspect_wrong_lines_refused(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    app = gw.applied(case, (1, 2))
    gw.advance(app, ("arrival", arrival(app, gw.now())))
    for lines in [(1,), (1, 2, 3)]:
        with gw.unchanged():
            r = gw.step(app, "inspection", inspection(app, gnums=lines))
        assert_problem(r, 422, "lines_mismatch")
    assert gw.state(app.return_id) == "arrived"


@pytest.fixture(scope="module")
def recognized(gw: GatewayWorld) -> Application:
    """A return of lines 1 and 2, line 1 accepted and line 2 rejected, recognised."""
    (case,) = gw.anchored_cases()
    app = gw.inspected(case, accepted=(1,))
    gw.advance(app, ("recognition", decision(app)))
    return app


def test_settle_rejected_line_refused(gw: GatewayWorld, recognized: Application) -> None:
    for lines in [(2,), (1, 2)]:
        with gw.unchanged():
            r = gw.step(recognized, "settlement", settlement(recognized, lines))
        assert_problem(r, 422, "lines_mismatch")
    assert gw.state(recognized.return_id, NINGBO) == "recognized"


def test_settle_refunded_without_payment_refused(gw: GatewayWorld, recognized: Application) -> None:
    """No tax payment of the case is anchored, so there is nothing to refund (the paid case is
    tests/gateway/test_payments.py's)."""
    with gw.unchanged():
        r = gw.step(recognized, "settlement", settlement(recognized, (1,), kind="refunded"))
    assert_problem(r, 409, "settlement_kind_mismatch")


# ====================================================================== idempotency


def test_replay_apply_same_key_same_body(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    app = gw.application(case)
    before = gw.rows(CENTRE)
    first = gw.apply(app, idempotency_key="apply-once")
    again = gw.apply(app, idempotency_key="apply-once")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    after = gw.rows(CENTRE)
    assert after["outbox"] == before["outbox"] + 1
    assert after["vault_records"] == before["vault_records"] + 1
    gw.drain()
    assert gw.state(app.return_id) == "applied"


def test_replay_tax_records_same_key_same_body(gw: GatewayWorld) -> None:
    body = {"records": [tax_item(a) for a in gw.assessments(count=2)]}
    before = gw.rows(NINGBO)
    first = gw.call(NINGBO, "system", "POST", BULK, json=body, idempotency_key="bulk-1")
    again = gw.call(NINGBO, "system", "POST", BULK, json=body, idempotency_key="bulk-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert gw.rows(NINGBO)["tax_records"] == before["tax_records"] + 2


def test_replay_same_key_different_body_refused(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    one, other = gw.application(case, (1,)), gw.application(case, (2,))
    assert gw.apply(one, idempotency_key="apply-twice").status_code == 202
    with gw.unchanged():
        r = gw.apply(other, idempotency_key="apply-twice")
    assert_problem(r, 422, "idempotency_key_reused")
    gw.drain()


def test_replay_same_key_two_members_no_collision(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    app = gw.application(case)
    key = "shared-" + secrets.token_hex(4)
    r = gw.apply(app, idempotency_key=key)  # member platform-demo
    assert r.status_code == 202
    gw.drain()
    path = f"/v1/returns/{app.return_id}/arrival"
    body = arrival(app, gw.now())
    r = gw.call(CENTRE, "officer", "POST", path, json=body, idempotency_key=key)  # customs-2900
    assert r.status_code == 202, r.text
    assert "idempotent-replayed" not in r.headers
    assert r.json()["operation"]["kind"] == "arrival"
    gw.drain()
    assert gw.state(app.return_id) == "arrived"


# ====================================================================== views


@pytest.fixture(scope="module")
def settled(gw: GatewayWorld) -> Application:
    """A return of lines 1 and 2 taken to the end: line 1 accepted and settled."""
    (case,) = gw.anchored_cases()
    app = gw.inspected(case, accepted=(1,))
    gw.advance(app, ("recognition", decision(app)), ("settlement", settlement(app, (1,))))
    return app


def _return_view(gw: GatewayWorld, code: str, role: str, app: Application) -> dict[str, Any]:
    r = gw.call(code, role, "GET", f"/v1/returns/{app.return_id}")
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()
    return view


def _case_view(gw: GatewayWorld, role: str, case: Case) -> dict[str, Any]:
    r = gw.call(case.code, role, "GET", f"/v1/cases/{case.case_id}")
    assert r.status_code == 200, r.text
    view: dict[str, Any] = r.json()
    return view


def test_view_own_return_and_case_as_platform(gw: GatewayWorld, settled: Application) -> None:
    centre = _return_view(gw, CENTRE, "platform", settled)
    assert centre["ledger"]["state"] == "settled" and centre["pending"] == []
    assert [d["docType"] for d in centre["documents"]] == [
        DocType.RETURN_APPLICATION,
        DocType.ARRIVAL,
        DocType.INSPECTION_REPORT,
    ]
    origin = _return_view(gw, NINGBO, "platform", settled)
    assert [d["docType"] for d in origin["documents"]] == [DocType.RECOGNITION, DocType.SETTLEMENT]
    for d in centre["documents"] + origin["documents"]:
        assert d["operation"]["status"] == "confirmed"
        assert d["document"]["digest"] == d["digest"]

    case = _case_view(gw, "platform", settled.case)
    assert case["ledger"]["caseId"] == settled.case.case_id
    assert [x["returnId"] for x in case["returns"]] == [settled.return_id]
    assert case["taxAssessment"]["anchorStatus"] == "anchored"
    assert _personal(case["taxAssessment"]["document"])  # its own buyer: the policy allows

    listed = gw.call(CENTRE, "platform", "GET", "/v1/returns", params={"limit": 1000}).json()
    assert settled.return_id in [x["returnId"] for x in listed["items"]]


def test_view_as_other_platform_not_found(gw: GatewayWorld, settled: Application) -> None:
    other: dict[str, str] = {}
    for code in (CENTRE, NINGBO):
        conn = gw.consortium.gateways[code].connections.get()
        other[code] = issue_key(conn, "platform-other", "platform")[1]

    def get(code: str, path: str, **params: str) -> Any:
        headers = {"Authorization": f"Bearer {other[code]}"}
        return gw.clients[code].get(path, headers=headers, params=params)

    whoami = get(CENTRE, "/v1/whoami").json()
    assert (whoami["member_id"], whoami["role"]) == ("platform-other", "platform")
    assert whoami["gateway"] == {
        "memberId": gw.member_hex(CENTRE),
        "label": "customs-2900",
        "customsCode": CENTRE,
        "role": "return_centre",
    }
    case_id, rid = settled.case.case_id, settled.return_id
    for code, path, params in [
        (CENTRE, f"/v1/returns/{rid}", {}),
        (NINGBO, f"/v1/returns/{rid}", {}),
        (NINGBO, f"/v1/cases/{case_id}", {}),
        (NINGBO, f"/v1/cases/{case_id}/header", {}),
        (NINGBO, f"/v1/cases/{case_id}/trail", {}),
        (NINGBO, "/v1/cases/lookup", {"invtNo": settled.case.assessment.invt_no}),
    ]:
        assert_problem(get(code, path, **params), 404, "not_found")
    operation = _return_view(gw, CENTRE, "platform", settled)["documents"][0]["operation"]
    assert_problem(get(CENTRE, f"/v1/operations/{operation['id']}"), 404, "not_found")
    assert get(CENTRE, "/v1/returns").json() == {"items": [], "next": None}


def test_lookup_by_another_platform_tells_nothing_not_even_the_case_id(
    gw: GatewayWorld, settled: Application
) -> None:
    """A rival platform's lookup of a list that exists answers as for one that does not, and
    no answer names the computed (pseudonymous) case id, which would let it follow the list
    through the ledger's events."""
    conn = gw.consortium.gateways[NINGBO].connections.get()
    rival = issue_key(conn, "platform-rival", "platform")[1]

    def lookup(invt_no: str) -> Any:
        return gw.clients[NINGBO].get(
            "/v1/cases/lookup",
            headers={"Authorization": f"Bearer {rival}"},
            params={"invtNo": invt_no},
        )

    real = settled.case.assessment.invt_no
    absent = real[:-9] + ("999999999" if real[-9:] != "999999999" else "999999998")
    answers = [assert_problem(lookup(n), 404, "not_found") for n in (real, absent)]
    assert settled.case.case_id not in json.dumps(answers[0])
    assert [
        a["detail"].replace(n, "LIST") for a, n in zip(answers, (real, absent), strict=True)
    ] == [answers[0]["detail"].replace(real, "LIST")] * 2
    assert "0x" not in answers[0]["detail"] and "0x" not in answers[1]["detail"]


def test_view_as_auditor_withholds_buyer_fields(gw: GatewayWorld, settled: Application) -> None:
    tax = _case_view(gw, "auditor", settled.case)["taxAssessment"]["document"]
    assert tax["docType"] == DocType.TAX_ASSESSMENT
    assert _personal(tax) == [] and tax["withheld"]
    assert not any(f["path"].startswith("/buyer") for f in tax["revealed"])
    assert _personal(_case_view(gw, "officer", settled.case)["taxAssessment"]["document"])

    origin = _return_view(gw, NINGBO, "auditor", settled)
    (settled_doc,) = [d["document"] for d in origin["documents"] if d["docType"] == "settlement"]
    assert _personal(settled_doc) == [] and settled_doc["withheld"]
    holder = _return_view(gw, NINGBO, "officer", settled)
    assert any(_personal(d["document"]) for d in holder["documents"])


def test_list_returns_filtered_by_state_and_area(gw: GatewayWorld, settled: Application) -> None:
    def ids(**params: str) -> list[str]:
        r = gw.call(CENTRE, "auditor", "GET", "/v1/returns", params={"limit": "1000", **params})
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        for item in items:
            assert params.get("state", item["state"]) == item["state"]
            if "area" in params:
                codes = {
                    "origin": [item["originCode"]],
                    "centre": [item["centreCode"]],
                    None: [item["originCode"], item["centreCode"]],
                }[params.get("role")]
                assert params["area"] in codes
        return [item["returnId"] for item in items]

    rid = settled.return_id
    assert rid in ids(state="settled")
    assert rid not in ids(state="applied")
    assert rid in ids(area=NINGBO) and rid in ids(area=CENTRE)
    assert rid not in ids(area=ZHENGZHOU)
    assert rid in ids(area=NINGBO, role="origin") and rid not in ids(area=NINGBO, role="centre")
    assert rid in ids(state="settled", area=CENTRE, role="centre")
    r = gw.call(CENTRE, "auditor", "GET", "/v1/returns", params={"state": "lost"})
    assert_problem(r, 422, "invalid_request")


def test_trail_lists_every_step_in_order(gw: GatewayWorld, settled: Application) -> None:
    r = gw.call(NINGBO, "auditor", "GET", f"/v1/cases/{settled.case.case_id}/trail")
    assert r.status_code == 200, r.text
    trail = r.json()
    steps = trail["steps"]
    # The centre's fetch of the declaration (what to expect) is logged as a disclosure.
    disclosures = [s for s in steps if s["event"] == "DisclosureLogged"]
    assert disclosures, "the disclosure of the declaration to the centre is on the trail"
    assert [s["event"] for s in steps if s["event"] != "DisclosureLogged"] == [
        "CaseOpened",
        "ReturnApplied",
        "ArrivalRecorded",
        "InspectionRecorded",
        "ReturnRecognized",
        "LinesSettled",
    ]
    positions = [(s["block"], s["logIndex"]) for s in steps]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert all(s["txHash"].startswith("0x") and len(s["txHash"]) == 66 for s in steps)
    assert trail["anchoring"] and trail["anchoring"][0]["event"] == "RootAnchored"
    assert trail["anchoring"][0]["block"] < steps[0]["block"]
    # Each step carries the verification of the document this gateway holds for it.
    status = {s["event"]: (s.get("verification") or {}).get("status") for s in steps}
    for held_here in ("CaseOpened", "ReturnRecognized", "LinesSettled"):
        assert status[held_here] == "verified", (held_here, status)
    assert set(status.values()) <= {"verified", "not_held", None}
    timeline = trail["timeline"]
    assert [t["event"] for t in timeline if t["event"] != "DisclosureLogged"] == [
        "RootAnchored",
        "CaseOpened",
        "ReturnApplied",
        "ArrivalRecorded",
        "InspectionRecorded",
        "ReturnRecognized",
        "LinesSettled",
    ]
    assert timeline[-1]["who"] == "customs 3100" and timeline[-1]["at"] > 0


def test_trail_at_the_centre_verifies_its_own_steps(gw: GatewayWorld, settled: Application) -> None:
    r = gw.call(CENTRE, "officer", "GET", f"/v1/cases/{settled.case.case_id}/trail")
    assert r.status_code == 200, r.text
    status = {s["event"]: (s.get("verification") or {}).get("status") for s in r.json()["steps"]}
    assert status["ArrivalRecorded"] == status["InspectionRecorded"] == "verified", status
    assert status["CaseOpened"] == "not_held"  # the tax assessment stays at the origin


def test_audit_report_counts_the_settled_return_with_its_values(
    gw: GatewayWorld, settled: Application
) -> None:
    now = gw.now()
    params = {"from": now - 300 * 86_400, "to": now + 1}
    r = gw.call(NINGBO, "auditor", "GET", "/v1/audit/report", params=params)
    assert r.status_code == 200, r.text
    report = r.json()
    mine = [t for t in report["totals"] if settled.case.case_id in t["cases"]]
    assert len(mine) == 1 and mine[0]["originCode"] == NINGBO
    total = mine[0]
    assert total["returns"] >= 1 and total["valueKnown"]
    assert float(total["valueNotLevied"]) + float(total["valueRefunded"]) > 0
    assert report["reportCard"]["piecesReleased"] >= 1
    assert any(t["returnId"] == settled.return_id for t in report["settlementTimes"])
    assert not [a for a in report["anomalies"] if a["kind"] == "settled_without_recognition"]
    # At the centre the same return is counted, but its amounts are not the centre's to see.
    r = gw.call(CENTRE, "auditor", "GET", "/v1/audit/report", params=params)
    centre = [t for t in r.json()["totals"] if settled.case.case_id in t["cases"]]
    assert centre and not centre[0]["valueKnown"] and centre[0]["valueNotLevied"] == "0.00"


def test_audit_report_refuses_a_backwards_period(gw: GatewayWorld) -> None:
    r = gw.call(NINGBO, "auditor", "GET", "/v1/audit/report", params={"from": 10, "to": 5})
    assert_problem(r, 422, "invalid_record")
    r = gw.call(NINGBO, "platform", "GET", "/v1/audit/report", params={"from": 1, "to": 5})
    assert r.status_code == 403


def test_verify_disclosed_documents_ok(gw: GatewayWorld, settled: Application) -> None:
    """One document of each anchoring: the case's tax record (batch root), a return document
    of the centre and one of the origin (return events). Each verification reads the chain's
    logs from genesis, so three stand for all six."""
    centre = _return_view(gw, CENTRE, "auditor", settled)["documents"]
    origin = _return_view(gw, NINGBO, "auditor", settled)["documents"]
    tax = _case_view(gw, "auditor", settled.case)["taxAssessment"]["document"]
    documents = [tax, centre[0]["document"], origin[-1]["document"]]
    assert [d["docType"] for d in documents] == [
        DocType.TAX_ASSESSMENT,
        DocType.RETURN_APPLICATION,
        DocType.SETTLEMENT,
    ]
    with gw.unchanged():
        for document in documents:
            r = gw.call(NINGBO, "auditor", "POST", "/v1/verify", json={"document": document})
            assert r.status_code == 200, r.text
            result = r.json()
            assert result["ok"] is True, result
            assert result["digest"] == document["digest"]
            assert [c["name"] for c in result["checks"]] == VERIFY_CHECKS
            assert all(c["passed"] for c in result["checks"])


def test_verify_tampered_document_not_ok(gw: GatewayWorld, settled: Application) -> None:
    origin = _return_view(gw, NINGBO, "auditor", settled)
    document = copy.deepcopy(origin["documents"][-1]["document"])
    field = next(f for f in document["revealed"] if isinstance(f["value"], str))
    field["value"] += "x"
    r = gw.call(CENTRE, "auditor", "POST", "/v1/verify", json={"document": document})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["ok"] is False
    checks = {c["name"]: c["passed"] for c in result["checks"]}
    assert checks["integrity"] is False

    r = gw.call(CENTRE, "auditor", "POST", "/v1/verify", json={"document": {"version": 0}})
    assert_problem(r, 422, "invalid_record")


# ====================================================================== operations, metrics


def test_poll_operation_confirmed(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    app = gw.application(case)
    op = gw.apply(app).json()["operation"]
    path = f"/v1/operations/{op['id']}"
    pending = gw.call(CENTRE, "platform", "GET", path).json()
    assert pending["status"] == "pending" and pending["txHash"] is None
    gw.drain()
    r = gw.call(CENTRE, "platform", "GET", path)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "confirmed" and done["error"] is None
    assert isinstance(done["block"], int) and done["block"] > 0
    assert done["txHash"].startswith("0x") and len(done["txHash"]) == 66
    assert (done["kind"], done["subject"]) == ("open_and_apply", app.return_id)
    assert gw.call(CENTRE, "officer", "GET", path).json() == done


def test_poll_operation_failed_when_signature_expired(gw: GatewayWorld) -> None:
    """Accepted while its signature was valid; by the time the gateway sends it, ledger time has
    passed the deadline, so the contract refuses it (mined with status 0, its nonce used) and
    the operation fails with the decoded reason."""
    (case,) = gw.anchored_cases()
    now = gw.now()
    app = gw.application(case, (1,), deadline=now + 3)
    r = gw.apply(app)
    assert r.status_code == 202, r.text
    gw.consortium.chain.travel_to(now + 10)
    gw.drain()
    op = gw.call(CENTRE, "platform", "GET", f"/v1/operations/{r.json()['operation']['id']}")
    failed = op.json()
    assert failed["status"] == "failed"
    assert "SignatureExpired" in failed["error"]
    assert failed["block"] is not None and failed["txHash"].startswith("0x")
    assert_problem(
        gw.call(CENTRE, "auditor", "GET", f"/v1/returns/{app.return_id}"), 404, "not_found"
    )


def test_apply_again_after_failed_operation_accepted(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    now = gw.now()
    app = gw.application(case, (1,), deadline=now + 3)
    assert gw.apply(app).status_code == 202
    gw.consortium.chain.travel_to(now + 10)
    gw.drain()
    retry = gw.resigned(app, gw.now() + 3600)
    assert retry.body["terms"]["applicationDigest"] == app.body["terms"]["applicationDigest"]
    r = gw.apply(retry)
    assert r.status_code == 202, r.text
    gw.drain()
    assert gw.state(app.return_id) == "applied"


def test_poll_unknown_operation_not_found(gw: GatewayWorld) -> None:
    assert_problem(gw.call(CENTRE, "admin", "GET", "/v1/operations/999999999"), 404, "not_found")


@pytest.mark.parametrize("role", ROLES)
def test_scrape_metrics_by_role(gw: GatewayWorld, role: str) -> None:
    r = gw.call(NINGBO, role, "GET", "/metrics")
    if role not in ("admin", "system"):
        assert_problem(r, 403, "forbidden")
        return
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "# TYPE crossreturn_outbox_rows gauge" in r.text
    assert 'crossreturn_outbox_rows{status="failed"}' in r.text
    assert "crossreturn_tax_records " in r.text
    assert "crossreturn_anchorings_failed 0" in r.text
