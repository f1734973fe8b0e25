"""Typed access to CrossReturn's contracts: artifacts, deployment, enums and revert decoding.

This module and `verify.py` are the only places in clients/ that import web3. Artifacts are read
from contracts/build (or `CROSSRETURN_ARTIFACTS`); nothing here needs a compiler. Reverts from
every backend (eth-tester's `TransactionFailed`, web3's `ContractCustomError`, a receipt with
status 0) are decoded into one `ContractRevert(name, args)`.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

import requests
from eth_abi.abi import decode as abi_decode
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import Web3Exception
from web3.types import TxReceipt

from clients.errors import ContractRevert, LedgerError

ARTIFACTS_DIR = Path(
    os.environ.get(
        "CROSSRETURN_ARTIFACTS", Path(__file__).resolve().parents[1] / "contracts" / "build"
    )
)
CONTRACT_NAMES = ("Consortium", "TaxAnchor", "ReturnLedger")
DEFAULT_GAS = 3_000_000


class MemberKind(IntEnum):
    """Consortium.MemberKind."""

    NONE = 0
    CUSTOMS = 1
    PLATFORM = 2
    AUDITOR = 3


class MemberStatus(IntEnum):
    """Consortium.MemberStatus."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2


class ProposalKind(IntEnum):
    """Consortium.ProposalKind."""

    NONE = 0
    ADMIT = 1
    SUSPEND = 2
    REINSTATE = 3
    ADD_ACCOUNT = 4
    REMOVE_ACCOUNT = 5
    SET_PARAMETER = 6
    SET_THRESHOLD = 7


class BatchKind(IntEnum):
    """TaxAnchor.BatchKind."""

    NONE = 0
    ASSESSMENT = 1
    PAYMENT = 2


class ReturnState(IntEnum):
    """ReturnLedger.ReturnState."""

    NONE = 0
    APPLIED = 1
    ARRIVED = 2
    INSPECTED = 3
    DISPUTED = 4
    RECOGNIZED = 5
    SETTLED = 6


class LineState(IntEnum):
    """ReturnLedger.LineState."""

    NONE = 0
    APPLIED = 1
    ACCEPTED = 2
    REJECTED = 3
    SETTLED = 4


class SettlementKind(IntEnum):
    """ReturnLedger.SettlementKind."""

    NONE = 0
    NOT_LEVIED = 1
    REFUNDED = 2


# Rule parameter keys of the Consortium (keccak256 of the name, as in the contract).
APPLY_WINDOW = keccak(text="APPLY_WINDOW")
ARRIVAL_WINDOW = keccak(text="ARRIVAL_WINDOW")
MAX_LINES = keccak(text="MAX_LINES")
PROPOSAL_TTL = keccak(text="PROPOSAL_TTL")
PARAMETERS = {
    "APPLY_WINDOW": APPLY_WINDOW,
    "ARRIVAL_WINDOW": ARRIVAL_WINDOW,
    "MAX_LINES": MAX_LINES,
    "PROPOSAL_TTL": PROPOSAL_TTL,
}


def member_id(label: str) -> bytes:
    """A member id: the ASCII label (<= 32 characters) right-padded to 32 bytes."""
    raw = label.encode("ascii")
    if not raw or len(raw) > 32:
        raise ValueError(f"member label must be 1-32 ASCII characters: {label!r}")
    return raw.ljust(32, b"\0")


def member_label(member: bytes) -> str:
    """The readable label of a member id made by `member_id` (hex for any other id)."""
    text = member.rstrip(b"\0")
    if text and all(32 <= b < 127 for b in text):
        return text.decode("ascii")
    return "0x" + member.hex()


@dataclass(frozen=True)
class Artifact:
    """A compiled contract as committed in contracts/build."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler: str
    settings: dict[str, Any]
    sha256: str = ""  # of the artifact file as read (hex), recorded in deployment manifests


@functools.cache
def load_artifact(name: str) -> Artifact:
    """Read one committed artifact."""
    path = ARTIFACTS_DIR / f"{name}.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise LedgerError(f"contract artifact missing: {path}") from exc
    data = json.loads(raw.decode("utf-8"))
    return Artifact(
        name=name,
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler=data["compiler"],
        settings=data["settings"],
        sha256=hashlib.sha256(raw).hexdigest(),
    )


@dataclass(frozen=True)
class Founder:
    """A founding customs area given to the Consortium constructor."""

    member_id: bytes
    customs_code: int
    account: str
    encryption_key: bytes = b""
    gateway_url: str = ""

    def as_tuple(self) -> tuple[bytes, int, str, bytes, str]:
        """The ABI tuple of Consortium.Founder."""
        return (
            self.member_id,
            self.customs_code,
            to_checksum_address(self.account),
            self.encryption_key,
            self.gateway_url,
        )


@dataclass(frozen=True)
class Contracts:
    """The three wired contracts on one web3 connection."""

    w3: Web3
    consortium: Contract
    tax_anchor: Contract
    return_ledger: Contract

    def addresses(self) -> dict[str, str]:
        """Contract name -> checksum address."""
        return {
            "Consortium": self.consortium.address,
            "TaxAnchor": self.tax_anchor.address,
            "ReturnLedger": self.return_ledger.address,
        }


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    """A web3 contract object for a deployed CrossReturn contract."""
    return w3.eth.contract(address=to_checksum_address(address), abi=load_artifact(name).abi)


def answers(w3: Web3) -> bool:
    """Whether the ledger behind `w3` answers a request (its head block number)."""
    try:
        w3.eth.block_number  # noqa: B018 - the read is the check
    except Exception:
        return False
    return True


def rpc_web3(url: str, api_key: str | None = None, timeout: float = 30.0) -> Web3:
    """A Web3 over a JSON-RPC URL: a ledger node, or a gateway's read-only front of its
    embedded ledger (`<gateway>/v1/ledger/rpc`, which wants the member's API key)."""
    # request_kwargs' headers replace web3's own, so the content type must be restated.
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    provider = HTTPProvider(url, request_kwargs={"headers": headers, "timeout": timeout})
    return Web3(provider)


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


def attach_contracts(w3: Web3, addresses: dict[str, str]) -> Contracts:
    """The three contracts at known addresses (keys as in `Contracts.addresses`)."""
    return Contracts(
        w3=w3,
        consortium=contract_at(w3, "Consortium", addresses["Consortium"]),
        tax_anchor=contract_at(w3, "TaxAnchor", addresses["TaxAnchor"]),
        return_ledger=contract_at(w3, "ReturnLedger", addresses["ReturnLedger"]),
    )


def deploy_contracts(
    w3: Web3, deployer: str, founders: Sequence[Founder], threshold: int
) -> Contracts:
    """Deploy Consortium, TaxAnchor and ReturnLedger from an unlocked account and wire them."""

    def deploy(name: str, *args: Any) -> str:
        artifact = load_artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx_hash = factory.constructor(*args).transact({"from": deployer, "gas": 8_000_000})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)
        if receipt["status"] != 1 or not receipt["contractAddress"]:
            raise LedgerError(f"deploying {name} failed in tx {tx_hash.hex()}")
        return str(receipt["contractAddress"])

    consortium = deploy("Consortium", [f.as_tuple() for f in founders], threshold)
    tax_anchor = deploy("TaxAnchor", consortium)
    return_ledger = deploy("ReturnLedger", consortium, tax_anchor)
    return attach_contracts(
        w3, {"Consortium": consortium, "TaxAnchor": tax_anchor, "ReturnLedger": return_ledger}
    )


# ---------------------------------------------------------------------- revert decoding


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


def call(fn: ContractFunction, sender: str | None = None) -> Any:
    """Call a view function; a revert becomes `ContractRevert`."""
    try:
        return fn.call({"from": sender} if sender else None)
    except Exception as exc:
        revert = revert_from_exception(exc)
        if revert is None:
            raise
        raise revert from exc


def transact(fn: ContractFunction, sender: str, gas: int = DEFAULT_GAS) -> TxReceipt:
    """Send a transaction from an unlocked account with explicit gas and wait for its receipt.

    A revert (raised at submission, or a receipt with status 0, replayed to read its reason)
    becomes `ContractRevert`.
    """
    w3 = fn.w3
    try:
        tx_hash = fn.transact({"from": sender, "gas": gas})
    except Exception as exc:
        revert = revert_from_exception(exc)
        if revert is None:
            raise
        raise revert from exc
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


@functools.cache
def _event_names(name: str) -> dict[bytes, str]:
    return {
        event_abi_to_log_topic(item): item["name"]  # type: ignore[arg-type]
        for item in load_artifact(name).abi
        if item["type"] == "event"
    }


def event_topic(contract: str, event_name: str) -> bytes:
    """topic0 of a CrossReturn contract's event."""
    for topic, name in _event_names(contract).items():
        if name == event_name:
            return topic
    raise LedgerError(f"{contract} has no event {event_name}")


def decode_log(contracts: Contracts, log: Any) -> tuple[str, dict[str, Any]] | None:
    """(event name, args) of a CrossReturn contract's log, or None for any other log."""
    by_address = {
        contracts.consortium.address: ("Consortium", contracts.consortium),
        contracts.tax_anchor.address: ("TaxAnchor", contracts.tax_anchor),
        contracts.return_ledger.address: ("ReturnLedger", contracts.return_ledger),
    }
    known = by_address.get(to_checksum_address(log["address"]))
    if known is None or not log["topics"]:
        return None
    event_name = _event_names(known[0]).get(bytes(log["topics"][0]))
    if event_name is None:
        return None
    decoded = known[1].events[event_name]().process_log(log)
    return event_name, dict(decoded["args"])


def contract_name(contracts: Contracts, address: str) -> str:
    """Consortium, TaxAnchor or ReturnLedger for one of the three addresses (else the address)."""
    for name, addr in contracts.addresses().items():
        if addr.lower() == str(address).lower():
            return name
    return str(address)


def event_record(contracts: Contracts, log: Any) -> dict[str, Any] | None:
    """A CrossReturn log as an event record — block, logIndex, txHash, contract, event, args
    (raw decoded values) — or None for any other log."""
    decoded = decode_log(contracts, log)
    if decoded is None:
        return None
    name, args = decoded
    return {
        "block": int(log["blockNumber"]),
        "logIndex": int(log["logIndex"]),
        "txHash": "0x" + bytes(log["transactionHash"]).hex(),
        "contract": contract_name(contracts, log["address"]),
        "event": name,
        "args": args,
    }


def events(receipt: TxReceipt, contracts: Contracts) -> list[tuple[str, dict[str, Any]]]:
    """The decoded CrossReturn events of a receipt, as (event name, args), in log order."""
    out = [decode_log(contracts, log) for log in receipt["logs"]]
    return [item for item in out if item is not None]
