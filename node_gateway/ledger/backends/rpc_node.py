"""The JSON-RPC ledger backend: any Ethereum node over HTTP (anvil, Besu) as a `Backend` /
`RawSender`, so AreaLedger, the sender, the indexer and the deployer run on it unchanged.

A node that does not answer is a `LedgerError` (an outage: the sender keeps its writes queued);
what the node refuses keeps web3's exception, so reverts decode to `ContractRevert`. Receipts
are polled every few milliseconds (web3's 0.1 s default made 1,000 txs take 63 s on anvil).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import requests
from eth_utils.crypto import keccak
from web3 import HTTPProvider, Web3
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import TxReceipt

from clients.bindings import answers
from clients.errors import LedgerError

POLL_S = 0.005


class ChainMismatch(LedgerError):
    """The node is not the chain the deployment manifest describes."""


def check_chain(w3: Web3, chain_id: int, addresses: dict[str, str]) -> None:
    """Raise ChainMismatch unless the node behind `w3` has the deployment manifest's
    `chain_id` and code at each of its contract `addresses` (an anvil restarted without its
    state has the same chain id and no contracts); LedgerError if the node does not answer."""
    try:
        node_chain = int(w3.eth.chain_id)
        missing = [
            name
            for name, address in addresses.items()
            if not w3.eth.get_code(address)  # type: ignore[arg-type]
        ]
    except (requests.RequestException, OSError) as exc:
        raise LedgerError(f"the ledger node does not answer: {type(exc).__name__}") from exc
    if node_chain != chain_id:
        raise ChainMismatch(
            f"the node is on chain {node_chain} but the deployment manifest is for chain "
            f"{chain_id}: wrong node URL or wrong manifest"
        )
    if missing:
        raise ChainMismatch(
            f"chain {node_chain} has no contract code at the manifest's address of "
            f"{', '.join(missing)}: the node's chain was reset, or it is another chain with "
            "the same id"
        )


class RpcNode:
    """A ledger node at a JSON-RPC URL; every request times out after `timeout` seconds, and a
    transaction not mined within `receipt_timeout` seconds is reported as an outage."""

    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        receipt_timeout: float = 30.0,
        poll_s: float = POLL_S,
    ) -> None:
        self.url = url
        self.receipt_timeout = receipt_timeout
        self.poll_s = poll_s
        # No retries inside web3: a node that is down should be reported at once (the sender
        # and the API decide when to try again), not after ~4 s of backoff per request.
        provider = HTTPProvider(
            url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
        )
        self.w3 = Web3(provider)
        self._chain_id: int | None = None

    def _unreachable(self, exc: BaseException) -> LedgerError:
        reason = type(exc).__name__
        if isinstance(exc, requests.ConnectionError):
            reason = "connection refused or reset"
        elif isinstance(exc, requests.Timeout):
            reason = "timed out"
        return LedgerError(f"no answer from the JSON-RPC node at {self.url} ({reason})")

    @property
    def chain_id(self) -> int:
        """The node's chain id (read once)."""
        if self._chain_id is None:
            try:
                self._chain_id = int(self.w3.eth.chain_id)
            except (requests.RequestException, OSError) as exc:
                raise self._unreachable(exc) from exc
        return self._chain_id

    def is_up(self) -> bool:
        """Whether the node answers."""
        return answers(self.w3)

    def head(self) -> dict[str, Any]:
        """The head block's number, hash and state root."""
        try:
            block = self.w3.eth.get_block("latest")
        except (requests.RequestException, OSError) as exc:
            raise self._unreachable(exc) from exc
        return {
            "number": int(block["number"]),
            "hash": "0x" + bytes(block["hash"]).hex(),
            "state_root": "0x" + bytes(block["stateRoot"]).hex(),
        }

    def send_raw_transaction(self, raw: bytes) -> TxReceipt:
        """Submit a signed transaction and return its receipt once mined.

        Submitting bytes the node already has (a resubmission after a crash) waits for that
        transaction instead of failing; other refusals raise web3's error as is.
        """
        tx_hash = self._submit(raw)
        try:
            return self.wait_for_receipt(tx_hash)
        except (requests.RequestException, OSError) as exc:
            raise self._unreachable(exc) from exc

    def send_only(self, raw: bytes) -> str:
        """Submit a signed transaction without waiting for it; returns its hash (0x-hex). Bytes
        the node already holds are no error; other refusals raise web3's error as is."""
        return "0x" + self._submit(raw).hex()

    def _submit(self, raw: bytes) -> bytes:
        tx_hash = keccak(raw)
        try:
            try:
                self.w3.eth.send_raw_transaction(raw)
            except Web3RPCError:
                if not self._knows(tx_hash):
                    raise
        except (requests.RequestException, OSError) as exc:
            raise self._unreachable(exc) from exc
        return tx_hash

    def receipts(self, tx_hashes: Sequence[str], timeout_s: float) -> dict[str, TxReceipt]:
        """The receipts of those of `tx_hashes` mined within `timeout_s`, keyed as given.

        Meant for one account's transactions of consecutive nonces: they are mined in order,
        so only the last is polled; then each receipt is read once."""
        if not tx_hashes:
            return {}
        deadline = time.monotonic() + timeout_s
        try:
            while self._receipt(tx_hashes[-1]) is None and time.monotonic() < deadline:
                time.sleep(self.poll_s)
            found = {h: self._receipt(h) for h in tx_hashes}
        except (requests.RequestException, OSError) as exc:
            raise self._unreachable(exc) from exc
        return {h: r for h, r in found.items() if r is not None}

    def _receipt(self, tx_hash: str | bytes) -> TxReceipt | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _knows(self, tx_hash: bytes) -> bool:
        try:
            self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        return True

    def wait_for_receipt(self, tx_hash: bytes) -> TxReceipt:
        """Poll for a transaction's receipt every `poll_s` seconds, up to `receipt_timeout`."""
        deadline = time.monotonic() + self.receipt_timeout
        while True:
            receipt = self._receipt(tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() >= deadline:
                raise LedgerError(
                    f"transaction 0x{tx_hash.hex()} not mined within {self.receipt_timeout:g} s "
                    f"by the node at {self.url}"
                )
            time.sleep(self.poll_s)
