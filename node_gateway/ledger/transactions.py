"""Sending an area's transactions: gas limits, signing with the area's account at a chosen
nonce, submission (one at a time or pipelined) and the outcome of each mined transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from clients.bindings import replay_failure, revert_from_exception
from clients.errors import LedgerError, NodeRefused
from node_gateway.ledger.reads import ledger_read
from node_gateway.ledger.signer import (
    TRANSFER_GAS,
    SignedTx,
    call_tx,
    head_base_fee,
    sign_tx,
    transfer_tx,
)

TX_GAS = 1_500_000
PIECE_GAS = 40_000
RECEIPT_TIMEOUT_S = 60.0
FILLER_GAS = TRANSFER_GAS


class Backend(Protocol):
    """A ledger connection that accepts signed transactions."""

    w3: Web3

    def send_raw_transaction(self, raw: bytes) -> TxReceipt:
        """Submit a signed transaction and return its receipt once mined."""
        ...


@runtime_checkable
class PipelinedBackend(Protocol):
    """A backend that keeps several transactions in flight (a JSON-RPC node): submit without
    waiting, then collect the receipts. Optional: without it (the embedded chain, which mines
    on submission) transactions go one at a time through `send_raw_transaction`."""

    def send_only(self, raw: bytes) -> str:
        """Submit a signed transaction to the node's pool and return its hash (0x-hex) without
        waiting for it to be mined. A transaction the node already holds is no error (its hash
        is returned); an exception carrying revert data means the node refused it for good."""
        ...

    def receipts(self, tx_hashes: Sequence[str], timeout_s: float) -> dict[str, TxReceipt]:
        """The receipts of those of `tx_hashes` mined within `timeout_s`, keyed by the hashes as
        given; one not mined by then is left out."""
        ...


def _submission_error(exc: Exception) -> LedgerError:
    """What a failed submission means: the contract's decoded revert (refused for good),
    NodeRefused (the node answered but would not take it: fees, funds, gas limit …), or a
    LedgerError (the node failed; the transaction may or may not be in its pool)."""
    if isinstance(exc, LedgerError):
        return exc
    revert = revert_from_exception(exc)
    if revert is not None:
        return revert
    if isinstance(exc, OSError | requests.RequestException):  # ConnectionError, timeouts
        return LedgerError(f"the ledger did not take the transaction: {exc}")
    return NodeRefused(" ".join(str(exc).split())[:300] or type(exc).__name__)


@dataclass(frozen=True)
class Mined:
    """The outcome of a mined transaction."""

    block_number: int
    success: bool
    error: str | None


def gas_limit(fn: ContractFunction) -> int:
    """The gas a transaction of `fn` may use: TX_GAS, plus PIECE_GAS per piece count it carries
    (each line of a case header or a return costs storage: a 99-line case opened with a
    99-line application uses ~3.5 M gas, within every chain's block gas limit)."""

    def counts(value: Any) -> int:
        if isinstance(value, (list, tuple)):
            if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                return len(value) if isinstance(value, list) else 0
            return sum(counts(v) for v in value)
        return 0

    return TX_GAS + PIECE_GAS * counts(list(fn.args))


class Transactions:
    """The writing half of AreaLedger: its account, nonces, signing and submission."""

    backend: Backend
    w3: Web3
    _account: LocalAccount
    _chain_id: int | None

    @property
    def account(self) -> str:
        """The area's signing account (checksum address)."""
        return str(self._account.address)

    @property
    @ledger_read
    def chain_id(self) -> int:
        """The chain id (read once)."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def preflight(self, fn: ContractFunction) -> None:
        """Run the call against the head state; a revert raises ContractRevert before any nonce
        is spent."""
        try:
            fn.call({"from": self.account, "gas": gas_limit(fn)})
        except Exception as exc:
            revert = revert_from_exception(exc)
            if revert is None:
                raise LedgerError(f"ledger call failed: {exc}") from exc
            raise revert from exc

    @ledger_read
    def next_nonce(self) -> int:
        """The account's next nonce as the ledger counts it (pending included)."""
        return int(self.w3.eth.get_transaction_count(self._account.address, "pending"))

    @ledger_read
    def mined_nonce(self) -> int:
        """The account's next nonce counting mined transactions only: every nonce below it is
        used for good (unlike `next_nonce`, which counts the node's pool too)."""
        return int(self.w3.eth.get_transaction_count(self._account.address, "latest"))

    def sign_message(self, message: Any) -> str:
        """Sign an off-chain message (e.g. a peer request) with the area's account (0x-hex)."""
        return "0x" + bytes(self._account.sign_message(message).signature).hex()

    @ledger_read
    def base_fee(self) -> int:
        """The head block's base fee (0 on a chain without one, e.g. Besu with zero gas)."""
        return head_base_fee(self.w3)

    def sign(self, fn: ContractFunction, nonce: int, base_fee: int | None = None) -> SignedTx:
        """Sign `fn` with the area's key at `nonce` (nothing is sent); `base_fee` defaults to
        the head's (a fee read once serves a burst: on these chains it does not rise)."""
        base = self.base_fee() if base_fee is None else base_fee
        tx = call_tx(
            fn, self.account, gas=gas_limit(fn), chain_id=self.chain_id, nonce=nonce, base_fee=base
        )
        return sign_tx(self._account, tx)

    def sign_filler(self, nonce: int) -> SignedTx:
        """Sign a zero-value transfer to the account itself at `nonce`: it takes a nonce left
        unused by a refused transaction, so that the ones signed after it can be mined."""
        base = self.base_fee()
        tx = transfer_tx(
            self.account, self.account, 0, chain_id=self.chain_id, nonce=nonce, base_fee=base
        )
        return sign_tx(self._account, tx)

    def submit(self, raw: bytes) -> Mined:
        """Submit a signed transaction and wait for it to be mined."""
        try:
            receipt = self.backend.send_raw_transaction(raw)
        except LedgerError:
            raise  # the backend's own report (a JSON-RPC node that does not answer)
        except Exception as exc:
            raise _submission_error(exc) from exc
        return self._mined(receipt)

    def submit_many(
        self, txs: Sequence[SignedTx], timeout_s: float = RECEIPT_TIMEOUT_S
    ) -> list[Mined | LedgerError]:
        """Submit transactions of consecutive nonces in order without waiting for each to be
        mined, then wait for them; returns one outcome per transaction: Mined, the
        ContractRevert of one refused at submission (not taken: its nonce is unused), or a
        LedgerError for one not known to be mined (the node failed, it was not mined within
        `timeout_s`, or it was not submitted). Submission stops at the first refused or failed
        transaction, so the ones after it are never held behind an unused nonce.

        A backend without `PipelinedBackend` gets them one at a time (`submit`)."""
        outcomes: list[Mined | LedgerError] = []
        in_flight: list[tuple[int, str]] = []
        pipelined = self.backend if isinstance(self.backend, PipelinedBackend) else None
        for tx in txs:
            try:
                if pipelined is None:
                    outcomes.append(self.submit(tx.raw))
                    continue
                try:
                    pipelined.send_only(tx.raw)
                except Exception as exc:
                    raise _submission_error(exc) from exc
                in_flight.append((len(outcomes), tx.tx_hash))
                outcomes.append(LedgerError(f"{tx.tx_hash} not mined within {timeout_s}s"))
            except LedgerError as exc:
                outcomes.append(exc)
                break
        stopped = LedgerError("not submitted: an earlier transaction was refused or failed")
        outcomes.extend(stopped for _ in txs[len(outcomes) :])
        if pipelined is not None and in_flight:
            self._collect(pipelined, in_flight, outcomes, timeout_s)
        return outcomes

    def _collect(
        self,
        pipelined: PipelinedBackend,
        in_flight: list[tuple[int, str]],
        outcomes: list[Mined | LedgerError],
        timeout_s: float,
    ) -> None:
        """Fill in the outcomes of the transactions in flight from their receipts."""
        try:
            receipts = pipelined.receipts([h for _, h in in_flight], timeout_s)
            found = {str(h).lower(): r for h, r in receipts.items()}
            for i, tx_hash in in_flight:
                receipt = found.get(tx_hash.lower())
                if receipt is not None:
                    outcomes[i] = self._mined(receipt)
        except Exception as exc:  # the node failed while they were in flight
            lost = exc if isinstance(exc, LedgerError) else LedgerError(str(exc))
            for i, _ in in_flight:
                if not isinstance(outcomes[i], Mined):
                    outcomes[i] = lost

    def find_mined(self, tx_hash: str) -> Mined | None:
        """The outcome of a transaction already mined, or None if the ledger does not know it."""
        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except Exception:
            return None
        if receipt is None:
            return None
        return self._mined(receipt)

    def _mined(self, receipt: TxReceipt) -> Mined:
        if receipt["status"] == 1:
            return Mined(int(receipt["blockNumber"]), True, None)
        revert = replay_failure(self.w3, receipt["transactionHash"], receipt)
        return Mined(int(receipt["blockNumber"]), False, str(revert))
