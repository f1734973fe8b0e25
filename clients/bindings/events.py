"""Decoding the contracts' event logs into names and arguments."""

from __future__ import annotations

import functools
from typing import Any

from eth_utils.abi import event_abi_to_log_topic
from eth_utils.address import to_checksum_address
from web3.types import TxReceipt

from clients.bindings.artifacts import Contracts, load_artifact
from clients.errors import LedgerError


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


__all__ = ["contract_name", "decode_log", "event_record", "event_topic", "events"]
