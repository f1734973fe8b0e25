"""Deploy and wire the three contracts with local signing, and describe the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clients.ledger_bindings import Contracts, Founder, attach_contracts, load_artifact
from node_gateway.ledger.signer import LocalSigner

DEPLOY_GAS = 8_000_000


@dataclass(frozen=True)
class Deployment:
    """Where the contracts live and on which chain."""

    chain_id: int
    addresses: dict[str, str]
    block: int

    def to_json(self) -> dict[str, Any]:
        """The deployment manifest."""
        return {"chainId": self.chain_id, "addresses": self.addresses, "block": self.block}


def deploy(deployer: LocalSigner, founders: Sequence[Founder], threshold: int) -> Deployment:
    """Deploy Consortium (with its founders), TaxAnchor and ReturnLedger."""
    w3 = deployer.ledger.w3

    def one(name: str, *args: Any) -> str:
        artifact = load_artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = deployer.send(factory.constructor(*args), gas=DEPLOY_GAS)
        return str(receipt["contractAddress"])

    consortium = one("Consortium", [f.as_tuple() for f in founders], threshold)
    tax_anchor = one("TaxAnchor", consortium)
    return_ledger = one("ReturnLedger", consortium, tax_anchor)
    addresses = {"Consortium": consortium, "TaxAnchor": tax_anchor, "ReturnLedger": return_ledger}
    return Deployment(int(w3.eth.chain_id), addresses, int(w3.eth.block_number))


def contracts_of(deployer: LocalSigner, deployment: Deployment) -> Contracts:
    """The deployed contracts on the signer's connection."""
    return attach_contracts(deployer.ledger.w3, deployment.addresses)
