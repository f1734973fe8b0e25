"""The ledger for members' own clients: its coordinates, and a read-only JSON-RPC front when
the ledger is embedded (an auditor verifies against the chain, not against this gateway's
answers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from node_gateway.api.deps import Allow, CtxDep
from node_gateway.services import audit
from node_gateway.services.auth import ROLES, Principal
from node_gateway.services.rate_limit import RateLimiter

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

Member = Annotated[Principal, Depends(Allow(*ROLES))]


@router.get("", summary="Chain id, contract addresses and head of the ledger")
def get_ledger(ctx: CtxDep, who: Member) -> dict[str, Any]:
    """Where the CrossReturn contracts are; `rpc` is set when this gateway serves the
    embedded ledger's read-only JSON-RPC."""
    return audit.ledger_info(ctx)


@router.post("/rpc", summary="Read-only Ethereum JSON-RPC (embedded ledger)")
def post_rpc(request: Request, ctx: CtxDep, who: Member, payload: Annotated[Any, Body()]) -> Any:
    """eth_chainId, eth_blockNumber, eth_call, eth_estimateGas, eth_getLogs,
    eth_getBlockByNumber, eth_getTransactionReceipt, eth_getCode, net_version — nothing that
    writes. Calls go only to the consortium's contracts, with capped gas; a batch holds at most
    `rpc_max_batch` requests and spends a rate-limit token per contract call or log query in
    it. JSON-RPC errors are answered in the JSON-RPC way (HTTP 200 with `error`); a key over
    its rate limit gets 429 `rate_limited`. A platform key gets the chain's coordinates only
    (chain id, head, client version, code): any other method answers -32004 with
    `data.code` `rpc_not_for_role`; it reads its own cases through the /v1 views."""
    limiter: RateLimiter | None = request.app.state.rate_limiter
    return audit.ledger_rpc(ctx, payload, limiter, who.key_id, who.role)
