"""Applications bound to their case at the return centre: before relaying, the centre asks the
origin for the case's declaration (POST /peer/v1/declarations, on the authority of the signed
application) and refuses any application whose list, order, platform, agent, lines, goods or
pieces differ from it — each problem with its code and a pointer into the record — writing
nothing; while the origin cannot be asked it answers 503 with Retry-After, writing nothing.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from clients.records import ReturnApplication, ReturnLine, TaxAssessment
from clients.records.samples import sample_return_application
from node_gateway.errors import PeerUnavailable
from node_gateway.run.local_consortium import PLATFORM
from node_gateway.services import binding
from node_gateway.services.binding import Declaration, DeclaredLine, mismatches
from tests.utils.gateway import (
    CENTRE,
    DAY,
    NINGBO,
    Application,
    Case,
    GatewayWorld,
    application_body,
    assert_problem,
)

# ---------------------------------------------------------------------- the rules, alone

DECLARATION = Declaration(
    invt_no="31002026I000010026",
    order_no="DD2026000010026",
    ebp_code="3100960001",
    agent_code="3100980002",
    lines={1: DeclaredLine("3304990099", "面霜", 2), 2: DeclaredLine("1901101000", "奶粉", 1)},
)
BOUND: dict[str, Any] = {
    "invtNo": "31002026I000010026",
    "orderNo": "DD2026000010026",
    "ebpCode": "3100960001",
    "agentCode": "3100980002",
    "lines": [{"gnum": 1, "qty": 2, "gcode": "3304990099", "gname": "面霜"}],
}


def _changed(path: str, value: Any) -> dict[str, Any]:
    app = {**BOUND, "lines": [dict(line) for line in BOUND["lines"]]}
    parts = path.split("/")[1:]
    if parts[0] == "lines":
        app["lines"][int(parts[1])][parts[2]] = value
    else:
        app[parts[0]] = value
    return app


def test_bound_application_has_no_mismatch() -> None:
    assert mismatches(BOUND, DECLARATION, DECLARATION.declared()) == []
    without_goods = _changed("/lines/0/gcode", None) | {"lines": [{"gnum": 1, "qty": 1}]}
    assert mismatches(without_goods, DECLARATION, DECLARATION.declared()) == []
    spaced = _changed("/lines/0/gname", " 面霜 ")
    assert mismatches(spaced, DECLARATION, DECLARATION.declared()) == []


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("/invtNo", "31002026I000010025", "invt_no_mismatch"),
        ("/orderNo", "DD2026000099999", "order_no_mismatch"),
        ("/ebpCode", "3100960009", "ebp_code_mismatch"),
        ("/agentCode", "3100980009", "agent_code_mismatch"),
        ("/lines/0/gnum", 3, "undeclared_line"),
        ("/lines/0/gcode", "8509809000", "gcode_mismatch"),
        ("/lines/0/gname", "电动牙刷", "gname_mismatch"),
        ("/lines/0/qty", 9, "qty_exceeds_remaining"),
    ],
)
def test_mismatch_named_by_code_and_pointer(path: str, value: Any, code: str) -> None:
    found = mismatches(_changed(path, value), DECLARATION, DECLARATION.declared())
    assert [(m.code, m.pointer) for m in found] == [(code, path)]


def test_pieces_already_applied_for_are_not_left() -> None:
    found = mismatches(BOUND, DECLARATION, {1: 1, 2: 1})
    assert [(m.code, m.pointer) for m in found] == [("qty_exceeds_remaining", "/lines/0/qty")]
    assert "2 pieces asked back, 1 of the 2 declared left" in found[0].detail


# ---------------------------------------------------------------------- through the API


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _signed(gw: GatewayWorld, case: Case, record: ReturnApplication) -> Application:
    now = gw.now()
    rid = "0x" + secrets.token_hex(32)
    body = application_body(
        case,
        record.model_copy(update={"applied_time": _when(now)}),
        rid,
        gw.member_hex(CENTRE),
        gw.consortium.client_key(PLATFORM),
        now + DAY,
    )
    gnums = tuple(sorted(line.gnum for line in record.lines))
    return Application(case, record, rid, gnums, body)


def _record(a: TaxAssessment, gnums: list[int], **update: Any) -> ReturnApplication:
    return sample_return_application(a, gnums=gnums).model_copy(update=update)


def _outbox_kinds(gw: GatewayWorld, code: str) -> list[str]:
    conn = gw.consortium.gateways[code].connections.get()
    return [str(r[0]) for r in conn.execute("SELECT kind FROM outbox ORDER BY id")]


@contextmanager
def _nothing_relayed(gw: GatewayWorld) -> Iterator[None]:
    """No row in the centre's store; at the origin at most the logged disclosure."""
    centre, origin = gw.rows(CENTRE), gw.rows(NINGBO)
    kinds = _outbox_kinds(gw, NINGBO)
    yield
    assert gw.rows(CENTRE) == centre
    after = gw.rows(NINGBO)
    assert {k: v for k, v in after.items() if k != "outbox"} == {
        k: v for k, v in origin.items() if k != "outbox"
    }
    assert set(_outbox_kinds(gw, NINGBO)[len(kinds) :]) <= {"disclose"}


def _refused_then_not_on_ledger(
    gw: GatewayWorld, app: Application, status: int = 422, code: str = "declaration_mismatch"
) -> dict[str, Any]:
    with _nothing_relayed(gw):
        r = gw.apply(app)
    problem = assert_problem(r, status, code)
    _not_on_ledger(gw, app)
    return problem


def _not_on_ledger(gw: GatewayWorld, app: Application) -> None:
    gw.drain()
    ledger = gw.consortium.centre.ledger
    assert ledger.get_return(bytes.fromhex(app.return_id[2:])) is None
    for code in (CENTRE, NINGBO):
        r = gw.call(code, "auditor", "GET", f"/v1/returns/{app.return_id}")
        assert_problem(r, 404, "not_found")


@pytest.fixture(scope="module")
def cases(gw: GatewayWorld) -> list[Case]:
    return gw.anchored_cases(count=6)


def test_apply_naming_another_list_refused(gw: GatewayWorld, cases: list[Case]) -> None:
    case, other = cases[0], cases[1]
    record = _record(other.assessment, [1, 2])  # list …10025's record, against case …10026
    # one piece a line: within what case …10026 declares, so only the binding check refuses it
    record = record.model_copy(
        update={"lines": [line.model_copy(update={"qty": 1}) for line in record.lines]}
    )
    problem = _refused_then_not_on_ledger(gw, _signed(gw, case, record))
    codes = {(e["code"], e["pointer"]) for e in problem["errors"]}
    assert ("invt_no_mismatch", "/invtNo") in codes
    assert ("order_no_mismatch", "/orderNo") in codes


@pytest.mark.parametrize(
    ("change", "code", "pointer"),
    [
        ({"order_no": "DD2099000000001"}, "order_no_mismatch", "/orderNo"),
        ({"ebp_code": "3100960999"}, "ebp_code_mismatch", "/ebpCode"),
        ({"agent_code": "3100980999"}, "agent_code_mismatch", "/agentCode"),
    ],
)
def test_apply_with_other_head_refused(
    gw: GatewayWorld, cases: list[Case], change: dict[str, Any], code: str, pointer: str
) -> None:
    case = cases[2]
    app = _signed(gw, case, _record(case.assessment, [1], **change))
    problem = _refused_then_not_on_ledger(gw, app)
    assert [(e["code"], e["pointer"]) for e in problem["errors"]] == [(code, pointer)]
    assert problem["errors"][0]["detail"]


def _line(a: TaxAssessment, gnum: int, **change: Any) -> ReturnLine:
    line = next(x for x in a.lines if x.gnum == gnum)
    fields: dict[str, Any] = {"gnum": gnum, "qty": line.qty, "gcode": line.gcode}
    return ReturnLine.model_validate(fields | {"gname": line.gname} | change)


@pytest.mark.parametrize(
    ("change", "code", "field", "answer"),
    [
        ({"gcode": "9999999999"}, "gcode_mismatch", "gcode", (422, "declaration_mismatch")),
        ({"gname": "不是这个商品"}, "gname_mismatch", "gname", (422, "declaration_mismatch")),
        # too many pieces: the centre's own counts refuse it before the origin is asked
        ({"qty": 99}, "qty_exceeds_remaining", "qty", (409, "pieces_exceed_declared")),
    ],
)
def test_apply_with_other_goods_or_pieces_refused(
    gw: GatewayWorld,
    cases: list[Case],
    change: dict[str, Any],
    code: str,
    field: str,
    answer: tuple[int, str],
) -> None:
    case = cases[3]
    a = case.assessment
    lines = [_line(a, 1), _line(a, 2, **change)]
    app = _signed(gw, case, _record(a, [1, 2], lines=lines))
    problem = _refused_then_not_on_ledger(gw, app, *answer)
    assert [(e["code"], e["pointer"]) for e in problem["errors"]] == [(code, f"/lines/1/{field}")]


def test_apply_nine_of_two_pieces_refused(gw: GatewayWorld, cases: list[Case]) -> None:
    case = cases[3]
    a = case.assessment
    declared = next(x.qty for x in a.lines if x.gnum == 1)
    app = _signed(gw, case, _record(a, [1], lines=[_line(a, 1, qty=declared + 7)]))
    # the centre's own piece counts refuse it before the origin is asked (nothing disclosed)
    problem = _refused_then_not_on_ledger(gw, app, 409, "pieces_exceed_declared")
    (error,) = problem["errors"]
    assert (error["code"], error["pointer"]) == ("qty_exceeds_remaining", "/lines/0/qty")
    assert f"{declared + 7} pieces asked" in error["detail"]


def test_apply_undeclared_line_refused(gw: GatewayWorld, cases: list[Case]) -> None:
    case = cases[3]
    a = case.assessment
    app = _signed(gw, case, _record(a, [1], lines=[_line(a, 1), ReturnLine(gnum=4, qty=1)]))
    with _nothing_relayed(gw):
        r = gw.apply(app)
    # Beyond the case's line count: refused by the header check before the declaration's.
    assert_problem(r, 422, "lines_mismatch")


def test_bound_application_goes_through_and_declaration_is_cached(
    gw: GatewayWorld, cases: list[Case]
) -> None:
    case = cases[4]
    origin = gw.consortium.gateways[NINGBO].connections.get()

    def disclosed() -> list[str]:
        """The declarations disclosed to the centre (its inspection expectations, fetched
        once a return is on the ledger, are disclosed without the order number)."""
        rows = origin.execute(
            "SELECT fields FROM disclosure_log WHERE case_id = ? AND requester = ?",
            (case.case_id, gw.member_hex(CENTRE)),
        ).fetchall()
        return [str(r[0]) for r in rows if '"/orderNo"' in r[0]]

    first = _signed(gw, case, _record(case.assessment, [1]))
    r = gw.apply(first)
    assert r.status_code == 202, r.text
    (fields,) = disclosed()
    assert "/orderNo" in fields and "/lines/0/gcode" in fields
    assert "/buyer" not in fields and "price" not in fields.lower() and "Tax" not in fields
    gw.drain()
    assert gw.state(first.return_id) == "applied"

    second = _signed(gw, case, _record(case.assessment, [2]))
    r = gw.apply(second)
    assert r.status_code == 202, r.text
    assert len(disclosed()) == 1  # the centre's cache answered
    gw.drain()
    assert gw.state(second.return_id) == "applied"

    centre = gw.consortium.gateways[CENTRE]
    left = binding.pieces_left(
        centre.context,
        centre.connections.get(),
        case.case_id,
        Declaration.of_assessment(case.assessment),
    )
    assert left == {line.gnum: 0 for line in case.assessment.lines if line.gnum in (1, 2)} | {
        line.gnum: line.qty for line in case.assessment.lines if line.gnum not in (1, 2)
    }


@contextmanager
def _origin_down(gw: GatewayWorld) -> Iterator[None]:
    transport = gw.consortium.transport
    ningbo = gw.consortium.gateways[NINGBO]
    (url,) = [u for u, h in transport.handlers.items() if h == ningbo.answer_peer]
    handler = transport.handlers.pop(url)
    try:
        yield
    finally:
        transport.handlers[url] = handler


def test_origin_unreachable_is_503_with_retry_after_then_accepted(
    gw: GatewayWorld, cases: list[Case]
) -> None:
    case = cases[5]
    app = _signed(gw, case, _record(case.assessment, [1, 2]))
    with _origin_down(gw), gw.unchanged():
        r = gw.apply(app)
    problem = assert_problem(r, 503, "origin_unavailable")
    assert int(r.headers["Retry-After"]) > 0 and problem["retryAfter"] > 0
    _not_on_ledger(gw, app)

    r = gw.apply(app)  # the origin is back: the same signed application goes through
    assert r.status_code == 202, r.text
    gw.drain()
    assert gw.state(app.return_id) == "applied"


# ---------------------------------------------------------------------- the origin's side


def _ask(gw: GatewayWorld, asker: str, app: Application) -> Any:
    peer = gw.consortium.gateways[asker].peer
    assert peer is not None
    application = {k: app.body[k] for k in ("header", "terms", "signature")}
    origin = gw.consortium.gateways[NINGBO].context.member
    return peer.fetch_declaration(origin, app.case.case_id, application)


def test_origin_discloses_only_binding_fields_to_the_named_centre(
    gw: GatewayWorld, cases: list[Case]
) -> None:
    app = _signed(gw, cases[0], _record(cases[0].assessment, [1]))
    (doc,) = _ask(gw, CENTRE, app).documents
    assert "0x" + doc.digest.hex() == app.body["header"]["recordDigest"]
    assert doc.compute_digest() == doc.digest
    paths = set(doc.paths())
    assert {"/invtNo", "/orderNo", "/ebpCode", "/agentCode", "/lines/0/gname"} <= paths
    assert all(binding.is_binding_path(p) for p in paths)
    assert Declaration.of_json(doc.nested()) == Declaration.of_assessment(cases[0].assessment)


def test_origin_refuses_a_centre_the_application_does_not_name(
    gw: GatewayWorld, cases: list[Case]
) -> None:
    app = _signed(gw, cases[0], _record(cases[0].assessment, [1]))
    with pytest.raises(PeerUnavailable) as refused:
        _ask(gw, "4600", app)  # Zhengzhou holds a valid application naming Hangzhou
    assert refused.value.extra["peerCode"] == "not_involved"


def test_origin_refuses_an_expired_or_foreign_signed_application(
    gw: GatewayWorld, cases: list[Case]
) -> None:
    case = cases[0]
    expired = gw.application(case, (1,), deadline=gw.now() - 1)
    with pytest.raises(PeerUnavailable) as refused:
        _ask(gw, CENTRE, expired)
    assert refused.value.extra["peerCode"] == "not_involved"
    forged = gw.application(case, (1,), signer_key=secrets.token_bytes(32))
    with pytest.raises(PeerUnavailable) as refused:
        _ask(gw, CENTRE, forged)
    assert refused.value.extra["peerCode"] == "not_involved"
    assert "platform" in str(refused.value)


def test_return_line_goods_are_checked_by_the_schema() -> None:
    from clients.records import DocType, RecordValidationError, parse_record

    a = sample_return_application(tax_assessment_for_schema())
    record = a.model_dump(mode="json", by_alias=True)
    record["lines"][0]["gcode"] = "33049900"  # 8 digits: not an HS code of 10
    with pytest.raises(RecordValidationError) as refused:
        parse_record(DocType.RETURN_APPLICATION, record)
    assert ("/lines/0/gcode", "gcode") in refused.value.rules


def tax_assessment_for_schema() -> TaxAssessment:
    from clients.records.samples import sample_tax_assessment

    return sample_tax_assessment(7, NINGBO, lines=2)


def test_the_origin_is_asked_outside_the_write_lock(
    gw: GatewayWorld, cases: list[Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The peer call may take its whole timeout: while it runs, the centre's other writes go on
    (no write transaction of this request is open)."""
    case = cases[1]
    database = gw.consortium.centre.settings.database
    seen: list[str] = []
    ask = binding._fetch

    def probing(ctx: Any, body: Any) -> Any:
        other = sqlite3.connect(database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError:
            seen.append("locked")
        finally:
            other.close()
        return ask(ctx, body)

    monkeypatch.setattr(binding, "_fetch", probing)
    r = gw.apply(_signed(gw, case, _record(case.assessment, [1])))
    assert r.status_code == 202, r.text
    assert seen == ["free"]  # asked once, with the write lock free
