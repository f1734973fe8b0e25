"""The write path every return step shares: parse the step's record, check that the return
is in a state the step needs and that this area is the side responsible, then commit, vault
and queue the ledger write in one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from clients.bindings import ReturnState
from clients.commitments.document import CommitmentError, commit
from clients.records import DocType, RecordValidationError, canonical, parse_record
from node_gateway.errors import (
    CaseMismatch,
    InvalidRecord,
    NotFound,
    NotYourReturn,
    StepInProgress,
    StepOutOfOrder,
    WrongArea,
)
from node_gateway.ledger.area_ledger import ReturnOnLedger
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext
from node_gateway.services.tax_records import invalid_record, salts_json
from node_gateway.store import Vault, index, outbox, records, transaction


def hex_of(value: bytes) -> str:
    """0x-hex of `value`."""
    return "0x" + value.hex()


def bytes_of(value: str) -> bytes:
    """The bytes of 0x-hex `value`."""
    return bytes.fromhex(value[2:])


def parse(doc_type: DocType, data: dict[str, Any]) -> dict[str, Any]:
    """A record of `doc_type` in canonical form, or InvalidRecord naming each problem."""
    try:
        return canonical(parse_record(doc_type, data))
    except RecordValidationError as exc:
        errors = [{"path": e.path, "rule": e.rule, "message": e.message} for e in exc.errors]
        raise invalid_record(errors) from exc


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
    digest = hex_of(c.digest)
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


def _indexed(conn: sqlite3.Connection, rid: bytes) -> ReturnOnLedger | None:
    row = index.return_state(conn, hex_of(rid))
    if row is None:
        return None
    return ReturnOnLedger(
        return_id=rid,
        case_id=bytes_of(row["caseId"]),
        state=ReturnState[row["state"].upper()],
        line_mask=row["lineMask"],
        accepted_mask=row["acceptedMask"],
        settled_mask=row["settledMask"],
        late=row["late"],
        applied_at=row["appliedAt"],
        arrived_at=0,  # not indexed; no step reads it
        centre_code=row["centreCode"],
        origin_code=row["originCode"],
        platform=bytes_of(row["platform"]),
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
        rid = bytes_of(return_id)
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


def step_record(
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
    doc = parse(doc_type, record)
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


def write(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    r: ReturnOnLedger,
    doc: dict[str, Any],
    kind: OutboxKind,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """Queue a step about return `r` (as queue_step)."""
    return queue_step(
        ctx, conn, principal, hex_of(r.case_id), hex_of(r.return_id), doc, kind, fields
    )
