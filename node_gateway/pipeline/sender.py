"""The outbox sender: turns pending outbox rows into ledger transactions of the area's account,
several in flight at once.

Exactly once, across crashes:
- a row the contract refuses before it is signed (a preflight `eth_call`, when enabled) or a
  malformed row is marked failed before it uses a nonce;
- a window of rows is signed at consecutive nonces and every signed transaction (raw bytes,
  nonce, hash) is stored and committed *before* the first of them is submitted; then all are
  submitted without waiting for each other, and their receipts are collected;
- a transaction refused at submission leaves its nonce unused, and the ones signed after it
  would wait behind that gap forever: a zero-value transfer to the account itself (a `filler`
  row, stored like any other in the same commit that fails the refused row) takes the nonce;
- on start (and whenever a submission failed for want of a node) `reconcile` looks at every
  row left `sent`: mined -> confirmed or failed from its receipt; nonce used by something else
  -> failed; unknown to the ledger -> the very same bytes are submitted again (same nonce, same
  hash, so it cannot land twice).

A disclosure-log entry of a case not yet open on the ledger (an origin disclosed its declaration
to a return centre before the centre opened the case) is held pending, not sent, until the index
has seen the case open; once the apply window has passed since it was queued the case can no
longer open and the entry is failed (the local disclosure log keeps the disclosure).

Nonces come from the store's own sequence (max of the ledger's count and the last nonce the
store gave out, plus one), so a restart never reuses or skips one; every nonce the account
uses belongs to one outbox row.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta

from clients.bindings import APPLY_WINDOW
from clients.errors import ContractRevert, LedgerError, NodeRefused
from node_gateway import failpoints
from node_gateway.ledger.area_ledger import AreaLedger, Mined, SignedTx
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.store import outbox
from node_gateway.store.db import transaction
from node_gateway.store.outbox import OutboxRow

log = logging.getLogger(__name__)

SEND_WINDOW = 32
FILLER = OutboxKind.NONCE_FILLER  # a transfer that takes a refused row's nonce

Signed = tuple[int, SignedTx]  # an outbox row id and its signed transaction


class LedgerRolledBack(LedgerError):
    """The node counts fewer transactions of the area's account than this gateway saw mined:
    it lost blocks (restored from an old state, a node without finality). Nothing is sent
    until its full chain is back: new transactions would take nonces the lost ones held."""


class Sender:
    """Sends one area's outbox through its account, up to `window` transactions in flight."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        ledger: AreaLedger,
        preflight: bool = False,
        window: int = SEND_WINDOW,
    ) -> None:
        if window < 1:
            raise ValueError("the send window holds at least one transaction")
        self.conn = conn
        self.ledger = ledger
        self.node_up = True
        # The API checks each step against the ledger before accepting it, so a dry run of
        # every transaction (an eth_call, ~40% of the EVM time per write) is off by default;
        # a write refused anyway is recorded as failed with the decoded reason.
        self.preflight = preflight
        self.window = window

    def reconcile(self) -> int:
        """Settle rows left `sent` by a crash or an outage; returns how many were settled."""
        rows = outbox.with_status(self.conn, "sent", limit=10_000)
        if not rows:
            return 0
        # Read before the receipts: a nonce below this count whose transaction is not ours
        # was used by another one (a nonce counted by the pool only may still be ours).
        used = self.ledger.mined_nonce()
        self._check_not_rolled_back(used)
        settled = 0
        resend: list[Signed] = []
        for row in rows:
            assert row.tx_hash is not None and row.nonce is not None and row.raw_tx is not None
            mined = self.ledger.find_mined(row.tx_hash)
            if mined is not None:
                outbox.mark_mined(self.conn, row.id, mined.block_number, mined.success, mined.error)
                settled += 1
            elif row.nonce < used:
                # Only this gateway signs for the account; a used nonce without our
                # transaction means the key is used elsewhere: stop, do not guess.
                outbox.mark_failed(self.conn, row.id, "nonce used by another transaction")
                settled += 1
            else:
                resend.append((row.id, SignedTx(row.raw_tx, row.tx_hash, row.nonce)))
        return settled + self._submit(resend)

    def run_once(self) -> int:
        """Reconcile, then send up to `window` pending rows in order; returns rows settled."""
        try:
            done = self.reconcile()
            self._expire_held()
            pending = outbox.sendable(self.conn, limit=self.window)
            # A preflight checks a row against the head state, which must already hold the
            # rows before it: with preflight the rows go one at a time.
            step = 1 if self.preflight else self.window
            for start in range(0, len(pending), step):
                done += self._send(pending[start : start + step])
            self.node_up = True
            return done
        except LedgerError as exc:
            if isinstance(exc, ContractRevert):
                raise
            self.node_up = False
            if isinstance(exc, LedgerRolledBack):
                log.error("nothing is sent: %s", exc)
            elif isinstance(exc, NodeRefused):
                # Not an outage: the node answers but will not take the area's transactions
                # (fees, funds, gas limit); they stay stored and are offered again each round.
                log.error("the node refuses this area's transactions, writes stay queued: %s", exc)
            else:
                log.warning("ledger unavailable, writes stay queued: %s", exc)
            return 0

    def _expire_held(self) -> None:
        """Fail held disclosure-log entries whose case can no longer open."""
        if not outbox.held_count(self.conn):
            return
        window = timedelta(seconds=self.ledger.parameter(APPLY_WINDOW))
        before = (datetime.now(UTC) - window).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        expired = outbox.expire_held(self.conn, before)
        if expired:
            log.warning("%s disclosure-log entries failed: their case never opened", expired)

    def _next_nonce(self) -> int:
        last = outbox.last_nonce(self.conn, self.ledger.account)
        counted = self.ledger.next_nonce()
        self._check_not_rolled_back(counted)
        return max(counted, -1 if last is None else last + 1)

    def _check_not_rolled_back(self, counted: int) -> None:
        """Raise LedgerRolledBack if the ledger's count of the account's transactions does
        not cover every nonce this gateway saw mined."""
        mined = outbox.last_mined_nonce(self.conn, self.ledger.account)
        if mined is not None and counted <= mined:
            raise LedgerRolledBack(
                f"the ledger counts {counted} transactions of {self.ledger.account} but nonce "
                f"{mined} was seen mined: the node lost blocks; restore its full chain"
            )

    def _send(self, rows: list[OutboxRow]) -> int:
        """Sign `rows` at consecutive nonces, store them all as sent, then submit them."""
        nonce = self._next_nonce()
        base_fee = self.ledger.base_fee()
        failed = 0
        signed: list[Signed] = []
        for row in rows:
            tx = self._sign(row, nonce, base_fee)
            if tx is None:
                failed += 1
                continue
            signed.append((row.id, tx))
            nonce += 1
        if signed:
            with transaction(self.conn):  # one commit for the window, before any submission
                for outbox_id, tx in signed:
                    outbox.mark_sent(
                        self.conn, outbox_id, self.ledger.account, tx.nonce, tx.tx_hash, tx.raw
                    )
        return failed + self._submit(signed)

    def _sign(self, row: OutboxRow, nonce: int, base_fee: int) -> SignedTx | None:
        """The row's transaction at `nonce`, or None once a row refused before signing is
        marked failed (its nonce stays free)."""
        try:
            fn = self.ledger.build(row.kind, row.payload)
        except Exception as exc:  # building is local: whatever fails is the payload's
            reason = (
                str(exc) if isinstance(exc, LedgerError) else f"malformed outbox payload: {exc}"
            )
            outbox.mark_failed(self.conn, row.id, reason)
            return None
        if self.preflight:
            try:
                self.ledger.preflight(fn)
            except ContractRevert as exc:
                outbox.mark_failed(self.conn, row.id, str(exc))
                return None
        return self.ledger.sign(fn, nonce, base_fee)

    def _submit(self, txs: list[Signed]) -> int:
        """Submit stored transactions of consecutive nonces and record their outcomes; returns
        rows settled. Raises LedgerError, after recording the rest, if any is left in flight."""
        settled = 0
        lost: LedgerError | None = None
        while txs:
            outcomes = self.ledger.submit_many([tx for _, tx in txs])
            failpoints.reach(failpoints.TX_SENT)
            queue, txs = txs, []
            for pos, ((outbox_id, tx), outcome) in enumerate(zip(queue, outcomes, strict=True)):
                if isinstance(outcome, Mined):
                    outbox.mark_mined(
                        self.conn, outbox_id, outcome.block_number, outcome.success, outcome.error
                    )
                    settled += 1
                elif isinstance(outcome, ContractRevert):
                    # Refused at submission: its nonce is unused, and the submission stopped.
                    later = queue[pos + 1 :]
                    if later:
                        txs = [self._fill(outbox_id, tx.nonce, outcome), *later]
                    else:
                        outbox.mark_failed(self.conn, outbox_id, str(outcome))
                    settled += 1
                    break
                else:  # in flight or not submitted: stays sent, for `reconcile`
                    lost = lost or outcome
            if lost is not None:
                raise lost
        return settled

    def _fill(self, refused_id: int, nonce: int, reason: ContractRevert) -> Signed:
        """Fail a row refused at submission and store a filler at its nonce in one commit."""
        filler = self.ledger.sign_filler(nonce)
        account = self.ledger.account
        with transaction(self.conn):
            outbox.mark_failed(self.conn, refused_id, str(reason))
            filler_id = outbox.enqueue(self.conn, FILLER, {"nonce": nonce, "refused": refused_id})
            outbox.mark_sent(self.conn, filler_id, account, nonce, filler.tx_hash, filler.raw)
        log.warning(
            "outbox row %s refused at submission (%s); nonce %s filled", refused_id, reason, nonce
        )
        return filler_id, filler
