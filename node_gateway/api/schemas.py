"""Request and response bodies of the gateway API (pydantic); routes hand services their
plain inputs (services.inputs) through `to_input`.

Records inside bodies stay plain JSON objects here: they are validated by the records library
(clients.records), whose errors name each field by JSON pointer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from node_gateway.peer.wire import ACCOUNT, LABEL, MEMBER_REF, Body, CaseHeaderIn, TermsIn
from node_gateway.peer.wire import HEX32 as HEX32
from node_gateway.services.inputs import Proposal, ReturnApplication


class TaxRecordIn(Body):
    """One tax assessment: the platform member of the order and the canonical record."""

    platform: str = Field(pattern=LABEL, description="member label of the e-commerce platform")
    record: dict[str, Any] = Field(description="canonical tax_assessment record")


class TaxRecordsIn(Body):
    """A bulk of tax assessments, accepted all or nothing."""

    records: list[TaxRecordIn] = Field(min_length=1)


class CebTaxRecordsIn(Body):
    """A CEB621 message of inventory lists with the CEB816 message of their tax bills, as XML
    text, and the platform member the lists were declared for."""

    platform: str = Field(pattern=LABEL, description="member label of the e-commerce platform")
    ceb621: str = Field(min_length=1, description="a CEB621Message (XML) of inventory lists")
    ceb816: str = Field(min_length=1, description="the CEB816Message (XML) of their tax bills")


class CommittedDocumentIn(Body):
    """A canonical record with the salt of every field (hex, by JSON pointer)."""

    record: dict[str, Any]
    salts: dict[str, str]


class ReturnApplicationIn(Body):
    """A return application relayed by the return centre's gateway."""

    header: CaseHeaderIn
    root: str = Field(pattern=HEX32, description="the assessment batch root of the header")
    proof: list[str] = Field(max_length=64, description="Merkle proof of the header leaf")
    terms: TermsIn
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="EIP-712 signature")
    document: CommittedDocumentIn

    def to_input(self) -> ReturnApplication:
        """The service input these fields stand for."""
        return ReturnApplication.of_json(self.model_dump())


class StepIn(Body):
    """A return step's canonical record (arrival, inspection report, decision, settlement)."""

    record: dict[str, Any]


class VerifyIn(Body):
    """A disclosed document (clients.commitments DisclosedDocument JSON) to check."""

    document: dict[str, Any]


class Accepted(BaseModel):
    """A write accepted and durable; poll `operation` for its ledger outcome."""

    operation: dict[str, Any]
    digest: str | None = None
    returnId: str | None = None
    caseId: str | None = None


# ---------------------------------------------------------------------- governance

MemberRef = Annotated[
    str, Field(pattern=MEMBER_REF, description="member label (customs-2900) or 0x member id")
]
Account = Annotated[str, Field(pattern=ACCOUNT, description="a signing account (0x address)")]
Signature = Annotated[
    str, Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="a 65-byte signature (0x hex)")
]


class SuspensionIn(Body):
    """Suspend a member: it can no longer act or sign (only a vote reinstates it)."""

    kind: Literal["suspension"]
    member: MemberRef


class ReinstatementIn(Body):
    """Reinstate a suspended member."""

    kind: Literal["reinstatement"]
    member: MemberRef


class AccountAdditionIn(Body):
    """Add a signing account to a member that lost every key (a member holding one adds
    accounts itself); the new account proves possession of its key."""

    kind: Literal["account-addition"]
    member: MemberRef
    account: Account
    possession: Signature = Field(
        description="the new account's EIP-712 AccountPossession signature for the member "
        "(clients.member_signing)"
    )


class AccountRemovalIn(Body):
    """Remove a signing account from a member (key rotation, step two)."""

    kind: Literal["account-removal"]
    member: MemberRef
    account: Account


class ParameterIn(Body):
    """Set a rule parameter (APPLY_WINDOW, ARRIVAL_WINDOW, PROPOSAL_TTL in seconds; MAX_LINES)."""

    kind: Literal["parameter"]
    parameter: str = Field(pattern=r"^[A-Z_]{1,32}$", description="e.g. APPLY_WINDOW")
    value: int = Field(ge=0, lt=2**64)


class ThresholdIn(Body):
    """Set the number of approvals a proposal needs."""

    kind: Literal["threshold"]
    value: int = Field(ge=1, lt=2**32)


class AdmissionIn(Body):
    """Admit a customs area (with its customs code) or an auditor; platforms are registered by
    their sponsoring area, without a vote."""

    kind: Literal["admission"]
    label: str = Field(pattern=LABEL, description="the new member's label, e.g. customs-5100")
    memberKind: Literal["customs", "auditor"]
    customsCode: str | None = Field(
        default=None, pattern=r"^[0-9]{4}$", description="4 digits; customs areas only"
    )
    account: Account
    encryptionKey: str = Field(
        default="0x", pattern=r"^0x(?:[0-9a-fA-F]{2}){0,4096}$", description="HPKE public key"
    )
    gatewayUrl: str = Field(default="", max_length=512)
    registration: Signature = Field(
        description="the account's EIP-712 MemberRegistration signature over this admission "
        "(clients.member_signing)"
    )


ProposalIn = Annotated[
    SuspensionIn
    | ReinstatementIn
    | AccountAdditionIn
    | AccountRemovalIn
    | ParameterIn
    | ThresholdIn
    | AdmissionIn,
    Field(discriminator="kind"),
]


def proposal_input(body: ProposalIn) -> Proposal:
    """The service input a validated proposal body stands for."""
    return Proposal.of_json(body.model_dump())
