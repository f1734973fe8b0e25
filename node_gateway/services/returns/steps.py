"""The return centre's arrival and inspection, and the origin's recognition or dispute."""

from __future__ import annotations

import sqlite3
from typing import Any

from clients.bindings import ReturnState
from clients.records import DocType
from clients.records.lines import lines_of, mask_and_pieces
from node_gateway.errors import CaseMismatch, LinesMismatch, WindowClosed
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext
from node_gateway.services.returns.write import step_record, write


def arrival(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    return_id: str,
    record: dict[str, Any],
) -> dict[str, Any]:
    """The return centre records the parcel's arrival."""
    r, doc = step_record(
        ctx, conn, return_id, {ReturnState.APPLIED}, "centre", DocType.ARRIVAL, record
    )
    return write(ctx, conn, principal, r, doc, OutboxKind.ARRIVAL, {})


def inspection(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    return_id: str,
    record: dict[str, Any],
) -> dict[str, Any]:
    """The return centre records the inspection result of every applied line."""
    r, doc = step_record(
        ctx, conn, return_id, {ReturnState.ARRIVED}, "centre", DocType.INSPECTION_REPORT, record
    )
    inspected = sorted(line["gnum"] for line in doc["lines"])
    if inspected != lines_of(r.line_mask):
        raise LinesMismatch(
            f"the report covers lines {inspected}; the return applied for {lines_of(r.line_mask)}"
        )
    accepted = accepted_pieces(doc, r.applied_pieces)
    for gnum, n in accepted.items():
        if n > r.applied_pieces.get(gnum, 0):
            raise LinesMismatch(
                f"line {gnum}: {n} pieces accepted, {r.applied_pieces.get(gnum, 0)} applied for",
                gnum=gnum,
            )
    if r.late and accepted:
        raise WindowClosed("the goods arrived after the arrival window: every line is rejected")
    mask, pieces = mask_and_pieces(accepted)
    return write(
        ctx,
        conn,
        principal,
        r,
        doc,
        OutboxKind.INSPECTION,
        {"acceptedMask": mask, "acceptedPieces": list(pieces)},
    )


def accepted_pieces(report: dict[str, Any], applied: dict[int, int]) -> dict[int, int]:
    """{gnum: pieces accepted} of an inspection report (canonical): an accepted line's
    `acceptedQty`, or every piece applied for when the report does not say."""
    return {
        int(line["gnum"]): int(line.get("acceptedQty") or applied.get(int(line["gnum"]), 0))
        for line in report["lines"]
        if line["result"] == "accepted"
    }


def decide(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    return_id: str,
    record: dict[str, Any],
    decision: str,
) -> dict[str, Any]:
    """The origin recognises (or disputes) the return centre's inspection result."""
    states = {ReturnState.INSPECTED, ReturnState.DISPUTED}
    if decision == "disputed":
        states = {ReturnState.INSPECTED}
    r, doc = step_record(ctx, conn, return_id, states, "origin", DocType.RECOGNITION, record)
    if doc["decision"] != decision:
        raise CaseMismatch(f"the record's decision is {doc['decision']!r}, this route {decision!r}")
    kind = OutboxKind.RECOGNITION if decision == "recognized" else OutboxKind.DISPUTE
    return write(ctx, conn, principal, r, doc, kind, {})
