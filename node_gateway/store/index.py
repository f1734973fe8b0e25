"""The ledger index: contract events copied into the store from a checkpoint, and the
projections views and lists are served from (returns_view, cases_view, batch status).

`apply_events` writes one block range in one transaction together with the new checkpoint, so
the index is always the ledger up to some block, never a part of a block.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from clients.audit import jsonable
from clients.records.lines import lines_of
from node_gateway import failpoints
from node_gateway.store.db import transaction

INDEXER = "indexer"


def checkpoint(conn: sqlite3.Connection, name: str = INDEXER) -> int:
    """The last block fully indexed (-1 when nothing is)."""
    r = conn.execute("SELECT block_number FROM index_checkpoint WHERE name = ?", (name,)).fetchone()
    return -1 if r is None else int(r[0])


def set_checkpoint(conn: sqlite3.Connection, name: str, block: int) -> None:
    """Record that follower `name` has processed everything up to `block`."""
    with transaction(conn):
        _write_checkpoint(conn, name, max(block, 0))


def _write_checkpoint(conn: sqlite3.Connection, name: str, block: int) -> None:
    conn.execute(
        "INSERT INTO index_checkpoint (name, block_number) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET block_number = excluded.block_number",
        (name, block),
    )


def events_after(
    conn: sqlite3.Connection, event: str, after: int, upto: int
) -> list[dict[str, Any]]:
    """Indexed `event`s in blocks after..upto (inclusive), in ledger order:
    [{block, returnId, args}]."""
    rows = conn.execute(
        "SELECT block_number, return_id, args FROM ledger_index WHERE event = ?"
        " AND block_number > ? AND block_number <= ? ORDER BY block_number, log_index",
        (event, after, upto),
    ).fetchall()
    return [
        {"block": int(r["block_number"]), "returnId": r["return_id"], "args": json.loads(r["args"])}
        for r in rows
    ]


# Writes what one event changes in the projections: (conn, event name, its JSON-able args, the
# enriched event). The decisions live in node_gateway.pipeline.projections.
Projection = Callable[[sqlite3.Connection, str, dict[str, Any], dict[str, Any]], None]


def apply_events(
    conn: sqlite3.Connection, events: list[dict[str, Any]], to_block: int, project: Projection
) -> None:
    """Index `events` (decoded, enriched by the ledger package) up to and including `to_block`,
    each projected by `project`, in one transaction with the new checkpoint."""
    with transaction(conn):
        for ev in events:
            args = jsonable(ev["args"])
            conn.execute(
                "INSERT OR IGNORE INTO ledger_index (block_number, log_index, tx_hash, contract,"
                " event, case_id, return_id, args) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ev["block"],
                    ev["logIndex"],
                    ev["txHash"],
                    ev["contract"],
                    ev["event"],
                    args.get("caseId"),
                    args.get("returnId"),
                    json.dumps({**args, "blockTime": ev.get("blockTime")}),
                ),
            )
            project(conn, ev["event"], args, ev)
        if events:
            failpoints.reach(failpoints.INDEXING)
        _write_checkpoint(conn, INDEXER, to_block)


# ---------------------------------------------------------------------- projection writes


def insert_case(
    conn: sqlite3.Connection,
    case_id: str,
    origin_code: int,
    platform: str,
    release_time: int,
    line_count: int,
    declared: list[int],
    block: int,
) -> None:
    """A case opened on the ledger (kept as first seen)."""
    conn.execute(
        "INSERT OR IGNORE INTO cases_view (case_id, origin_code, platform, release_time,"
        " line_count, declared, opened_block) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (case_id, origin_code, platform, release_time, line_count, json.dumps(declared), block),
    )


def case_parties(conn: sqlite3.Connection, case_id: str) -> tuple[int, str] | None:
    """The origin area's code and the platform of an indexed case."""
    r = conn.execute(
        "SELECT origin_code, platform FROM cases_view WHERE case_id = ?", (case_id,)
    ).fetchone()
    return None if r is None else (int(r["origin_code"]), str(r["platform"]))


def insert_return(
    conn: sqlite3.Connection,
    return_id: str,
    case_id: str,
    codes: tuple[int, int],
    platform: str,
    line_mask: int,
    pieces: dict[int, int],
    when: int,
    block: int,
) -> None:
    """A return applied for, in state 'applied'; `codes` are its (origin, centre) areas'."""
    conn.execute(
        "INSERT OR IGNORE INTO returns_view (return_id, case_id, origin_code, centre_code,"
        " platform, state, line_mask, pieces, applied_at, updated_at, updated_block)"
        " VALUES (?, ?, ?, ?, ?, 'applied', ?, ?, ?, ?, ?)",
        (
            return_id,
            case_id,
            *codes,
            platform,
            str(line_mask),
            _dump_pieces(pieces),
            when,
            when,
            block,
        ),
    )


def update_return(
    conn: sqlite3.Connection,
    return_id: str,
    state: str,
    when: int,
    block: int,
    *,
    late: bool | None = None,
    accepted: tuple[int, dict[int, int]] | None = None,
    settled: tuple[int, dict[int, int]] | None = None,
) -> None:
    """Move a return to `state`; with `late`, and the (mask, pieces) `accepted` or `settled`."""
    columns: dict[str, Any] = {"state": state, "updated_at": when, "updated_block": block}
    if late is not None:
        columns["late"] = int(late)
    for name, lines in (("accepted", accepted), ("settled", settled)):
        if lines is not None:
            columns[f"{name}_mask"] = str(lines[0])
            columns[f"{name}_pieces"] = _dump_pieces(lines[1])
    assignments = ", ".join(f"{column} = ?" for column in columns)
    conn.execute(
        f"UPDATE returns_view SET {assignments} WHERE return_id = ?",
        [*columns.values(), return_id],
    )


def settlement(conn: sqlite3.Connection, return_id: str) -> dict[str, Any] | None:
    """A return's accepted and settled lines so far: {acceptedMask, acceptedPieces,
    settledMask, settledPieces} (masks as int, pieces as {gnum: n})."""
    r = conn.execute(
        "SELECT settled_mask, accepted_mask, accepted_pieces, settled_pieces FROM returns_view"
        " WHERE return_id = ?",
        (return_id,),
    ).fetchone()
    if r is None:
        return None
    return {
        "acceptedMask": int(r["accepted_mask"]),
        "acceptedPieces": _pieces(r["accepted_pieces"]),
        "settledMask": int(r["settled_mask"]),
        "settledPieces": _pieces(r["settled_pieces"]),
    }


def insert_anchored_root(
    conn: sqlite3.Connection,
    area_code: int,
    root: str,
    kind: int,
    leaf_count: int,
    block: int,
    tx_hash: str,
) -> None:
    """A root anchored by the customs area `area_code`."""
    conn.execute(
        "INSERT OR IGNORE INTO anchored_roots (area_code, root, kind, leaf_count,"
        " block_number, tx_hash) VALUES (?, ?, ?, ?, ?, ?)",
        (area_code, root, kind, leaf_count, block, tx_hash),
    )


def mark_batch_anchored(conn: sqlite3.Connection, root: str) -> None:
    """This gateway's sealed batch of `root` is on the ledger."""
    conn.execute(
        "UPDATE batches SET status = 'anchored' WHERE root = ? AND status = 'sealed'", (root,)
    )


def _dump_pieces(pieces: dict[int, int]) -> str:
    return json.dumps({str(g): n for g, n in sorted(pieces.items())})


def _pieces(text: str) -> dict[int, int]:
    """{gnum: pieces} from a returns_view piece column."""
    return {int(g): int(n) for g, n in json.loads(text).items()}


# ---------------------------------------------------------------------- reads


def events_of(
    conn: sqlite3.Connection, *, case_id: str | None = None, return_id: str | None = None
) -> list[dict[str, Any]]:
    """Indexed events of a case (including its returns') or of one return, in ledger order."""
    column, value = ("case_id", case_id) if case_id is not None else ("return_id", return_id)
    rows = conn.execute(
        f"SELECT * FROM ledger_index WHERE {column} = ? ORDER BY block_number, log_index",
        (value,),
    ).fetchall()
    return [_event_json(r) for r in rows]


def _event_json(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "block": r["block_number"],
        "logIndex": r["log_index"],
        "txHash": r["tx_hash"],
        "contract": r["contract"],
        "event": r["event"],
        "args": json.loads(r["args"]),
    }


def events_of_period(
    conn: sqlite3.Connection, from_ts: int, to_ts: int, origin_code: int | None = None
) -> list[dict[str, Any]]:
    """ReturnLedger events of the returns applied for in [from_ts, to_ts) (of one origin area
    when given) and the CaseOpened events of their cases, in ledger order."""
    scope = "SELECT {col} FROM returns_view WHERE applied_at >= ? AND applied_at < ?"
    params: list[Any] = [from_ts, to_ts]
    if origin_code is not None:
        scope += " AND origin_code = ?"
        params.append(origin_code)
    rows = conn.execute(
        "SELECT * FROM ledger_index WHERE contract = 'ReturnLedger' AND ("
        f" return_id IN ({scope.format(col='return_id')})"
        f" OR (event = 'CaseOpened' AND case_id IN ({scope.format(col='case_id')})))"
        " ORDER BY block_number, log_index",
        params + params,
    ).fetchall()
    return [_event_json(r) for r in rows]


def root_anchoring(conn: sqlite3.Connection, area_code: int, root: str) -> list[dict[str, Any]]:
    """The RootAnchored event of a batch root by the customs area `area_code` (empty until
    indexed; another area's anchoring of the same bytes is not listed)."""
    rows = conn.execute(
        "SELECT * FROM ledger_index WHERE event = 'RootAnchored'"
        " AND json_extract(args, '$.root') = ? AND json_extract(args, '$.areaCode') = ?",
        (root.lower(), area_code),
    ).fetchall()
    return [_event_json(r) for r in rows]


def return_row(conn: sqlite3.Connection, return_id: str) -> dict[str, Any] | None:
    """One return's projection."""
    r = conn.execute("SELECT * FROM returns_view WHERE return_id = ?", (return_id,)).fetchone()
    return None if r is None else _return_json(r)


def list_returns(
    conn: sqlite3.Connection,
    *,
    state: str | None = None,
    origin_code: int | None = None,
    centre_code: int | None = None,
    area_code: int | None = None,
    platform: str | None = None,
    since: int | None = None,
    until: int | None = None,
    after: str = "",
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Returns filtered by state, area, platform and application time, in return id order."""
    sql = "SELECT * FROM returns_view WHERE return_id > ?"
    params: list[Any] = [after]
    for column, value in (
        ("state", state),
        ("origin_code", origin_code),
        ("centre_code", centre_code),
        ("platform", platform),
    ):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    if area_code is not None:
        sql += " AND (origin_code = ? OR centre_code = ?)"
        params += [area_code, area_code]
    if since is not None:
        sql += " AND applied_at >= ?"
        params.append(since)
    if until is not None:
        sql += " AND applied_at < ?"
        params.append(until)
    sql += " ORDER BY return_id LIMIT ?"
    params.append(limit)
    return [_return_json(r) for r in conn.execute(sql, params).fetchall()]


def case_row(conn: sqlite3.Connection, case_id: str) -> dict[str, Any] | None:
    """A case opened on the ledger."""
    r = conn.execute("SELECT * FROM cases_view WHERE case_id = ?", (case_id,)).fetchone()
    if r is None:
        return None
    return {
        "caseId": r["case_id"],
        "originCode": f"{r['origin_code']:04d}",
        "platform": r["platform"],
        "releaseTime": r["release_time"],
        "lineCount": r["line_count"],
        "declared": json.loads(r["declared"]),
        "openedBlock": r["opened_block"],
    }


def returns_of_case(conn: sqlite3.Connection, case_id: str) -> list[dict[str, Any]]:
    """The returns of one case."""
    rows = conn.execute(
        "SELECT * FROM returns_view WHERE case_id = ? ORDER BY applied_at, return_id", (case_id,)
    ).fetchall()
    return [_return_json(r) for r in rows]


def state_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Returns per state (metrics)."""
    rows = conn.execute("SELECT state, count(*) AS n FROM returns_view GROUP BY state")
    return {r["state"]: int(r["n"]) for r in rows.fetchall()}


def _return_json(r: sqlite3.Row) -> dict[str, Any]:
    return {
        "returnId": r["return_id"],
        "caseId": r["case_id"],
        "originCode": f"{r['origin_code']:04d}",
        "centreCode": f"{r['centre_code']:04d}",
        "platform": r["platform"],
        "state": r["state"],
        "lines": lines_of(int(r["line_mask"])),
        "acceptedLines": lines_of(int(r["accepted_mask"])),
        "settledLines": lines_of(int(r["settled_mask"])),
        "pieces": {
            "applied": json.loads(r["pieces"]),
            "accepted": json.loads(r["accepted_pieces"]),
            "settled": json.loads(r["settled_pieces"]),
        },
        "late": bool(r["late"]),
        "appliedAt": r["applied_at"],
        "updatedAt": r["updated_at"],
        "updatedBlock": r["updated_block"],
    }


def return_state(conn: sqlite3.Connection, return_id: str) -> dict[str, Any] | None:
    """A return's indexed state with integer masks and its case's header fields."""
    r = conn.execute(
        "SELECT r.*, c.release_time, c.line_count FROM returns_view r"
        " JOIN cases_view c ON c.case_id = r.case_id WHERE r.return_id = ?",
        (return_id,),
    ).fetchone()
    if r is None:
        return None
    return {
        "caseId": r["case_id"],
        "state": r["state"],
        "lineMask": int(r["line_mask"]),
        "acceptedMask": int(r["accepted_mask"]),
        "settledMask": int(r["settled_mask"]),
        "late": bool(r["late"]),
        "appliedAt": int(r["applied_at"]),
        "centreCode": int(r["centre_code"]),
        "originCode": int(r["origin_code"]),
        "platform": r["platform"],
        "releaseTime": int(r["release_time"]),
        "lineCount": int(r["line_count"]),
        "appliedPieces": _pieces(r["pieces"]),
        "acceptedPieces": _pieces(r["accepted_pieces"]),
        "settledPieces": _pieces(r["settled_pieces"]),
    }


def case_pieces(conn: sqlite3.Connection, case_id: str) -> tuple[list[int], list[int]] | None:
    """The declared and applied pieces of lines 1..n of an indexed case (None when the index
    has no case), as ReturnLedger.casePieces."""
    case = conn.execute("SELECT declared FROM cases_view WHERE case_id = ?", (case_id,)).fetchone()
    if case is None:
        return None
    declared = [int(n) for n in json.loads(case["declared"])]
    applied = [0] * len(declared)
    for pieces in _pieces_of_returns(conn, case_id, "pieces"):
        for gnum, n in pieces.items():
            if 0 < gnum <= len(applied):
                applied[gnum - 1] += n
    return declared, applied


def case_settled_pieces(conn: sqlite3.Connection, case_id: str) -> dict[int, int]:
    """{gnum: pieces} settled over every indexed return of a case."""
    total: dict[int, int] = {}
    for pieces in _pieces_of_returns(conn, case_id, "settled_pieces"):
        for gnum, n in pieces.items():
            total[gnum] = total.get(gnum, 0) + n
    return total


def _pieces_of_returns(
    conn: sqlite3.Connection, case_id: str, column: str
) -> Iterator[dict[int, int]]:
    """A piece column ({gnum: n}) of every indexed return of a case."""
    for (text,) in conn.execute(
        f"SELECT {column} FROM returns_view WHERE case_id = ?", (case_id,)
    ).fetchall():
        yield _pieces(text)


def root_anchored(conn: sqlite3.Connection, area_code: int, root: str) -> bool:
    """Whether the index has seen `root` anchored by the customs area `area_code` (roots are
    per area: the same bytes anchored by another area do not count)."""
    row = conn.execute(
        "SELECT 1 FROM anchored_roots WHERE area_code = ? AND root = ?",
        (area_code, root.lower()),
    ).fetchone()
    return row is not None


def return_known(conn: sqlite3.Connection, return_id: str) -> bool:
    """Whether the index has the return."""
    row = conn.execute("SELECT 1 FROM returns_view WHERE return_id = ?", (return_id,)).fetchone()
    return row is not None
