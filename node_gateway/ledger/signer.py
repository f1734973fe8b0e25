"""Local signing of contract transactions, with the account's own nonce sequence.

A gateway never uses a node's unlocked accounts: it signs with its own key (eth-account) and
submits raw transactions, so the same code runs against the embedded chain, anvil and Besu.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from eth_account import Account
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.types import TxReceipt

from clients.errors import InputFileError
from clients.ledger_bindings import replay_failure

DEFAULT_GAS = 3_000_000


def read_key_file(path: Path) -> bytes:
    """A private key kept as hex (optionally 0x-prefixed) in a file, e.g. an area's
    account.key; InputFileError when it cannot be read or is not a key."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read the key file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputFileError(str(path), "not a private key (64 hex digits)") from None
    try:
        key = bytes.fromhex(text.removeprefix("0x"))
        Account.from_key(key)
    except ValueError:
        raise InputFileError(str(path), "not a private key (64 hex digits)") from None
    return key


def address_of(private_key: bytes | str) -> str:
    """The checksummed account address of a private key."""
    return str(Account.from_key(private_key).address)


class RawSender(Protocol):
    """A ledger that accepts signed transactions and returns their receipts."""

    w3: Web3

    def send_raw_transaction(self, raw: bytes) -> TxReceipt:
        """Submit a signed transaction and return its receipt."""
        ...


def fees(base_fee: int) -> dict[str, int]:
    """EIP-1559 fees for a transaction at `base_fee`: room for the base fee to double and a
    1-wei tip — and nothing at all on a zero-gas chain (Besu with zeroBaseFee and
    min-gas-price 0), where members' accounts hold no ether."""
    if base_fee == 0:
        return {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
    return {"maxFeePerGas": 2 * base_fee + 1, "maxPriorityFeePerGas": 1}


class LocalSigner:
    """Signs and sends transactions for one account, numbering nonces itself."""

    def __init__(self, ledger: RawSender, private_key: bytes) -> None:
        self.ledger = ledger
        self._account = Account.from_key(private_key)
        self._lock = threading.Lock()
        self._nonce: int | None = None

    @property
    def address(self) -> str:
        """The account's checksum address."""
        return str(self._account.address)

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = int(self.ledger.w3.eth.get_transaction_count(self._account.address))
        nonce = self._nonce
        self._nonce += 1
        return nonce

    def _fees(self) -> dict[str, int]:
        return fees(int(self.ledger.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0))

    def send(self, fn: ContractFunction | ContractConstructor, gas: int = DEFAULT_GAS) -> TxReceipt:
        """Sign and send a contract call or deployment; a revert raises ContractRevert."""
        with self._lock:
            tx: dict[str, Any] = {
                "from": self._account.address,
                "gas": gas,
                "chainId": int(self.ledger.w3.eth.chain_id),
                **self._fees(),
            }
            tx["nonce"] = self._next_nonce()
            built = dict(fn.build_transaction(tx))  # type: ignore[arg-type]
            receipt = self._submit(built)
        if receipt["status"] != 1:
            raise replay_failure(self.ledger.w3, receipt["transactionHash"], receipt)
        return receipt

    def transfer(self, to: str, value: int) -> TxReceipt:
        """Send ether (gas money on a chain that charges it)."""
        with self._lock:
            tx = {
                "from": self._account.address,
                "to": to,
                "value": value,
                "gas": 21_000,
                "chainId": int(self.ledger.w3.eth.chain_id),
                "nonce": self._next_nonce(),
                **self._fees(),
            }
            return self._submit(tx)

    def _submit(self, tx: dict[str, Any]) -> TxReceipt:
        signed = self._account.sign_transaction(tx)
        try:
            return self.ledger.send_raw_transaction(bytes(signed.raw_transaction))
        except Exception:
            self._nonce = None  # re-read from the ledger: the nonce may or may not be used
            raise
