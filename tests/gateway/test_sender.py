"""The outbox sender: exactly once across crashes at each point, refusals before a nonce is
used, and writes kept queued while the node is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clients.errors import LedgerError
from node_gateway.consortium import Consortium
from node_gateway.ledger.area import Mined
from node_gateway.ledger.sender import Sender
from node_gateway.store import outbox


@pytest.fixture
def consortium(tmp_path: Path) -> Iterator[Consortium]:
    c = Consortium.open(tmp_path / "c", genesis_timestamp=int(time.time()) - 86400)
    yield c
    c.stop()


def _anchor_row(c: Consortium, root_byte: int) -> tuple[Any, int]:
    gw = c.gateways["3100"]
    conn = gw.connections.get()
    root = "0x" + bytes([root_byte]).hex() * 32
    op = outbox.enqueue(conn, "anchor", {"root": root, "kind": 1, "leafCount": 1})
    return gw, op


def _tx_count(c: Consortium, gw: Any) -> int:
    return int(c.chain.w3.eth.get_transaction_count(gw.ledger.account))


def test_crash_after_storing_signed_tx_resubmits_same_bytes(consortium: Consortium) -> None:
    gw, op = _anchor_row(consortium, 1)
    conn = gw.connections.get()
    row = outbox.get(conn, op)
    assert row is not None
    fn = gw.ledger.build(row.kind, row.payload)
    signed = gw.ledger.sign(fn, gw.ledger.next_nonce())
    outbox.mark_sent(conn, op, gw.ledger.account, signed.nonce, signed.tx_hash, signed.raw)
    # ...the process dies here, before submitting. A new sender reconciles:
    before = _tx_count(consortium, gw)
    Sender(conn, gw.ledger).run_once()
    done = outbox.get(conn, op)
    assert done is not None and done.status == "confirmed"
    assert done.tx_hash == signed.tx_hash
    assert _tx_count(consortium, gw) == before + 1


def test_crash_after_submitting_confirms_without_resending(consortium: Consortium) -> None:
    gw, op = _anchor_row(consortium, 2)
    conn = gw.connections.get()
    row = outbox.get(conn, op)
    assert row is not None
    signed = gw.ledger.sign(gw.ledger.build(row.kind, row.payload), gw.ledger.next_nonce())
    outbox.mark_sent(conn, op, gw.ledger.account, signed.nonce, signed.tx_hash, signed.raw)
    mined = gw.ledger.submit(signed.raw)
    # ...the process dies before recording the receipt.
    head = consortium.chain.head()
    Sender(conn, gw.ledger).run_once()
    done = outbox.get(conn, op)
    assert done is not None and done.status == "confirmed"
    assert done.block_number == mined.block_number
    assert consortium.chain.head() == head  # nothing was sent again


def test_refused_write_with_preflight_fails_without_using_a_nonce(
    consortium: Consortium,
) -> None:
    gw = consortium.gateways["2900"]
    conn = gw.connections.get()
    bad = outbox.enqueue(
        conn, "arrival", {"returnId": "0x" + "11" * 32, "digest": "0x" + "22" * 32}
    )
    nonce_before = gw.ledger.next_nonce()
    Sender(conn, gw.ledger, preflight=True).run_once()
    failed = outbox.get(conn, bad)
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None and failed.error.startswith("UnknownReturn(")
    assert failed.nonce is None and failed.tx_hash is None
    assert gw.ledger.next_nonce() == nonce_before


def test_refused_write_is_mined_failed_with_its_reason_and_no_gap(consortium: Consortium) -> None:
    gw = consortium.gateways["2900"]
    conn = gw.connections.get()
    bad = outbox.enqueue(
        conn, "arrival", {"returnId": "0x" + "11" * 32, "digest": "0x" + "22" * 32}
    )
    good = outbox.enqueue(conn, "anchor", {"root": "0x" + "33" * 32, "kind": 1, "leafCount": 1})
    nonce_before = gw.ledger.next_nonce()
    Sender(conn, gw.ledger).run_once()
    failed, ok = outbox.get(conn, bad), outbox.get(conn, good)
    assert failed is not None and failed.status == "failed" and failed.block_number is not None
    assert failed.error is not None and failed.error.startswith("UnknownReturn(")
    assert ok is not None and ok.status == "confirmed"
    assert (failed.nonce, ok.nonce) == (nonce_before, nonce_before + 1)
    assert gw.ledger.next_nonce() == nonce_before + 2


def test_node_outage_keeps_writes_queued_then_sends_once(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, op = _anchor_row(consortium, 4)
    conn = gw.connections.get()
    real_submit = gw.ledger.submit

    def down(raw: bytes) -> Mined:
        raise LedgerError("connection refused")

    monkeypatch.setattr(gw.ledger, "submit", down)
    sender = Sender(conn, gw.ledger)
    assert sender.run_once() == 0
    assert sender.node_up is False
    row = outbox.get(conn, op)
    assert row is not None and row.status == "sent"  # signed and stored, not on the ledger
    before = _tx_count(consortium, gw)

    monkeypatch.setattr(gw.ledger, "submit", real_submit)
    sender.run_once()
    assert sender.node_up is True
    row = outbox.get(conn, op)
    assert row is not None and row.status == "confirmed"
    assert _tx_count(consortium, gw) == before + 1


def test_nonces_have_no_gaps_after_mixed_outcomes(consortium: Consortium) -> None:
    gw = consortium.gateways["3100"]
    conn = gw.connections.get()
    ops = []
    for i in range(5, 10):
        ops.append(_anchor_row(consortium, i)[1])
        if i == 7:  # a duplicate root: refused by the contract
            ops.append(
                outbox.enqueue(
                    conn, "anchor", {"root": "0x" + "07" * 32, "kind": 1, "leafCount": 1}
                )
            )
    Sender(conn, gw.ledger).run_once()
    rows = [outbox.get(conn, op) for op in ops]
    sent = sorted(r.nonce for r in rows if r is not None and r.nonce is not None)
    assert sent == list(range(sent[0], sent[0] + len(sent)))
    assert [r.status for r in rows if r is not None].count("failed") == 1
    assert _tx_count(consortium, gw) == sent[-1] + 1
