"""Deploy and wire the three contracts with local signing, and describe the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from web3.contract.contract import ContractConstructor
from web3.types import TxReceipt

from clients.bindings import (
    CONTRACT_NAMES,
    Contracts,
    Founder,
    attach_contracts,
    load_artifact,
)
from clients.bindings.deploy import DEPLOY_GAS, deploy_receipts
from node_gateway.ledger.signer import LocalSigner

__all__ = ["DEPLOY_GAS", "Deployment", "contracts_of", "deploy"]


@dataclass(frozen=True)
class Deployment:
    """Where the contracts live, on which chain, from which artifacts, deployed by whom.

    `block` is the Consortium's deployment block: the first block with CrossReturn events.
    `artifacts` maps each contract to the sha256 of the artifact file its code came from.
    """

    chain_id: int
    addresses: dict[str, str]
    block: int
    deployer: str
    artifacts: dict[str, str]


def deploy(deployer: LocalSigner, founders: Sequence[Founder], threshold: int) -> Deployment:
    """Deploy Consortium (with its founders), TaxAnchor and ReturnLedger, signed locally."""
    w3 = deployer.ledger.w3

    def send(constructor: ContractConstructor) -> TxReceipt:
        return deployer.send(constructor, gas=DEPLOY_GAS)

    receipts = deploy_receipts(w3, founders, threshold, send=send)
    return Deployment(
        chain_id=int(w3.eth.chain_id),
        addresses={name: str(receipt["contractAddress"]) for name, receipt in receipts.items()},
        block=int(receipts["Consortium"]["blockNumber"]),
        deployer=deployer.address,
        artifacts={name: load_artifact(name).sha256 for name in CONTRACT_NAMES},
    )


def contracts_of(deployer: LocalSigner, deployment: Deployment) -> Contracts:
    """The deployed contracts on the signer's connection."""
    return attach_contracts(deployer.ledger.w3, deployment.addresses)
