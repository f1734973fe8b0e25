"""The return centre's expectations at inspection (see services/expectations.py)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from node_gateway.store.db import transaction, utc_now


def put(
    conn: sqlite3.Connection,
    return_id: str,
    case_id: str,
    lines: list[dict[str, Any]],
    problems: list[str],
    digest: str,
) -> None:
    """Record what to expect for a return (once)."""
    with transaction(conn):
        conn.execute(
            "INSERT OR IGNORE INTO expected_goods (return_id, case_id, lines, problems, digest,"
            " fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                return_id,
                case_id,
                json.dumps(lines, ensure_ascii=False),
                json.dumps(problems),
                digest,
                utc_now(),
            ),
        )


def get(conn: sqlite3.Connection, return_id: str) -> dict[str, Any] | None:
    """What to expect for a return, if fetched."""
    r = conn.execute("SELECT * FROM expected_goods WHERE return_id = ?", (return_id,)).fetchone()
    if r is None:
        return None
    return {
        "caseId": r["case_id"],
        "lines": json.loads(r["lines"]),
        "problems": json.loads(r["problems"]),
        "declarationDigest": r["digest"],
        "fetchedAt": r["fetched_at"],
    }
