"""Checks on an incoming peer request: well-formed, fresh, not replayed, signed by an active
account of an active member that is the requester it claims to be, addressed to us."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from clients.ledger_bindings import MemberKind, MemberStatus
from clients.peer import MAX_SKEW_S, DisclosureRequest
from node_gateway.peer.errors import (
    BadPeerRequest,
    BadPeerSignature,
    NotActiveMember,
    ReplayedRequest,
    StaleRequest,
)
from node_gateway.services.context import AreaContext
from node_gateway.store.peer import claim_nonce

HEX32_LEN = 66


def verify_request(
    ctx: AreaContext, conn: sqlite3.Connection, body: dict[str, Any]
) -> tuple[DisclosureRequest, MemberKind, int]:
    """The request, and its requester's kind and customs code; raises a peer refusal."""
    try:
        request = DisclosureRequest.from_json(body["request"])
        signature = str(body["signature"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadPeerRequest(f"not a signed disclosure request: {exc}") from exc
    for name in ("requester", "holder", "subject", "nonce"):
        value = getattr(request, name)
        if len(value) != HEX32_LEN or not value.startswith("0x"):
            raise BadPeerRequest(f"{name} must be 32 bytes of 0x-hex")
    if request.holder != ctx.member_hex:
        raise BadPeerRequest("the request is addressed to another member")
    now = int(time.time())
    if abs(now - request.timestamp) > MAX_SKEW_S:
        raise StaleRequest(f"timestamp {request.timestamp} is more than {MAX_SKEW_S}s from now")
    consortium = ctx.ledger.contracts.consortium.address
    try:
        signer = request.signer(signature, ctx.ledger.chain_id, consortium)
    except Exception as exc:  # eth-account raises several types for malformed signatures
        raise BadPeerSignature(f"the signature cannot be recovered: {exc}") from exc
    if "0x" + ctx.ledger.member_of_account(signer, fresh=True).hex() != request.requester:
        raise BadPeerSignature(f"{signer} is not a registered account of the requester")
    kind, status, code = ctx.ledger.member(bytes.fromhex(request.requester[2:]), fresh=True)
    if kind == MemberKind.NONE or status != MemberStatus.ACTIVE:
        raise NotActiveMember("the requester is not an active member")
    if not claim_nonce(conn, request.requester, request.nonce, now + 2 * MAX_SKEW_S, now):
        raise ReplayedRequest("this request was already answered")
    return request, kind, code
