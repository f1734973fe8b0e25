"""From source values to canonical records: a `Draft` gathers a record's values under
canonical JSON pointers together with where each came from, and `build_records` validates
drafts with clients.records, reporting each broken rule at its source path.

Shared by every adapter; the value converters here turn source text into the types the schemas
want (Decimal money in fen, int counts) and leave anything unconvertible as it was, so the
schema's own rule names the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from clients.adapters.errors import InvalidSourceRecord, SourceProblem
from clients.records import DocType, FieldError, RecordValidationError, canonical, parse_record

# Bounded lengths: longer numbers are left as text for the schema to refuse, never handed to
# int() (which refuses over 4,300 digits) or to Decimal arithmetic (which can overflow).
_DECIMAL = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?")
_WHOLE = re.compile(r"[0-9]{1,18}(?:\.0{0,30})?")


def decimal_of(text: str) -> Decimal | str:
    """A decimal amount ("12.3", "12.30000") as Decimal; other text unchanged."""
    return Decimal(text) if _DECIMAL.fullmatch(text) else text


def int_of(text: str) -> int | str:
    """A whole number ("2", "2.00000": CEB quantities carry decimals) as int; other text
    unchanged."""
    return int(text.split(".")[0]) if _WHOLE.fullmatch(text) else text


def total(values: Iterable[Any]) -> Decimal | None:
    """The sum of amounts, None if any is not a Decimal (its own field reports why)."""
    found = Decimal("0.00")
    for value in values:
        if not isinstance(value, Decimal):
            return None
        try:
            found += value
        except ArithmeticError:  # beyond Decimal's range: the amounts report themselves
            return None
    return found


class Draft:
    """One record's values by canonical JSON pointer, and the source path of each.

    `where` is the source path of the record as a whole: problems of fields with no source of
    their own (or of the record itself) are reported there.
    """

    def __init__(self, where: str) -> None:
        self.data: dict[str, Any] = {}
        self.origins: dict[str, str] = {"": where}
        self.problems: list[SourceProblem] = []
        self.failed: set[str] = set()
        self.derived: set[str] = set()

    def origin(self, pointer: str, source: str) -> None:
        """Report problems at `pointer` (or below it) at `source`."""
        self.origins[pointer] = source

    def put(self, pointer: str, value: Any, source: str, derived: bool = False) -> None:
        """Set the value at `pointer` ("/buyer/name", "/lines/0/qty"), read from `source`;
        None leaves the field out (the schema reports it missing, at `source`). A derived
        value (a sum) is computed from others: its problems are only reported when nothing
        else is wrong with the record, since they follow from the others'."""
        self.origin(pointer, source)
        if derived:
            self.derived.add(pointer)
        if value is None:
            return
        node: Any = self.data
        parts = pointer.split("/")[1:]
        for part, following in zip(parts, parts[1:], strict=False):
            key: Any = int(part) if isinstance(node, list) else part
            if isinstance(node, list):
                while len(node) <= key:
                    node.append({})
            elif key not in node:
                node[key] = [] if following.isdigit() else {}
            node = node[key]
        last = parts[-1]
        if isinstance(node, list):
            index = int(last)
            while len(node) <= index:
                node.append({})
            node[index] = value
        else:
            node[last] = value

    def get(self, pointer: str) -> Any:
        """The value put at `pointer`, None if there is none."""
        node: Any = self.data
        for part in pointer.split("/")[1:]:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return None
        return node

    def fail(self, pointer: str, source: str, rule: str, message: str) -> None:
        """A value the adapter could not convert; the schema's complaint about the then
        missing field is dropped in favour of this one."""
        self.origin(pointer, source)
        self.failed.add(pointer)
        self.problems.append(SourceProblem(source, rule, message, pointer))

    def report(self, source: str, rule: str, message: str) -> None:
        """A problem of the record as a whole, found in the source."""
        self.problems.append(SourceProblem(source, rule, message))

    def locate(self, error: FieldError) -> SourceProblem:
        """A record validation error at the source path of its field (or nearest parent)."""
        pointer = error.path
        while pointer not in self.origins:
            pointer = pointer.rsplit("/", 1)[0]
        return SourceProblem(self.origins[pointer], error.rule, error.message, error.path)

    def problems_of(self, errors: Sequence[FieldError]) -> list[SourceProblem]:
        """This draft's own problems and the validation errors, at their source paths."""
        kept = [e for e in errors if e.path not in self.failed]
        if self.problems or any(e.path not in self.derived for e in kept):
            kept = [e for e in kept if e.path not in self.derived]
        return self.problems + [self.locate(e) for e in kept]


def build_records(
    doc_type: DocType, drafts: Sequence[Draft], extra: Sequence[SourceProblem] = ()
) -> list[dict[str, Any]]:
    """The canonical form of every draft, or InvalidSourceRecord listing every problem of
    every draft (and `extra`, problems found while reading the source) by source path."""
    problems = list(extra)
    out: list[dict[str, Any]] = []
    for draft in drafts:
        try:
            record = parse_record(doc_type, draft.data)
        except RecordValidationError as exc:
            problems += draft.problems_of(exc.errors)
            continue
        problems += draft.problems
        out.append(canonical(record))
    if problems:
        raise InvalidSourceRecord(problems, f"invalid {doc_type.value}")
    return out
