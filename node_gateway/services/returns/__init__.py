"""The life of a return (DESIGN §3) as this area plays it.

Return centre: relay the return enterprise's signed application (opening the case from its
anchored header when needed), record arrival and inspection. Origin: recognise or dispute the
inspection result, settle accepted lines. Each step checks what the contract will check — state,
responsibility, windows, lines — against the ledger *and* the writes still in this gateway's
outbox, so a refusal is a clear 4xx now rather than a failed operation later; then the record
goes into the vault and its ledger write into the outbox, in one transaction.
"""

from __future__ import annotations

from node_gateway.services.returns.application import apply, check_application
from node_gateway.services.returns.settlement import check_refund, settle, settled_before
from node_gateway.services.returns.steps import accepted_pieces, arrival, decide, inspection
from node_gateway.services.returns.write import queue_step, store_step

__all__ = [
    "accepted_pieces",
    "apply",
    "arrival",
    "check_application",
    "check_refund",
    "decide",
    "inspection",
    "queue_step",
    "settle",
    "settled_before",
    "store_step",
]
