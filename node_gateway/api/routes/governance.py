"""Consortium governance through this area's gateway: members, proposals, proposing, voting
(the area's ledger account signs; admins only for writes)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from node_gateway.api.deps import Allow, CtxDep, DbDep, WriteDep, idempotent
from node_gateway.api.schemas import ProposalIn, proposal_input
from node_gateway.services import governance
from node_gateway.services.auth import Principal

router = APIRouter(prefix="/v1/governance", tags=["governance"])

Admin = Annotated[Principal, Depends(Allow("admin"))]
Reader = Annotated[Principal, Depends(Allow("admin", "officer", "auditor"))]
ProposalId = Annotated[int, Path(ge=0, lt=2**64)]


@router.get("/members", summary="The Consortium's members")
def get_members(ctx: CtxDep, who: Reader) -> dict[str, Any]:
    """Every member in admission order: id, label, kind, status, customs code, accounts,
    gateway URL, whether an encryption key is registered; with the vote threshold."""
    return governance.members(ctx)


@router.get("/proposals", summary="Governance proposals, newest first")
def get_proposals(
    ctx: CtxDep,
    who: Reader,
    status: Annotated[Literal["open", "executed", "expired"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Each proposal's kind, target, proposer, approvals against the threshold, and status."""
    return governance.proposals(ctx, status, limit)


@router.get("/proposals/{proposal_id}", summary="One governance proposal")
def get_proposal(proposal_id: ProposalId, ctx: CtxDep, who: Reader) -> dict[str, Any]:
    """As listed: kind, target, proposer, approvals against the threshold, status."""
    return governance.proposal(ctx, proposal_id)


@router.post("/proposals", status_code=202, summary="Propose a governance change")
def post_proposal(
    body: ProposalIn,
    ctx: CtxDep,
    db: DbDep,
    who: Admin,
    write: WriteDep,
    response: Response,
) -> Any:
    """Suspension, reinstatement, account addition or removal, a rule parameter, the
    threshold, or the admission of a customs area or auditor; this area's approval counts."""
    proposal = proposal_input(body)
    return idempotent(response, db, who, write, lambda: governance.propose(ctx, db, who, proposal))


@router.post("/proposals/{proposal_id}/votes", status_code=202, summary="Approve a proposal")
def post_vote(
    proposal_id: ProposalId,
    ctx: CtxDep,
    db: DbDep,
    who: Admin,
    write: WriteDep,
    response: Response,
) -> Any:
    """This area's approval; the one that reaches the threshold executes the proposal."""
    return idempotent(response, db, who, write, lambda: governance.vote(ctx, db, who, proposal_id))
