"""Checks on an incoming peer request: well-formed, fresh, not replayed, signed by an active
account of an active member that is the requester it claims to be, addressed to us."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from clients.bindings import MemberKind, MemberStatus
from clients.peer import MAX_SKEW_S, DisclosureRequest, parse_signature
from node_gateway.errors import (
    BadPeerRequest,
    BadPeerSignature,
    NotActiveMember,
    ReplayedRequest,
    StaleRequest,
)
from node_gateway.services.context import AreaContext
from node_gateway.store.peer import claim_nonce

BODY_FIELDS = frozenset({"request", "signature"})


def verify_request(
    ctx: AreaContext, conn: sqlite3.Connection, body: Any
) -> tuple[DisclosureRequest, MemberKind, int]:
    """The request, and its requester's kind and customs code; raises a peer refusal."""
    if not isinstance(body, dict) or body.keys() != BODY_FIELDS:
        raise BadPeerRequest("not a signed disclosure request: expected {request, signature}")
    try:
        # Strict parsing: every field has one spelling, so the same signed bytes cannot come
        # back spelt differently (padded, upper-case) and be answered again.
        request = DisclosureRequest.from_json(body["request"])
        parse_signature(body["signature"])
    except ValueError as exc:
        raise BadPeerRequest(f"not a signed disclosure request: {exc}") from exc
    if request.holder_id != ctx.member:
        raise BadPeerRequest("the request is addressed to another member")
    now = int(time.time())
    if abs(now - request.timestamp) > MAX_SKEW_S:
        raise StaleRequest(f"timestamp {request.timestamp} is more than {MAX_SKEW_S}s from now")
    consortium = ctx.ledger.contracts.consortium.address
    try:
        signer = request.signer(body["signature"], ctx.ledger.chain_id, consortium)
    except Exception as exc:  # eth-account raises several types for unrecoverable signatures
        raise BadPeerSignature(f"the signature cannot be recovered: {exc}") from exc
    if ctx.ledger.member_of_account(signer, fresh=True) != request.requester_id:
        raise BadPeerSignature(f"{signer} is not a registered account of the requester")
    kind, status, code = ctx.ledger.member(request.requester_id, fresh=True)
    if kind == MemberKind.NONE or status != MemberStatus.ACTIVE:
        raise NotActiveMember("the requester is not an active member")
    expires_at = now + 2 * MAX_SKEW_S
    if not claim_nonce(conn, request.requester_id, request.nonce_bytes, expires_at, now):
        raise ReplayedRequest("this request was already answered")
    return request, kind, code
