"""The holder side of gateway-to-gateway disclosure (DESIGN §4).

A request authenticated by the peer protocol (node_gateway.peer.disclosures) is answered only
if the requester plays a role on the subject — the origin or the return centre of the return,
the platform of the case, an auditor — and only with the fields the disclosure policy gives
that role, as disclosed documents anyone can verify against the ledger, sealed to the
requester's registered key.
Every disclosure is logged in `disclosure_log` and anchored through ReturnLedger's disclosure
log (via the outbox): one entry per document it covered, naming the document's digest and the
requester only by a salted commitment whose salt both sides keep, so an auditor shown the salt
sees who saw what and other members do not. The contract takes an entry only once the case is
open on the ledger; the sender keeps entries of an unopened case queued until then
(node_gateway.pipeline.sender).

Answers are bounded per requester and subject: a token bucket (`peer_rate_per_minute`,
`peer_rate_burst`; 429 `peer_rate_limited` with Retry-After beyond it), and an identical
request (same requester, subject, document type and disclosed content) within
`peer_repeat_window_s` of a logged disclosure gets that same disclosure again, re-sealed to the
requester, with no new log entry and no new ledger transaction (`peer_answers` records each
delivery). Disclosures are not batched: each new one is its own `logDisclosure` transaction.
"""

from __future__ import annotations

import math
import secrets
import sqlite3
import time
from typing import Any

from clients.bindings import MemberKind, member_id
from clients.commitments.document import commit
from clients.envelope import EnvelopeError, seal
from clients.peer import (
    DisclosureRequest,
    answer_plaintext,
    disclosure_digest,
    requester_commitment,
)
from clients.records import DocType
from clients.verify import return_anchor
from node_gateway.errors import NotFound, NotInvolved, PeerRateLimited, PolicyDenied
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services import suspension
from node_gateway.services.context import AreaContext
from node_gateway.services.tax_records import evidence_of, header_of
from node_gateway.store import Vault, disclosures, index, outbox, records, transaction

RETURN_DOCS = frozenset(
    {
        DocType.RETURN_APPLICATION.value,
        DocType.ARRIVAL.value,
        DocType.INSPECTION_REPORT.value,
        DocType.RECOGNITION.value,
        DocType.SETTLEMENT.value,
    }
)
# What a requester that may not see a subject is told, whether the subject exists or not (an
# auditor, who may see every case, is told when it does not): word for word the same, and
# without the id asked about, so that a peer request is no oracle of other members' cases.
NOT_INVOLVED_RETURN = "the requester plays no role on this return here"
NOT_INVOLVED_CASE = "the requester plays no role on this case here"


def _role_on_return(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    request: DisclosureRequest,
    kind: MemberKind,
    code: int,
) -> tuple[str, str]:
    """(policy role, case id) of the requester on the return the request is about."""
    requester, return_id = request.requester, request.subject
    r = index.return_state(conn, return_id)
    if r is None:
        on_ledger = ctx.ledger.get_return(request.subject_id)
        if on_ledger is None:
            if kind == MemberKind.AUDITOR:
                raise NotFound("no such return")
            raise NotInvolved(NOT_INVOLVED_RETURN)
        r = {
            "caseId": "0x" + on_ledger.case_id.hex(),
            "originCode": on_ledger.origin_code,
            "centreCode": on_ledger.centre_code,
            "platform": "0x" + on_ledger.platform.hex(),
        }
    if kind == MemberKind.AUDITOR:
        return "auditor", r["caseId"]
    if kind == MemberKind.PLATFORM and requester == r["platform"]:
        return "platform", r["caseId"]
    if kind == MemberKind.CUSTOMS and code == r["originCode"]:
        return "origin", r["caseId"]
    if kind == MemberKind.CUSTOMS and code == r["centreCode"]:
        return "return_centre", r["caseId"]
    raise NotInvolved(NOT_INVOLVED_RETURN)


def _role_on_case(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    requester: str,
    kind: MemberKind,
    code: int,
    platform: str,
    case_id: str,
) -> str:
    if kind == MemberKind.AUDITOR:
        return "auditor"
    if kind == MemberKind.PLATFORM and requester == platform:
        return "platform"
    if kind == MemberKind.CUSTOMS and (
        any(int(r["centreCode"]) == code for r in index.returns_of_case(conn, case_id))
        or _centre_in_tail(ctx, conn, requester, case_id)
    ):
        return "return_centre"
    raise NotInvolved(NOT_INVOLVED_CASE)


def _centre_in_tail(
    ctx: AreaContext, conn: sqlite3.Connection, requester: str, case_id: str
) -> bool:
    """Whether a return of the case at `requester` is in the blocks the index has not read
    yet (the centre asks right after the application; this area's index may lag a little)."""
    indexed, head = index.checkpoint(conn), ctx.ledger.head_block()
    if indexed >= head:
        return False
    for ev in ctx.ledger.events(max(indexed + 1, head - 256), head):
        args = ev["args"]
        if (
            ev["event"] == "ReturnApplied"
            and "0x" + bytes(args["caseId"]).hex() == case_id
            and "0x" + bytes(args["returnCentre"]).hex() == requester
        ):
            return True
    return False


def _disclosed(
    ctx: AreaContext, role: str, stored: dict[str, Any], anchor: dict[str, Any]
) -> dict[str, Any]:
    salts = {p: bytes.fromhex(s) for p, s in stored["salts"].items()}
    c = commit(stored["record"], salts)
    if not ctx.policy.classes(role, c.doc_type):
        raise PolicyDenied(f"the policy gives role {role!r} nothing of {c.doc_type}")
    return c.disclose(ctx.policy.selector(role, c.doc_type)).with_anchor(anchor).to_json()


def admit(ctx: AreaContext, request: DisclosureRequest) -> None:
    """Spend one of the requester's peer requests on this subject, or refuse with 429
    (`peer_rate_per_minute`, `peer_rate_burst`)."""
    limiter = ctx.peer_limiter
    if limiter is None:
        return
    wait = limiter.wait(f"{request.requester}/{request.subject}")
    if wait > 0:
        raise PeerRateLimited(
            f"a requester may ask {limiter.per_second * 60:g} times a minute about one subject "
            f"(bursts of {limiter.burst}); retry in {math.ceil(wait)} s",
            max(1, math.ceil(wait)),
        )


def disclose(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    request: DisclosureRequest,
    kind: MemberKind,
    code: int,
) -> dict[str, Any]:
    """Authorise, disclose, seal, log: the answer to an authenticated and admitted peer request
    by a member of `kind` (customs `code`); node_gateway.peer.disclosures authenticates."""
    vault = Vault(conn, ctx.keyring)
    documents: list[dict[str, Any]] = []
    if request.doc_type in RETURN_DOCS:
        role, case_id = _role_on_return(ctx, conn, request, kind, code)
        anchor = return_anchor(request.subject_id)
        for d in records.documents(conn, return_id=request.subject):
            if d["docType"] == request.doc_type:
                documents.append(_disclosed(ctx, role, vault.get(d["recordId"]), anchor))
    elif request.doc_type == DocType.TAX_ASSESSMENT.value:
        case_id = request.subject
        tax = records.tax_record(conn, case_id)
        if tax is None:
            if kind == MemberKind.AUDITOR:
                raise NotFound("no tax record of such a case here")
            raise NotInvolved(NOT_INVOLVED_CASE)
        platform = "0x" + member_id(tax["platform"]).hex()
        role = _role_on_case(ctx, conn, request.requester, kind, code, platform, case_id)
        h = header_of(ctx, conn, case_id)
        if h["anchorStatus"] != "anchored":
            raise NotFound("the tax record of this case is not anchored yet")
        anchor = evidence_of(ctx, conn, case_id)
        documents.append(_disclosed(ctx, role, vault.get(tax["recordId"]), anchor))
    else:
        raise NotFound(f"no documents of type {request.doc_type!r} are disclosed")
    if not documents:
        raise NotFound(f"no {request.doc_type} of this subject here")
    return deliver(ctx, conn, request, case_id, documents)


def deliver(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    request: DisclosureRequest,
    case_id: str,
    documents: list[dict[str, Any]],
) -> dict[str, Any]:
    """Seal disclosed `documents` to the requester and log them (store and ledger): the end of
    every answer to a peer request."""
    suspension.require_can_disclose(ctx, request.requester_id)  # issue 19: no unlogged answer
    plaintext = answer_plaintext(documents)
    digest = disclosure_digest(plaintext)
    key, _url = ctx.ledger.profile(request.requester_id)
    try:
        envelope = seal(plaintext, key, request.envelope_info())
    except EnvelopeError as exc:
        raise NotInvolved(f"the requester registered no usable encryption key: {exc}") from exc
    fields = sorted({f["path"] for doc in documents for f in doc.get("revealed", [])})
    covered = sorted({str(doc["digest"]).lower() for doc in documents})
    now = int(time.time())
    window = ctx.settings.peer_repeat_window_s
    who, subject, doc_type = request.requester, request.subject, request.doc_type
    with transaction(conn):
        logged = (
            disclosures.logged_within(conn, who, subject, doc_type, digest, now - window)
            if window > 0
            else None
        )
        if logged is None:
            salt = secrets.token_bytes(32)
            disclosure_id = disclosures.log(
                conn, case_id, who, digest, fields, "0x" + salt.hex(), covered
            )
            commitment = requester_commitment(who, salt)
            for document_digest in covered:
                outbox.enqueue(
                    conn,
                    OutboxKind.DISCLOSE,
                    {
                        "caseId": case_id,
                        "requesterCommitment": commitment,
                        "documentDigest": document_digest,
                        "digest": digest,
                    },
                    subject=None,
                    requested_by=who,
                )
        else:  # the same answer again: already logged, on the ledger or on its way there
            disclosure_id = logged
            salt = bytes.fromhex(disclosures.requester_salt(conn, logged)[2:])
        disclosures.answered(
            conn, disclosure_id, who, subject, doc_type, digest, logged is not None, now
        )
    ctx.wake.set()
    return {
        "request": request.to_json(),
        "digest": digest,
        "requesterSalt": "0x" + salt.hex(),
        "envelope": envelope,
    }
