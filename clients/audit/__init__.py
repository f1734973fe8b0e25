"""Audit: a case's timeline and the period reports, computed from ledger events plus the
amounts disclosed to the auditor.

One home for both users of it: a gateway (events from its index, amounts from its own vault)
and the auditor's command line (events from a ledger node, amounts from disclosed documents it
verified itself); both feed the same code. `stories` reads the events, `report` sums them.
Values are decimal strings (CNY, two places).
"""

from clients.audit.report import iso_week, report
from clients.audit.stories import (
    ANOMALY_KINDS,
    ARRIVAL_WINDOW_DAYS,
    DAY,
    RECOGNITION_DAYS,
    STEP_DIGESTS,
    LineValue,
    ReturnStory,
    Step,
    jsonable,
    stories,
    timeline,
    values_from_assessment,
    values_from_record,
)

__all__ = [
    "ANOMALY_KINDS",
    "ARRIVAL_WINDOW_DAYS",
    "DAY",
    "RECOGNITION_DAYS",
    "STEP_DIGESTS",
    "LineValue",
    "ReturnStory",
    "Step",
    "iso_week",
    "jsonable",
    "report",
    "stories",
    "timeline",
    "values_from_assessment",
    "values_from_record",
]
