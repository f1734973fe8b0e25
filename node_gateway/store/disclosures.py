"""The disclosure log (who saw which fields of which case) and the answers that delivered each
logged disclosure: the first answer logs it, an identical request within the repeat window is
answered with the same logged disclosure (services/disclosure.py)."""

from __future__ import annotations

import json
import sqlite3

from node_gateway.store.db import transaction, utc_now


def log(
    conn: sqlite3.Connection,
    case_id: str,
    requester: str,
    digest: str,
    fields: list[str],
    requester_salt: str,
    documents: list[str],
) -> int:
    """Append a disclosure to the log (with the salt of the requester's commitment on the
    ledger and the digests of the documents it covered); returns its id. Joins the caller's
    transaction."""
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO disclosure_log (case_id, requester, digest, fields, created_at,"
            " requester_salt, documents) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                requester,
                digest,
                json.dumps(fields),
                utc_now(),
                requester_salt,
                json.dumps(documents),
            ),
        )
    return int(cur.lastrowid or 0)


def requester_salt(conn: sqlite3.Connection, disclosure_id: int) -> str:
    """The salt of a logged disclosure's requester commitment (0x-hex)."""
    r = conn.execute(
        "SELECT requester_salt FROM disclosure_log WHERE id = ?", (disclosure_id,)
    ).fetchone()
    return str(r[0])


def logged_within(
    conn: sqlite3.Connection,
    requester: str,
    subject: str,
    doc_type: str,
    digest: str,
    since: int,
) -> int | None:
    """The id of the disclosure logged for the identical request (requester, subject, document
    type, digest) first answered at or after `since` (Unix seconds), if any."""
    r = conn.execute(
        "SELECT disclosure_id FROM peer_answers WHERE requester = ? AND subject = ?"
        " AND doc_type = ? AND digest = ? AND repeated = 0 AND answered_at >= ?"
        " ORDER BY answered_at DESC, id DESC LIMIT 1",
        (requester, subject, doc_type, digest, since),
    ).fetchone()
    return None if r is None else int(r[0])


def answered(
    conn: sqlite3.Connection,
    disclosure_id: int,
    requester: str,
    subject: str,
    doc_type: str,
    digest: str,
    repeated: bool,
    at: int,
) -> None:
    """Record one answer delivering logged disclosure `disclosure_id` (`repeated`: not its
    first delivery). Joins the caller's transaction."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO peer_answers (disclosure_id, requester, subject, doc_type, digest,"
            " repeated, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (disclosure_id, requester, subject, doc_type, digest, int(repeated), at),
        )
