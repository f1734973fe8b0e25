"""Suspension by the consortium, applied on every path of this gateway at once (issue 19).

The ledger says who is suspended; this module is where the gateway asks, for its three
consequences: a suspended member's API keys are refused, a suspended return centre's results
go to an officer instead of automatic recognition, and a gateway whose own area is suspended
(so that ReturnLedger would refuse its `logDisclosure`) discloses nothing. Readings are fresh
after any Consortium event (AreaLedger's cache), so a vote bites on the next request.
"""

from __future__ import annotations

from typing import Any

from clients.bindings import MemberStatus, member_id
from clients.errors import LedgerError
from node_gateway.errors import HolderSuspended, MemberSuspended, NotActiveMember
from node_gateway.services.auth import Principal
from node_gateway.services.context import AreaContext

CENTRE_SUSPENDED = "return centre suspended"


def _status(ctx: AreaContext, member: bytes) -> MemberStatus:
    """A member's status as the ledger says now (fresh after any Consortium event)."""
    return ctx.ledger.member(member, fresh=True)[1]


def require_key_member_active(ctx: AreaContext | None, principal: Principal) -> None:
    """Refuse the key of a member the consortium suspended (MemberSuspended).

    Keys of this gateway's own area are not refused: its operator holds the store and the
    keys anyway, and the ledger refuses its writes. With the node down the last reading
    decides (reads keep working through an outage); a member never read passes."""
    if ctx is None or principal.member_id == ctx.label:
        return
    try:
        member = member_id(principal.member_id)
    except ValueError:
        return
    try:
        status = _status(ctx, member)
    except LedgerError:
        known = ctx.ledger.last_known_member(member)
        if known is None:
            return
        status = known[1]
    if status == MemberStatus.SUSPENDED:
        raise MemberSuspended(f"member {principal.member_id} is suspended by the consortium")


def require_can_disclose(ctx: AreaContext, requester: bytes) -> None:
    """Before sealing an answer: this area (the holder, who must log the disclosure on the
    ledger) and the requester are both active. A ledger that cannot be read refuses too."""
    if _status(ctx, ctx.member) != MemberStatus.ACTIVE:
        raise HolderSuspended(
            f"{ctx.label} is suspended by the consortium: it cannot log a disclosure, so it "
            "gives none"
        )
    if _status(ctx, requester) != MemberStatus.ACTIVE:
        raise NotActiveMember("the requester is not an active member")


def held_for_officer(ctx: AreaContext, state: dict[str, Any]) -> list[str]:
    """Why automatic recognition must leave an inspected return to an officer before asking
    its centre anything (empty: go on): its return centre is suspended."""
    centre = ctx.ledger.customs_member(int(state["centreCode"]))
    if _status(ctx, centre) != MemberStatus.ACTIVE:
        return [CENTRE_SUSPENDED]
    return []
