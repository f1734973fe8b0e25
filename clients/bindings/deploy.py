"""Deploying and wiring the three contracts: the one home for their deployment order and
constructor arguments, whoever signs the transactions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract.contract import ContractConstructor
from web3.types import TxReceipt

from clients.bindings.artifacts import Contracts, attach_contracts, load_artifact
from clients.errors import LedgerError

DEPLOY_GAS = 8_000_000

# Sends a constructor transaction and returns its mined receipt.
SendConstructor = Callable[[ContractConstructor], TxReceipt]


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


def deploy_receipts(
    w3: Web3, founders: Sequence[Founder], threshold: int, send: SendConstructor
) -> dict[str, TxReceipt]:
    """Deploy Consortium (with its founders), TaxAnchor and ReturnLedger in that order through
    `send`, each wired to the ones before; contract name -> deployment receipt."""
    receipts: dict[str, TxReceipt] = {}

    def deploy(name: str, *args: Any) -> str:
        artifact = load_artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = send(factory.constructor(*args))
        if receipt["status"] != 1 or not receipt["contractAddress"]:
            raise LedgerError(f"deploying {name} failed in tx {receipt['transactionHash'].hex()}")
        receipts[name] = receipt
        return str(receipt["contractAddress"])

    consortium = deploy("Consortium", [f.as_tuple() for f in founders], threshold)
    tax_anchor = deploy("TaxAnchor", consortium)
    deploy("ReturnLedger", consortium, tax_anchor)
    return receipts


def deploy_contracts(
    w3: Web3, deployer: str, founders: Sequence[Founder], threshold: int
) -> Contracts:
    """Deploy Consortium, TaxAnchor and ReturnLedger from an unlocked account and wire them."""

    def send(constructor: ContractConstructor) -> TxReceipt:
        tx_hash = constructor.transact({"from": deployer, "gas": DEPLOY_GAS})
        return w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)

    receipts = deploy_receipts(w3, founders, threshold, send)
    return attach_contracts(
        w3, {name: str(receipt["contractAddress"]) for name, receipt in receipts.items()}
    )


__all__ = ["DEPLOY_GAS", "Founder", "SendConstructor", "deploy_contracts", "deploy_receipts"]
