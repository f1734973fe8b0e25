"""Batches of leaves anchored as one Merkle root, and each leaf's proof once sealed.

A batch is `open` while it takes leaves, `sealed` once its root and proofs are stored and its
anchoring write is in the outbox, and `anchored` when the indexer sees the root on the ledger
anchored by this area. A sealed batch whose anchoring the contract refused for the batch itself
becomes `rebuilt`: its records went into the batch `rebuilt_as`, under fresh salts.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from node_gateway.outbox_kinds import OutboxKind
from node_gateway.store.db import transaction, utc_now


@dataclass(frozen=True)
class OpenBatch:
    """The batch currently taking leaves of one kind."""

    batch_id: str
    kind: str
    leaf_count: int
    created_at: str

    def age_ms(self) -> float:
        """Milliseconds since the batch was opened."""
        opened = datetime.strptime(self.created_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return (datetime.now(UTC) - opened).total_seconds() * 1000


def open_batch(conn: sqlite3.Connection, kind: str) -> OpenBatch:
    """The open batch of `kind`, created if there is none (joins the caller's transaction)."""
    with transaction(conn):
        r = conn.execute(
            "SELECT * FROM batches WHERE kind = ? AND status = 'open' ORDER BY created_at LIMIT 1",
            (kind,),
        ).fetchone()
        if r is None:
            batch_id = f"{kind}-{secrets.token_hex(8)}"
            now = utc_now()
            conn.execute(
                "INSERT INTO batches (batch_id, kind, leaf_count, status, created_at)"
                " VALUES (?, ?, 0, 'open', ?)",
                (batch_id, kind, now),
            )
            return OpenBatch(batch_id, kind, 0, now)
        return OpenBatch(r["batch_id"], r["kind"], int(r["leaf_count"]), r["created_at"])


def new_batch(conn: sqlite3.Connection, kind: str) -> str:
    """A new open batch of `kind` beside any other (joins the caller's transaction)."""
    batch_id = f"{kind}-{secrets.token_hex(8)}"
    with transaction(conn):
        conn.execute(
            "INSERT INTO batches (batch_id, kind, leaf_count, status, created_at)"
            " VALUES (?, ?, 0, 'open', ?)",
            (batch_id, kind, utc_now()),
        )
    return batch_id


def mark_rebuilt(conn: sqlite3.Connection, batch_id: str, rebuilt_as: str) -> bool:
    """Retire a sealed batch whose records went into `rebuilt_as`; False if it was not sealed
    (anchored or rebuilt meanwhile)."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE batches SET status = 'rebuilt', rebuilt_as = ?"
            " WHERE batch_id = ? AND status = 'sealed'",
            (rebuilt_as, batch_id),
        )
    return cur.rowcount == 1


def rebuilt_as(conn: sqlite3.Connection, batch_id: str) -> str | None:
    """The batch a rebuilt batch's records went into (None if it was not rebuilt)."""
    r = conn.execute("SELECT rebuilt_as FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
    return None if r is None else r["rebuilt_as"]


def add_leaves(conn: sqlite3.Connection, batch_id: str, leaves: list[tuple[str, str]]) -> None:
    """Add (record_id, leaf hex) pairs to an open batch."""
    with transaction(conn):
        conn.executemany(
            "INSERT INTO batch_leaves (batch_id, record_id, leaf) VALUES (?, ?, ?)",
            [(batch_id, record_id, leaf) for record_id, leaf in leaves],
        )
        conn.execute(
            "UPDATE batches SET leaf_count = leaf_count + ? WHERE batch_id = ? AND status = 'open'",
            (len(leaves), batch_id),
        )


def open_batches(conn: sqlite3.Connection) -> list[OpenBatch]:
    """Every open batch that holds at least one leaf."""
    rows = conn.execute(
        "SELECT * FROM batches WHERE status = 'open' AND leaf_count > 0 ORDER BY created_at"
    ).fetchall()
    return [
        OpenBatch(r["batch_id"], r["kind"], int(r["leaf_count"]), r["created_at"]) for r in rows
    ]


def is_open(conn: sqlite3.Connection, batch_id: str) -> bool:
    """Whether the batch still takes leaves (read it inside the transaction that acts on it)."""
    r = conn.execute("SELECT status FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
    return r is not None and r["status"] == "open"


def is_sealed(conn: sqlite3.Connection, batch_id: str) -> bool:
    """Whether the batch is sealed and not anchored (read it inside the acting transaction)."""
    r = conn.execute("SELECT status FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
    return r is not None and r["status"] == "sealed"


def leaves(conn: sqlite3.Connection, batch_id: str) -> list[tuple[str, str]]:
    """(record_id, leaf hex) of a batch."""
    rows = conn.execute(
        "SELECT record_id, leaf FROM batch_leaves WHERE batch_id = ?", (batch_id,)
    ).fetchall()
    return [(r["record_id"], r["leaf"]) for r in rows]


def store_sealed(
    conn: sqlite3.Connection, batch_id: str, root: str, proofs: dict[str, list[str]]
) -> None:
    """Store the root and each leaf's proof (`proofs` by leaf); the batch takes no more leaves."""
    with transaction(conn):
        conn.executemany(
            "UPDATE batch_leaves SET proof = ? WHERE batch_id = ? AND leaf = ?",
            [(json.dumps(p), batch_id, leaf) for leaf, p in proofs.items()],
        )
        conn.execute(
            "UPDATE batches SET status = 'sealed', root = ? WHERE batch_id = ? AND status = 'open'",
            (root, batch_id),
        )


def anchor_of(
    conn: sqlite3.Connection, record_id: str | None = None, *, leaf: str | None = None
) -> dict[str, Any] | None:
    """Where a record's (or a leaf's) leaf is: batch, status, root and proof (None if none)."""
    column, value = ("l.record_id", record_id) if leaf is None else ("l.leaf", leaf)
    r = conn.execute(
        "SELECT b.batch_id, b.status, b.root, l.leaf, l.proof FROM batch_leaves l"
        f" JOIN batches b ON b.batch_id = l.batch_id WHERE {column} = ?",
        (value,),
    ).fetchone()
    if r is None:
        return None
    return {
        "batchId": r["batch_id"],
        "status": r["status"],
        "root": r["root"],
        "leaf": r["leaf"],
        "proof": json.loads(r["proof"]) if r["proof"] else None,
    }


def status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Batches per status."""
    rows = conn.execute("SELECT status, count(*) AS n FROM batches GROUP BY status").fetchall()
    return {r["status"]: int(r["n"]) for r in rows}


def failed_anchorings(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Sealed batches whose latest anchoring write failed, none being queued: their records
    are accepted and in the vault, but not on the ledger until the anchoring is sent again."""
    rows = conn.execute(
        "SELECT b.batch_id, b.kind, b.root, b.leaf_count, o.id AS outbox_id, o.payload,"
        " o.error, o.updated_at FROM batches b"
        " JOIN outbox o ON o.id = (SELECT max(id) FROM outbox"
        "   WHERE kind = ? AND subject = b.batch_id)"
        " WHERE b.status = 'sealed' AND o.status = 'failed' ORDER BY b.created_at",
        (OutboxKind.ANCHOR,),
    ).fetchall()
    return [
        {
            "batchId": r["batch_id"],
            "kind": r["kind"],
            "root": r["root"],
            "leafCount": int(r["leaf_count"]),
            "outboxId": int(r["outbox_id"]),
            "payload": json.loads(r["payload"]),
            "error": r["error"],
            "failedAt": r["updated_at"],
        }
        for r in rows
    ]
