"""Automatic recognition at the origin (DESIGN §3, the pilot's "closed loop").

The engine follows InspectionRecorded events (from the index) of returns whose origin is this
area. For each, it asks the return centre (peer API) for the inspection report and the return
application, as the policy discloses them to an origin, and checks:

- each document is intact and is the very document whose digest the ledger holds;
- the report covers exactly the applied lines, and its accepted lines are the ledger's;
- every line exists in this area's tax assessment and no more pieces are returned than were
  declared;
- windows: a late arrival has every line rejected (the contract enforces it; checked again).

The platform's signature over the application was checked on chain by ReturnLedger when it was
recorded (ReturnApplied names the signer). All good: a recognition decision (mode automatic)
and the settlement of the accepted lines — not levied, or refunded where the case's tax
payment is on the ledger — go into the outbox. Anything off: a dispute whose reason (committed,
kept off the ledger) says what, for the officers' queue (`GET /v1/returns?state=disputed`).
A setting per area (`recognition = "automatic" | "officer"`) chooses.

Each inspected return is worked on its own (services/follow.py): a return whose documents the
centre cannot give — unreachable, refusing, a 404 for an application it never held — retries
with backoff without holding back any other, and after `recognition_max_attempts` becomes a
dispute whose reason names the last error.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from typing import Any, Literal

from clients.commitments.document import DisclosedDocument
from clients.records import (
    DocType,
    RecognitionDecision,
    TaxAssessment,
    canonical,
    parse_record,
    settlement_for,
)
from clients.records.lines import lines_of, mask_and_pieces
from node_gateway.errors import NotAnchored, RefundExceedsPayment
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services import binding, follow, returns, suspension
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext, PeerRequester
from node_gateway.services.tax_payments import payment_proof
from node_gateway.services.tax_records import assessment
from node_gateway.store import index, outbox, transaction

log = logging.getLogger(__name__)

FOLLOWER = "recognition"
ENGINE = "recognition-engine"
MAX_REASON = 500


def _lines_of(doc: DisclosedDocument, field: str) -> dict[int, Any]:
    """{line index: value of /lines/<i>/<field>} among the revealed fields."""
    found: dict[int, Any] = {}
    for path, value in doc.values().items():
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "lines" and parts[3] == field and parts[2].isdigit():
            found[int(parts[2])] = value
    return found


def _event(conn: sqlite3.Connection, return_id: str, name: str) -> dict[str, Any] | None:
    for ev in index.events_of(conn, return_id=return_id):
        if ev["event"] == name:
            args: dict[str, Any] = ev["args"]
            return args
    return None


def check_return(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    peer: PeerRequester,
    return_id: str,
    state: dict[str, Any],
    inspected: dict[str, Any],
) -> list[str]:
    """Everything that keeps this area from recognising the result (empty: recognise)."""
    centre = ctx.ledger.customs_member(int(state["centreCode"]))
    tax = TaxAssessment.model_validate(assessment(ctx, conn, state["caseId"])["record"])
    report_digest = str(inspected["reportDigest"]).lower()
    report = _disclosed(peer, centre, return_id, DocType.INSPECTION_REPORT, report_digest)
    problems = _report_problems(report, state, inspected, tax)
    applied_event = _event(conn, return_id, "ReturnApplied") or {}
    application_digest = str(applied_event.get("applicationDigest", "")).lower()
    application = _disclosed(
        peer, centre, return_id, DocType.RETURN_APPLICATION, application_digest
    )
    problems += _application_problems(application, applied_event)
    # Bound to its case: list, order, platform, agent, goods, pieces (services/binding.py).
    problems += binding.recheck(application, tax)
    return problems


def _disclosed(
    peer: PeerRequester, centre: bytes, return_id: str, doc_type: DocType, digest: str
) -> DisclosedDocument | None:
    """The document of `doc_type` with `digest` the return centre discloses, if any."""
    documents = peer.fetch(centre, return_id, doc_type.value).documents
    return next((d for d in documents if "0x" + d.digest.hex() == digest), None)


def _report_problems(
    report: DisclosedDocument | None,
    state: dict[str, Any],
    inspected: dict[str, Any],
    tax: TaxAssessment,
) -> list[str]:
    """Where the disclosed inspection report departs from the ledger's InspectionRecorded
    event (`inspected`), the return's applied lines or the declaration."""
    if report is None:
        return ["the return centre disclosed no inspection report with the ledger's digest"]
    if report.compute_digest() != report.digest:
        return ["the inspection report's fields do not hash to its digest"]
    problems: list[str] = []
    declared = {line.gnum: line.qty for line in tax.lines}
    applied = lines_of(int(state["lineMask"]))
    gnums, results = _lines_of(report, "gnum"), _lines_of(report, "result")
    if sorted(gnums.values()) != applied:
        problems.append(f"the report covers lines {sorted(gnums.values())}, not {applied}")
    accepted = [gnums[i] for i, r in results.items() if r == "accepted" and i in gnums]
    # compared as line sets: a line a peer disclosed outside 1..128 is a mismatch, not an error
    if sorted(set(accepted)) != lines_of(int(inspected["acceptedMask"])):
        problems.append("the report's accepted lines differ from those on the ledger")
    on_ledger = _accepted_on_ledger(inspected)
    for i, qty in _lines_of(report, "acceptedQty").items():
        if i in gnums and qty is not None and on_ledger.get(gnums[i]) != int(qty):
            problems.append(
                f"line {gnums[i]}: the report accepts {qty} pieces, the ledger "
                f"{on_ledger.get(gnums[i], 0)}"
            )
    unknown = sorted(set(gnums.values()) - set(declared))
    if unknown:
        problems.append(f"lines {unknown} are not in the declaration")
    if state["late"] and accepted:
        problems.append("the goods arrived after the arrival window but lines were accepted")
    return problems


def _application_problems(
    application: DisclosedDocument | None, applied_event: dict[str, Any]
) -> list[str]:
    """Where the disclosed return application departs from the ledger's ReturnApplied event:
    its digest and the pieces of each line (the rest is binding.recheck's)."""
    if application is None:
        return ["the return centre disclosed no application with the ledger's digest"]
    if application.compute_digest() != application.digest:
        return ["the return application's fields do not hash to its digest"]
    problems: list[str] = []
    gnums, qtys = _lines_of(application, "gnum"), _lines_of(application, "qty")
    signed = dict(
        zip(
            lines_of(int(applied_event.get("lineMask", 0))),
            (int(n) for n in applied_event.get("pieces", [])),
            strict=False,
        )
    )
    for i, gnum in gnums.items():  # lines, goods and pieces against the declaration:
        if int(qtys.get(i, 0)) != signed.get(gnum):  # binding.recheck in check_return
            problems.append(
                f"line {gnum}: the application returns {qtys.get(i)} pieces, the ledger "
                f"records {signed.get(gnum, 0)}"
            )
    return problems


def _accepted_on_ledger(inspected: dict[str, Any]) -> dict[int, int]:
    """{gnum: pieces accepted} of an InspectionRecorded event."""
    lines = lines_of(int(inspected["acceptedMask"]))
    return dict(zip(lines, (int(n) for n in inspected.get("acceptedPieces", [])), strict=False))


def decide(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    peer: PeerRequester,
    return_id: str,
    state: dict[str, Any],
    inspected: dict[str, Any],
) -> str:
    """Check one inspected return and queue recognition + settlement, or a dispute."""
    # issue 19 hook: a suspended centre's results go to an officer (services/suspension.py)
    problems = suspension.held_for_officer(ctx, state) or check_return(
        ctx, conn, peer, return_id, state, inspected
    )
    return queue_decision(ctx, conn, return_id, state, inspected, problems)


def queue_decision(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    return_id: str,
    state: dict[str, Any],
    inspected: dict[str, Any],
    problems: list[str],
) -> str:
    """Queue the automatic decision: recognition and settlement when `problems` is empty,
    else a dispute whose reason lists them. Returns the step queued."""
    when = datetime.fromtimestamp(ctx.ledger.now(), UTC)
    engine = Principal(ctx.label, "system", ENGINE)
    decision = RecognitionDecision(
        return_id=return_id,
        origin_code=ctx.code,
        decided_time=when,
        decision="disputed" if problems else "recognized",
        mode="automatic",
        officer=None,
        reason="; ".join(problems)[:MAX_REASON],
    )
    kind = OutboxKind.DISPUTE if problems else OutboxKind.RECOGNITION
    with transaction(conn):
        returns.queue_step(
            ctx, conn, engine, state["caseId"], return_id, canonical(decision), kind, {}
        )
        accepted = _accepted_on_ledger(inspected)
        if not problems and accepted:
            _settle(ctx, conn, engine, return_id, state, accepted, when)
    return kind


def _settle(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    engine: Principal,
    return_id: str,
    state: dict[str, Any],
    accepted: dict[int, int],
    when: datetime,
) -> None:
    try:
        paid = payment_proof(conn, state["caseId"])
    except NotAnchored:
        log.info("return %s: payment not anchored yet; settlement left to an officer", return_id)
        return
    tax = parse_record(DocType.TAX_ASSESSMENT, assessment(ctx, conn, state["caseId"])["record"])
    assert isinstance(tax, TaxAssessment)
    kind: Literal["refunded", "not_levied"] = "refunded" if paid else "not_levied"
    before = returns.settled_before(conn, state["caseId"])
    record = settlement_for(tax, return_id, accepted, kind, when, before)
    if paid:
        try:
            returns.check_refund(ctx, conn, state["caseId"], record.total)
        except RefundExceedsPayment as exc:
            log.warning("return %s: %s; settlement left to an officer", return_id, exc.detail)
            return
    mask, pieces = mask_and_pieces(accepted)
    fields: dict[str, Any] = {"lineMask": mask, "pieces": list(pieces), "quotaAdjusted": True}
    if paid:
        fields["payment"] = paid
    returns.queue_step(
        ctx,
        conn,
        engine,
        state["caseId"],
        return_id,
        canonical(record),
        OutboxKind.SETTLE_REFUNDED if paid else OutboxKind.SETTLE_NOT_LEVIED,
        fields,
    )


def _pending(ctx: AreaContext, conn: sqlite3.Connection, return_id: str) -> bool:
    """Whether an inspected return of this origin still waits for the automatic decision."""
    state = index.return_state(conn, return_id)
    if state is None or f"{state['originCode']:04d}" != ctx.code:
        return False
    # Decided already (by an officer or an earlier pass), or its decision is on its way.
    return state["state"] == "inspected" and not outbox.open_for_subject(conn, return_id)


def _attempt(
    ctx: AreaContext, conn: sqlite3.Connection, peer: PeerRequester, return_id: str
) -> str:
    """Fetch, check and decide one inspected return (raises when it cannot be decided now)."""
    state = index.return_state(conn, return_id)
    inspected = _event(conn, return_id, "InspectionRecorded")
    if state is None or inspected is None:
        raise LookupError(f"return {return_id} is not inspected in this area's index")
    return decide(ctx, conn, peer, return_id, state, inspected)


def _give_up(
    ctx: AreaContext, conn: sqlite3.Connection, return_id: str, attempts: int, error: str
) -> None:
    """After the last attempt: a dispute for an officer, the reason saying what failed."""
    state = index.return_state(conn, return_id)
    inspected = _event(conn, return_id, "InspectionRecorded")
    if state is None or inspected is None:
        raise LookupError(f"return {return_id} is not inspected in this area's index")
    problem = (
        f"automatic recognition gave up after {attempts} attempts to fetch and check the "
        f"return centre's documents; last error: {error}"
    )
    queue_decision(ctx, conn, return_id, state, inspected, [problem])


def run_once(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    peer: PeerRequester | None,
    now: float | None = None,
) -> int:
    """Decide every newly inspected return of this origin, and retry those whose earlier
    attempts failed and are due (`now`: Unix seconds, default the clock); returns the returns
    decided or given up. One return that cannot be fetched never holds back another
    (services/follow.py)."""
    if ctx.settings.recognition != "automatic" or peer is None:
        return 0
    work = (_pending, _attempt, _give_up)
    return follow.follow_area(ctx, conn, peer, (FOLLOWER, "InspectionRecorded"), work, now)
