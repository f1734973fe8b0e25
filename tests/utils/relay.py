"""A return centre that does not check: relays a signed application to the ledger as
`returns.apply` would once every check passed (vault, case documents, outbox row), skipping
them all — to test that the origin re-checks what reaches the contract."""

from __future__ import annotations

from typing import Any

from clients.records import DocType, canonical, parse_record
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services import returns
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext
from node_gateway.store import index


def relay_unchecked(
    ctx: AreaContext, conn: Any, principal: Principal, body: dict[str, Any]
) -> dict[str, Any]:
    """Queue `body` (a POST /v1/returns body) straight for the contract; answers as
    `returns.apply` does ({operation, digest, returnId, caseId})."""
    t, h = body["terms"], body["header"]
    doc = canonical(parse_record(DocType.RETURN_APPLICATION, body["document"]["record"]))
    salts = {p: bytes.fromhex(s) for p, s in body["document"]["salts"].items()}
    application = {k: v.lower() if isinstance(v, str) else v for k, v in t.items()}
    opened = index.case_pieces(conn, t["caseId"]) is not None
    payload: dict[str, Any] = {"application": application, "signature": body["signature"]}
    if not opened:
        payload.update(header=h, root=body["root"], proof=body["proof"])
    return returns.store_step(
        ctx,
        conn,
        principal,
        doc=doc,
        salts=salts,
        case_id=t["caseId"],
        return_id=t["returnId"],
        kind=OutboxKind.APPLY if opened else OutboxKind.OPEN_AND_APPLY,
        payload=lambda _digest: payload,
    )
