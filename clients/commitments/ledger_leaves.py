"""The leaves the contracts recompute: a case header (assessment batches) and a tax payment.

Both are keccak256 of the ABI encoding of a domain tag followed by static 32-byte words, exactly
as ReturnLedger's `caseHeaderLeaf` and `paymentLeaf` (the header's declared pieces enter as one
word: keccak256 of the counts, each a 32-byte word, as `abi.encodePacked(uint32[])` and EIP-712
hash an array). Encoded by hand, which is several times faster than a general ABI encoder on the
anchoring hot path.
"""

from __future__ import annotations

from dataclasses import dataclass

from clients.commitments.keccak import keccak256

CASE_HEADER_TAG = keccak256(b"CrossReturn.CaseHeader.v2")
PAYMENT_LEAF_TAG = keccak256(b"CrossReturn.TaxPayment.v1")


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _bytes32(value: bytes, name: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes, got {len(value)}")
    return value


def pieces_hash(pieces: tuple[int, ...] | list[int]) -> bytes:
    """keccak256 of piece counts as 32-byte words (`keccak256(abi.encodePacked(uint32[]))`)."""
    for count in pieces:
        if not 0 <= count < 2**32:
            raise ValueError(f"a piece count must fit uint32, got {count}")
    return keccak256(b"".join(_word(count) for count in pieces))


@dataclass(frozen=True)
class CaseHeader:
    """The public header of a released inventory list (ReturnLedger.CaseHeader); `pieces` are
    the declared piece counts of lines 1..line_count."""

    case_id: bytes
    origin_area: bytes
    platform: bytes
    release_time: int
    line_count: int
    record_digest: bytes
    pieces: tuple[int, ...]

    def leaf(self) -> bytes:
        """The assessment-batch leaf of this header."""
        if not 0 < self.line_count < 256 or not 0 <= self.release_time < 2**64:
            raise ValueError("line_count must fit uint8 and release_time uint64")
        if len(self.pieces) != self.line_count:
            raise ValueError(f"{len(self.pieces)} piece counts for {self.line_count} lines")
        return keccak256(
            CASE_HEADER_TAG
            + _bytes32(self.case_id, "case_id")
            + _bytes32(self.origin_area, "origin_area")
            + _bytes32(self.platform, "platform")
            + _word(self.release_time)
            + _word(self.line_count)
            + pieces_hash(self.pieces)
            + _bytes32(self.record_digest, "record_digest")
        )

    def as_tuple(self) -> tuple[bytes, bytes, bytes, int, int, list[int], bytes]:
        """The ABI tuple of ReturnLedger.CaseHeader."""
        return (
            self.case_id,
            self.origin_area,
            self.platform,
            self.release_time,
            self.line_count,
            list(self.pieces),
            self.record_digest,
        )


def payment_leaf(case_id: bytes, origin_code: int, payment_digest: bytes) -> bytes:
    """The payment-batch leaf of a case's tax payment record (origin by customs code)."""
    if not 0 < origin_code <= 9999:
        raise ValueError(f"customs code must be 1..9999, got {origin_code}")
    return keccak256(
        PAYMENT_LEAF_TAG
        + _bytes32(case_id, "case_id")
        + _word(origin_code)
        + _bytes32(payment_digest, "payment_digest")
    )
