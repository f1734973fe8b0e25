"""The projections: what each contract event changes in the index's views (cases, returns,
anchored roots, our batches). The decisions are here; node_gateway.store.index holds the SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from clients.records.lines import lines_of, mask_of
from node_gateway.store import index

# The return's state after each of these events (LinesSettled decides by what is left).
STATE_OF_EVENT = {
    "ArrivalRecorded": "arrived",
    "InspectionRecorded": "inspected",
    "ReturnRecognized": "recognized",
    "ReturnDisputed": "disputed",
}


def apply_events(
    conn: sqlite3.Connection, events: list[dict[str, Any]], to_block: int, area_code: int
) -> None:
    """Index `events` (decoded, enriched by the indexer) up to and including `to_block`, for
    the gateway of the customs area `area_code` (whose own batches its RootAnchored mark)."""

    def project(c: sqlite3.Connection, name: str, a: dict[str, Any], ev: dict[str, Any]) -> None:
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(c, _Event(name, a, ev, area_code))

    index.apply_events(conn, events, to_block, project)


class _Event:
    """One event as the projections read it: its name, args, block, block time, area."""

    def __init__(self, name: str, args: dict[str, Any], ev: dict[str, Any], area_code: int) -> None:
        self.name, self.args, self.ev, self.area_code = name, args, ev, area_code
        self.block = int(ev["block"])
        self.when = int(ev.get("blockTime") or 0)


def _pieces_by_line(mask: int, pieces: list[Any]) -> dict[int, int]:
    """{gnum: pieces} of a mask and its piece array (ascending line number)."""
    return dict(zip(lines_of(mask), (int(n) for n in pieces), strict=True))


def _case_opened(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    declared = [int(n) for n in a["pieces"]]
    origin = e.ev.get("originCode", 0)
    index.insert_case(
        conn,
        a["caseId"],
        origin,
        a["platform"],
        a["releaseTime"],
        a["lineCount"],
        declared,
        e.block,
    )


def _return_applied(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    origin, platform = index.case_parties(conn, a["caseId"]) or (0, "")
    codes = (origin, e.ev.get("centreCode", 0))
    mask = int(a["lineMask"])
    pieces = _pieces_by_line(mask, a["pieces"])
    index.insert_return(
        conn, a["returnId"], a["caseId"], codes, platform, mask, pieces, e.when, e.block
    )


def _return_moved(conn: sqlite3.Connection, e: _Event) -> None:
    """Arrival, inspection, recognition, dispute: the return's state, with what they add."""
    a = e.args
    late = bool(a["late"]) if e.name == "ArrivalRecorded" else None
    accepted = None
    if e.name == "InspectionRecorded":
        mask = int(a["acceptedMask"])
        accepted = (mask, _pieces_by_line(mask, a["acceptedPieces"]))
    state = STATE_OF_EVENT[e.name]
    index.update_return(conn, a["returnId"], state, e.when, e.block, late=late, accepted=accepted)


def _lines_settled(conn: sqlite3.Connection, e: _Event) -> None:
    """A line is settled once its settled pieces reach its accepted ones; the return is
    settled once every accepted line is."""
    a = e.args
    known = index.settlement(conn, a["returnId"])
    if known is None:
        return
    accepted: dict[int, int] = known["acceptedPieces"]
    settled: dict[int, int] = known["settledPieces"]
    mask: int = known["settledMask"]
    for gnum, n in _pieces_by_line(int(a["lineMask"]), a["pieces"]).items():
        settled[gnum] = settled.get(gnum, 0) + n
        if settled[gnum] >= accepted.get(gnum, 0):
            mask |= mask_of([gnum])
    state = "settled" if mask == known["acceptedMask"] else "recognized"
    index.update_return(conn, a["returnId"], state, e.when, e.block, settled=(mask, settled))


def _root_anchored(conn: sqlite3.Connection, e: _Event) -> None:
    a = e.args
    root, anchored_by = str(a["root"]).lower(), int(a["areaCode"])
    index.insert_anchored_root(
        conn, anchored_by, root, int(a["kind"]), int(a["leafCount"]), e.block, e.ev["txHash"]
    )
    # Roots are per area: the same bytes anchored by another area do not anchor our batch.
    if anchored_by == e.area_code:
        index.mark_batch_anchored(conn, root)


_HANDLERS: dict[str, Callable[[sqlite3.Connection, _Event], None]] = {
    "CaseOpened": _case_opened,
    "ReturnApplied": _return_applied,
    **dict.fromkeys(STATE_OF_EVENT, _return_moved),
    "LinesSettled": _lines_settled,
    "RootAnchored": _root_anchored,
}
