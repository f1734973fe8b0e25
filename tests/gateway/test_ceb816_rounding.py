"""Real tax bills: a CEB816 head rounds once where its lines were rounded each, so its figures
may differ from the sums of its lines by up to 1 fen per line. Such bills are accepted with
both figures kept (`totals` from the lines, the basis of settlement; `declaredTotals` as the
head says); a larger difference is refused as `invalid_record` / `totals_mismatch` at the
TaxHeadRd element, naming the list and both figures, and nothing of the request is written.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from clients.adapters import InvalidSourceRecord
from clients.records import TaxAssessment, canonical, settlement_for
from clients.records.samples import sample_tax_assessment
from node_gateway.adapters import read_mapped, read_tax_assessments
from node_gateway.run.local_consortium import PLATFORM
from node_gateway.services import tax_records
from tests.utils.area_json import ningbo_wms
from tests.utils.ceb import ceb621, ceb816, expected, rounded_once, shortest, with_head
from tests.utils.gateway import NINGBO, GatewayWorld, assert_problem

CEB = "/v1/tax-records/ceb"
T816 = "/CEB816Message/Tax"
FEN = Decimal("0.01")


def _taxed(serial: int, lines: int) -> TaxAssessment:
    """A sample list (every line carries VAT, so a head can be off on it by rounding)."""
    return sample_tax_assessment(serial, lines=lines)


def _off(a: TaxAssessment) -> int:
    """By how many fen the bill head's tax total differs from its lines' sum."""
    assert a.declared_totals is not None
    return int((a.declared_totals.tax_total - a.totals.tax_total) / FEN)


def _refused(lists: list[TaxAssessment], **kw: Any) -> InvalidSourceRecord:
    with pytest.raises(InvalidSourceRecord) as caught:
        read_tax_assessments(ceb621(lists), ceb816(lists, **kw))
    return caught.value


# ---------------------------------------------------------------------- the adapter


@pytest.mark.parametrize("lines", [1, 2, 4, 99])
@pytest.mark.parametrize("sign", [1, -1])
def test_read_tax_assessments_head_off_by_a_fen_per_line_accepted(lines: int, sign: int) -> None:
    a = with_head(_taxed(7000 + lines, lines), vat=sign * lines)
    [record] = read_tax_assessments(ceb621([a]), ceb816([a]))
    assert record == canonical(a)
    assert Decimal(record["declaredTotals"]["vat"]) - Decimal(record["totals"]["vat"]) == (
        sign * lines * FEN
    )


@pytest.mark.parametrize("lines", [1, 2, 4, 99])
@pytest.mark.parametrize("sign", [1, -1])
def test_read_tax_assessments_head_off_by_a_fen_more_refused(lines: int, sign: int) -> None:
    ok = _taxed(7100, 2)
    a = with_head(_taxed(7100 + lines, lines), vat=sign * (lines + 1))
    error = _refused([ok, a])
    assert error.code == "invalid_record" and error.status == 422
    assert error.rules == [(f"{T816}[2]/TaxHeadRd/valueAddedTax", "totals_mismatch")]
    [problem] = error.problems
    assert problem.field == "/declaredTotals/vat"
    assert a.declared_totals is not None
    for named in (a.invt_no, str(a.declared_totals.vat), str(a.totals.vat)):
        assert named in problem.message
    assert f"({lines * FEN})" in problem.message  # what the line count allows


def test_read_tax_assessments_head_taxes_within_but_total_beyond_refused() -> None:
    a = with_head(_taxed(7200, 2), vat=2, excise=1)  # 3 fen off in all, 2 allowed
    error = _refused([a])
    assert error.rules == [(f"{T816}[1]/TaxHeadRd", "totals_mismatch")]
    assert error.problems[0].field == "/declaredTotals/taxTotal"


@pytest.mark.parametrize(
    "amount",
    [lambda d: f"{d:.5f}", shortest, lambda d: f"{d:.2f}"],
    ids=["12.30000", "12.3", "12.30"],
)
def test_read_tax_assessments_messy_amounts_of_realistic_bills_accepted(amount: Any) -> None:
    rng = random.Random(816)
    lists = [rounded_once(_taxed(7300 + n, 1 + n % 4), rng) for n in range(60)]
    assert {_off(a) for a in lists} >= {-1, 0, 1}  # rounding in both directions
    assert read_tax_assessments(ceb621(lists), ceb816(lists, amount=amount)) == [
        expected(a) for a in lists
    ]


def test_read_tax_assessments_many_lines_rounded_both_ways_accepted() -> None:
    a = with_head(_taxed(7400, 99), vat=-99, excise=0)
    b = with_head(_taxed(7401, 60), vat=30, duty=0)
    records = read_tax_assessments(ceb621([a, b]), ceb816([b, a], amount=shortest))
    assert records == [canonical(a), canonical(b)]


def test_settlement_of_a_rounded_bill_uses_the_line_amounts() -> None:
    a = with_head(_taxed(7500, 3), vat=-2)
    when = datetime(2026, 11, 20, tzinfo=UTC)
    settled = settlement_for(a, "0x" + "11" * 32, [1, 2, 3], "refunded", when)
    assert settled.total == a.totals.tax_total == sum(x.vat + x.consumption_tax for x in a.lines)
    assert a.declared_totals is not None and settled.total != a.declared_totals.tax_total


# ---------------------------------------------------------------------- an area's own JSON


def test_read_mapped_bill_off_by_a_fen_per_line_accepted_and_kept() -> None:
    a = with_head(_taxed(7600, 3), vat=-3)
    assert read_mapped(ningbo_wms(a), "ningbo_wms") == [canonical(a)]


def test_read_mapped_bill_off_by_more_refused_at_its_field() -> None:
    a = with_head(_taxed(7601, 3), vat=4)
    with pytest.raises(InvalidSourceRecord) as caught:
        read_mapped(ningbo_wms(a), "ningbo_wms")
    # the bill's own total is a declared figure too, and as far off
    assert caught.value.rules == [
        ("/bill/vat", "totals_mismatch"),
        ("/bill/tax_total", "totals_mismatch"),
    ]
    assert a.invt_no in caught.value.problems[0].message


# ---------------------------------------------------------------------- the endpoint


LINE_MIX = (1, 1, 1, 2, 2, 3, 4)  # most bills have one line, a few up to four


def _released(gw: GatewayWorld, count: int) -> list[TaxAssessment]:
    """Fresh Ningbo lists released an hour ago, lines as LINE_MIX, heads rounded once: about
    one bill in five ends up a fen or two off its lines' sums."""
    rng = random.Random(621)
    when = datetime.fromtimestamp(gw.now() - 3600, UTC)
    sizes = Counter(LINE_MIX[i % len(LINE_MIX)] for i in range(count))
    fresh = [a for size, n in sorted(sizes.items()) for a in gw.assessments(NINGBO, n, size)]
    rng.shuffle(fresh)
    return [rounded_once(a.model_copy(update={"release_time": when}), rng) for a in fresh]


def test_post_ceb_tax_records_200_realistic_bills_accepted_in_one_request(
    gw: GatewayWorld,
) -> None:
    lists = _released(gw, 200)
    offs = Counter(_off(a) for a in lists)
    assert len(lists) == 200 and 25 <= 200 - offs[0] <= 60 and offs[1] and offs[-1], offs
    body = {"platform": PLATFORM, "ceb621": ceb621(lists), "ceb816": ceb816(lists[::-1])}
    r = gw.call(NINGBO, "system", "POST", CEB, json=body)
    assert r.status_code == 202, r.text[:2000]
    accepted = r.json()["accepted"]
    assert [x["invtNo"] for x in accepted] == [a.invt_no for a in lists]
    ningbo = gw.consortium.gateways[NINGBO]
    conn = ningbo.connections.get()
    for a, x in zip(lists, accepted, strict=True):
        if _off(a):
            held = tax_records.assessment(ningbo.context, conn, x["caseId"])["record"]
            assert held == expected(a)
            assert held["declaredTotals"]["taxTotal"] != held["totals"]["taxTotal"]


def test_post_ceb_tax_records_one_bill_beyond_rounding_refuses_all(gw: GatewayWorld) -> None:
    lists = _released(gw, 20)
    bad = with_head(lists[13], vat=len(lists[13].lines) + 1)
    lists[13] = bad
    body = {"platform": PLATFORM, "ceb621": ceb621(lists), "ceb816": ceb816(lists)}
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", CEB, json=body)
    problem = assert_problem(r, 422, "invalid_record")
    assert problem["errorCount"] == 1
    [error] = problem["errors"]
    assert error["path"] == f"{T816}[14]/TaxHeadRd/valueAddedTax"
    assert error["rule"] == "totals_mismatch" and error["field"] == "/declaredTotals/vat"
    assert bad.declared_totals is not None
    for named in (bad.invt_no, str(bad.declared_totals.vat), str(bad.totals.vat)):
        assert named in error["message"]
