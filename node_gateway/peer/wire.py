"""The signed return application as it travels: from the return enterprise to the return
centre (inside an API body) and from the return centre to the case's origin (inside a peer
request). Pydantic models, validated at either entry, then turned into services.inputs."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from node_gateway.services.inputs import SignedApplication

# Ids have one spelling, lowercase hex, so that no store or index sees one id spelt twice.
HEX32 = r"^0x[0-9a-f]{64}$"
LABEL = r"^[\x21-\x7e]{1,32}$"
MEMBER_REF = r"^(?:[\x21-\x7e]{1,32}|0x[0-9a-fA-F]{64})$"
ACCOUNT = r"^0x[0-9a-fA-F]{40}$"


class Body(BaseModel):
    """Strict bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class CaseHeaderIn(Body):
    """ReturnLedger.CaseHeader as served by the origin gateway."""

    caseId: str = Field(pattern=HEX32)
    originArea: str = Field(pattern=HEX32)
    platform: str = Field(pattern=HEX32)
    releaseTime: int = Field(gt=0, lt=2**64)
    lineCount: int = Field(ge=1, le=255)
    pieces: list[Annotated[int, Field(ge=1, lt=2**32)]] = Field(
        min_length=1, max_length=255, description="declared pieces of lines 1..lineCount"
    )
    recordDigest: str = Field(pattern=HEX32)


class TermsIn(Body):
    """ReturnLedger.ReturnApplication: what the return enterprise signed."""

    returnId: str = Field(pattern=HEX32)
    caseId: str = Field(pattern=HEX32)
    originArea: str = Field(pattern=HEX32)
    lineMask: int = Field(gt=0, lt=2**128)
    pieces: list[Annotated[int, Field(ge=1, lt=2**32)]] = Field(
        min_length=1, max_length=128, description="pieces asked back per line of lineMask"
    )
    applicationDigest: str = Field(pattern=HEX32)
    returnCentre: str = Field(pattern=HEX32)
    deadline: int = Field(gt=0, lt=2**64)


class SignedApplicationIn(Body):
    """What the return enterprise signed and sent to the return centre (minus the document)."""

    header: CaseHeaderIn
    terms: TermsIn
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")

    def to_input(self) -> SignedApplication:
        """The service input these fields stand for."""
        return SignedApplication.of_json(self.model_dump())
