"""Committed contract artifacts and web3 contract objects for them.

Artifacts are read from contracts/build (or `CROSSRETURN_ARTIFACTS`); nothing here needs a
compiler.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from clients.errors import LedgerError

ARTIFACTS_DIR = Path(
    os.environ.get(
        "CROSSRETURN_ARTIFACTS", Path(__file__).resolve().parents[2] / "contracts" / "build"
    )
)
CONTRACT_NAMES = ("Consortium", "TaxAnchor", "ReturnLedger")


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


def attach_contracts(w3: Web3, addresses: dict[str, str]) -> Contracts:
    """The three contracts at known addresses (keys as in `Contracts.addresses`)."""
    return Contracts(
        w3=w3,
        consortium=contract_at(w3, "Consortium", addresses["Consortium"]),
        tax_anchor=contract_at(w3, "TaxAnchor", addresses["TaxAnchor"]),
        return_ledger=contract_at(w3, "ReturnLedger", addresses["ReturnLedger"]),
    )


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


__all__ = [
    "ARTIFACTS_DIR",
    "CONTRACT_NAMES",
    "Artifact",
    "Contracts",
    "answers",
    "attach_contracts",
    "contract_at",
    "load_artifact",
    "rpc_web3",
]
