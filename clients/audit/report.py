"""The period report: totals per origin area and ISO week, the report card, settlement times
and anomalies, over the returns applied for in a period. Totals are traceable: every total
lists the cases it sums; a total whose amounts were not all disclosed says so (`valueKnown`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clients.audit.stories import (
    ARRIVAL_WINDOW_DAYS,
    DAY,
    RECOGNITION_DAYS,
    CaseValues,
    LineValue,
    LineValues,
    ReturnStory,
    iso_time,
    money,
    stories,
)
from clients.records.checks import pro_rata
from clients.records.lines import lines_of


def iso_week(ts: int) -> str:
    """The ISO week of a timestamp, e.g. 2026-W47."""
    year, week, _ = datetime.fromtimestamp(ts, UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _pieces(gnums: list[int], counts: Mapping[int, int], line_values: LineValues) -> int:
    """Pieces of `gnums`: the ledger's counts; without them the disclosed quantity, else one."""
    return sum(counts.get(g) or (line_values[g].qty if g in line_values else 1) for g in gnums)


@dataclass
class _Total:
    """One origin area's returns applied for in one ISO week."""

    returns: int = 0
    items: int = 0
    value_not_levied: Decimal = Decimal(0)
    value_refunded: Decimal = Decimal(0)
    tax_not_levied: Decimal = Decimal(0)
    tax_refunded: Decimal = Decimal(0)
    value_known: bool = True
    cases: set[str] = field(default_factory=set)

    def add(self, story: ReturnStory, line_values: LineValues) -> None:
        """Count a return: its pieces, and the value and tax of what was settled."""
        self.returns += 1
        self.cases.add(story.case_id)
        applied = lines_of(story.line_mask)
        self.items += _pieces(applied, story.applied_pieces, line_values)
        self.value_known &= all(g in line_values for g in applied)
        for kind, part in story.parts:
            for g, (before, pieces) in part.items():
                line = line_values.get(g)
                if line is None:
                    continue
                try:
                    value, tax = line.part(before, pieces)
                except ValueError:  # the disclosed quantity disagrees with the ledger's pieces
                    self.value_known = False
                    continue
                if kind == "refunded":
                    self.value_refunded += value
                    self.tax_refunded += tax
                else:
                    self.value_not_levied += value
                    self.tax_not_levied += tax

    def row(self, code: str, period: str) -> dict[str, Any]:
        """The report's row for this area and week."""
        return {
            "originCode": code,
            "period": period,
            "returns": self.returns,
            "items": self.items,
            "valueNotLevied": money(self.value_not_levied),
            "valueRefunded": money(self.value_refunded),
            "taxNotLevied": money(self.tax_not_levied),
            "taxRefunded": money(self.tax_refunded),
            "valueKnown": self.value_known,
            "cases": sorted(self.cases),
        }


@dataclass
class _ReportCard:
    """What inspection found over the period: returns and pieces inspected, pieces released
    and their value."""

    returns_inspected: int = 0
    pieces_inspected: int = 0
    pieces_released: int = 0
    value_released: Decimal = Decimal(0)
    value_known: bool = True

    def add(self, story: ReturnStory, line_values: LineValues) -> None:
        """Count an inspected return."""
        applied = lines_of(story.line_mask)
        accepted = [g for g in applied if g in lines_of(story.accepted_mask)]
        self.returns_inspected += 1
        self.pieces_inspected += _pieces(applied, story.applied_pieces, line_values)
        self.pieces_released += _pieces(accepted, story.accepted_pieces, line_values)
        self.value_released += sum(
            (
                _released(line_values[g], story.accepted_pieces.get(g))
                for g in accepted
                if g in line_values
            ),
            Decimal(0),
        )
        self.value_known &= all(g in line_values for g in accepted)

    def as_json(self) -> dict[str, Any]:
        """The report card as the report carries it."""
        return {
            "returnsInspected": self.returns_inspected,
            "piecesInspected": self.pieces_inspected,
            "piecesReleased": self.pieces_released,
            "valueReleased": money(self.value_released),
            "valueKnown": self.value_known,
        }


def report(
    events: Iterable[Mapping[str, Any]],
    values: CaseValues,
    codes: Mapping[str, str],
    from_ts: int,
    to_ts: int,
    now: int,
    area: str | None = None,
    arrival_window_days: int = ARRIVAL_WINDOW_DAYS,
    recognition_days: int = RECOGNITION_DAYS,
) -> dict[str, Any]:
    """Totals per origin area and ISO week of application, the report card (pieces inspected
    and released, value), times from application to settlement and anomalies, over the returns
    applied for in [from_ts, to_ts) — of origin `area` (customs code) when given.

    `values` maps case id -> gnum -> LineValue (what the auditor was disclosed); `codes` maps
    area member ids to customs codes; `now` is ledger time (for open windows)."""
    totals: dict[tuple[str, str], _Total] = defaultdict(_Total)
    card = _ReportCard()
    times: list[dict[str, Any]] = []
    anomalies: list[dict[str, Any]] = []
    for story in sorted(stories(events).values(), key=lambda s: (s.applied_at, s.return_id)):
        code = codes.get(story.origin, "")
        if not from_ts <= story.applied_at < to_ts or (area is not None and code != area):
            continue
        line_values = values.get(story.case_id, {})
        totals[(code, iso_week(story.applied_at))].add(story, line_values)
        if story.inspected_at is not None:
            card.add(story, line_values)
        if story.settled_at is not None:
            days = (story.settled_at - story.applied_at) / DAY
            times.append({"returnId": story.return_id, "originCode": code, "days": round(days, 3)})
        anomalies += _anomalies(story, code, now, arrival_window_days, recognition_days)
    return {
        "from": from_ts,
        "to": to_ts,
        "area": area,
        "totals": [t.row(code, period) for (code, period), t in sorted(totals.items())],
        "reportCard": card.as_json(),
        "settlementTimes": times,
        "anomalies": anomalies,
    }


def _released(line: LineValue, pieces: int | None) -> Decimal:
    """The value of `pieces` accepted pieces of a line (the whole line without a count)."""
    if pieces is None or pieces >= line.qty:
        return line.value
    return pro_rata(line.value, line.qty, 0, pieces)


def _anomalies(
    s: ReturnStory, code: str, now: int, window_days: int, recognition_days: int
) -> list[dict[str, Any]]:
    found: list[tuple[str, str]] = []
    window_end = s.release_time + window_days * DAY
    if s.inspected_at is None and now > window_end:
        found.append(("not_inspected_in_window", f"not inspected by {iso_time(window_end)}"))
    elif s.inspected_at is not None and s.inspected_at > window_end:
        found.append(
            (
                "not_inspected_in_window",
                f"inspected {iso_time(s.inspected_at)}, after {iso_time(window_end)}",
            )
        )
    if s.inspected_at is not None:
        decided = (
            s.recognized_at if s.recognized_at is not None else min(s.disputed_at, default=None)
        )
        due = s.inspected_at + recognition_days * DAY
        if (decided is None and now > due) or (decided is not None and decided > due):
            when = "not yet" if decided is None else iso_time(decided)
            found.append(
                ("not_recognised_in_days", f"inspected {iso_time(s.inspected_at)}, decided {when}")
            )
    for at in s.disputed_at:
        found.append(("disputed", f"disputed {iso_time(at)}"))
    if s.settled_before_recognition:
        found.append(("settled_without_recognition", "lines settled with no recognition before"))
    return [
        {
            "kind": kind,
            "returnId": s.return_id,
            "caseId": s.case_id,
            "originCode": code,
            "detail": detail,
        }
        for kind, detail in found
    ]
