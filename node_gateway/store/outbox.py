"""The outbox table: ledger writes waiting to be sent, in flight, or settled; each row is also
the operation a caller polls (`GET /v1/operations/{id}`)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from node_gateway.outbox_kinds import OutboxKind
from node_gateway.store.db import transaction, utc_now


@dataclass(frozen=True)
class OutboxRow:
    """One ledger write and where it stands."""

    id: int
    kind: str
    payload: dict[str, Any]
    status: str
    account: str | None
    nonce: int | None
    tx_hash: str | None
    block_number: int | None
    error: str | None
    raw_tx: bytes | None
    subject: str | None
    requested_by: str | None
    created_at: str
    updated_at: str

    def operation(self) -> dict[str, Any]:
        """The public view of this row: what a caller polling the operation sees."""
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "status": self.status,
            "txHash": self.tx_hash,
            "block": self.block_number,
            "error": self.error,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


def _row(r: sqlite3.Row) -> OutboxRow:
    return OutboxRow(
        id=int(r["id"]),
        kind=r["kind"],
        payload=json.loads(r["payload"]),
        status=r["status"],
        account=r["account"],
        nonce=r["nonce"],
        tx_hash=r["tx_hash"],
        block_number=r["block_number"],
        error=r["error"],
        raw_tx=r["raw_tx"],
        subject=r["subject"],
        requested_by=r["requested_by"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
    )


def enqueue(
    conn: sqlite3.Connection,
    kind: str,
    payload: dict[str, Any],
    subject: str | None = None,
    requested_by: str | None = None,
) -> int:
    """Add a pending write (joins the caller's transaction); returns its id."""
    now = utc_now()
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO outbox (kind, payload, status, subject, requested_by, created_at,"
            " updated_at) VALUES (?, ?, 'pending', ?, ?, ?, ?)",
            (kind, json.dumps(payload, separators=(",", ":")), subject, requested_by, now, now),
        )
    return int(cur.lastrowid or 0)


def get(conn: sqlite3.Connection, outbox_id: int) -> OutboxRow | None:
    """One row by id."""
    r = conn.execute("SELECT * FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
    return None if r is None else _row(r)


def with_status(conn: sqlite3.Connection, status: str, limit: int = 100) -> list[OutboxRow]:
    """Rows in one status, oldest first (sent rows in nonce order)."""
    order = "nonce" if status == "sent" else "id"
    rows = conn.execute(
        f"SELECT * FROM outbox WHERE status = ? ORDER BY {order} LIMIT ?", (status, limit)
    ).fetchall()
    return [_row(r) for r in rows]


# A disclosure-log entry the ledger refuses until its case is open (ReturnLedger `logDisclosure`):
# an origin discloses its declaration to a return centre before that centre opens the case. Such
# an entry stays pending, held back, until this gateway's index has seen the case opened.
_HELD = (
    f"kind = '{OutboxKind.DISCLOSE.value}' AND NOT EXISTS (SELECT 1 FROM cases_view c"
    " WHERE c.case_id = json_extract(outbox.payload, '$.caseId'))"
)


def sendable(conn: sqlite3.Connection, limit: int = 100) -> list[OutboxRow]:
    """Pending rows in queue order, without the held disclosure-log entries (see `_HELD`)."""
    rows = conn.execute(
        f"SELECT * FROM outbox WHERE status = 'pending' AND NOT ({_HELD}) ORDER BY id LIMIT ?",
        (limit,),
    ).fetchall()
    return [_row(r) for r in rows]


def held_count(conn: sqlite3.Connection) -> int:
    """Pending disclosure-log entries held back until their case opens."""
    r = conn.execute(f"SELECT count(*) FROM outbox WHERE status = 'pending' AND {_HELD}")
    return int(r.fetchone()[0])


def expire_held(conn: sqlite3.Connection, created_before: str) -> int:
    """Fail held entries queued before `created_before` (ISO time): their case can no longer
    open (its apply window has closed since), so the ledger will never take them. The local
    `disclosure_log` keeps the disclosure. Returns how many were failed."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE outbox SET status = 'failed', error = ?, updated_at = ?"
            f" WHERE status = 'pending' AND created_at < ? AND {_HELD}",
            (
                "the case never opened on the ledger: disclosure logged here only",
                utc_now(),
                created_before,
            ),
        )
    return int(cur.rowcount)


def open_for_subject(conn: sqlite3.Connection, subject: str) -> list[OutboxRow]:
    """Writes about one case or return not yet settled (pending or sent)."""
    rows = conn.execute(
        "SELECT * FROM outbox WHERE subject = ? AND status IN ('pending', 'sent') ORDER BY id",
        (subject,),
    ).fetchall()
    return [_row(r) for r in rows]


def open_payloads(
    conn: sqlite3.Connection,
    kinds: tuple[str, ...],
    *,
    application_case: str | None = None,
    subjects: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Payloads of writes of `kinds` not yet settled (pending or sent), in queue order: those of
    return applications for one case, or those about some subjects (returns)."""
    sql = f"SELECT payload FROM outbox WHERE kind IN ({','.join('?' * len(kinds))})"
    sql += " AND status IN ('pending', 'sent')"
    params: list[Any] = list(kinds)
    if application_case is not None:
        sql += " AND json_extract(payload, '$.application.caseId') = ?"
        params.append(application_case)
    if subjects is not None:
        sql += f" AND subject IN ({','.join('?' * len(subjects))})"
        params += subjects
    rows = conn.execute(sql + " ORDER BY id", params).fetchall()
    return [json.loads(r[0]) for r in rows]


def case_opening(conn: sqlite3.Connection, case_id: str) -> bool:
    """Whether a write opening case `case_id` (with its first application) is pending or sent."""
    row = conn.execute(
        "SELECT 1 FROM outbox WHERE kind = ? AND status IN ('pending', 'sent')"
        " AND json_extract(payload, '$.header.caseId') = ?",
        (OutboxKind.OPEN_AND_APPLY, case_id),
    ).fetchone()
    return row is not None


def last_nonce(conn: sqlite3.Connection, account: str) -> int | None:
    """The highest nonce this store ever gave the account's transactions."""
    r = conn.execute("SELECT max(nonce) FROM outbox WHERE account = ?", (account,)).fetchone()
    return None if r[0] is None else int(r[0])


def last_mined_nonce(conn: sqlite3.Connection, account: str) -> int | None:
    """The highest nonce of the account's transactions this store saw mined (confirmed, or
    mined and reverted)."""
    r = conn.execute(
        "SELECT max(nonce) FROM outbox WHERE account = ? AND block_number IS NOT NULL",
        (account,),
    ).fetchone()
    return None if r[0] is None else int(r[0])


def mark_sent(
    conn: sqlite3.Connection, outbox_id: int, account: str, nonce: int, tx_hash: str, raw: bytes
) -> None:
    """Record the signed transaction before it is submitted (durable first)."""
    with transaction(conn):
        conn.execute(
            "UPDATE outbox SET status = 'sent', account = ?, nonce = ?, tx_hash = ?, raw_tx = ?,"
            " updated_at = ? WHERE id = ? AND status = 'pending'",
            (account, nonce, tx_hash, raw, utc_now(), outbox_id),
        )


def mark_mined(
    conn: sqlite3.Connection, outbox_id: int, block: int, success: bool, error: str | None
) -> None:
    """A sent transaction was mined: confirmed, or failed with the decoded revert."""
    with transaction(conn):
        conn.execute(
            "UPDATE outbox SET status = ?, block_number = ?, error = ?, updated_at = ?"
            " WHERE id = ? AND status = 'sent'",
            ("confirmed" if success else "failed", block, error, utc_now(), outbox_id),
        )


def mark_failed(conn: sqlite3.Connection, outbox_id: int, error: str) -> None:
    """A write that will never reach the ledger (refused before using a nonce)."""
    with transaction(conn):
        conn.execute(
            "UPDATE outbox SET status = 'failed', error = ?, account = NULL, nonce = NULL,"
            " tx_hash = NULL, raw_tx = NULL, updated_at = ? WHERE id = ?"
            " AND status IN ('pending', 'sent')",
            (error, utc_now(), outbox_id),
        )


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per status (for metrics and readiness)."""
    rows = conn.execute("SELECT status, count(*) AS n FROM outbox GROUP BY status").fetchall()
    return {r["status"]: int(r["n"]) for r in rows}
