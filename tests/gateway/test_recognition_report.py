"""The origin's check of a disclosed inspection report against the ledger
(services.recognition._report_problems), with reports a hostile return centre could send."""

from __future__ import annotations

from typing import Any

from clients.commitments.document import commit
from clients.records import canonical
from clients.records.samples import (
    sample_inspection_report,
    sample_return_id,
    sample_tax_assessment,
)
from node_gateway.services.recognition import _report_problems

TAX = sample_tax_assessment(lines=2)
STATE = {"lineMask": 0b11, "late": False}
INSPECTED = {"acceptedMask": 0b11, "acceptedPieces": [line.qty for line in TAX.lines]}


def _disclosed(report: dict[str, Any]) -> Any:
    return commit(report).disclose(lambda path: True)


def test_report_matching_the_ledger_has_no_problems() -> None:
    report = canonical(sample_inspection_report(sample_return_id(), [1, 2]))
    assert _report_problems(_disclosed(report), STATE, INSPECTED, TAX) == []


def test_report_naming_line_zero_is_a_mismatch_not_an_error() -> None:
    report = canonical(sample_inspection_report(sample_return_id(), [1, 2]))
    report["lines"][0]["gnum"] = 0  # outside 1..128: no line mask can hold it
    problems = _report_problems(_disclosed(report), STATE, INSPECTED, TAX)
    assert "the report's accepted lines differ from those on the ledger" in problems
    assert any("covers lines [0, 2]" in p for p in problems)
