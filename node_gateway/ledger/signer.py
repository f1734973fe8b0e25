"""The gateway's one transaction signer: the shape of a contract call or transfer, EIP-1559
fees, and `sign_tx`, which every transaction the gateway sends goes through (AreaLedger's and
LocalSigner's, the deployer's included).

A gateway never uses a node's unlocked accounts: it signs with its own key (eth-account) and
submits raw transactions, so the same code runs against the embedded chain, anvil and Besu.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.types import TxReceipt

from clients.bindings.reverts import DEFAULT_GAS, replay_failure
from clients.errors import InputFileError

TRANSFER_GAS = 21_000


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


def head_base_fee(w3: Web3) -> int:
    """The head block's base fee (0 on a chain without one, e.g. Besu with zero gas)."""
    return int(w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction ready to submit (or re-submit, byte for byte)."""

    raw: bytes
    tx_hash: str
    nonce: int


def call_tx(
    fn: ContractFunction | ContractConstructor,
    sender: str,
    *,
    gas: int,
    chain_id: int,
    nonce: int,
    base_fee: int,
) -> dict[str, Any]:
    """The unsigned transaction of a contract call or deployment."""
    tx = {"from": sender, "gas": gas, "chainId": chain_id, "nonce": nonce, **fees(base_fee)}
    return dict(fn.build_transaction(tx))  # type: ignore[arg-type]


def transfer_tx(
    sender: str, to: str, value: int, *, chain_id: int, nonce: int, base_fee: int
) -> dict[str, Any]:
    """The unsigned transaction of an ether transfer."""
    return {
        "from": sender,
        "to": to,
        "value": value,
        "gas": TRANSFER_GAS,
        "chainId": chain_id,
        "nonce": nonce,
        **fees(base_fee),
    }


def sign_tx(account: LocalAccount, tx: dict[str, Any]) -> SignedTx:
    """Sign a transaction built by `call_tx` or `transfer_tx` (nothing is sent)."""
    signed = account.sign_transaction(tx)
    return SignedTx(bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex(), tx["nonce"])


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

    def _tx_args(self) -> dict[str, int]:
        w3 = self.ledger.w3
        return {
            "chain_id": int(w3.eth.chain_id),
            "base_fee": head_base_fee(w3),
            "nonce": self._next_nonce(),
        }

    def send(self, fn: ContractFunction | ContractConstructor, gas: int = DEFAULT_GAS) -> TxReceipt:
        """Sign and send a contract call or deployment; a revert raises ContractRevert."""
        with self._lock:
            receipt = self._submit(call_tx(fn, self.address, gas=gas, **self._tx_args()))
        if receipt["status"] != 1:
            raise replay_failure(self.ledger.w3, receipt["transactionHash"], receipt)
        return receipt

    def transfer(self, to: str, value: int) -> TxReceipt:
        """Send ether (gas money on a chain that charges it)."""
        with self._lock:
            return self._submit(transfer_tx(self.address, to, value, **self._tx_args()))

    def _submit(self, tx: dict[str, Any]) -> TxReceipt:
        signed = sign_tx(self._account, tx)
        try:
            return self.ledger.send_raw_transaction(signed.raw)
        except Exception:
            self._nonce = None  # re-read from the ledger: the nonce may or may not be used
            raise
