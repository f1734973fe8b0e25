"""Automatic recognition (origin) and expected goods (return centre) never stall: each return
is worked on its own with persisted retry state and backoff. A return its peer cannot disclose
neither holds back the returns after it nor is retried faster than its backoff, and after
`recognition_max_attempts` it becomes a dispute (origin) or an expectations problem (centre)
with the reason; a peer that is unreachable for a while and then back resolves everything."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clients.applications import application_body
from clients.records import TaxAssessment, canonical
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_return_application,
    sample_tax_assessment,
)
from node_gateway.api.schemas import ReturnApplicationIn
from node_gateway.peer.client import PATH
from node_gateway.run.local_consortium import PLATFORM, Consortium
from node_gateway.services import expectations, recognition, returns, tax_records
from node_gateway.services.auth import Principal
from node_gateway.services.follow import Backoff
from node_gateway.store import Vault, expected, index, retries

PLATFORM_KEY = Principal(PLATFORM, "platform", "t")
CENTRE_OFFICER = Principal("customs-2900", "officer", "t")
LISTS = 10


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    c = Consortium.open(
        tmp_path_factory.mktemp("recognition-retry"),
        genesis_timestamp=int(time.time()) - 3 * 86_400,
        recognition={"3100": "automatic", "4600": "officer"},
    )
    released = datetime.fromtimestamp(c.centre.ledger.now() - 86_400, UTC)
    first = sample_tax_assessment(40, "3100", lines=2)
    lists = [
        sample_tax_assessment(n, "3100", lines=2).model_copy(
            update={"release_time": released, "agent_code": first.agent_code}
        )
        for n in range(40, 40 + LISTS)
    ]
    ningbo = c.gateways["3100"]
    tax_records.ingest(
        ningbo.context,
        ningbo.connections.get(),
        [{"platform": PLATFORM, "record": canonical(a)} for a in lists],
    )
    c.drain()
    yield {"c": c, "lists": iter(lists)}
    c.stop()


def _url(c: Consortium, code: str) -> str:
    return f"http://127.0.0.1:{c.gateways[code].settings.port}"


def _apply(c: Consortium, a: TaxAssessment) -> tuple[str, Any]:
    origin, centre = c.gateways["3100"], c.centre
    now = centre.ledger.now()
    app = sample_return_application(a).model_copy(
        update={"applied_time": datetime.fromtimestamp(now, UTC)}
    )
    case_id = tax_records.case_id_of(origin.context, a.invt_no)
    case = tax_records.header_of(origin.context, origin.connections.get(), case_id)
    body = application_body(
        case, app, centre.context.member_hex, c.client_key(PLATFORM), now + 86_400
    )
    model = ReturnApplicationIn.model_validate(body).to_input()
    conn = centre.connections.get()
    rid = str(returns.apply(centre.context, conn, PLATFORM_KEY, model)["returnId"])
    c.drain()
    return rid, app


def _inspect(c: Consortium, rid: str, app: Any, before_decision: Callable[[], None]) -> None:
    """Arrival and inspection (all lines accepted) at the centre; `before_decision` runs once
    the inspection is queued, before the origin can see it."""
    centre = c.centre
    conn = centre.connections.get()
    when = datetime.fromtimestamp(centre.ledger.now(), UTC)
    arrival = sample_arrival_record(app, rid).model_copy(update={"arrived_time": when})
    returns.arrival(centre.context, conn, CENTRE_OFFICER, rid, canonical(arrival))
    c.drain()
    report = sample_inspection_report(rid, [1, 2], accepted=True, inspected_time=when)
    returns.inspection(centre.context, conn, CENTRE_OFFICER, rid, canonical(report))
    before_decision()
    c.drain()  # the origin's worker decides; the second round sends its decision
    c.drain()


def _through_inspection(c: Consortium, a: TaxAssessment, before: Callable[[], None]) -> str:
    rid, app = _apply(c, a)
    _inspect(c, rid, app, before)
    return rid


def _state(c: Consortium, rid: str) -> str:
    row = index.return_row(c.gateways["3100"].connections.get(), rid)
    assert row is not None
    return str(row["state"])


def _decision(c: Consortium, rid: str) -> dict[str, Any]:
    gw = c.gateways["3100"]
    conn = gw.connections.get()
    (record_id,) = [
        r[0]
        for r in conn.execute(
            "SELECT record_id FROM case_documents WHERE return_id = ? AND doc_type = ?",
            (rid, "recognition"),
        )
    ]
    record: dict[str, Any] = Vault(conn, gw.context.keyring).get(record_id)["record"]
    return record


def _nothing() -> None:
    return None


def _walk_backoff(
    c: Consortium,
    code: str,
    follower: str,
    rid: str,
    run: Callable[[float], int],
) -> list[float]:
    """Attempt the stuck return at each due time until it is given up; checks that it is not
    tried before it is due. Returns the waits between attempts."""
    conn = c.gateways[code].connections.get()
    backoff = Backoff.from_settings(c.gateways[code].context.settings)
    waits: list[float] = []
    state = retries.get(conn, follower, rid)
    assert state is not None and state["status"] == "retrying"
    while state is not None and state["status"] == "retrying":
        attempts, due = state["attempts"], state["nextAttemptAt"]
        run(due - 1)  # not due yet: not tried
        again = retries.get(conn, follower, rid)
        assert again is not None and again["attempts"] == attempts
        run(due)
        state = retries.get(conn, follower, rid)
        assert state is not None and state["attempts"] == attempts + 1
        if state["status"] == "retrying":
            waits.append(state["nextAttemptAt"] - due)
    assert state is not None and state["attempts"] == backoff.max_attempts
    return waits


def test_return_the_centre_cannot_disclose_does_not_hold_back_later_returns(
    world: dict[str, Any],
) -> None:
    c: Consortium = world["c"]
    centre = c.centre.connections.get()

    def lose_application(rid: str) -> Callable[[], None]:
        # The centre answers 404 for the application, as for one it never held (relayed by
        # someone else straight to the contract).
        def drop() -> None:
            centre.execute(
                "DELETE FROM case_documents WHERE return_id = ? AND doc_type = ?",
                (rid, "return_application"),
            )

        return drop

    stuck, app = _apply(c, next(world["lists"]))
    _inspect(c, stuck, app, lose_application(stuck))
    later = [_through_inspection(c, next(world["lists"]), _nothing) for _ in range(2)]

    assert [_state(c, rid) for rid in later] == ["settled", "settled"]
    assert _state(c, stuck) == "inspected"
    conn = c.gateways["3100"].connections.get()
    first = retries.get(conn, "recognition", stuck)
    assert first is not None
    assert (first["status"], first["attempts"]) == ("retrying", 1)
    assert "404 not_found" in first["lastError"] and "return_application" in first["lastError"]
    settings = c.gateways["3100"].context.settings
    assert first["nextAttemptAt"] - time.time() > settings.recognition_retry_base_s - 10


def test_stuck_return_backs_off_and_is_disputed_with_the_reason(world: dict[str, Any]) -> None:
    c: Consortium = world["c"]
    ningbo = c.gateways["3100"]
    conn = ningbo.connections.get()
    (stuck,) = [
        r[0] for r in conn.execute("SELECT return_id FROM follow_retries WHERE status = 'retrying'")
    ]

    def run(now: float) -> int:
        return recognition.run_once(ningbo.context, conn, ningbo.peer, now=now)

    waits = _walk_backoff(c, "3100", "recognition", stuck, run)
    backoff = Backoff.from_settings(ningbo.context.settings)
    assert waits == [backoff.delay(n) for n in range(2, backoff.max_attempts)]
    assert waits == sorted(waits) and waits[1] == 2 * waits[0]
    gave_up = retries.get(conn, "recognition", stuck)
    assert gave_up is not None and gave_up["status"] == "gave_up"
    c.drain()
    assert _state(c, stuck) == "disputed"
    decision = _decision(c, stuck)
    assert decision["decision"] == "disputed" and decision["mode"] == "automatic"
    assert f"gave up after {backoff.max_attempts} attempts" in decision["reason"]
    assert "404 not_found" in decision["reason"]
    # Given up is final: no more attempts, however late.
    run(time.time() + 10 * 86_400)
    assert retries.get(conn, "recognition", stuck) == gave_up


def test_unreachable_centre_then_reachable_resolves_every_return(world: dict[str, Any]) -> None:
    c: Consortium = world["c"]
    ningbo = c.gateways["3100"]
    handlers = c.transport.handlers
    url = _url(c, "2900")
    answer = handlers[url]
    del handlers[url]  # the origin cannot reach the centre; the centre's own steps go on
    try:
        rids = [_through_inspection(c, next(world["lists"]), _nothing) for _ in range(2)]
    finally:
        handlers[url] = answer
    conn = ningbo.connections.get()
    assert [_state(c, rid) for rid in rids] == ["inspected", "inspected"]
    states = [retries.get(conn, "recognition", rid) for rid in rids]
    assert all(s is not None and s["status"] == "retrying" for s in states)
    due = max(s["nextAttemptAt"] for s in states if s is not None)
    assert recognition.run_once(ningbo.context, conn, ningbo.peer, now=due) == 2
    c.drain()
    assert [_state(c, rid) for rid in rids] == ["settled", "settled"]
    assert all(retries.get(conn, "recognition", rid) is None for rid in rids)


# ------------------------------------------------------------------ the centre's expectations


def _refusing(answer: Any, refuse: Callable[[dict[str, Any]], bool], status: int) -> Any:
    """The origin's peer handler, refusing disclosures that `refuse` picks (declarations for
    new applications still answered, so the centre can relay)."""

    def handler(body: dict[str, Any], path: str) -> tuple[int, dict[str, Any]]:
        if path == PATH and refuse(body):
            return status, {"code": "not_found" if status == 404 else "x", "detail": "refused"}
        result: tuple[int, dict[str, Any]] = answer(body, path)
        return result

    return handler


def _case_of(c: Consortium, a: TaxAssessment) -> str:
    return tax_records.case_id_of(c.gateways["3100"].context, a.invt_no)


def test_expectations_skip_a_case_the_origin_refuses_and_give_up_with_the_problem(
    world: dict[str, Any],
) -> None:
    c: Consortium = world["c"]
    centre = c.centre
    conn = centre.connections.get()
    handlers, url = c.transport.handlers, _url(c, "3100")
    answer = handlers[url]
    a, b = next(world["lists"]), next(world["lists"])
    refused = _case_of(c, a)
    handlers[url] = _refusing(answer, lambda body: body["request"]["subject"] == refused, 404)
    try:
        stuck, _ = _apply(c, a)
        ordinary, _ = _apply(c, b)
        got = expected.get(conn, ordinary)
        assert got is not None and got["lines"] and got["problems"] == []
        assert expected.get(conn, stuck) is None
        first = retries.get(conn, "expectations", stuck)
        assert first is not None and (first["status"], first["attempts"]) == ("retrying", 1)

        def run(now: float) -> int:
            return expectations.run_once(centre.context, conn, centre.peer, now=now)

        waits = _walk_backoff(c, "2900", "expectations", stuck, run)
    finally:
        handlers[url] = answer
    backoff = Backoff.from_settings(centre.context.settings)
    assert waits == [backoff.delay(n) for n in range(2, backoff.max_attempts)]
    gave_up = expected.get(conn, stuck)
    assert gave_up is not None and gave_up["lines"] == []
    (problem,) = gave_up["problems"]
    assert f"after {backoff.max_attempts} attempts" in problem and "404" in problem
    view = TestClient(centre.app).get(
        f"/v1/returns/{stuck}",
        headers={"Authorization": f"Bearer {c.credentials['2900']['officer']}"},
    )
    assert view.status_code == 200
    body = view.json()
    assert body["expected"]["problems"] == [problem]
    assert [(r["follower"], r["status"]) for r in body["retries"]] == [("expectations", "gave_up")]


def test_expectations_resolve_once_the_origin_is_back(world: dict[str, Any]) -> None:
    c: Consortium = world["c"]
    centre = c.centre
    conn = centre.connections.get()
    handlers, url = c.transport.handlers, _url(c, "3100")
    answer = handlers[url]
    handlers[url] = _refusing(answer, lambda _body: True, 503)
    try:
        rids = [_apply(c, next(world["lists"]))[0] for _ in range(2)]
    finally:
        handlers[url] = answer
    assert all(expected.get(conn, rid) is None for rid in rids)
    states = [retries.get(conn, "expectations", rid) for rid in rids]
    assert all(s is not None and "503" in s["lastError"] for s in states)
    due = max(s["nextAttemptAt"] for s in states if s is not None)
    assert expectations.run_once(centre.context, conn, centre.peer, now=due) == 2
    for rid in rids:
        got = expected.get(conn, rid)
        assert got is not None and got["lines"] and got["problems"] == []
        assert retries.get(conn, "expectations", rid) is None
