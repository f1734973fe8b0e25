"""The origin's side of binding an application to its case: disclose the case's declaration
to the return centre a platform's signed application names, before that application is on the
ledger (services/binding.py uses it; the requester side is PeerClient.fetch_declaration).

`POST /peer/v1/declarations` takes `{request, signature, application}`: a DisclosureRequest
(subject: the case id, docType: tax_assessment) signed by the return centre as for any
disclosure (node_gateway.peer.auth), and `application`: `{header, terms, signature}` exactly as
the return enterprise sent them. The application is the authority: its EIP-712 signature is by
an account of the case's platform, its `returnCentre` is the requester, it has not expired and
its header is this area's header of the case. The answer discloses only the binding fields
(invtNo, orderNo, ebpCode, agentCode and each line's gnum, gcode, gname, qty) that the policy
gives role `named_centre`, sealed and logged as every disclosure is.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pydantic import ValidationError

from clients.bindings import MemberKind, member_id
from clients.commitments.document import commit
from clients.records import DocType
from node_gateway.errors import BadPeerRequest, NotFound, NotInvolved, PolicyDenied
from node_gateway.peer.auth import verify_request
from node_gateway.peer.wire import SignedApplicationIn
from node_gateway.services.binding import is_binding_path
from node_gateway.services.context import AreaContext
from node_gateway.services.disclosure import admit, deliver
from node_gateway.services.inputs import SignedApplication
from node_gateway.services.tax_records import evidence_of, header_of
from node_gateway.store import Vault, records

ROLE = "named_centre"
BODY_FIELDS = frozenset({"request", "signature", "application"})


def _application(body: Any) -> SignedApplication:
    if not isinstance(body, dict) or body.keys() != BODY_FIELDS:
        raise BadPeerRequest("expected {request, signature, application}")
    try:
        return SignedApplicationIn.model_validate(body["application"]).to_input()
    except ValidationError as exc:
        raise BadPeerRequest(f"application: {exc.errors()[0]['msg']}") from exc


def _authorise(
    ctx: AreaContext, conn: sqlite3.Connection, app: SignedApplication, requester: str
) -> dict[str, Any]:
    """The case's tax record row, if `app` gives `requester` the right to see its declaration."""
    t, h = app.terms, app.header
    case_id = t.case_id.lower()
    if t.return_centre.lower() != requester:
        raise NotInvolved("the application names another return centre")
    if h.case_id.lower() != case_id or t.origin_area.lower() != h.origin_area.lower():
        raise BadPeerRequest("the terms and the header name different cases or origins")
    if h.origin_area.lower() != ctx.member_hex:
        raise NotInvolved("the application is about another origin's case")
    tax = records.tax_record(conn, case_id)
    if tax is None:
        raise NotFound("no tax record of this case here")
    own = header_of(ctx, conn, case_id)
    if own["header"] != h.to_json():  # ids are lowercase hex (wire.HEX32)
        raise NotInvolved("the application's header is not this area's header of the case")
    if own["anchorStatus"] != "anchored":
        raise NotFound("the tax record of this case is not anchored yet")
    try:
        signer = app.signer(ctx.ledger.chain_id, ctx.ledger.return_ledger_address)
    except ValueError as exc:
        raise NotInvolved(f"the application's signature cannot be recovered: {exc}") from exc
    if ctx.ledger.member_of_account(signer, fresh=True) != member_id(tax["platform"]):
        raise NotInvolved("the application is not signed by an account of the case's platform")
    if t.deadline < ctx.ledger.now():
        raise NotInvolved(f"the application's signature expired at {t.deadline}")
    return tax


def answer(ctx: AreaContext, conn: sqlite3.Connection, body: Any) -> dict[str, Any]:
    """Authenticate the centre, check the application's authority, disclose, seal, log."""
    app = _application(body)
    signed = {"request": body["request"], "signature": body["signature"]}
    request, kind, _code = verify_request(ctx, conn, signed)
    admit(ctx, request)
    if kind != MemberKind.CUSTOMS:
        raise NotInvolved("only a customs area relays applications")
    if request.doc_type != DocType.TAX_ASSESSMENT.value:
        raise BadPeerRequest("a declaration is a tax_assessment")
    if request.subject != app.terms.case_id.lower():
        raise BadPeerRequest("the request and the application name different cases")
    tax = _authorise(ctx, conn, app, request.requester)
    if not ctx.policy.classes(ROLE, DocType.TAX_ASSESSMENT.value):
        raise PolicyDenied(f"the policy gives role {ROLE!r} nothing of tax_assessment")
    stored = Vault(conn, ctx.keyring).get(tax["recordId"])
    salts = {p: bytes.fromhex(s) for p, s in stored["salts"].items()}
    allowed = ctx.policy.selector(ROLE, DocType.TAX_ASSESSMENT.value)
    disclosed = commit(stored["record"], salts).disclose(
        lambda path: is_binding_path(path) and allowed(path)
    )
    anchor = evidence_of(ctx, conn, request.subject)
    return deliver(ctx, conn, request, request.subject, [disclosed.with_anchor(anchor).to_json()])
