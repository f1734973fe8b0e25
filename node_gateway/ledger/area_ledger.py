"""One customs area's view of the ledger: its account and contracts, composed of the contract
call behind each outbox kind (`calls`), signing and submission (`transactions`) and typed reads
(`reads`); plus the read-only RPC front and the verifier on the same connection.

Everything other packages take from the ledger is importable from here.
"""

from __future__ import annotations

import threading
from typing import Any

from eth_account import Account
from web3.contract.contract import ContractFunction
from web3.types import TxParams

from clients.bindings import Contracts, attach_contracts
from clients.verify import LedgerView, Verifier
from node_gateway.ledger.backends.read_only_rpc import ReadOnlyRpc, RpcLimits
from node_gateway.ledger.calls import Calls
from node_gateway.ledger.reads import (
    CACHE_S,
    MemberOnLedger,
    ProposalOnLedger,
    Reads,
    ReturnOnLedger,
)
from node_gateway.ledger.signer import SignedTx
from node_gateway.ledger.transactions import (
    FILLER_GAS,
    PIECE_GAS,
    RECEIPT_TIMEOUT_S,
    TX_GAS,
    Backend,
    Mined,
    PipelinedBackend,
    Transactions,
    gas_limit,
)
from node_gateway.outbox_kinds import OutboxKind


class AreaLedger(Transactions, Reads):
    """The ledger as one area's gateway uses it: its account, its contracts, its reads."""

    def __init__(self, backend: Backend, addresses: dict[str, str], private_key: bytes) -> None:
        self.backend = backend
        self.w3 = backend.w3
        self.contracts: Contracts = attach_contracts(self.w3, addresses)
        self._calls = Calls(self.contracts)
        self._account = Account.from_key(private_key)
        # Reads name a sender: without one web3 asks the node for its accounts on every call.
        self._from: TxParams = {"from": self._account.address}
        self._chain_id: int | None = None
        self._lock = threading.Lock()
        self._start_cache()

    @property
    def return_ledger_address(self) -> str:
        """ReturnLedger's address (the EIP-712 verifying contract)."""
        return str(self.contracts.return_ledger.address)

    def kinds(self) -> frozenset[OutboxKind]:
        """The outbox kinds this ledger can send."""
        return self._calls.kinds()

    def build(self, kind: str, payload: dict[str, Any]) -> ContractFunction:
        """The contract function an outbox row stands for."""
        return self._calls.build(kind, payload)

    def update_profile(
        self, encryption_key: bytes, gateway_url: str, nonce: int | None = None
    ) -> Mined:
        """Publish this area's encryption key and gateway URL (sent now, not via the outbox,
        at `nonce` — default the account's next — which the caller must keep clear of
        transactions signed in the outbox)."""
        fn = self.contracts.consortium.functions.updateProfile(encryption_key, gateway_url)
        signed = self.sign(fn, self.next_nonce() if nonce is None else nonce)
        mined = self.submit(signed.raw)
        self._cache.clear()
        return mined

    def read_only_rpc(self, limits: RpcLimits | None = None) -> ReadOnlyRpc | None:
        """The read-only JSON-RPC front of an embedded ledger, calling only the consortium's
        contracts (None on a real node, whose own RPC URL members use instead)."""
        log_source = getattr(self.backend, "logs_between", None)
        if log_source is None:
            return None
        targets = self.contracts.addresses().values()
        return ReadOnlyRpc(self.w3, log_source, call_targets=targets, limits=limits)

    def verifier(self) -> Verifier:
        """A standalone verifier on the current head."""
        return Verifier(
            LedgerView(self.contracts, log_source=getattr(self.backend, "logs_between", None))
        )


__all__ = [
    "CACHE_S",
    "FILLER_GAS",
    "PIECE_GAS",
    "RECEIPT_TIMEOUT_S",
    "TX_GAS",
    "AreaLedger",
    "Backend",
    "MemberOnLedger",
    "Mined",
    "PipelinedBackend",
    "ProposalOnLedger",
    "ReturnOnLedger",
    "SignedTx",
    "gas_limit",
]
