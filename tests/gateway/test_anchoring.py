"""Batch sealing (services/anchoring.py): a root is queued for anchoring once per batch, even
when the API's ingest and the worker reach for the same batch at the same time (found by the
crash harness: the loser of that race queued a second anchoring, which the ledger refused with
RootAlreadyAnchored)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from node_gateway.cli.main import main
from node_gateway.pipeline import anchoring, projections
from node_gateway.store import batches, index, migrate, open_db, outbox
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
    placed = anchoring.add_to_batches(conn, "assessment", _records(conn, 4), batch_size=4)
    batch_id = placed[0]
    assert batches.anchor_of(conn, "tax-0")["status"] == "sealed"  # type: ignore[index]
    assert anchoring.seal(conn, batch_id, "assessment") is None
    assert anchoring.seal_due(conn, batch_size=4, interval_ms=0) == 0
    assert _anchors(conn) == [batch_id]


def test_worker_and_ingest_racing_for_one_batch_queue_one_anchoring(db: Path) -> None:
    worker, api = open_db(db), open_db(db)
    first = anchoring.add_to_batches(api, "assessment", _records(api, 3), batch_size=4)
    # The worker sees the batch open and due ...
    due = batches.open_batches(worker)
    assert [b.batch_id for b in due] == [first[0]]
    # ... while the API's ingest fills it up and seals it.
    anchoring.add_to_batches(api, "assessment", _records(api, 1, start=3), batch_size=4)
    assert anchoring.seal(worker, due[0].batch_id, due[0].kind) is None
    assert _anchors(worker) == [first[0]]
    assert outbox.counts(worker) == {"pending": 1}


def test_seal_due_seals_an_old_batch(db: Path) -> None:
    conn = open_db(db)
    placed = anchoring.add_to_batches(conn, "assessment", _records(conn, 2), batch_size=4)
    assert anchoring.seal_due(conn, batch_size=4, interval_ms=0) == 1
    assert _anchors(conn) == [placed[0]]
    root = batches.anchor_of(conn, "tax-1")["root"]  # type: ignore[index]
    assert root is not None and root.startswith("0x")


def _fail_anchoring(conn: sqlite3.Connection, batch_id: str, error: str) -> None:
    """The anchoring write of `batch_id` is refused by the ledger, as the sender records it."""
    row = conn.execute(
        "SELECT id FROM outbox WHERE kind = 'anchor' AND subject = ? ORDER BY id DESC",
        (batch_id,),
    ).fetchone()
    outbox.mark_failed(conn, int(row["id"]), error)


def test_failed_anchoring_is_listed_and_queued_again_once(db: Path) -> None:
    conn = open_db(db)
    first = anchoring.add_to_batches(conn, "assessment", _records(conn, 4), batch_size=4)[0]
    second = anchoring.add_to_batches(conn, "assessment", _records(conn, 4, start=4), 4)[0]
    _fail_anchoring(conn, first, "NotActiveMember(member=0x01)")

    stuck = batches.failed_anchorings(conn)
    assert [(b["batchId"], b["leafCount"], b["error"]) for b in stuck] == [
        (first, 4, "NotActiveMember(member=0x01)")
    ]
    assert anchoring.retry_failed_anchorings(conn) == [first]
    assert batches.failed_anchorings(conn) == []  # queued: not failed any more
    assert anchoring.retry_failed_anchorings(conn) == []  # no second copy while it is queued
    assert _anchors(conn) == [first, second, first]
    again = conn.execute("SELECT payload FROM outbox ORDER BY id DESC LIMIT 1").fetchone()
    assert (
        again["payload"]
        == conn.execute(
            "SELECT payload FROM outbox WHERE subject = ? ORDER BY id LIMIT 1", (first,)
        ).fetchone()["payload"]
    )


def test_anchoring_failed_but_root_anchored_meanwhile_is_not_listed(db: Path) -> None:
    conn = open_db(db)
    batch_id = anchoring.add_to_batches(conn, "assessment", _records(conn, 4), batch_size=4)[0]
    _fail_anchoring(conn, batch_id, "RootAlreadyAnchored(root=…)")
    conn.execute("UPDATE batches SET status = 'anchored' WHERE batch_id = ?", (batch_id,))
    assert batches.failed_anchorings(conn) == []
    assert anchoring.retry_failed_anchorings(conn) == []


def test_admin_anchoring_lists_and_retries_failed_batches(db: Path) -> None:
    conn = open_db(db)
    batch_id = anchoring.add_to_batches(conn, "assessment", _records(conn, 4), batch_size=4)[0]
    _fail_anchoring(conn, batch_id, "NotActiveMember(member=0x01)")
    conn.close()
    runner = CliRunner()

    listed = runner.invoke(main, ["admin", "anchoring", "--db", str(db), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(b["batchId"], b["queued"]) for b in json.loads(listed.output)] == [(batch_id, False)]

    unknown = runner.invoke(main, ["admin", "anchoring", "--db", str(db), "--batch", "nope"])
    assert unknown.exit_code == 2 and "no failed anchoring for batch nope" in unknown.output

    retried = runner.invoke(main, ["admin", "anchoring", "--db", str(db), "--retry", "--json"])
    assert retried.exit_code == 0, retried.output
    assert [(b["batchId"], b["queued"]) for b in json.loads(retried.output)] == [(batch_id, True)]
    after = runner.invoke(main, ["admin", "anchoring", "--db", str(db)])
    assert after.exit_code == 0 and after.output.strip() == "no failed anchoring"


def _root_anchored_event(root: str, area_code: int, block: int) -> dict[str, object]:
    return {
        "block": block,
        "logIndex": 0,
        "txHash": "0x" + f"{block:064x}",
        "contract": "TaxAnchor",
        "event": "RootAnchored",
        "args": {"root": root, "areaCode": area_code, "kind": 1, "leafCount": 4},
        "blockTime": 1_700_000_000 + block,
    }


def test_root_anchored_by_another_area_does_not_anchor_our_batch(db: Path) -> None:
    conn = open_db(db)
    batch_id = anchoring.add_to_batches(conn, "assessment", _records(conn, 4), batch_size=4)[0]
    root = batches.anchor_of(conn, "tax-0")["root"]  # type: ignore[index]
    # Zhengzhou (4600) anchors our root's bytes first: not ours, the batch stays sealed.
    projections.apply_events(conn, [_root_anchored_event(root, 4600, 7)], 7, area_code=3100)
    assert batches.anchor_of(conn, "tax-0")["status"] == "sealed"  # type: ignore[index]
    assert index.root_anchored(conn, 4600, root) is True
    assert index.root_anchored(conn, 3100, root) is False
    assert index.root_anchoring(conn, 3100, root) == []
    # Our own anchoring of the same bytes is.
    projections.apply_events(conn, [_root_anchored_event(root, 3100, 8)], 8, area_code=3100)
    assert batches.anchor_of(conn, "tax-0")["status"] == "anchored"  # type: ignore[index]
    assert index.root_anchored(conn, 3100, root) is True
    assert [e["args"]["areaCode"] for e in index.root_anchoring(conn, 3100, root)] == [3100]
    assert batches.failed_anchorings(conn) == [] and _anchors(conn) == [batch_id]


def test_retry_skips_a_refused_anchoring_which_is_rebuilt_instead(db: Path) -> None:
    conn = open_db(db)
    batch_id = anchoring.add_to_batches(conn, "assessment", _records(conn, 4), batch_size=4)[0]
    _fail_anchoring(conn, batch_id, f"EmptyBatch(root=0x{'ab' * 32})")
    assert [b["batchId"] for b in anchoring.refused_anchorings(conn)] == [batch_id]
    assert anchoring.retry_failed_anchorings(conn) == []
    assert _anchors(conn) == [batch_id]
