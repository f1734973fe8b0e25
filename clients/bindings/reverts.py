"""Revert decoding: every backend's failure (eth-tester's `TransactionFailed`, web3's
`ContractCustomError`, a receipt with status 0) becomes one `ContractRevert(name, args)`; and
the calls and transactions that go through it."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from eth_abi.abi import decode as abi_decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import Web3Exception
from web3.types import TxReceipt

from clients.bindings.artifacts import CONTRACT_NAMES, load_artifact
from clients.errors import ContractRevert, LedgerError

DEFAULT_GAS = 3_000_000


@dataclass(frozen=True)
class _ErrorAbi:
    name: str
    types: list[str]
    names: list[str]


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return str(item["type"])


@functools.cache
def _error_table() -> dict[bytes, _ErrorAbi]:
    table: dict[bytes, _ErrorAbi] = {
        keccak(text="Error(string)")[:4]: _ErrorAbi("Error", ["string"], ["message"]),
        keccak(text="Panic(uint256)")[:4]: _ErrorAbi("Panic", ["uint256"], ["code"]),
    }
    for name in CONTRACT_NAMES:
        for item in load_artifact(name).abi:
            if item["type"] != "error":
                continue
            types = [_abi_type(i) for i in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            table[selector] = _ErrorAbi(item["name"], types, [i["name"] for i in item["inputs"]])
    return table


def decode_revert_data(data: bytes) -> ContractRevert:
    """Decode revert bytes into the contract's error name and named arguments."""
    error = _error_table().get(data[:4])
    if error is None:
        return ContractRevert("UnknownRevert", {"data": data}, data)
    values = [
        to_checksum_address(v) if t == "address" else v
        for t, v in zip(error.types, abi_decode(error.types, data[4:]), strict=True)
    ]
    return ContractRevert(error.name, dict(zip(error.names, values, strict=True)), data)


def _revert_bytes(exc: BaseException) -> bytes | None:
    """The raw revert data of a backend's exception.

    web3 puts it in `.data` as hex; eth-tester puts the repr of a bytes literal after
    "execution reverted: " in its message.
    """
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, bytes):
        return data
    for arg in exc.args:
        if isinstance(arg, bytes):
            return arg
        if not isinstance(arg, str):
            continue
        literal = arg.split("execution reverted: ", 1)[-1].strip()
        if literal.startswith(("b'", 'b"')):
            try:
                value = ast.literal_eval(literal)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, bytes):
                return value
        elif literal.startswith("0x"):
            try:
                return bytes.fromhex(literal[2:])
            except ValueError:
                continue
    return None


def revert_from_exception(exc: BaseException) -> ContractRevert | None:
    """The decoded revert carried by a backend's exception, or None if it carries none."""
    data = _revert_bytes(exc)
    if data is None or len(data) < 4:
        return None
    return decode_revert_data(data)


@contextmanager
def reverts_decoded() -> Iterator[None]:
    """Re-raise a backend's exception that carries revert data as `ContractRevert`."""
    try:
        yield
    except Exception as exc:
        revert = revert_from_exception(exc)
        if revert is None:
            raise
        raise revert from exc


def call(fn: ContractFunction, sender: str | None = None) -> Any:
    """Call a view function; a revert becomes `ContractRevert`."""
    with reverts_decoded():
        return fn.call({"from": sender} if sender else None)


def transact(fn: ContractFunction, sender: str, gas: int = DEFAULT_GAS) -> TxReceipt:
    """Send a transaction from an unlocked account with explicit gas and wait for its receipt.

    A revert (raised at submission, or a receipt with status 0, replayed to read its reason)
    becomes `ContractRevert`.
    """
    w3 = fn.w3
    with reverts_decoded():
        tx_hash = fn.transact({"from": sender, "gas": gas})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)
    if receipt["status"] == 1:
        return receipt
    raise replay_failure(w3, tx_hash, receipt)


def replay_failure(w3: Web3, tx_hash: bytes, receipt: TxReceipt) -> ContractRevert:
    """Re-run a failed transaction as a call to read its revert reason.

    The call runs on the state of the transaction's own block, so `block.timestamp` is the one the
    transaction saw; a failed transaction changed no contract state.
    """
    tx = w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    request = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}
    try:
        w3.eth.call(request, receipt["blockNumber"])  # type: ignore[arg-type]
    except Exception as exc:
        revert = revert_from_exception(exc)
        if revert is not None:
            return revert
    if receipt["gasUsed"] >= tx["gas"]:
        return ContractRevert("OutOfGas", {"gas": tx["gas"]})
    return ContractRevert("UnknownRevert", {"tx": bytes(tx_hash)})


@contextmanager
def ledger_errors(where: str) -> Iterator[None]:
    """Turn what web3 and the HTTP stack raise while reading a ledger node into LedgerError
    (or ContractRevert), so SDK callers catch one root."""
    try:
        yield
    except LedgerError:
        raise
    except (Web3Exception, OSError, ValueError, requests.RequestException) as exc:
        revert = revert_from_exception(exc)
        if revert is not None:
            raise revert from exc
        raise LedgerError(f"ledger at {where}: {str(exc)[:300] or type(exc).__name__}") from exc


__all__ = [
    "DEFAULT_GAS",
    "call",
    "decode_revert_data",
    "ledger_errors",
    "replay_failure",
    "revert_from_exception",
    "reverts_decoded",
    "transact",
]
