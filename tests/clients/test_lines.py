"""Line numbers <-> the ledger's uint128 line masks."""

from __future__ import annotations

import pytest

from clients.errors import CrossReturnError, LineMaskError
from clients.records.lines import MASK_LINES, lines_of, mask_and_pieces, mask_of


def test_mask_of_no_lines_is_zero() -> None:
    assert mask_of([]) == 0
    assert lines_of(0) == []


def test_mask_of_unsorted_lines_round_trips_sorted() -> None:
    assert mask_of([3, 1]) == 0b101
    assert lines_of(mask_of([9, 2, 5])) == [2, 5, 9]


def test_mask_of_duplicate_lines_counts_once() -> None:
    assert mask_of([2, 2, 2]) == mask_of([2])


def test_mask_of_last_line_is_the_top_bit() -> None:
    assert MASK_LINES == 128
    assert mask_of([MASK_LINES]) == 1 << 127
    assert lines_of((1 << 128) - 1) == list(range(1, 129))


@pytest.mark.parametrize("line", [0, -1, MASK_LINES + 1, 256, 257])
def test_mask_of_line_out_of_range_raises(line: int) -> None:
    with pytest.raises(LineMaskError) as info:
        mask_of([1, line])
    assert (info.value.value, info.value.limit) == (line, MASK_LINES)
    assert isinstance(info.value, CrossReturnError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("mask", [-1, 1 << 128, 1 << 256])
def test_lines_of_mask_beyond_uint128_raises(mask: int) -> None:
    with pytest.raises(LineMaskError):
        lines_of(mask)


def test_mask_and_pieces_orders_pieces_by_line() -> None:
    assert mask_and_pieces({3: 7, 1: 2}) == (0b101, (2, 7))
