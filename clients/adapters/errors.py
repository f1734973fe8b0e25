"""The adapters' refusals: each names where in the source document it found the problem.

Every refusal is an `AdapterError` (under the SDK's root, CrossReturnError) with a stable
`code` and the HTTP `status` a gateway answers it with (node_gateway.api.problems turns it into
problem+json): `invalid_xml` / `invalid_json` (not a safe, well-formed document of the expected
kind), `invalid_record` (fields that break the canonical schema, named by element path) and
`unmatched_tax_bill` (an inventory list and its tax bill that do not pair up).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clients.errors import CrossReturnError

# A problem+json lists at most this many problems; `errorCount` gives the full number.
MAX_REPORTED = 100


@dataclass(frozen=True)
class SourceProblem:
    """One problem in a source document.

    `path` locates it in the source: an element path for XML
    (`/CEB621Message/Inventory[3]/InventoryList[2]/qty`, 1-based indices on repeatable
    elements), a JSON pointer for JSON; empty when the document as a whole is at fault.
    `field` is the canonical record's JSON pointer when the problem is a record field's.
    """

    path: str
    rule: str
    message: str
    field: str | None = None
    line: int | None = None
    column: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The problem as listed in a problem+json `errors` array (unset parts left out)."""
        out: dict[str, Any] = {"path": self.path, "rule": self.rule, "message": self.message}
        for key in ("field", "line", "column"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def __str__(self) -> str:
        return f"{self.path or '<document>'}: {self.rule}: {self.message}"


class AdapterError(CrossReturnError):
    """A source document the adapters cannot turn into canonical records; `problems` lists
    every problem found (`reported` the first MAX_REPORTED, as a problem+json lists them).

    `status`, `code` and `title` are what a gateway answers the refusal with."""

    status = 422
    code = "invalid_source"
    title = "Invalid source document"

    def __init__(self, problems: Sequence[SourceProblem], what: str = "") -> None:
        self.problems = list(dict.fromkeys(problems))  # each problem once, in order
        count = len(self.problems)
        shown = "; ".join(str(p) for p in self.problems[:3])
        more = f" (and {count - 3} more)" if count > 3 else ""
        head = f"{what}: " if what else ""
        super().__init__(f"{head}{count} problem{'s' if count != 1 else ''}: {shown}{more}")

    @property
    def reported(self) -> list[dict[str, Any]]:
        """The first MAX_REPORTED problems as a problem+json `errors` array lists them."""
        return [p.as_json() for p in self.problems[:MAX_REPORTED]]

    @property
    def rules(self) -> list[tuple[str, str]]:
        """(path, rule) of every problem, in order: handy to assert on."""
        return [(p.path, p.rule) for p in self.problems]


class InvalidXml(AdapterError):
    """422: not a well-formed, safe XML message of the expected type (malformed; a DTD,
    entity or external reference; nested too deep; another root element)."""

    code = "invalid_xml"
    title = "Invalid XML"


class XmlTooLarge(InvalidXml):
    """413: an XML message above the adapter's size limit (code still `invalid_xml`)."""

    status = 413


class InvalidJson(AdapterError):
    """422: not a well-formed JSON document of the expected shape, or nested too deep."""

    code = "invalid_json"
    title = "Invalid JSON"


class JsonTooLarge(InvalidJson):
    """413: a JSON document above the adapter's size limit (code still `invalid_json`)."""

    status = 413


class InvalidSourceRecord(AdapterError):
    """422: fields of the source break the canonical record's rules; each problem names the
    source path (element path or JSON pointer) and the canonical field it maps to."""

    code = "invalid_record"
    title = "Invalid record"


class UnmatchedTaxBill(AdapterError):
    """422: an inventory list without its tax bill, a tax bill without its inventory list, or
    a bill whose lines or header do not agree with the list's."""

    code = "unmatched_tax_bill"
    title = "Unmatched tax bill"
