"""The outbox sender: turns pending outbox rows into ledger transactions of the area's account.

Exactly once, across crashes:
- a row is checked against the head state first (`eth_call`); a write the contract refuses is
  marked failed before it uses a nonce;
- the signed transaction (raw bytes, nonce, hash) is stored and committed *before* it is
  submitted;
- on start (and whenever a submission failed for want of a node) `reconcile` looks at every
  row left `sent`: mined -> confirmed or failed from its receipt; unknown to the ledger -> the
  very same bytes are submitted again (same nonce, same hash, so it cannot land twice).

Nonces come from the store's own sequence (max of the ledger's count and the last nonce the
store gave out, plus one), so a restart never reuses or skips one.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from clients.errors import ContractRevert, LedgerError
from node_gateway.ledger.area import AreaLedger
from node_gateway.store import outbox

log = logging.getLogger(__name__)


class Sender:
    """Sends one area's outbox through its account."""

    def __init__(
        self, conn: sqlite3.Connection, ledger: AreaLedger, preflight: bool = False
    ) -> None:
        self.conn = conn
        self.ledger = ledger
        self.node_up = True
        # The API checks each step against the ledger before accepting it, so a dry run of
        # every transaction (an eth_call, ~40% of the EVM time per write) is off by default;
        # a write refused anyway is recorded as failed with the decoded reason.
        self.preflight = preflight

    def reconcile(self) -> int:
        """Settle rows left `sent` by a crash or an outage; returns how many were settled."""
        settled = 0
        for row in outbox.with_status(self.conn, "sent", limit=10_000):
            assert row.tx_hash is not None and row.nonce is not None and row.raw_tx is not None
            mined = self.ledger.find_mined(row.tx_hash)
            if mined is None:
                if self.ledger.next_nonce() > row.nonce:
                    # Only this gateway signs for the account; a used nonce without our
                    # transaction means the key is used elsewhere: stop, do not guess.
                    outbox.mark_failed(self.conn, row.id, "nonce used by another transaction")
                    settled += 1
                    continue
                try:
                    mined = self.ledger.submit(row.raw_tx)
                except ContractRevert as exc:
                    outbox.mark_failed(self.conn, row.id, str(exc))
                    settled += 1
                    continue
            outbox.mark_mined(self.conn, row.id, mined.block_number, mined.success, mined.error)
            settled += 1
        return settled

    def run_once(self, limit: int = 100) -> int:
        """Reconcile, then send up to `limit` pending rows in order; returns rows settled."""
        try:
            done = self.reconcile()
            pending = outbox.with_status(self.conn, "pending", limit=limit)
            if pending:
                account = self.ledger.account
                last = outbox.last_nonce(self.conn, account)
                nonce = max(self.ledger.next_nonce(), -1 if last is None else last + 1)
                base_fee = self.ledger.base_fee()
                for row in pending:
                    if self._send(row.id, row.kind, row.payload, nonce, base_fee):
                        nonce += 1
                    done += 1
            self.node_up = True
            return done
        except LedgerError as exc:
            if not isinstance(exc, ContractRevert):
                self.node_up = False
                log.warning("ledger unavailable, writes stay queued: %s", exc)
                return 0
            raise

    def _send(
        self, outbox_id: int, kind: str, payload: dict[str, Any], nonce: int, base_fee: int
    ) -> bool:
        """Send one row at `nonce`; returns whether the nonce was used."""
        try:
            fn = self.ledger.build(kind, payload)
            if self.preflight:
                self.ledger.preflight(fn)
        except ContractRevert as exc:
            outbox.mark_failed(self.conn, outbox_id, str(exc))
            return False
        except (KeyError, ValueError, TypeError) as exc:
            outbox.mark_failed(self.conn, outbox_id, f"malformed outbox payload: {exc}")
            return False
        signed = self.ledger.sign(fn, nonce, base_fee)
        outbox.mark_sent(
            self.conn, outbox_id, self.ledger.account, nonce, signed.tx_hash, signed.raw
        )
        try:
            mined = self.ledger.submit(signed.raw)
        except ContractRevert as exc:
            # Refused at submission, not mined: the nonce is unused.
            outbox.mark_failed(self.conn, outbox_id, str(exc))
            return False
        # A transaction mined with status 0 used its nonce: failed, with the decoded reason.
        outbox.mark_mined(self.conn, outbox_id, mined.block_number, mined.success, mined.error)
        return True
