"""The outbox sender: exactly once across crashes at each point, refusals before a nonce is
used, writes kept queued while the node is down, and a window of transactions in flight — on
the embedded chain (mines on submission) and on a node with a pool (`PipelinedChain`)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3.types import TxReceipt

from clients.errors import LedgerError
from node_gateway.ledger.area_ledger import Mined, PipelinedBackend
from node_gateway.ledger.backends.embedded import EmbeddedChain
from node_gateway.pipeline.sender import FILLER, Sender
from node_gateway.run.local_consortium import Consortium
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


# ---------------------------------------------------------------- the window in flight

REFUSED = keccak(text="RootAlreadyAnchored(bytes32,uint16)")[:4] + encode(
    ["bytes32", "uint16"], [b"\x07" * 32, 3100]
)


class _Crash(BaseException):
    """The process dies (nothing catches it)."""


def _nonce(raw: bytes) -> int:
    return int(TypedTransaction.from_bytes(HexBytes(raw)).as_dict()["nonce"])


class SequentialChain:
    """The embedded chain as a backend that mines on submission, with hooks: `on_first` runs at
    the first submission, the submissions numbered in `refuse` (from 0) are refused by the
    contract, and the node goes down after `down_after` submissions."""

    def __init__(
        self,
        chain: EmbeddedChain,
        on_first: Callable[[], None] | None = None,
        refuse: Sequence[int] = (),
        down_after: int | None = None,
        refuse_as_node: str | None = None,
    ) -> None:
        self.chain = chain
        self.refuse_as_node = refuse_as_node  # the node's own refusal (no revert), while set
        self.w3 = chain.w3
        self.on_first = on_first
        self.refuse = set(refuse)
        self.down_after = down_after
        self.down = False
        self.offered: list[bytes] = []  # every submission that reached the node, in order

    def _offer(self, raw: bytes) -> None:
        if self.down_after is not None and len(self.offered) >= self.down_after:
            self.down = True
        if self.down:
            raise ConnectionError("node down")
        if self.refuse_as_node is not None:
            raise ValueError({"code": -32003, "message": self.refuse_as_node})
        if not self.offered and self.on_first is not None:
            self.on_first()
        self.offered.append(raw)
        if len(self.offered) - 1 in self.refuse:
            raise ValueError(f"execution reverted: {REFUSED!r}")

    def send_raw_transaction(self, raw: bytes) -> TxReceipt:
        self._offer(raw)
        return self.chain.send_raw_transaction(raw)

    def recover(self) -> None:
        self.down, self.down_after, self.refuse_as_node = False, None, None


class PipelinedChain(SequentialChain):
    """...as a node with a pool (a `PipelinedBackend`): `send_only` pools a transaction;
    `receipts` mines the pool in nonce order — one behind a nonce gap stays pooled, as on a
    real node — and answers with the receipts it has."""

    def __init__(self, chain: EmbeddedChain, **hooks: Any) -> None:
        super().__init__(chain, **hooks)
        self.pool: dict[str, bytes] = {}
        self.peak = 0  # the most transactions in the pool at once

    def send_only(self, raw: bytes) -> str:
        tx_hash = "0x" + keccak(raw).hex()
        if tx_hash not in self.pool:  # a transaction already held is no error
            self._offer(raw)
            self.pool[tx_hash] = raw
            self.peak = max(self.peak, len(self.pool))
        return tx_hash

    def mine(self) -> None:
        while True:
            ready = [h for h, raw in self.pool.items() if _nonce(raw) == self._next_nonce(raw)]
            if not ready:
                return
            self.chain.send_raw_transaction(self.pool.pop(ready[0]))

    def _next_nonce(self, raw: bytes) -> int:
        sender = self.w3.eth.account.recover_transaction(raw)
        return int(self.w3.eth.get_transaction_count(sender))

    def receipts(self, tx_hashes: Sequence[str], timeout_s: float) -> dict[str, TxReceipt]:
        if self.down:
            raise ConnectionError("node down")
        self.mine()
        found = {}
        for tx_hash in tx_hashes:
            try:
                found[tx_hash] = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except Exception:  # not mined: left out
                continue
        return found


BACKENDS = {"embedded": SequentialChain, "pipelined": PipelinedChain}


def _anchors(c: Consortium, count: int, first: int = 0x40) -> tuple[Any, list[int]]:
    """`count` anchor rows with distinct roots in area 3100's outbox."""
    return c.gateways["3100"], [_anchor_row(c, first + i)[1] for i in range(count)]


def _rows(conn: sqlite3.Connection, ops: list[int]) -> list[outbox.OutboxRow]:
    rows = [outbox.get(conn, op) for op in ops]
    assert all(r is not None for r in rows)
    return [r for r in rows if r is not None]


def _used_nonces(conn: sqlite3.Connection, account: str) -> list[int]:
    """Every nonce the store gave the account, fillers included, in order."""
    found = conn.execute(
        "SELECT nonce FROM outbox WHERE account = ? AND nonce IS NOT NULL ORDER BY nonce",
        (account,),
    ).fetchall()
    return [int(r[0]) for r in found]


@pytest.mark.parametrize("backend", BACKENDS)
def test_window_is_stored_sent_before_submission_then_confirms_at_consecutive_nonces(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    gw, ops = _anchors(consortium, 6)
    conn = gw.connections.get()
    first = _tx_count(consortium, gw)
    at_first_submission: list[list[str]] = []
    node = BACKENDS[backend](
        consortium.chain,
        on_first=lambda: at_first_submission.append([r.status for r in _rows(conn, ops)]),
    )
    monkeypatch.setattr(gw.ledger, "backend", node)
    assert isinstance(node, PipelinedBackend) is (backend == "pipelined")
    assert not isinstance(consortium.chain, PipelinedBackend)

    assert Sender(conn, gw.ledger).run_once() == 6

    assert at_first_submission == [["sent"] * 6]
    rows = _rows(conn, ops)
    assert [r.status for r in rows] == ["confirmed"] * 6
    assert [r.nonce for r in rows] == list(range(first, first + 6))
    assert [r.tx_hash for r in rows] == ["0x" + keccak(raw).hex() for raw in node.offered]
    assert _tx_count(consortium, gw) == first + 6


def test_window_bounds_the_transactions_in_flight(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, ops = _anchors(consortium, 6)
    conn = gw.connections.get()
    node = PipelinedChain(consortium.chain)
    monkeypatch.setattr(gw.ledger, "backend", node)
    sender = Sender(conn, gw.ledger, window=4)

    assert sender.run_once() == 4
    assert [r.status for r in _rows(conn, ops)] == ["confirmed"] * 4 + ["pending"] * 2
    assert sender.run_once() == 2
    assert [r.status for r in _rows(conn, ops)] == ["confirmed"] * 6
    assert node.peak == 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_refusal_at_submission_fills_the_nonce_and_later_rows_confirm(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    gw, ops = _anchors(consortium, 6)
    conn = gw.connections.get()
    first = _tx_count(consortium, gw)
    node = BACKENDS[backend](consortium.chain, refuse=[2])
    monkeypatch.setattr(gw.ledger, "backend", node)

    sender = Sender(conn, gw.ledger)
    assert sender.run_once() == 7  # six rows and the filler
    assert sender.node_up is True

    rows = _rows(conn, ops)
    assert [r.status for r in rows] == ["confirmed"] * 2 + ["failed"] + ["confirmed"] * 3
    refused = rows[2]
    assert refused.error is not None and refused.error.startswith("RootAlreadyAnchored(")
    assert refused.nonce is None and refused.tx_hash is None and refused.raw_tx is None
    assert [r.nonce for r in rows] == [first, first + 1, None, first + 3, first + 4, first + 5]
    (filler,) = [r for r in outbox.with_status(conn, "confirmed") if r.kind == FILLER]
    assert filler.nonce == first + 2 and filler.payload == {"nonce": first + 2, "refused": ops[2]}
    assert filler.tx_hash is not None
    tx = consortium.chain.w3.eth.get_transaction(filler.tx_hash)  # type: ignore[arg-type]
    assert (tx["from"], tx["to"], tx["value"]) == (gw.ledger.account, gw.ledger.account, 0)
    assert _used_nonces(conn, gw.ledger.account)[-6:] == list(range(first, first + 6))
    # Submission stopped at the refusal; the filler went before the rows signed after it.
    assert [_nonce(raw) for raw in node.offered] == [first + n for n in (0, 1, 2, 2, 3, 4, 5)]
    assert _tx_count(consortium, gw) == first + 6


def test_refusal_of_the_last_row_leaves_its_nonce_to_the_next(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, ops = _anchors(consortium, 3)
    conn = gw.connections.get()
    first = _tx_count(consortium, gw)
    monkeypatch.setattr(gw.ledger, "backend", PipelinedChain(consortium.chain, refuse=[2]))
    Sender(conn, gw.ledger).run_once()
    assert [r.status for r in _rows(conn, ops)] == ["confirmed", "confirmed", "failed"]
    assert not [r for r in outbox.with_status(conn, "confirmed") if r.kind == FILLER]

    _, (later,) = _anchors(consortium, 1, first=0x60)
    Sender(conn, gw.ledger).run_once()
    (row,) = _rows(conn, [later])
    assert row.status == "confirmed" and row.nonce == first + 2


@pytest.mark.parametrize("pool", ["kept", "lost"])
def test_node_down_mid_window_is_settled_by_reconcile_exactly_once(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch, pool: str
) -> None:
    gw, ops = _anchors(consortium, 8)
    conn = gw.connections.get()
    first = _tx_count(consortium, gw)
    node = PipelinedChain(consortium.chain, down_after=4)
    monkeypatch.setattr(gw.ledger, "backend", node)
    sender = Sender(conn, gw.ledger)

    assert sender.run_once() == 0
    assert sender.node_up is False
    stored = _rows(conn, ops)
    assert [r.status for r in stored] == ["sent"] * 8  # signed and stored, settled later

    node.recover()
    if pool == "kept":
        node.mine()  # the node mined what it had taken before it went down
    else:
        node.pool.clear()  # it restarted with an empty pool
    assert sender.run_once() == 8
    assert sender.node_up is True

    rows = _rows(conn, ops)
    assert [r.status for r in rows] == ["confirmed"] * 8
    assert [r.tx_hash for r in rows] == [r.tx_hash for r in stored]
    assert [r.nonce for r in rows] == list(range(first, first + 8))
    assert _tx_count(consortium, gw) == first + 8
    resent = node.offered[4:]
    expected = [r.raw_tx for r in stored[4:]] if pool == "kept" else [r.raw_tx for r in stored]
    assert resent == expected  # the very same bytes, and only what the ledger lacked


def test_crash_after_signing_the_window_resubmits_the_same_bytes(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, ops = _anchors(consortium, 5)
    conn = gw.connections.get()
    first = _tx_count(consortium, gw)

    def crash() -> None:
        raise _Crash

    monkeypatch.setattr(gw.ledger, "backend", PipelinedChain(consortium.chain, on_first=crash))
    with pytest.raises(_Crash):
        Sender(conn, gw.ledger).run_once()
    stored = _rows(conn, ops)
    assert [r.status for r in stored] == ["sent"] * 5
    assert _tx_count(consortium, gw) == first  # nothing reached the ledger

    node = PipelinedChain(consortium.chain)  # the restarted gateway
    monkeypatch.setattr(gw.ledger, "backend", node)
    assert Sender(conn, gw.ledger).run_once() == 5
    rows = _rows(conn, ops)
    assert [r.status for r in rows] == ["confirmed"] * 5
    assert node.offered == [r.raw_tx for r in stored]
    assert [r.tx_hash for r in rows] == [r.tx_hash for r in stored]
    assert _tx_count(consortium, gw) == first + 5


def test_malformed_row_fails_without_a_nonce_and_the_node_stays_up(
    consortium: Consortium,
) -> None:
    gw, (good,) = _anchors(consortium, 1)
    conn = gw.connections.get()
    missing = outbox.enqueue(conn, "anchor", {"kind": 1, "leafCount": 1})
    short = outbox.enqueue(conn, "anchor", {"root": "0x1234", "kind": 1, "leafCount": 1})
    first = _tx_count(consortium, gw)
    sender = Sender(conn, gw.ledger)
    assert sender.run_once() == 3
    assert sender.node_up is True
    ok, no_root, bad_root = _rows(conn, [good, missing, short])
    assert ok.status == "confirmed" and ok.nonce == first
    for row in (no_root, bad_root):
        assert row.status == "failed" and row.nonce is None
        assert row.error is not None and "malformed" in row.error
    assert _tx_count(consortium, gw) == first + 1


def test_preflight_checks_each_row_after_the_ones_before_it(consortium: Consortium) -> None:
    gw, (once,) = _anchors(consortium, 1)
    conn = gw.connections.get()
    twice = _anchor_row(consortium, 0x40)[1]  # the same root again
    first = _tx_count(consortium, gw)
    Sender(conn, gw.ledger, preflight=True).run_once()
    ok, refused = _rows(conn, [once, twice])
    assert ok.status == "confirmed" and ok.nonce == first
    assert refused.status == "failed" and refused.nonce is None  # refused before signing
    assert refused.error is not None and refused.error.startswith("RootAlreadyAnchored(")
    assert _tx_count(consortium, gw) == first + 1


def test_profile_published_after_a_crash_leaves_signed_rows_their_nonces(
    consortium: Consortium,
) -> None:
    gw, op = _anchor_row(consortium, 0x77)
    conn = gw.connections.get()
    row = outbox.get(conn, op)
    assert row is not None
    signed = gw.ledger.sign(gw.ledger.build(row.kind, row.payload), gw.ledger.next_nonce())
    outbox.mark_sent(conn, op, gw.ledger.account, signed.nonce, signed.tx_hash, signed.raw)
    # ...the process died before submitting; on restart the gateway publishes a new URL first.
    gw.publish_profile("https://gw.moved.example")
    done = outbox.get(conn, op)
    assert done is not None and done.status == "confirmed" and done.nonce == signed.nonce
    assert gw.ledger.profile(gw.context.member)[1] == "https://gw.moved.example"


def test_node_refusal_without_revert_is_told_apart_from_an_outage_and_retried(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    gw, ops = _anchors(consortium, 3, first=0x70)
    conn = gw.connections.get()
    first = _tx_count(consortium, gw)
    node = PipelinedChain(consortium.chain, refuse_as_node="insufficient funds for gas * price")
    monkeypatch.setattr(gw.ledger, "backend", node)
    sender = Sender(conn, gw.ledger)

    with caplog.at_level("WARNING", logger="node_gateway.pipeline.sender"):
        assert sender.run_once() == 0
    assert sender.node_up is False
    assert [r.status for r in _rows(conn, ops)] == ["sent"] * 3  # stored, not given up
    refusal = [r for r in caplog.records if "refuses" in r.getMessage()]
    assert refusal and refusal[0].levelname == "ERROR"
    assert "insufficient funds" in refusal[0].getMessage()
    assert not any("unavailable" in r.getMessage() for r in caplog.records)

    node.recover()  # an operator funded the account
    assert sender.run_once() == 3
    assert [r.status for r in _rows(conn, ops)] == ["confirmed"] * 3
    assert _tx_count(consortium, gw) == first + 3


@pytest.mark.parametrize("where", ["sending", "reconciling"])
def test_a_node_that_lost_mined_transactions_stops_the_sender(
    consortium: Consortium,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    where: str,
) -> None:
    """A node restored from an old state no longer has transactions the gateway saw mined:
    new ones would take their nonces, so nothing is sent and the operator is told."""
    gw, ops = _anchors(consortium, 2, first=0x80)
    conn = gw.connections.get()
    sender = Sender(conn, gw.ledger)
    assert sender.run_once() == 2
    counted = _tx_count(consortium, gw)
    # The node lost the last of them (its chain is 1 transaction shorter for this account).
    monkeypatch.setattr(gw.ledger, "next_nonce", lambda: counted - 1)
    monkeypatch.setattr(gw.ledger, "mined_nonce", lambda: counted - 1)
    _, later = _anchor_row(consortium, 0x90)
    if where == "reconciling":  # a row left sent by a crash makes reconcile read the count
        outbox.mark_sent(conn, later, gw.ledger.account, counted, "0x" + "ab" * 32, b"\x01")
    with caplog.at_level("ERROR", logger="node_gateway.pipeline.sender"):
        assert sender.run_once() == 0
    assert sender.node_up is False
    assert any("lost blocks" in r.getMessage() for r in caplog.records)
    assert _tx_count(consortium, gw) == counted  # nothing was sent
    assert _rows(conn, [later])[0].status == ("pending" if where == "sending" else "sent")
    assert [r.status for r in _rows(conn, ops)] == ["confirmed"] * 2  # history untouched


def _disclose_row(conn: sqlite3.Connection, case_id: str) -> int:
    payload = {
        "caseId": case_id,
        "requesterCommitment": "0x" + "11" * 32,
        "documentDigest": "0x" + "22" * 32,
        "digest": "0x" + "33" * 32,
    }
    return outbox.enqueue(conn, "disclose", payload)


def test_disclose_entry_of_unopened_case_is_held_until_it_opens(consortium: Consortium) -> None:
    gw = consortium.gateways["3100"]
    conn = gw.connections.get()
    case_id = "0x" + "ab" * 32
    held = _disclose_row(conn, case_id)
    _gw, later = _anchor_row(consortium, 0x51)
    Sender(conn, gw.ledger).run_once()
    # the ledger would refuse it (UnknownCase): it waits, and does not hold back the next row
    assert outbox.get(conn, held).status == "pending"  # type: ignore[union-attr]
    assert outbox.get(conn, later).status == "confirmed"  # type: ignore[union-attr]
    assert outbox.held_count(conn) == 1
    conn.execute(
        "INSERT INTO cases_view (case_id, origin_code, platform, release_time, line_count,"
        " declared, opened_block) VALUES (?, 3100, ?, 1, 1, '[1]', 1)",
        (case_id, "0x" + "cd" * 32),
    )
    conn.commit()
    assert [r.id for r in outbox.sendable(conn)] == [held]
    Sender(conn, gw.ledger).run_once()
    sent = outbox.get(conn, held)
    assert sent is not None and sent.status != "pending" and outbox.held_count(conn) == 0


def test_disclose_entry_held_past_the_apply_window_fails(consortium: Consortium) -> None:
    gw = consortium.gateways["3100"]
    conn = gw.connections.get()
    held = _disclose_row(conn, "0x" + "ef" * 32)
    conn.execute(
        "UPDATE outbox SET created_at = '2000-01-01T00:00:00.000000Z' WHERE id = ?", (held,)
    )
    conn.commit()
    Sender(conn, gw.ledger).run_once()
    row = outbox.get(conn, held)
    assert row is not None and row.status == "failed" and "never opened" in (row.error or "")
