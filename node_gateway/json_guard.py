"""How deep JSON nests, found without parsing it.

Checked before every `json.loads` of outside input: the C scanner recurses once per level, and
in a process where py-evm raised the recursion limit (to 100,000) a deep enough document
overflows the C stack and kills the process instead of raising RecursionError.
"""

from __future__ import annotations

import re
from itertools import accumulate

MAX_DEPTH = 64  # canonical records nest 3 levels; request bodies 5

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEP = [0] * 256
for _opener in b"[{":
    _STEP[_opener] = 1
for _closer in b"]}":
    _STEP[_closer] = -1


def json_depth(data: bytes | str) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings skipped); linear time,
    at C speed (regex strips strings and everything but brackets, then a running sum)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)
