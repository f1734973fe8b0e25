"""The life of a return (DESIGN §3) as this area plays it.

Return centre: relay the return enterprise's signed application (opening the case from its
anchored header when needed), record arrival and inspection. Origin: recognise or dispute the
inspection result, settle accepted lines. Each step checks what the contract will check — state,
responsibility, windows, lines — against the ledger *and* the writes still in this gateway's
outbox, so a refusal is a clear 4xx now rather than a failed operation later; then the record
goes into the vault and its ledger write into the outbox, in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clients.commitments.document import CommitmentError, commit
from clients.commitments.merkle import process_proof
from clients.ledger_bindings import APPLY_WINDOW, ReturnState
from clients.records import (
    DocType,
    RecordValidationError,
    TaxAssessment,
    canonical,
    parse_record,
    settlement_for,
)
from clients.signing import (
    line_mask,
    mask_and_pieces,
    mask_lines,
    recover_applicant,
)
from node_gateway.errors import (
    BadSignature,
    CaseMismatch,
    DigestMismatch,
    DuplicateReturn,
    InvalidRecord,
    LinesMismatch,
    NotAnchored,
    NotFound,
    NotYourReturn,
    PiecesExceedDeclared,
    RefundExceedsPayment,
    SettlementKindMismatch,
    SettlementMismatch,
    StepInProgress,
    StepOutOfOrder,
    WindowClosed,
    WrongArea,
)
from node_gateway.ledger.area_ledger import ReturnOnLedger
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services import binding
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext
from node_gateway.services.inputs import ReturnApplication
from node_gateway.services.tax_records import assessment, paid_tax, payment_proof, salts_json
from node_gateway.store import Vault, index, outbox, records, transaction


def _h(value: bytes) -> str:
    return "0x" + value.hex()


def _b(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _parse(doc_type: DocType, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return canonical(parse_record(doc_type, data))
    except RecordValidationError as exc:
        errors = [{"path": e.path, "rule": e.rule, "message": e.message} for e in exc.errors]
        shown = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:3])
        raise InvalidRecord(f"{len(errors)} problem(s): {shown}", errors=errors) from exc


def store_step(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    *,
    doc: dict[str, Any],
    salts: dict[str, bytes] | None,
    case_id: str,
    return_id: str,
    kind: OutboxKind,
    payload: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """Commit, vault, queue: the one write path of every return step."""
    try:
        c = commit(doc, salts)
    except CommitmentError as exc:
        raise InvalidRecord(str(exc)) from exc
    digest = _h(c.digest)
    record_id = f"{doc['docType']}:{return_id}:{digest[2:18]}"
    with transaction(conn):
        Vault(conn, ctx.keyring).put(
            record_id, doc["docType"], {"record": doc, "salts": salts_json(c.salts)}
        )
        op = outbox.enqueue(conn, kind, payload(digest), return_id, principal.member_id)
        records.add_document(conn, record_id, case_id, return_id, doc["docType"], digest, op)
    ctx.wake.set()
    row = outbox.get(conn, op)
    assert row is not None
    return {
        "operation": row.operation(),
        "digest": digest,
        "returnId": return_id,
        "caseId": case_id,
    }


# ---------------------------------------------------------------------- return centre


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
    t, h = body.terms, body.header
    doc = _parse(DocType.RETURN_APPLICATION, dict(body.record))
    try:
        salts = {path: bytes.fromhex(s) for path, s in body.salts.items()}
    except ValueError as exc:
        raise InvalidRecord(f"/document/salts: salts must be hex: {exc}") from exc
    try:
        digest = commit(doc, salts).digest
    except CommitmentError as exc:
        raise DigestMismatch(f"/document: {exc}") from exc
    if _h(digest) != t.application_digest.lower():
        raise DigestMismatch(
            f"the document hashes to {_h(digest)}, the signed applicationDigest is "
            f"{t.application_digest}"
        )
    if t.return_centre.lower() != ctx.member_hex or doc["returnCentreCode"] != ctx.code:
        raise WrongArea(f"this gateway is return centre {ctx.code}; the application names another")
    gnums = [line["gnum"] for line in doc["lines"]]
    if line_mask(gnums) != t.line_mask:
        raise LinesMismatch(f"signed lineMask {t.line_mask} does not cover lines {gnums}")
    asked = {int(line["gnum"]): int(line["qty"]) for line in doc["lines"]}
    if mask_and_pieces(asked)[1] != tuple(t.pieces):
        raise LinesMismatch(
            f"signed pieces {t.pieces} are not the record's quantities "
            f"{[asked[g] for g in sorted(asked)]} (ascending gnum)"
        )
    if len(h.pieces) != h.line_count:
        raise CaseMismatch(f"the header has {len(h.pieces)} piece counts for {h.line_count} lines")
    if t.case_id.lower() != h.case_id.lower() or t.origin_area.lower() != h.origin_area.lower():
        raise CaseMismatch("the signed terms and the case header name different cases or origins")
    _kind, _status, origin_code = ctx.ledger.member(_b(h.origin_area))
    if f"{origin_code:04d}" != doc["customsCode"]:
        raise CaseMismatch(
            f"the header's origin is area {origin_code:04d}, the application says "
            f"{doc['customsCode']}"
        )
    if max(gnums) > h.line_count:
        raise LinesMismatch(f"the case has {h.line_count} lines; the application names {gnums}")

    terms = t.signed_terms()
    try:
        signer = recover_applicant(
            terms, _b(body.signature), ctx.ledger.chain_id, ctx.ledger.return_ledger_address
        )
    except Exception as exc:  # eth-account raises several types for a malformed signature
        raise BadSignature(f"the signature cannot be recovered: {exc}") from exc
    signer_member = ctx.ledger.member_of_account(signer)
    if _h(signer_member) != h.platform.lower():
        raise BadSignature(f"signed by {signer}, which is not an account of the case's platform")
    if principal.role == "platform" and _h(_member(principal.member_id)) != h.platform.lower():
        raise NotYourReturn("a platform may only apply for returns of its own orders")
    now = ctx.ledger.now()
    if t.deadline < now:
        raise BadSignature(f"the signature expired at {t.deadline} (ledger time {now})")
    if now > h.release_time + ctx.ledger.parameter(APPLY_WINDOW):
        raise WindowClosed("the application window of this case has closed")

    # The header is proven under an anchored root whether or not the case is open yet: only
    # then is its platform (checked above against the signer and the caller) the case's own,
    # and only then may the case's state on the ledger (its pieces left) shape the answer. A
    # platform naming another platform's case id gets the answer a made-up id gets.
    header = h.leaf_header()
    proof = [_b(p) for p in body.proof]
    if process_proof(header.leaf(), proof) != _b(body.root):
        raise CaseMismatch("the Merkle proof does not lead from the case header to the root")
    # Under the case's origin: roots are per area, another area's copy does not count.
    if not index.root_anchored(conn, origin_code, body.root.lower()) and not (
        ctx.ledger.root_anchored(origin_code, _b(body.root))
    ):
        raise NotAnchored(f"root {body.root} is not anchored by origin area {origin_code:04d}")
    # Only now, for a caller that holds an anchored header of a case of its own, whether a
    # return id is taken.
    if index.return_known(conn, t.return_id.lower()) or outbox.open_for_subject(
        conn, t.return_id.lower()
    ):
        raise DuplicateReturn("a return with this id exists")
    on_ledger = binding.case_pieces(ctx, conn, t.case_id.lower())
    if on_ledger is None and not outbox.case_opening(conn, t.case_id.lower()):
        kind = OutboxKind.OPEN_AND_APPLY
    else:
        kind = OutboxKind.APPLY
    declared, applied = on_ledger or (list(h.pieces), [0] * len(h.pieces))
    in_flight = binding.pieces_in_flight(conn, t.case_id.lower())
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
    return doc, salts, kind


def _member(label: str) -> bytes:
    from clients.ledger_bindings import member_id

    return member_id(label)


def _indexed(conn: sqlite3.Connection, rid: bytes) -> ReturnOnLedger | None:
    row = index.return_state(conn, _h(rid))
    if row is None:
        return None
    return ReturnOnLedger(
        return_id=rid,
        case_id=_b(row["caseId"]),
        state=ReturnState[row["state"].upper()],
        line_mask=row["lineMask"],
        accepted_mask=row["acceptedMask"],
        settled_mask=row["settledMask"],
        late=row["late"],
        applied_at=row["appliedAt"],
        arrived_at=0,  # not indexed; no step reads it
        centre_code=row["centreCode"],
        origin_code=row["originCode"],
        platform=_b(row["platform"]),
        release_time=row["releaseTime"],
        line_count=row["lineCount"],
        applied_pieces=row["appliedPieces"],
        accepted_pieces=row["acceptedPieces"],
        settled_pieces=row["settledPieces"],
    )


def _ready(
    ctx: AreaContext, conn: sqlite3.Connection, return_id: str, states: set[ReturnState]
) -> ReturnOnLedger:
    try:
        rid = _b(return_id)
    except ValueError as exc:
        raise NotFound(f"no return {return_id}") from exc
    # The index answers the common case without a ledger call; whenever it does not show the
    # state the step needs (it may lag behind another area's step), the ledger decides.
    r = _indexed(conn, rid)
    if r is None or r.state not in states:
        r = ctx.ledger.get_return(rid)
    if r is None:
        if outbox.open_for_subject(conn, return_id):
            raise StepInProgress(f"return {return_id} is still on its way to the ledger")
        raise NotFound(f"no return {return_id} on the ledger")
    if outbox.open_for_subject(conn, return_id):
        raise StepInProgress(f"an earlier step of return {return_id} is still being written")
    if r.state not in states:
        wanted = " or ".join(sorted(s.name.lower() for s in states))
        raise StepOutOfOrder(
            f"return {return_id} is {r.state.name.lower()}; this step needs {wanted}",
            state=r.state.name.lower(),
        )
    return r


def _step_record(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    return_id: str,
    states: set[ReturnState],
    side: str,
    doc_type: DocType,
    record: dict[str, Any],
) -> tuple[ReturnOnLedger, dict[str, Any]]:
    """What every step checks first: the return is in a state the step needs, this area is the
    side responsible (centre or origin), and the record is valid, about this return and
    names this area."""
    r = _ready(ctx, conn, return_id, states)
    code_field = "centreCode" if side == "centre" else "originCode"
    responsible = r.centre_code if side == "centre" else r.origin_code
    if f"{responsible:04d}" != ctx.code:
        raise NotYourReturn(f"area {ctx.code} is not the {side} of this return")
    doc = _parse(doc_type, record)
    if str(doc["returnId"]).lower() != return_id:
        raise CaseMismatch(f"the record is about return {doc['returnId']}, not {return_id}")
    if doc[code_field] != ctx.code:
        raise WrongArea(f"the record's {code_field} {doc[code_field]} is not {ctx.code}")
    return r, doc


def queue_step(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    case_id: str,
    return_id: str,
    doc: dict[str, Any],
    kind: OutboxKind,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """Vault a step's record and queue its ledger write: `fields` plus the record's digest."""
    return store_step(
        ctx,
        conn,
        principal,
        doc=doc,
        salts=None,
        case_id=case_id,
        return_id=return_id,
        kind=kind,
        payload=lambda d: {"returnId": return_id, **fields, "digest": d},
    )


def _write(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    r: ReturnOnLedger,
    doc: dict[str, Any],
    kind: OutboxKind,
    fields: dict[str, Any],
) -> dict[str, Any]:
    return queue_step(ctx, conn, principal, _h(r.case_id), _h(r.return_id), doc, kind, fields)


def _lines(mask: int) -> list[int]:
    return [bit + 1 for bit in range(mask.bit_length()) if mask >> bit & 1]


def arrival(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    return_id: str,
    record: dict[str, Any],
) -> dict[str, Any]:
    """The return centre records the parcel's arrival."""
    r, doc = _step_record(
        ctx, conn, return_id, {ReturnState.APPLIED}, "centre", DocType.ARRIVAL, record
    )
    return _write(ctx, conn, principal, r, doc, OutboxKind.ARRIVAL, {})


def inspection(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    return_id: str,
    record: dict[str, Any],
) -> dict[str, Any]:
    """The return centre records the inspection result of every applied line."""
    r, doc = _step_record(
        ctx, conn, return_id, {ReturnState.ARRIVED}, "centre", DocType.INSPECTION_REPORT, record
    )
    inspected = sorted(line["gnum"] for line in doc["lines"])
    if inspected != _lines(r.line_mask):
        raise LinesMismatch(
            f"the report covers lines {inspected}; the return applied for {_lines(r.line_mask)}"
        )
    accepted = accepted_pieces(doc, r.applied_pieces)
    for gnum, n in accepted.items():
        if n > r.applied_pieces.get(gnum, 0):
            raise LinesMismatch(
                f"line {gnum}: {n} pieces accepted, {r.applied_pieces.get(gnum, 0)} applied for",
                gnum=gnum,
            )
    if r.late and accepted:
        raise WindowClosed("the goods arrived after the arrival window: every line is rejected")
    mask, pieces = mask_and_pieces(accepted)
    return _write(
        ctx,
        conn,
        principal,
        r,
        doc,
        OutboxKind.INSPECTION,
        {"acceptedMask": mask, "acceptedPieces": list(pieces)},
    )


def accepted_pieces(report: dict[str, Any], applied: dict[int, int]) -> dict[int, int]:
    """{gnum: pieces accepted} of an inspection report (canonical): an accepted line's
    `acceptedQty`, or every piece applied for when the report does not say."""
    return {
        int(line["gnum"]): int(line.get("acceptedQty") or applied.get(int(line["gnum"]), 0))
        for line in report["lines"]
        if line["result"] == "accepted"
    }


MONEY_FIELDS = ("customsDuty", "vat", "consumptionTax", "amount")


def check_refund(ctx: AreaContext, conn: sqlite3.Connection, case_id: str, total: Decimal) -> None:
    """Refuse a refund of `total` that would take the case's refunds (on the ledger or on their
    way) beyond the tax its withholding agent paid."""
    paid = paid_tax(ctx, conn, case_id)
    if paid is None:
        return  # settle_kind_mismatch says why
    vault, before = Vault(conn, ctx.keyring), Decimal("0.00")
    for d in records.documents(conn, case_id=case_id):
        if d["docType"] != DocType.SETTLEMENT.value:
            continue
        op = outbox.get(conn, d["operation"]) if d["operation"] is not None else None
        if op is not None and op.status == "failed":
            continue  # never reached the ledger
        record = vault.get(d["recordId"])["record"]
        if record["kind"] == "refunded":
            before += Decimal(str(record["total"]))
    if before + total > paid:
        raise RefundExceedsPayment(
            f"refunding {total:.2f} after {before:.2f} would exceed the {paid:.2f} paid",
            paid=f"{paid:.2f}",
            refunded=f"{before:.2f}",
        )


def amount_mismatches(doc: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Where a settlement record's amounts differ from the expected one's (JSON pointers with
    both figures); both canonical, lines in the same gnum order."""
    wrong: list[str] = []

    def differ(path: str, mine: Any, theirs: Any) -> None:
        if Decimal(str(mine)) != Decimal(str(theirs)):
            wrong.append(f"{path} is {mine}, the pro-rata share is {theirs}")

    by_gnum = {line["gnum"]: line for line in expected["lines"]}
    for i, line in enumerate(doc["lines"]):
        for name in MONEY_FIELDS:
            differ(f"/lines/{i}/{name}", line[name], by_gnum[line["gnum"]][name])
    differ("/total", doc["total"], expected["total"])
    differ("/quota/amount", doc["quota"]["amount"], expected["quota"]["amount"])
    return wrong


def settled_before(conn: sqlite3.Connection, case_id: str) -> dict[int, int]:
    """{gnum: pieces} of a case settled by earlier settlements: on the ledger (indexed) and on
    their way there from this gateway's outbox. A part's amounts depend on them (pro_rata)."""
    total = index.case_settled_pieces(conn, case_id)
    subjects = [r["returnId"] for r in index.returns_of_case(conn, case_id)]
    for payload in outbox.open_payloads(
        conn, (OutboxKind.SETTLE_NOT_LEVIED, OutboxKind.SETTLE_REFUNDED), subjects=subjects
    ):
        lines = mask_lines(int(payload["lineMask"]))
        for gnum, n in zip(lines, payload["pieces"], strict=True):
            total[gnum] = total.get(gnum, 0) + int(n)
    return total


# ---------------------------------------------------------------------- origin


def decide(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    return_id: str,
    record: dict[str, Any],
    decision: str,
) -> dict[str, Any]:
    """The origin recognises (or disputes) the return centre's inspection result."""
    states = {ReturnState.INSPECTED, ReturnState.DISPUTED}
    if decision == "disputed":
        states = {ReturnState.INSPECTED}
    r, doc = _step_record(ctx, conn, return_id, states, "origin", DocType.RECOGNITION, record)
    if doc["decision"] != decision:
        raise CaseMismatch(f"the record's decision is {doc['decision']!r}, this route {decision!r}")
    kind = OutboxKind.RECOGNITION if decision == "recognized" else OutboxKind.DISPUTE
    return _write(ctx, conn, principal, r, doc, kind, {})


def settle(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    return_id: str,
    record: dict[str, Any],
) -> dict[str, Any]:
    """The origin settles accepted lines: tax not levied (or refunded), quota adjusted."""
    r, doc = _step_record(
        ctx, conn, return_id, {ReturnState.RECOGNIZED}, "origin", DocType.SETTLEMENT, record
    )
    pieces = {int(line["gnum"]): int(line["qty"]) for line in doc["lines"]}
    for gnum, n in sorted(pieces.items()):
        left = r.accepted_pieces.get(gnum, 0) - r.settled_pieces.get(gnum, 0)
        if n > left:
            raise LinesMismatch(
                f"line {gnum}: {n} pieces to settle, {left} accepted and not yet settled",
                gnum=gnum,
            )
    expected = settlement_for(
        TaxAssessment.model_validate(assessment(ctx, conn, _h(r.case_id))["record"]),
        _h(r.return_id),
        pieces,
        doc["kind"],
        datetime.now(UTC),  # only the amounts are compared
        settled_before(conn, _h(r.case_id)),
    )
    wrong = amount_mismatches(doc, canonical(expected))
    if wrong:
        raise SettlementMismatch(
            "the settlement's amounts are not the pro-rata share of the assessed tax: "
            + "; ".join(wrong[:3]),
            errors=[{"path": p, "rule": "settlement_amount", "message": p} for p in wrong],
        )
    mask, counts = mask_and_pieces(pieces)
    if doc["kind"] == "refunded":
        check_refund(ctx, conn, _h(r.case_id), Decimal(str(doc["total"])))
    paid = payment_proof(conn, _h(r.case_id))
    if doc["kind"] == "refunded" and paid is None:
        raise SettlementKindMismatch("no tax payment of this case is recorded: settle not_levied")
    if doc["kind"] == "not_levied" and paid is not None:
        raise SettlementKindMismatch("the tax of this case was paid: settle refunded")
    fields: dict[str, Any] = {
        "lineMask": mask,
        "pieces": list(counts),
        "quotaAdjusted": doc.get("quota") is not None,
    }
    if paid is None:
        return _write(ctx, conn, principal, r, doc, OutboxKind.SETTLE_NOT_LEVIED, fields)
    return _write(
        ctx, conn, principal, r, doc, OutboxKind.SETTLE_REFUNDED, {**fields, "payment": paid}
    )
