"""The contracts' enums, rule parameter keys and member ids, as Python values.

Each enum lists the Solidity enum's members in declaration order (the ABI carries only their
uint8 values, so the names live here, once).
"""

from __future__ import annotations

from enum import IntEnum

from eth_utils.crypto import keccak

MemberKind = IntEnum("MemberKind", "NONE CUSTOMS PLATFORM AUDITOR", start=0)
MemberStatus = IntEnum("MemberStatus", "NONE ACTIVE SUSPENDED", start=0)
ProposalKind = IntEnum(
    "ProposalKind",
    "NONE ADMIT SUSPEND REINSTATE ADD_ACCOUNT REMOVE_ACCOUNT SET_PARAMETER SET_THRESHOLD",
    start=0,
)
BatchKind = IntEnum("BatchKind", "NONE ASSESSMENT PAYMENT", start=0)
ReturnState = IntEnum(
    "ReturnState", "NONE APPLIED ARRIVED INSPECTED DISPUTED RECOGNIZED SETTLED", start=0
)
LineState = IntEnum("LineState", "NONE APPLIED ACCEPTED REJECTED SETTLED", start=0)
SettlementKind = IntEnum("SettlementKind", "NONE NOT_LEVIED REFUNDED", start=0)

# Rule parameter keys of the Consortium (keccak256 of the name, as in the contract).
PARAMETERS = {
    name: keccak(text=name)
    for name in ("APPLY_WINDOW", "ARRIVAL_WINDOW", "MAX_LINES", "PROPOSAL_TTL")
}
APPLY_WINDOW = PARAMETERS["APPLY_WINDOW"]
ARRIVAL_WINDOW = PARAMETERS["ARRIVAL_WINDOW"]
MAX_LINES = PARAMETERS["MAX_LINES"]
PROPOSAL_TTL = PARAMETERS["PROPOSAL_TTL"]


def member_id(label: str) -> bytes:
    """A member id: the ASCII label (<= 32 characters) right-padded to 32 bytes."""
    raw = label.encode("ascii")
    if not raw or len(raw) > 32:
        raise ValueError(f"member label must be 1-32 ASCII characters: {label!r}")
    return raw.ljust(32, b"\0")


def member_label(member: bytes) -> str:
    """The readable label of a member id made by `member_id` (hex for any other id)."""
    text = member.rstrip(b"\0")
    if text and all(32 <= b < 127 for b in text):
        return text.decode("ascii")
    return "0x" + member.hex()


__all__ = [
    "APPLY_WINDOW",
    "ARRIVAL_WINDOW",
    "MAX_LINES",
    "PARAMETERS",
    "PROPOSAL_TTL",
    "BatchKind",
    "LineState",
    "MemberKind",
    "MemberStatus",
    "ProposalKind",
    "ReturnState",
    "SettlementKind",
    "member_id",
    "member_label",
]
