"""The lines a disclosed document reveals, and how they must agree with a ledger line mask."""

from __future__ import annotations

from typing import Any

from clients.records.lines import MASK_LINES
from clients.verify.result import CheckFailed


def revealed_lines(values: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Revealed fields of elements of the `lines` array: index -> {field: value}. Paths deeper
    than /lines/<index>/<field>, or whose segment is an object key ("~2…"), are not lines."""
    lines: dict[int, dict[str, Any]] = {}
    for path, value in values.items():
        if path.startswith("/lines/"):
            segment, _, name = path[7:].partition("/")
            index = array_index(segment)
            if index is not None and name and "/" not in name:
                line = lines.get(index)
                if line is None:
                    line = lines[index] = {}
                line[name] = value
    return lines


_INDICES = {str(i): i for i in range(MASK_LINES)}  # the common indices, parsed once


def array_index(segment: str) -> int | None:
    """An RFC 6901 array index (0 or a decimal without a leading zero), or None."""
    index = _INDICES.get(segment)
    if index is not None:
        return index
    if segment.isascii() and segment.isdigit() and (segment == "0" or segment[0] != "0"):
        return int(segment)
    return None


def check_lines(
    lines: dict[int, dict[str, Any]], mask: int, holder: str, missing: str
) -> dict[int, int]:
    """The revealed lines must be lines of `mask`: each revealed gnum in it and listed once, and
    no line index beyond the mask's line count. Returns index -> gnum of the revealed gnums."""
    gnums: dict[int, int] = {}
    seen: set[int] = set()
    for index, line in sorted(lines.items()):
        if "gnum" not in line:
            continue
        gnum = line["gnum"]
        if type(gnum) is not int or not 1 <= gnum <= MASK_LINES:
            raise CheckFailed(f"line {index}'s gnum {gnum!r} is not a line number")
        if not mask >> (gnum - 1) & 1:
            raise CheckFailed(f"line {gnum} {missing}")
        if gnum in seen:
            raise CheckFailed(f"line {gnum} appears twice in the document")
        seen.add(gnum)
        gnums[index] = gnum
    count = mask.bit_count()
    beyond = [index for index in lines if index >= count]
    if beyond:
        raise CheckFailed(
            f"the document has line index {max(beyond)} but {holder} has {count} lines"
        )
    return gnums


__all__ = ["array_index", "check_lines", "revealed_lines"]
