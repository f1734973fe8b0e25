"""What callers read: case and return views (ledger state from the index, plus the documents of
this area's vault the caller may see, as verifiable disclosed documents), return lists, a
operation status, and verification of a disclosed document.

Who sees which fields follows the disclosure policy: this area's own staff (officer, system,
admin) hold the documents and see them whole; a platform sees only its own cases, as the
policy's `platform` role; an auditor sees what the policy's `auditor` role may.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from clients.bindings import member_id
from clients.commitments.document import CommitmentError, DisclosedDocument, commit
from clients.verify import return_anchor
from node_gateway.errors import InvalidRecord, NotFound
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext
from node_gateway.services.tax_records import (
    NO_INVENTORY_LIST,
    NO_TAX_RECORD,
    case_id_of,
    evidence_of,
    header_of,
)
from node_gateway.store import Vault, expected, index, outbox, records, retries

HOLDER_ROLES = frozenset({"officer", "system", "admin"})
# What "absent" and "not visible to this key" both answer, word for word: no id (not even the
# one asked about), so that a caller learns nothing from an answer it may not see.
NO_CASE = "no such case here for this key"
NO_RETURN = "no such return here for this key"
NO_OPERATION = "no such operation here for this key"
NO_SUBJECT = "no such case or return here for this key"
STATES = ("applied", "arrived", "inspected", "disputed", "recognized", "settled")


def _member_hex(label: str) -> str:
    try:
        return "0x" + member_id(label).hex()
    except ValueError:
        return ""


def _visible(principal: Principal, platform_hex: str) -> bool:
    return principal.role != "platform" or _member_hex(principal.member_id) == platform_hex


def _disclose(
    ctx: AreaContext, principal: Principal, stored: dict[str, Any], anchor: dict[str, Any]
) -> dict[str, Any]:
    salts = {p: bytes.fromhex(s) for p, s in stored["salts"].items()}
    c = commit(stored["record"], salts)
    doc_type = c.doc_type
    if principal.role in HOLDER_ROLES:
        disclosed = c.disclose(lambda _p: True)
    else:
        disclosed = c.disclose(ctx.policy.selector(principal.role, doc_type))
    return disclosed.with_anchor(anchor).to_json()


def _documents(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, return_id: str
) -> list[dict[str, Any]]:
    vault = Vault(conn, ctx.keyring)
    anchor = return_anchor(bytes.fromhex(return_id[2:]))
    out = []
    for d in records.documents(conn, return_id=return_id):
        row = outbox.get(conn, d["operation"]) if d["operation"] else None
        out.append(
            {
                "docType": d["docType"],
                "digest": d["digest"],
                "operation": row.operation() if row else None,
                "document": _disclose(ctx, principal, vault.get(d["recordId"]), anchor),
            }
        )
    return out


def return_view(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, return_id: str
) -> dict[str, Any]:
    """A return's state on the ledger and the documents this area holds for it."""
    return_id = return_id.lower()
    row = index.return_row(conn, return_id)
    pending = [r.operation() for r in outbox.open_for_subject(conn, return_id)]
    if row is None and not pending:
        raise NotFound(NO_RETURN)
    if row is not None and not _visible(principal, row["platform"]):
        raise NotFound(NO_RETURN)
    if row is None and principal.role == "platform":
        mine = [
            op
            for op in outbox.open_for_subject(conn, return_id)
            if op.requested_by == principal.member_id
        ]
        if not mine:
            raise NotFound(NO_RETURN)
    view: dict[str, Any] = {
        "returnId": return_id,
        "ledger": row,
        "pending": pending,
        "documents": _documents(ctx, conn, principal, return_id),
    }
    if principal.role in HOLDER_ROLES:
        # At the return centre: the declared goods to expect at inspection (from the origin).
        view["expected"] = expected.get(conn, return_id)
        # Automatic work on this return that failed and is retried (or was given up).
        view["retries"] = retries.of_return(conn, return_id)
    return view


def case_view(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, case_id: str
) -> dict[str, Any]:
    """A case: its ledger state, its returns, and (at the origin) its tax record."""
    case_id = case_id.lower()
    opened = index.case_row(conn, case_id)
    tax = records.tax_record(conn, case_id)
    if opened is None and tax is None:
        raise NotFound(NO_CASE)
    platform = opened["platform"] if opened else _member_hex(tax["platform"] if tax else "")
    if not _visible(principal, platform):
        raise NotFound(NO_CASE)
    assessment = None
    if tax is not None:
        h = header_of(ctx, conn, case_id)
        stored = Vault(conn, ctx.keyring).get(tax["recordId"])
        anchor = evidence_of(ctx, conn, case_id)
        assessment = {
            "anchorStatus": h["anchorStatus"],
            "header": h["header"],
            "document": _disclose(ctx, principal, stored, anchor),
        }
    return {
        "caseId": case_id,
        "ledger": opened,
        "returns": index.returns_of_case(conn, case_id),
        "taxAssessment": assessment,
    }


def list_returns(
    conn: sqlite3.Connection, principal: Principal, **filters: Any
) -> list[dict[str, Any]]:
    """Returns from the index; a platform only ever sees its own."""
    if principal.role == "platform":
        filters["platform"] = _member_hex(principal.member_id)
    return index.list_returns(conn, **filters)


def operation(conn: sqlite3.Connection, principal: Principal, op_id: int) -> dict[str, Any]:
    """The status of an accepted write."""
    row = outbox.get(conn, op_id)
    if row is None or (principal.role == "platform" and row.requested_by != principal.member_id):
        raise NotFound(NO_OPERATION)
    return row.operation()


def _subject_visible(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, anchor: dict[str, Any]
) -> bool:
    """Whether the case or return a document's anchor names is one the caller may see here."""
    kind = anchor.get("kind")
    header = anchor.get("caseHeader")
    subject = {
        "return": anchor.get("returnId"),
        "case": header.get("caseId") if isinstance(header, dict) else None,
        "payment": anchor.get("caseId"),
    }.get(kind if isinstance(kind, str) else "")
    if not isinstance(subject, str) or not subject.startswith("0x") or len(subject) != 66:
        return False
    try:
        if kind == "return":
            return_view(ctx, conn, principal, subject)
        else:
            case_view(ctx, conn, principal, subject)
    except NotFound:
        return False
    return True


def verify(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, document: dict[str, Any]
) -> dict[str, Any]:
    """Check a disclosed document against the ledger: every check named with its outcome.

    A platform verifies only documents of its own cases and returns: the checks read the
    ledger's state of the case or return the anchor names, which another platform's key may
    not learn (its answer is the one an unknown subject gets)."""
    try:
        doc = DisclosedDocument.from_json(document)
    except (CommitmentError, KeyError, TypeError, ValueError) as exc:
        raise InvalidRecord(f"not a disclosed document: {exc}") from exc
    if principal.role == "platform" and not _subject_visible(ctx, conn, principal, doc.anchor):
        raise NotFound(NO_SUBJECT)
    result: dict[str, Any] = ctx.ledger.verifier().verify(doc).to_json()
    return result


def lookup_case(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, invt_no: str
) -> dict[str, str]:
    """The pseudonymous case id of an inventory list this area holds and the caller may see.
    Absent and not visible answer alike, never with the computed id: a case id stays with
    the parties of its case."""
    case_id = case_id_of(ctx, invt_no)
    try:
        case_view(ctx, conn, principal, case_id)  # raises NotFound if absent or not visible
    except NotFound:
        raise NotFound(NO_INVENTORY_LIST) from None
    return {"caseId": case_id}


def case_header(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, case_id: str
) -> dict[str, Any]:
    """A case header with its batch root and proof; a platform sees only its own cases' (any
    other answers as a case this area does not hold)."""
    header = header_of(ctx, conn, case_id)
    if principal.role == "platform" and header["platform"] != principal.member_id:
        raise NotFound(NO_TAX_RECORD)
    return header
