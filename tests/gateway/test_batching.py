"""Batch sealing (services/batching.py): a root is queued for anchoring once per batch, even
when the API's ingest and the worker reach for the same batch at the same time (found by the
crash harness: the loser of that race queued a second anchoring, which the ledger refused with
RootAlreadyAnchored)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from node_gateway.services import batching
from node_gateway.store import batches, migrate, open_db, outbox
from node_gateway.store.db import utc_now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "gateway.db"
    conn = open_db(path)
    migrate(conn)
    conn.close()
    yield path


def _records(conn: sqlite3.Connection, n: int, start: int = 0) -> list[tuple[str, str]]:
    """`n` vault rows (opaque bytes: batching never opens them) and a leaf for each."""
    now = utc_now()
    out = []
    for i in range(start, start + n):
        record_id = f"tax-{i}"
        conn.execute(
            "INSERT INTO vault_records (record_id, doc_type, key_id, nonce, ciphertext,"
            " created_at, updated_at) VALUES (?, 'tax', 'k1', ?, ?, ?, ?)",
            (record_id, b"\0" * 12, b"\0" * 16, now, now),
        )
        out.append((record_id, "0x" + f"{i + 1:064x}"))
    return out


def _anchors(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT subject FROM outbox WHERE kind = 'anchor' ORDER BY id")
    return [r["subject"] for r in rows]


def test_a_full_batch_is_sealed_and_queued_once(db: Path) -> None:
    conn = open_db(db)
    placed = batching.add_to_batches(conn, "assessment", _records(conn, 4), batch_size=4)
    batch_id = placed[0]
    assert batches.anchor_of(conn, "tax-0")["status"] == "sealed"  # type: ignore[index]
    assert batching.seal(conn, batch_id, "assessment") is None
    assert batching.seal_due(conn, batch_size=4, interval_ms=0) == 0
    assert _anchors(conn) == [batch_id]


def test_worker_and_ingest_racing_for_one_batch_queue_one_anchoring(db: Path) -> None:
    worker, api = open_db(db), open_db(db)
    first = batching.add_to_batches(api, "assessment", _records(api, 3), batch_size=4)
    # The worker sees the batch open and due ...
    due = batches.open_batches(worker)
    assert [b.batch_id for b in due] == [first[0]]
    # ... while the API's ingest fills it up and seals it.
    batching.add_to_batches(api, "assessment", _records(api, 1, start=3), batch_size=4)
    assert batching.seal(worker, due[0].batch_id, due[0].kind) is None
    assert _anchors(worker) == [first[0]]
    assert outbox.counts(worker) == {"pending": 1}


def test_seal_due_seals_an_old_batch(db: Path) -> None:
    conn = open_db(db)
    placed = batching.add_to_batches(conn, "assessment", _records(conn, 2), batch_size=4)
    assert batching.seal_due(conn, batch_size=4, interval_ms=0) == 1
    assert _anchors(conn) == [placed[0]]
    root = batches.anchor_of(conn, "tax-1")["root"]  # type: ignore[index]
    assert root is not None and root.startswith("0x")
