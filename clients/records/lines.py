"""Line numbers (gnum) and the ledger's line masks: line n is bit n-1 of a uint128, so a mask
holds lines 1..128 (ReturnLedger's `lineMask`, `acceptedMask`, `settledMask`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from clients.errors import LineMaskError

MASK_LINES = 128  # the masks are uint128 on the ledger


def mask_of(lines: Iterable[int]) -> int:
    """The mask of some line numbers (any order; a repeated line counts once)."""
    mask = 0
    for line in lines:
        if not 1 <= line <= MASK_LINES:
            raise LineMaskError(line, MASK_LINES)
        mask |= 1 << (line - 1)
    return mask


def lines_of(mask: int) -> list[int]:
    """The line numbers in a mask, ascending."""
    if not 0 <= mask < 1 << MASK_LINES:
        raise LineMaskError(mask, MASK_LINES, "line mask")
    return [bit + 1 for bit in range(mask.bit_length()) if mask >> bit & 1]


def mask_and_pieces(counts: Mapping[int, int]) -> tuple[int, tuple[int, ...]]:
    """The mask and the piece array (ascending line number) of {line: pieces}."""
    lines = sorted(counts)
    return mask_of(lines), tuple(counts[line] for line in lines)


__all__ = ["MASK_LINES", "lines_of", "mask_and_pieces", "mask_of"]
