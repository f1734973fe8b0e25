"""The return centre relays a return enterprise's signed application: every check this
gateway can make by itself, the case's declaration (services/binding.py), then the write that
opens the case from its anchored header when it is the case's first return."""

from __future__ import annotations

import sqlite3
from typing import Any

from clients.bindings import APPLY_WINDOW, member_id
from clients.commitments.document import CommitmentError, commit
from clients.commitments.merkle import process_proof
from clients.records import DocType
from clients.records.lines import mask_and_pieces, mask_of
from node_gateway.errors import (
    BadSignature,
    CaseMismatch,
    DigestMismatch,
    DuplicateReturn,
    InvalidRecord,
    LinesMismatch,
    NotAnchored,
    NotYourReturn,
    PiecesExceedDeclared,
    WindowClosed,
    WrongArea,
)
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services import binding
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext
from node_gateway.services.inputs import ReturnApplication, Terms
from node_gateway.services.returns.write import bytes_of, hex_of, parse, store_step
from node_gateway.store import index, outbox


def apply(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, body: ReturnApplication
) -> dict[str, Any]:
    """Relay a return enterprise's signed application to the ledger."""
    t, h = body.terms, body.header
    doc, salts, kind = check_application(ctx, conn, principal, body)
    # Bound to its case: the origin's declaration, asked for now (services/binding.py).
    binding.check_before_relay(ctx, conn, body, doc)
    application = t.to_json()
    application.update({k: v.lower() for k, v in application.items() if isinstance(v, str)})

    def payload(_digest: str) -> dict[str, Any]:
        p: dict[str, Any] = {"application": application, "signature": body.signature}
        if kind == OutboxKind.OPEN_AND_APPLY:
            p.update(header=h.to_json(), root=body.root, proof=list(body.proof))
        return p

    return store_step(
        ctx,
        conn,
        principal,
        doc=doc,
        salts=salts,
        case_id=t.case_id.lower(),
        return_id=t.return_id.lower(),
        kind=kind,
        payload=payload,
    )


def check_application(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, body: ReturnApplication
) -> tuple[dict[str, Any], dict[str, bytes], OutboxKind]:
    """Every check of an application this gateway can make by itself (document, signature,
    case, windows, pieces left), writing nothing: (canonical record, salts, outbox kind)."""
    doc, salts = _document(body)
    asked = _lines_signed(ctx, body.terms, doc)
    origin_code = _case_named(ctx, body, doc)
    _signed_in_time(ctx, principal, body)
    # The header is proven under an anchored root whether or not the case is open yet: only
    # then is its platform (checked above against the signer and the caller) the case's own,
    # and only then may the case's state on the ledger (its pieces left) shape the answer. A
    # platform naming another platform's case id gets the answer a made-up id gets.
    _header_anchored(ctx, conn, body, origin_code)
    kind, on_ledger = _new_return(ctx, conn, body.terms)
    declared, applied = on_ledger or (list(body.header.pieces), [0] * len(body.header.pieces))
    _pieces_left(conn, body.terms.case_id.lower(), doc, asked, declared, applied)
    return doc, salts, kind


def _document(body: ReturnApplication) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The application record (canonical) and its salts, which hash to the signed digest."""
    doc = parse(DocType.RETURN_APPLICATION, dict(body.record))
    try:
        salts = {path: bytes.fromhex(s) for path, s in body.salts.items()}
    except ValueError as exc:
        raise InvalidRecord(f"/document/salts: salts must be hex: {exc}") from exc
    try:
        digest = commit(doc, salts).digest
    except CommitmentError as exc:
        raise DigestMismatch(f"/document: {exc}") from exc
    t = body.terms
    if hex_of(digest) != t.application_digest.lower():
        raise DigestMismatch(
            f"the document hashes to {hex_of(digest)}, the signed applicationDigest is "
            f"{t.application_digest}"
        )
    return doc, salts


def _lines_signed(ctx: AreaContext, t: Terms, doc: dict[str, Any]) -> dict[int, int]:
    """{gnum: pieces asked} of an application to this return centre whose signed line mask and
    pieces are the record's."""
    if t.return_centre.lower() != ctx.member_hex or doc["returnCentreCode"] != ctx.code:
        raise WrongArea(f"this gateway is return centre {ctx.code}; the application names another")
    gnums = [line["gnum"] for line in doc["lines"]]
    if mask_of(gnums) != t.line_mask:
        raise LinesMismatch(f"signed lineMask {t.line_mask} does not cover lines {gnums}")
    asked = {int(line["gnum"]): int(line["qty"]) for line in doc["lines"]}
    if mask_and_pieces(asked)[1] != tuple(t.pieces):
        raise LinesMismatch(
            f"signed pieces {t.pieces} are not the record's quantities "
            f"{[asked[g] for g in sorted(asked)]} (ascending gnum)"
        )
    return asked


def _case_named(ctx: AreaContext, body: ReturnApplication, doc: dict[str, Any]) -> int:
    """The customs code of the case's origin, once the header, the terms and the record agree
    on the case, its origin and its lines."""
    t, h = body.terms, body.header
    if len(h.pieces) != h.line_count:
        raise CaseMismatch(f"the header has {len(h.pieces)} piece counts for {h.line_count} lines")
    if t.case_id.lower() != h.case_id.lower() or t.origin_area.lower() != h.origin_area.lower():
        raise CaseMismatch("the signed terms and the case header name different cases or origins")
    _kind, _status, origin_code = ctx.ledger.member(bytes_of(h.origin_area))
    if f"{origin_code:04d}" != doc["customsCode"]:
        raise CaseMismatch(
            f"the header's origin is area {origin_code:04d}, the application says "
            f"{doc['customsCode']}"
        )
    gnums = [line["gnum"] for line in doc["lines"]]
    if max(gnums) > h.line_count:
        raise LinesMismatch(f"the case has {h.line_count} lines; the application names {gnums}")
    return origin_code


def _signed_in_time(ctx: AreaContext, principal: Principal, body: ReturnApplication) -> None:
    """The terms are signed by an account of the case's platform (the caller, if a platform),
    before their deadline and within the case's application window."""
    t, h = body.terms, body.header
    try:
        signer = body.application.signer(ctx.ledger.chain_id, ctx.ledger.return_ledger_address)
    except ValueError as exc:
        raise BadSignature(f"the signature cannot be recovered: {exc}") from exc
    signer_member = ctx.ledger.member_of_account(signer)
    if hex_of(signer_member) != h.platform.lower():
        raise BadSignature(f"signed by {signer}, which is not an account of the case's platform")
    if (
        principal.role == "platform"
        and hex_of(member_id(principal.member_id)) != h.platform.lower()
    ):
        raise NotYourReturn("a platform may only apply for returns of its own orders")
    now = ctx.ledger.now()
    if t.deadline < now:
        raise BadSignature(f"the signature expired at {t.deadline} (ledger time {now})")
    if now > h.release_time + ctx.ledger.parameter(APPLY_WINDOW):
        raise WindowClosed("the application window of this case has closed")


def _header_anchored(
    ctx: AreaContext, conn: sqlite3.Connection, body: ReturnApplication, origin_code: int
) -> None:
    """The case header is a leaf under a root the case's origin anchored."""
    proof = [bytes_of(p) for p in body.proof]
    if process_proof(body.header.leaf_header().leaf(), proof) != bytes_of(body.root):
        raise CaseMismatch("the Merkle proof does not lead from the case header to the root")
    # Under the case's origin: roots are per area, another area's copy does not count.
    if not index.root_anchored(conn, origin_code, body.root.lower()) and not (
        ctx.ledger.root_anchored(origin_code, bytes_of(body.root))
    ):
        raise NotAnchored(f"root {body.root} is not anchored by origin area {origin_code:04d}")


def _new_return(
    ctx: AreaContext, conn: sqlite3.Connection, t: Terms
) -> tuple[OutboxKind, tuple[list[int], list[int]] | None]:
    """The write that applies (opening the case when no write opens it yet), and the case's
    (declared, applied) pieces on the ledger; refused when the return id is taken. Only for a
    caller that holds an anchored header of a case of its own."""
    if index.return_known(conn, t.return_id.lower()) or outbox.open_for_subject(
        conn, t.return_id.lower()
    ):
        raise DuplicateReturn("a return with this id exists")
    on_ledger = binding.case_pieces(ctx, conn, t.case_id.lower())
    if on_ledger is None and not outbox.case_opening(conn, t.case_id.lower()):
        return OutboxKind.OPEN_AND_APPLY, on_ledger
    return OutboxKind.APPLY, on_ledger


def _pieces_left(
    conn: sqlite3.Connection,
    case_id: str,
    doc: dict[str, Any],
    asked: dict[int, int],
    declared: list[int],
    applied: list[int],
) -> None:
    """No line asks for more pieces than the case has left after its other returns (on the
    ledger and on their way there)."""
    in_flight = binding.pieces_in_flight(conn, case_id)
    for gnum, n in sorted(asked.items()):
        left = declared[gnum - 1] - applied[gnum - 1] - in_flight.get(gnum, 0)
        if n > left:
            detail = (
                f"line {gnum}: {n} pieces asked, {max(left, 0)} of {declared[gnum - 1]} left"
                " after the case's other returns"
            )
            index_of = next(i for i, line in enumerate(doc["lines"]) if line["gnum"] == gnum)
            raise PiecesExceedDeclared(
                detail,
                gnum=gnum,
                requested=n,
                left=max(left, 0),
                errors=[
                    {
                        "code": "qty_exceeds_remaining",
                        "pointer": f"/lines/{index_of}/qty",
                        "detail": detail,
                    }
                ],
            )
