"""The inputs of the return and governance services as plain frozen dataclasses: what a
service needs, whatever carried it (an API body, a peer request, the demo). Their JSON
(`of_json` / `to_json`) is the wire spelling, camelCase with 0x hex ids, as validated by the
caller (api/schemas.py, peer/wire.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clients.commitments.ledger_leaves import CaseHeader
from clients.signing import (
    ReturnApplicationTerms,
    application_fields,
    application_json,
    recover_applicant,
)


def _b(value: str) -> bytes:
    return bytes.fromhex(value[2:])


@dataclass(frozen=True)
class Header:
    """ReturnLedger.CaseHeader as served by the origin gateway."""

    case_id: str
    origin_area: str
    platform: str
    release_time: int
    line_count: int
    pieces: tuple[int, ...]
    record_digest: str

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> Header:
        """From its wire JSON (already validated)."""
        return cls(
            case_id=data["caseId"],
            origin_area=data["originArea"],
            platform=data["platform"],
            release_time=data["releaseTime"],
            line_count=data["lineCount"],
            pieces=tuple(data["pieces"]),
            record_digest=data["recordDigest"],
        )

    def to_json(self) -> dict[str, Any]:
        """Its wire JSON, fields in the contract's order."""
        return {
            "caseId": self.case_id,
            "originArea": self.origin_area,
            "platform": self.platform,
            "releaseTime": self.release_time,
            "lineCount": self.line_count,
            "pieces": list(self.pieces),
            "recordDigest": self.record_digest,
        }

    def leaf_header(self) -> CaseHeader:
        """The header as the ledger's Merkle leaf encodes it."""
        return CaseHeader(
            _b(self.case_id),
            _b(self.origin_area),
            _b(self.platform),
            self.release_time,
            self.line_count,
            _b(self.record_digest),
            self.pieces,
        )


@dataclass(frozen=True)
class Terms:
    """ReturnLedger.ReturnApplication: what the return enterprise signed."""

    return_id: str
    case_id: str
    origin_area: str
    line_mask: int
    pieces: tuple[int, ...]
    application_digest: str
    return_centre: str
    deadline: int

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> Terms:
        """From its wire JSON (already validated)."""
        return cls(**application_fields(data))

    def to_json(self) -> dict[str, Any]:
        """Its wire JSON, fields in the contract's order."""
        return application_json(self)

    def signed_terms(self) -> ReturnApplicationTerms:
        """The EIP-712 ReturnApplication these fields stand for (what the platform signed)."""
        return ReturnApplicationTerms(
            return_id=_b(self.return_id),
            case_id=_b(self.case_id),
            origin_area=_b(self.origin_area),
            line_mask=self.line_mask,
            pieces=self.pieces,
            application_digest=_b(self.application_digest),
            return_centre=_b(self.return_centre),
            deadline=self.deadline,
        )


@dataclass(frozen=True)
class SignedApplication:
    """What the return enterprise signed and sent to the return centre (minus the document)."""

    header: Header
    terms: Terms
    signature: str

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> SignedApplication:
        """From its wire JSON `{header, terms, signature}` (already validated)."""
        return cls(Header.of_json(data["header"]), Terms.of_json(data["terms"]), data["signature"])

    def signer(self, chain_id: int, return_ledger: str) -> str:
        """The account that signed the terms (EIP-712 for ReturnLedger at `return_ledger`);
        ValueError when the signature cannot be recovered."""
        try:
            return recover_applicant(
                self.terms.signed_terms(), _b(self.signature), chain_id, return_ledger
            )
        except Exception as exc:  # eth-account raises several types for a malformed signature
            raise ValueError(str(exc)) from exc

    def to_json(self) -> dict[str, Any]:
        """Its wire JSON `{header, terms, signature}`."""
        return {
            "header": self.header.to_json(),
            "terms": self.terms.to_json(),
            "signature": self.signature,
        }


@dataclass(frozen=True)
class ReturnApplication:
    """A return application relayed by the return centre's gateway: the signed application,
    the header's Merkle proof under its batch root, and the committed document (its canonical
    record with the hex salt of every field)."""

    application: SignedApplication
    root: str
    proof: tuple[str, ...]
    record: Mapping[str, Any]
    salts: Mapping[str, str]

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> ReturnApplication:
        """From its wire JSON `{header, root, proof, terms, signature, document}`."""
        return cls(
            application=SignedApplication.of_json(data),
            root=data["root"],
            proof=tuple(data["proof"]),
            record=data["document"]["record"],
            salts=data["document"]["salts"],
        )

    @property
    def header(self) -> Header:
        """The case header the application names."""
        return self.application.header

    @property
    def terms(self) -> Terms:
        """The signed terms."""
        return self.application.terms

    @property
    def signature(self) -> str:
        """The return enterprise's EIP-712 signature of the terms."""
        return self.application.signature


@dataclass(frozen=True)
class Proposal:
    """A governance proposal: its kind and its fields as validated (wire JSON, `kind` too)."""

    kind: str
    fields: Mapping[str, Any]

    @classmethod
    def of_json(cls, data: Mapping[str, Any]) -> Proposal:
        """From its wire JSON (already validated against its kind)."""
        return cls(kind=data["kind"], fields=dict(data))

    def to_json(self) -> dict[str, Any]:
        """Its wire JSON, as the caller sent it (with defaults filled in)."""
        return dict(self.fields)
