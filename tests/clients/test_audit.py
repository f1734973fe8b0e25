"""clients.audit over synthetic ledger events: stories, totals with values, the report card,
settlement times, every anomaly kind, and the case timeline."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from clients.audit import (
    DAY,
    LineValue,
    iso_week,
    report,
    stories,
    timeline,
    values_from_assessment,
    values_from_record,
)

ORIGIN = "0x" + "31" * 32
CENTRE = "0x" + "29" * 32
PLATFORM = "0x" + "aa" * 32
T0 = 1_800_000_000  # 2027-01-15
CODES = {ORIGIN: "3100"}


class Chain:
    """Builds events in ledger order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, event: str, at: int, **args: Any) -> None:
        n = len(self.events)
        self.events.append(
            {
                "block": n + 1,
                "logIndex": 0,
                "txHash": "0x" + f"{n + 1:064x}",
                "contract": "ReturnLedger",
                "event": event,
                "args": {**args, "blockTime": at},
            }
        )

    def case(self, case: str, release: int) -> None:
        self.add(
            "CaseOpened",
            release + DAY,
            caseId=case,
            originArea=ORIGIN,
            platform=PLATFORM,
            releaseTime=release,
            lineCount=3,
            recordDigest="0x" + "0d" * 32,
            assessmentRoot="0x" + "0e" * 32,
        )

    def applied(self, rid: str, case: str, at: int, mask: int = 0b11) -> None:
        self.add(
            "ReturnApplied",
            at,
            returnId=rid,
            caseId=case,
            returnCentre=CENTRE,
            lineMask=mask,
            applicationDigest="0x" + "a1" * 32,
            signer="0x" + "01" * 20,
        )

    def step(self, event: str, rid: str, case: str, at: int, **args: Any) -> None:
        self.add(event, at, returnId=rid, caseId=case, **args)


def _rid(n: int) -> str:
    return "0x" + f"{n:064x}"


VALUES = {
    _rid(100): {
        1: LineValue(2, Decimal("100.00"), Decimal("9.10")),
        2: LineValue(1, Decimal("50.00"), Decimal("4.55")),
    }
}


def _settled_story() -> Chain:
    c = Chain()
    case, rid = _rid(100), _rid(1)
    c.case(case, T0)
    c.applied(rid, case, T0 + 2 * DAY)
    c.step("ArrivalRecorded", rid, case, T0 + 4 * DAY, late=False, arrivalDigest="0x" + "a2" * 32)
    c.step("InspectionRecorded", rid, case, T0 + 5 * DAY, acceptedMask=0b01, reportDigest="0x00")
    c.step("ReturnRecognized", rid, case, T0 + 6 * DAY, decisionDigest="0x" + "a4" * 32)
    c.step(
        "LinesSettled",
        rid,
        case,
        T0 + 7 * DAY,
        lineMask=0b01,
        kind=2,
        settlementDigest="0x" + "a5" * 32,
        quotaAdjusted=True,
    )
    return c


def test_report_totals_a_refunded_return_with_its_disclosed_values() -> None:
    c = _settled_story()
    out = report(c.events, VALUES, CODES, T0, T0 + 30 * DAY, now=T0 + 8 * DAY)
    [total] = out["totals"]
    assert total["originCode"] == "3100" and total["period"] == iso_week(T0 + 2 * DAY)
    assert (total["returns"], total["items"]) == (1, 3)  # 2 + 1 pieces applied for
    assert (total["valueRefunded"], total["taxRefunded"]) == ("100.00", "9.10")
    assert total["valueNotLevied"] == "0.00" and total["valueKnown"]
    assert total["cases"] == [_rid(100)]
    assert out["reportCard"] == {
        "returnsInspected": 1,
        "piecesInspected": 3,
        "piecesReleased": 2,
        "valueReleased": "100.00",
        "valueKnown": True,
    }
    assert out["settlementTimes"] == [{"returnId": _rid(1), "originCode": "3100", "days": 5.0}]
    assert out["anomalies"] == []


def test_report_without_values_counts_lines_and_says_values_are_unknown() -> None:
    out = report(_settled_story().events, {}, CODES, T0, T0 + 30 * DAY, now=T0 + 8 * DAY)
    [total] = out["totals"]
    assert total["items"] == 2 and not total["valueKnown"]
    assert total["valueRefunded"] == "0.00" and not out["reportCard"]["valueKnown"]


def test_report_keeps_to_its_period_and_area() -> None:
    c = _settled_story()
    assert report(c.events, VALUES, CODES, T0 + 3 * DAY, T0 + 30 * DAY, T0)["totals"] == []
    assert report(c.events, VALUES, CODES, T0, T0 + 30 * DAY, T0, area="4600")["totals"] == []
    assert report(c.events, VALUES, CODES, T0, T0 + 30 * DAY, T0, area="3100")["totals"]


def test_report_flags_every_anomaly_kind() -> None:
    c = Chain()
    case = _rid(100)
    c.case(case, T0)
    late, slow, disputed, rogue = _rid(1), _rid(2), _rid(3), _rid(4)
    for rid in (late, slow, disputed, rogue):
        c.applied(rid, case, T0 + 2 * DAY, mask=1 << int(rid, 16) - 1)
    c.step("InspectionRecorded", slow, case, T0 + 3 * DAY, acceptedMask=2, reportDigest="0x01")
    c.step("InspectionRecorded", disputed, case, T0 + 3 * DAY, acceptedMask=4, reportDigest="0x1")
    c.step("ReturnDisputed", disputed, case, T0 + 4 * DAY, reasonDigest="0x02")
    c.step("LinesSettled", rogue, case, T0 + 5 * DAY, lineMask=8, kind=1, settlementDigest="0x3")
    out = report(c.events, {}, CODES, T0, T0 + 60 * DAY, now=T0 + 50 * DAY)
    kinds = {(a["returnId"], a["kind"]) for a in out["anomalies"]}
    assert (late, "not_inspected_in_window") in kinds  # never inspected; window ended day 45
    assert (slow, "not_recognised_in_days") in kinds  # inspected day 3, undecided at day 50
    assert (disputed, "disputed") in kinds
    assert (rogue, "settled_without_recognition") in kinds
    assert (disputed, "not_recognised_in_days") not in kinds  # disputed within 7 days


def test_stories_follow_ledger_order_whatever_the_input_order() -> None:
    c = _settled_story()
    story = stories(reversed(c.events))[_rid(1)]
    assert story.origin == ORIGIN and story.release_time == T0
    assert story.accepted_mask == 1 and story.settlements == [(T0 + 7 * DAY, 1, "refunded")]
    assert not story.settled_before_recognition


def test_timeline_names_who_did_each_step() -> None:
    c = _settled_story()
    labels = {ORIGIN: "customs 3100", CENTRE: "customs 2900", PLATFORM: "platform-demo"}
    anchored = {
        "block": 0,
        "logIndex": 0,
        "txHash": "0x" + "ee" * 32,
        "event": "RootAnchored",
        "args": {"root": "0x" + "0e" * 32, "areaCode": 3100, "blockTime": T0},
    }
    steps = timeline(c.events, labels, [anchored])
    assert [s.event for s in steps][:3] == ["RootAnchored", "CaseOpened", "ReturnApplied"]
    who = {s.event: s.who for s in steps}
    assert who["ArrivalRecorded"] == "customs 2900" and who["LinesSettled"] == "customs 3100"
    assert who["ReturnApplied"].startswith("platform-demo")
    assert steps[-1].digest == "0x" + "a5" * 32 and steps[-1].to_json()["time"].endswith("Z")


def test_values_come_from_revealed_fields_or_a_whole_record() -> None:
    revealed = {
        "/lines/0/gnum": 1,
        "/lines/0/qty": 2,
        "/lines/0/totalPrice": "10.00",
        "/lines/0/customsDuty": "0.00",
        "/lines/0/vat": "1.19",
        "/lines/0/consumptionTax": "0.00",
        "/lines/1/gnum": 2,  # no price revealed: left out
    }
    taxes = (Decimal("0.00"), Decimal("1.19"), Decimal("0.00"))
    assert values_from_assessment(revealed) == {
        1: LineValue(2, Decimal("10.00"), Decimal("1.19"), taxes)
    }
    record = {"lines": [{"gnum": 1, "qty": 2, "totalPrice": "10.00", "customsDuty": "0",
                         "vat": "1.19", "consumptionTax": "0"}]}  # fmt: skip
    assert values_from_record(record)[1].tax == Decimal("1.19")
