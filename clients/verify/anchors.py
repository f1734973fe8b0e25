"""The anchor evidence a disclosed document carries: how to build it for each kind of document
(a tax record's case header or payment leaf with its Merkle proof, a return step's return id)
and how to read it back, refusing malformed evidence with the reason."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clients.commitments.ledger_leaves import CaseHeader
from clients.verify.result import CheckFailed


def b32(value: Any, name: str) -> bytes:
    if isinstance(value, bytes) and len(value) == 32:
        return value
    if isinstance(value, str) and value.startswith("0x") and len(value) == 66:
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise CheckFailed(f"anchor.{name} is not a 32-byte hex value")


def non_negative(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise CheckFailed(f"anchor.{name} is not a non-negative integer")


def proof_of(anchor: dict[str, Any]) -> list[bytes]:
    proof = anchor.get("proof")
    if not isinstance(proof, list):
        raise CheckFailed("anchor.proof is missing")
    return [b32(p, f"proof[{i}]") for i, p in enumerate(proof)]


def case_header_from_anchor(anchor: dict[str, Any]) -> CaseHeader:
    """The case header carried in a tax assessment's anchor evidence."""
    h = anchor.get("caseHeader")
    if not isinstance(h, dict):
        raise CheckFailed("anchor.caseHeader is missing")
    return CaseHeader(
        case_id=b32(h.get("caseId"), "caseHeader.caseId"),
        origin_area=b32(h.get("originArea"), "caseHeader.originArea"),
        platform=b32(h.get("platform"), "caseHeader.platform"),
        release_time=non_negative(h.get("releaseTime"), "caseHeader.releaseTime"),
        line_count=non_negative(h.get("lineCount"), "caseHeader.lineCount"),
        record_digest=b32(h.get("recordDigest"), "caseHeader.recordDigest"),
        pieces=_pieces(h.get("pieces")),
    )


def _pieces(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise CheckFailed("anchor.caseHeader.pieces is missing")
    return tuple(non_negative(n, f"caseHeader.pieces[{i}]") for i, n in enumerate(value))


def case_anchor(header: CaseHeader, root: bytes, proof: Iterable[bytes]) -> dict[str, Any]:
    """The anchor evidence of a tax assessment (JSON-compatible)."""
    return {
        "kind": "case",
        "caseHeader": {
            "caseId": "0x" + header.case_id.hex(),
            "originArea": "0x" + header.origin_area.hex(),
            "platform": "0x" + header.platform.hex(),
            "releaseTime": header.release_time,
            "lineCount": header.line_count,
            "pieces": list(header.pieces),
            "recordDigest": "0x" + header.record_digest.hex(),
        },
        "root": "0x" + root.hex(),
        "proof": ["0x" + p.hex() for p in proof],
    }


def payment_anchor(
    case_id: bytes, origin_code: int, root: bytes, proof: Iterable[bytes]
) -> dict[str, Any]:
    """The anchor evidence of a tax payment record for one case."""
    return {
        "kind": "payment",
        "caseId": "0x" + case_id.hex(),
        "originCode": origin_code,
        "root": "0x" + root.hex(),
        "proof": ["0x" + p.hex() for p in proof],
    }


def return_anchor(return_id: bytes) -> dict[str, Any]:
    """The anchor evidence of a return step's document."""
    return {"kind": "return", "returnId": "0x" + return_id.hex()}


__all__ = [
    "b32",
    "case_anchor",
    "case_header_from_anchor",
    "non_negative",
    "payment_anchor",
    "proof_of",
    "return_anchor",
]
