"""The return centre's side of a new return (issue: "what to expect at inspection").

For each return applied at this centre, fetch the case's goods lines from its origin over the
peer API (the policy gives a return centre goods and public fields only: no buyer, no
prices), check the disclosure is the very declaration anchored for the case (its digest is the
CaseOpened record digest), check the application against it (every line declared, no more
pieces than declared), and keep the result for the officers' inspection view.

Each return is worked on its own (services/follow.py): an origin that cannot be reached or
refuses is retried with backoff for that return alone, and after the last attempt the return's
expectations record the problem instead of goods.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from clients.records import DocType
from node_gateway.services import follow
from node_gateway.services.context import AreaContext, PeerRequester
from node_gateway.store import Vault, expected, index, records

log = logging.getLogger(__name__)

FOLLOWER = "expectations"
NO_DIGEST = "0x" + "00" * 32  # expectations given up: no declaration was disclosed
GOODS_FIELDS = ("gnum", "itemRecordNo", "gcode", "gname", "qty", "unit")


def _lines(values: dict[str, Any]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for path, value in values.items():
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "lines" and parts[2].isdigit():
            if parts[3] in GOODS_FIELDS:
                out.setdefault(int(parts[2]), {})[parts[3]] = value
    return out


def expect(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    peer: PeerRequester,
    return_id: str,
    state: dict[str, Any],
) -> list[str]:
    """Fetch, check and keep the goods to expect for one return; returns the problems."""
    case_id = state["caseId"]
    opened = next(
        (e["args"] for e in index.events_of(conn, case_id=case_id) if e["event"] == "CaseOpened"),
        None,
    )
    origin = ctx.ledger.customs_member(int(state["originCode"]))
    docs = peer.fetch(origin, case_id, DocType.TAX_ASSESSMENT.value).documents
    problems: list[str] = []
    declaration = docs[0] if docs else None
    record_digest = str((opened or {}).get("recordDigest", "")).lower()
    if declaration is None or "0x" + declaration.digest.hex() != record_digest:
        problems.append("the origin disclosed no declaration with the case's anchored digest")
    elif declaration.compute_digest() != declaration.digest:
        problems.append("the declaration's fields do not hash to its digest")
    declared = _lines(declaration.values()) if declaration is not None else {}
    by_gnum = {int(line["gnum"]): line for line in declared.values() if "gnum" in line}
    applied: dict[int, int] = {}
    for d in records.documents(conn, return_id=return_id):
        if d["docType"] == DocType.RETURN_APPLICATION.value:
            stored = Vault(conn, ctx.keyring).get(d["recordId"])["record"]
            applied = {int(line["gnum"]): int(line["qty"]) for line in stored["lines"]}
    lines = []
    for gnum, qty in sorted(applied.items()):
        line = by_gnum.get(gnum)
        if line is None:
            problems.append(f"line {gnum} is not in the declaration")
            continue
        if qty > int(line.get("qty", 0)):
            problems.append(f"line {gnum}: {qty} pieces applied for, {line.get('qty')} declared")
        lines.append({**line, "qtyReturned": qty})
    expected.put(
        conn,
        return_id,
        case_id,
        lines,
        problems,
        "0x" + declaration.digest.hex() if declaration is not None else NO_DIGEST,
    )
    return problems


def _pending(ctx: AreaContext, conn: sqlite3.Connection, return_id: str) -> bool:
    """Whether a return applied at this centre still has no expectations."""
    state = index.return_state(conn, return_id)
    if state is None or f"{state['centreCode']:04d}" != ctx.code:
        return False
    return expected.get(conn, return_id) is None


def _attempt(
    ctx: AreaContext, conn: sqlite3.Connection, peer: PeerRequester, return_id: str
) -> list[str]:
    state = index.return_state(conn, return_id)
    if state is None:
        raise LookupError(f"return {return_id} is not in this area's index")
    return expect(ctx, conn, peer, return_id, state)


def _give_up(
    ctx: AreaContext, conn: sqlite3.Connection, return_id: str, attempts: int, error: str
) -> None:
    """After the last attempt: no goods to expect, and a problem saying why, for the officers
    who inspect the return (its view's `expected`)."""
    state = index.return_state(conn, return_id)
    if state is None:
        raise LookupError(f"return {return_id} is not in this area's index")
    problem = (
        f"the origin's declaration could not be fetched after {attempts} attempts; "
        f"last error: {error}"
    )
    expected.put(conn, return_id, state["caseId"], [], [problem], NO_DIGEST)


def run_once(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    peer: PeerRequester | None,
    now: float | None = None,
) -> int:
    """Prepare the expectations of returns newly applied at this centre, and retry those whose
    earlier attempts failed and are due (`now`: Unix seconds, default the clock); returns the
    returns finished. One return whose origin cannot be asked never holds back another."""
    if peer is None:
        return 0
    work = (_pending, _attempt, _give_up)
    return follow.follow_area(ctx, conn, peer, (FOLLOWER, "ReturnApplied"), work, now)
