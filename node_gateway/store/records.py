"""Where this area's records sit: tax records with their public case headers, and the other
documents of a case (return application, arrival, inspection, decision, settlement) by return.
The raw records themselves are only in the vault."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from node_gateway.store.db import transaction, utc_now


def insert_tax_records(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Add tax records (case header fields, leaf, batch); joins the caller's transaction."""
    now = utc_now()
    with transaction(conn):
        conn.executemany(
            "INSERT INTO tax_records (case_id, record_id, platform, release_time, line_count,"
            " pieces, record_digest, leaf, batch_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r["caseId"],
                    r["recordId"],
                    r["platform"],
                    r["releaseTime"],
                    r["lineCount"],
                    json.dumps(r["pieces"]),
                    r["recordDigest"],
                    r["leaf"],
                    r["batchId"],
                    now,
                )
                for r in rows
            ],
        )


def existing_cases(conn: sqlite3.Connection, case_ids: list[str]) -> set[str]:
    """Which of `case_ids` already have a tax record here."""
    found: set[str] = set()
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT case_id FROM tax_records WHERE case_id IN ({marks})", chunk
        ).fetchall()
        found.update(r[0] for r in rows)
    return found


def _tax_record(r: sqlite3.Row | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "caseId": r["case_id"],
        "recordId": r["record_id"],
        "platform": r["platform"],
        "releaseTime": r["release_time"],
        "lineCount": r["line_count"],
        "pieces": json.loads(r["pieces"]) if r["pieces"] is not None else None,
        "recordDigest": r["record_digest"],
        "leaf": r["leaf"],
        "batchId": r["batch_id"],
        "createdAt": r["created_at"],
    }


def tax_record(conn: sqlite3.Connection, case_id: str) -> dict[str, Any] | None:
    """A tax record's public header fields and vault id."""
    r = conn.execute("SELECT * FROM tax_records WHERE case_id = ?", (case_id,)).fetchone()
    return _tax_record(r)


def tax_record_of(conn: sqlite3.Connection, record_id: str) -> dict[str, Any] | None:
    """The tax record whose vault record is `record_id` (as `tax_record`)."""
    r = conn.execute("SELECT * FROM tax_records WHERE record_id = ?", (record_id,)).fetchone()
    return _tax_record(r)


def move_tax_record(
    conn: sqlite3.Connection,
    case_id: str,
    record_id: str,
    record_digest: str,
    leaf: str,
    batch_id: str,
) -> None:
    """Point a case's tax record at a recommitted vault record, its digest and header leaf in
    batch `batch_id` (a refused batch rebuilt)."""
    conn.execute(
        "UPDATE tax_records SET record_id = ?, record_digest = ?, leaf = ?,"
        " batch_id = ? WHERE case_id = ?",
        (record_id, record_digest, leaf, batch_id, case_id),
    )


def count_tax_records(conn: sqlite3.Connection) -> int:
    """Tax records held."""
    return int(conn.execute("SELECT count(*) FROM tax_records").fetchone()[0])


def add_document(
    conn: sqlite3.Connection,
    record_id: str,
    case_id: str,
    return_id: str | None,
    doc_type: str,
    digest: str,
    outbox_id: int | None,
) -> None:
    """Note that the vault holds `record_id`, a document of this case / return."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO case_documents (record_id, case_id, return_id, doc_type, digest,"
            " outbox_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            # The same document sent again after its write failed points at the new write.
            " ON CONFLICT (record_id) DO UPDATE SET outbox_id = excluded.outbox_id",
            (record_id, case_id, return_id, doc_type, digest, outbox_id, utc_now()),
        )


def documents(
    conn: sqlite3.Connection, *, case_id: str | None = None, return_id: str | None = None
) -> list[dict[str, Any]]:
    """Documents this gateway holds for a case or a return, oldest first."""
    column, value = ("case_id", case_id) if case_id is not None else ("return_id", return_id)
    rows = conn.execute(
        f"SELECT * FROM case_documents WHERE {column} = ? ORDER BY created_at", (value,)
    ).fetchall()
    return [
        {
            "recordId": r["record_id"],
            "caseId": r["case_id"],
            "returnId": r["return_id"],
            "docType": r["doc_type"],
            "digest": r["digest"],
            "operation": r["outbox_id"],
            "createdAt": r["created_at"],
        }
        for r in rows
    ]


def insert_payments(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Add the payment leaves of a tax payment (one row per case); joins the caller's tx."""
    now = utc_now()
    with transaction(conn):
        conn.executemany(
            "INSERT INTO tax_payments (case_id, record_id, payment_digest, leaf, batch_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (r["caseId"], r["recordId"], r["paymentDigest"], r["leaf"], r["batchId"], now)
                for r in rows
            ],
        )


def documents_of_type(conn: sqlite3.Connection, doc_type: str) -> list[str]:
    """The record ids of every document of `doc_type` this gateway holds, oldest first."""
    rows = conn.execute(
        "SELECT record_id FROM case_documents WHERE doc_type = ? ORDER BY created_at", (doc_type,)
    ).fetchall()
    return [str(r[0]) for r in rows]


def payment_of(conn: sqlite3.Connection, case_id: str) -> dict[str, Any] | None:
    """The tax payment covering a case, if any."""
    r = conn.execute("SELECT * FROM tax_payments WHERE case_id = ?", (case_id,)).fetchone()
    if r is None:
        return None
    return {
        "caseId": r["case_id"],
        "recordId": r["record_id"],
        "paymentDigest": r["payment_digest"],
        "leaf": r["leaf"],
        "batchId": r["batch_id"],
    }


def payment_case(conn: sqlite3.Connection, leaf: str) -> str:
    """The case of a payment leaf."""
    row = conn.execute("SELECT case_id FROM tax_payments WHERE leaf = ?", (leaf,)).fetchone()
    return str(row["case_id"])


def move_payment(
    conn: sqlite3.Connection,
    case_id: str,
    record_id: str,
    payment_digest: str,
    leaf: str,
    batch_id: str,
) -> None:
    """Point a case's payment leaf at a recommitted payment record, its digest and leaf in
    batch `batch_id` (a refused batch rebuilt)."""
    conn.execute(
        "UPDATE tax_payments SET record_id = ?, payment_digest = ?, leaf = ?,"
        " batch_id = ? WHERE case_id = ?",
        (record_id, payment_digest, leaf, batch_id, case_id),
    )
