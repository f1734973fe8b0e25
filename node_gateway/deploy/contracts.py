"""Deploy and wire the three contracts with local signing, and describe the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clients.ledger_bindings import (
    CONTRACT_NAMES,
    Contracts,
    Founder,
    attach_contracts,
    load_artifact,
)
from node_gateway.ledger.signer import LocalSigner

DEPLOY_GAS = 8_000_000


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
    """Deploy Consortium (with its founders), TaxAnchor and ReturnLedger."""
    w3 = deployer.ledger.w3
    blocks: list[int] = []

    def one(name: str, *args: Any) -> str:
        artifact = load_artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = deployer.send(factory.constructor(*args), gas=DEPLOY_GAS)
        blocks.append(int(receipt["blockNumber"]))
        return str(receipt["contractAddress"])

    consortium = one("Consortium", [f.as_tuple() for f in founders], threshold)
    tax_anchor = one("TaxAnchor", consortium)
    return_ledger = one("ReturnLedger", consortium, tax_anchor)
    addresses = {"Consortium": consortium, "TaxAnchor": tax_anchor, "ReturnLedger": return_ledger}
    return Deployment(
        chain_id=int(w3.eth.chain_id),
        addresses=addresses,
        block=blocks[0],
        deployer=deployer.address,
        artifacts={name: load_artifact(name).sha256 for name in CONTRACT_NAMES},
    )


def contracts_of(deployer: LocalSigner, deployment: Deployment) -> Contracts:
    """The deployed contracts on the signer's connection."""
    return attach_contracts(deployer.ledger.w3, deployment.addresses)
