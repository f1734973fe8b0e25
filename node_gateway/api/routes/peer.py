"""The peer API: other members' gateways (and auditors' SDKs) ask this gateway for disclosures
of the records it holds. Authenticated by a signed request, not an API key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from node_gateway.api.deps import CtxDep, DbDep, peer_signed
from node_gateway.peer import declarations, disclosures

router = APIRouter(prefix="/peer/v1", tags=["peer"], dependencies=[Depends(peer_signed)])


@router.post("/disclosures", summary="Disclose a record to a member playing a role on it")
def post_disclosure(
    ctx: CtxDep,
    db: DbDep,
    body: dict[str, Any] = Body(  # noqa: B008 - FastAPI's idiom
        description="{request: {requester, holder, subject, docType, timestamp, nonce}, "
        "signature}: an EIP-712 DisclosureRequest signed by a registered account"
    ),
) -> dict[str, Any]:
    """Answers `{request, digest, envelope}`: the allowed fields as disclosed documents, sealed
    with HPKE to the requester's registered key; the digest is logged on the ledger."""
    return disclosures.answer(ctx, db, body)


@router.post(
    "/declarations", summary="Disclose a case's declaration to the centre an application names"
)
def post_declaration(
    ctx: CtxDep,
    db: DbDep,
    body: dict[str, Any] = Body(  # noqa: B008 - FastAPI's idiom
        description="{request, signature, application: {header, terms, signature}}: a signed "
        "DisclosureRequest about a case (docType tax_assessment) and the platform's signed "
        "return application naming the requester as its return centre"
    ),
) -> dict[str, Any]:
    """Answers `{request, digest, envelope}` like `/disclosures`: the fields that bind an
    application to its case (invtNo, orderNo, ebpCode, agentCode, lines' gnum, gcode, gname,
    qty), sealed to the return centre, logged on the ledger."""
    return declarations.answer(ctx, db, body)
