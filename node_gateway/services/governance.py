"""Consortium governance as one customs area plays it (DESIGN §2): list the members and the
proposals, propose, vote — the area's own ledger account signs.

A proposal or a vote is first played against the ledger's head (an `eth_call` of the very
transaction), so anything the Consortium would refuse — an unknown member or proposal, a vote
already cast, a closed proposal, a status the member already has — is a clear 4xx now rather
than a failed operation later; then the write goes into the outbox (kinds `propose` and
`vote`) and the caller gets the operation to poll. A vote that brings the approvals to the
threshold executes the proposal in the same transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from clients.bindings import PARAMETERS, MemberKind, ProposalKind, member_id, member_label
from clients.errors import ContractRevert
from node_gateway.errors import (
    AlreadyVoted,
    GatewayError,
    InvalidProposal,
    NotGoverning,
    ProposalClosed,
    ProposalConflict,
    UnknownMember,
    UnknownProposal,
)
from node_gateway.ledger.area_ledger import MemberOnLedger, ProposalOnLedger
from node_gateway.outbox_kinds import OutboxKind
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext
from node_gateway.services.inputs import Proposal
from node_gateway.store import outbox, transaction

# API names of the proposal kinds (the `kind` of a request body and of a listed proposal).
KIND_NAMES = {
    ProposalKind.ADMIT: "admission",
    ProposalKind.SUSPEND: "suspension",
    ProposalKind.REINSTATE: "reinstatement",
    ProposalKind.ADD_ACCOUNT: "account-addition",
    ProposalKind.REMOVE_ACCOUNT: "account-removal",
    ProposalKind.SET_PARAMETER: "parameter",
    ProposalKind.SET_THRESHOLD: "threshold",
}
STATUSES = ("open", "executed", "expired")
_PARAMETER_NAMES = {key: name for name, key in PARAMETERS.items()}

# The Consortium's custom errors, by the problem a proposal or vote refused with it gets.
_REFUSALS: dict[str, type[GatewayError]] = {
    "NotAMember": NotGoverning,
    "MemberNotActive": NotGoverning,
    "WrongMemberKind": NotGoverning,
    "UnknownMember": UnknownMember,
    "UnknownProposal": UnknownProposal,
    "ProposalAlreadyExecuted": ProposalClosed,
    "ProposalExpired": ProposalClosed,
    "AlreadyVoted": AlreadyVoted,
    "InvalidMemberId": InvalidProposal,
    "InvalidMemberKind": InvalidProposal,
    "InvalidCustomsCode": InvalidProposal,
    "ZeroAccount": InvalidProposal,
    "PossessionNotProven": InvalidProposal,
    "UnknownParameter": InvalidProposal,
    "ParameterOutOfRange": InvalidProposal,
    "ThresholdOutOfRange": InvalidProposal,
}


def _h(value: bytes) -> str:
    return "0x" + value.hex()


def _label(member: bytes) -> str | None:
    """The readable label of a member id, None when the id is not a padded label."""
    shown = member_label(member)
    return None if shown.startswith("0x") and len(shown) == 66 else shown


def _member_ref(ref: str) -> bytes:
    """A member id from a label or a 0x id (the body's pattern admits only these)."""
    if ref.startswith("0x") and len(ref) == 66:
        return bytes.fromhex(ref[2:])
    return member_id(ref)


# ---------------------------------------------------------------------- reads


def _member_json(m: MemberOnLedger, own: bytes) -> dict[str, Any]:
    return {
        "memberId": _h(m.member_id),
        "label": _label(m.member_id),
        "kind": m.kind.name.lower(),
        "status": m.status.name.lower(),
        "suspendedByVote": m.suspended_by_vote,
        "customsCode": f"{m.customs_code:04d}" if m.kind == MemberKind.CUSTOMS else None,
        "sponsor": member_label(m.sponsor) if any(m.sponsor) else None,
        "accounts": list(m.accounts),
        "gatewayUrl": m.gateway_url or None,
        "encryptionKey": bool(m.encryption_key),
        "self": m.member_id == own,
    }


def members(ctx: AreaContext) -> dict[str, Any]:
    """Every member of the Consortium as the ledger holds it now, in admission order, with the
    vote threshold and the number of active customs areas (the electorate)."""
    threshold, active, _count = ctx.ledger.governance_rules()
    listed = [
        _member_json(ctx.ledger.member_details(m), ctx.member) for m in ctx.ledger.member_ids()
    ]
    return {"threshold": threshold, "activeCustoms": active, "members": listed}


def _status(p: ProposalOnLedger, now: int) -> str:
    if p.executed:
        return "executed"
    return "expired" if now > p.expires_at else "open"


def _target(p: ProposalOnLedger) -> tuple[str, dict[str, Any]]:
    """A one-line summary of what the proposal changes, and its fields."""
    kind = p.kind
    if kind == ProposalKind.SET_PARAMETER:
        name = _PARAMETER_NAMES.get(p.key, _h(p.key))
        return f"{name} = {p.value}", {"parameter": name, "value": p.value}
    if kind == ProposalKind.SET_THRESHOLD:
        return f"threshold = {p.value}", {"value": p.value}
    fields: dict[str, Any] = {"member": member_label(p.member_id), "memberId": _h(p.member_id)}
    summary = fields["member"]
    if kind in (ProposalKind.ADD_ACCOUNT, ProposalKind.REMOVE_ACCOUNT, ProposalKind.ADMIT):
        fields["account"] = p.account
        summary += f" account {p.account}"
    if kind == ProposalKind.ADMIT:
        member_kind = p.member_kind.name.lower()
        fields["memberKind"] = member_kind
        code = f"{p.customs_code:04d}" if p.member_kind == MemberKind.CUSTOMS else None
        fields["customsCode"] = code
        fields["gatewayUrl"] = p.gateway_url or None
        summary = f"{fields['member']} as {member_kind}" + (f" {code}" if code else "")
    return summary, fields


def _proposal_json(ctx: AreaContext, p: ProposalOnLedger, now: int) -> dict[str, Any]:
    summary, fields = _target(p)
    return {
        "id": p.proposal_id,
        "kind": KIND_NAMES[p.kind],
        "target": summary,
        **fields,
        "proposer": member_label(p.proposer),
        "approvals": p.approvals,
        # what this proposal needs now: below the threshold when its subject (an area being
        # suspended or re-keyed) is not in its electorate
        "threshold": p.needed,
        "status": _status(p, now),
        "expiresAt": p.expires_at,
        "approvedByThisArea": ctx.ledger.has_voted(p.proposal_id, ctx.member),
    }


def proposals(ctx: AreaContext, status: str | None = None, limit: int = 50) -> dict[str, Any]:
    """The newest `limit` proposals (of one `status`: open, executed or expired), newest first,
    with the threshold a proposal needs now."""
    threshold, _active, count = ctx.ledger.governance_rules()
    now = ctx.ledger.now()
    found: list[dict[str, Any]] = []
    for proposal_id in range(count - 1, -1, -1):
        p = ctx.ledger.proposal(proposal_id)
        if p is None or (status is not None and _status(p, now) != status):
            continue
        found.append(_proposal_json(ctx, p, now))
        if len(found) >= limit:
            break
    return {"threshold": threshold, "proposalCount": count, "proposals": found}


def proposal(ctx: AreaContext, proposal_id: int) -> dict[str, Any]:
    """One proposal as `proposals` lists it; UnknownProposal when there is none."""
    p = ctx.ledger.proposal(proposal_id)
    if p is None:
        raise UnknownProposal(f"no proposal {proposal_id}", rule="UnknownProposal")
    return _proposal_json(ctx, p, ctx.ledger.now())


# ---------------------------------------------------------------------- writes


def _payload(body: Proposal) -> dict[str, Any]:
    """The outbox payload of a proposal: the Consortium call's arguments, as plain JSON."""
    f = body.fields
    match body.kind:
        case "suspension" | "reinstatement":
            return {"kind": body.kind, "memberId": _h(_member_ref(f["member"]))}
        case "account-addition":
            return {
                "kind": body.kind,
                "memberId": _h(_member_ref(f["member"])),
                "account": f["account"].lower(),
                "possession": f["possession"].lower(),
            }
        case "account-removal":
            return {
                "kind": body.kind,
                "memberId": _h(_member_ref(f["member"])),
                "account": f["account"].lower(),
            }
        case "parameter":
            key = PARAMETERS.get(f["parameter"])
            if key is None:
                known = ", ".join(sorted(PARAMETERS))
                raise InvalidProposal(
                    f"/parameter: {f['parameter']!r} is not a rule parameter; one of {known}",
                    rule="UnknownParameter",
                )
            return {"kind": body.kind, "key": _h(key), "value": f["value"]}
        case "threshold":
            return {"kind": body.kind, "value": f["value"]}
        case "admission":
            kind = MemberKind.CUSTOMS if f["memberKind"] == "customs" else MemberKind.AUDITOR
            return {
                "kind": body.kind,
                "memberId": _h(member_id(f["label"])),
                "memberKind": int(kind),
                "customsCode": int(f["customsCode"] or 0),
                "account": f["account"].lower(),
                "encryptionKey": f["encryptionKey"].lower(),
                "gatewayUrl": f["gatewayUrl"],
                "registration": f["registration"].lower(),
            }
    raise AssertionError(f"unhandled proposal kind {body.kind!r}")


def _refusal(revert: ContractRevert, what: str) -> GatewayError:
    """The problem for a Consortium refusal of `what` (a proposal or a vote)."""
    args = revert.args_dict
    if revert.name == "AlreadyVoted":
        voter = member_label(bytes(args["voter"]))
        detail = f"area {voter} has already approved proposal {args['proposalId']}"
    elif revert.name == "ProposalAlreadyExecuted":
        detail = f"proposal {args['proposalId']} is already executed"
    elif revert.name == "ProposalExpired":
        detail = f"proposal {args['proposalId']} expired at {args['expiredAt']} (ledger time)"
    elif revert.name == "UnknownProposal":
        detail = f"no proposal {args['proposalId']}"
    elif revert.name == "UnknownMember":
        detail = f"no member {member_label(bytes(args['memberId']))} in the Consortium"
    elif revert.name == "SubjectCannotApprove":
        detail = (
            f"area {member_label(bytes(args['memberId']))} may not propose or approve its own "
            "suspension or re-keying: the other areas decide it"
        )
    elif revert.name == "ZeroAccount":
        member = member_label(bytes(args["memberId"]))
        detail = f"the zero address cannot be a signing account of {member}"
    elif revert.name == "InvalidMemberId":
        detail = f"the member of account {args['account']} needs a non-zero member id"
    elif revert.name in ("NotAMember", "MemberNotActive", "WrongMemberKind"):
        detail = f"this area is not an active customs area ({revert}); it may not govern"
    else:
        detail = f"the Consortium refuses {what}: {revert}"
    return _REFUSALS.get(revert.name, ProposalConflict)(detail, rule=revert.name)


def _queue(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    principal: Principal,
    kind: OutboxKind,
    payload: dict[str, Any],
    subject: str | None,
    what: str,
) -> dict[str, Any]:
    """Play the write against the ledger's head, then queue it; returns its operation."""
    try:
        ctx.ledger.preflight(ctx.ledger.build(kind, payload))
    except ContractRevert as exc:
        raise _refusal(exc, what) from exc
    with transaction(conn):
        op = outbox.enqueue(conn, kind, payload, subject, principal.member_id)
    ctx.wake.set()
    row = outbox.get(conn, op)
    assert row is not None
    return {"operation": row.operation()}


def propose(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, body: Proposal
) -> dict[str, Any]:
    """Queue a proposal by this area (its approval counts at once); the proposal's id is known
    once the operation is confirmed (list the proposals)."""
    payload = _payload(body)
    accepted = _queue(
        ctx, conn, principal, OutboxKind.PROPOSE, payload, None, f"this {body.kind} proposal"
    )
    return {**accepted, "proposal": body.to_json()}


def vote(
    ctx: AreaContext, conn: sqlite3.Connection, principal: Principal, proposal_id: int
) -> dict[str, Any]:
    """Queue this area's approval of a proposal; the approval that reaches the threshold
    executes it."""
    subject = f"proposal:{proposal_id}"
    if any(row.kind == OutboxKind.VOTE for row in outbox.open_for_subject(conn, subject)):
        raise AlreadyVoted(
            f"a vote of this area on proposal {proposal_id} is on its way to the ledger",
            rule="AlreadyVoted",
        )
    payload = {"proposalId": proposal_id}
    accepted = _queue(
        ctx, conn, principal, OutboxKind.VOTE, payload, subject, f"a vote on {proposal_id}"
    )
    return {**accepted, "proposalId": proposal_id}
