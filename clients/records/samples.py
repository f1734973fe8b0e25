"""Builders of realistic, valid records for tests and demos; deterministic for a given rng.

Without an rng each builder seeds its own from `serial`, so the same call gives the same record.
Taxes follow the cross-border retail rule: duty 0 within the limits, consumption tax and import
VAT (13%) at 70% of the statutory amount, consumption tax computed on the price grossed up by
its rate. The numbers are illustrative; the records' own rules only need them consistent.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from clients.records.checks import settlement_for
from clients.records.inspection import (
    ACCEPTED_REASON_CODE,
    ArrivalRecord,
    InspectionLine,
    InspectionReport,
)
from clients.records.outcomes import (
    RecognitionDecision,
    SettlementRecord,
)
from clients.records.returns import ReturnApplication, ReturnLine
from clients.records.scalars import CENT, MAX_LINES
from clients.records.tax import (
    AssessmentLine,
    Buyer,
    DeclaredTotals,
    PaymentItem,
    TaxAssessment,
    TaxPayment,
    TaxTotals,
)

CST = timezone(timedelta(hours=8))
DOUBLE_11 = datetime(2026, 11, 11, tzinfo=CST)
HANGZHOU_CENTRE = "2900"
SINGLE_LIMIT_FEN = 500_000  # the 5,000 CNY single-transaction limit
VAT_RATE = Decimal("0.13")
CROSS_BORDER_SHARE = Decimal("0.7")
ZERO = Decimal("0.00")

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰"]
_GIVEN += ["娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "子涵", "雨桐", "浩然"]
# (ID card region code, the address it stands for)
_REGIONS = [
    ("330106", "浙江省杭州市西湖区"),
    ("330203", "浙江省宁波市海曙区"),
    ("410105", "河南省郑州市金水区"),
    ("440305", "广东省深圳市南山区"),
    ("310115", "上海市浦东新区"),
    ("110105", "北京市朝阳区"),
    ("510107", "四川省成都市武侯区"),
    ("320106", "江苏省南京市鼓楼区"),
]
_STREETS = ["文三路", "中山东路", "人民路", "解放大道", "建设路", "花园路", "科技园南路"]
_STREETS += ["世纪大道", "天府大道", "北京路"]
# (goods name, HS code, customs unit code, consumption tax rate)
_GOODS = [
    ("面霜", "3304990099", "142", Decimal("0.15")),
    ("精华液", "3304990099", "142", Decimal("0.15")),
    ("防晒霜", "3304990099", "142", Decimal("0.15")),
    ("口红", "3304100091", "012", Decimal("0.15")),
    ("婴儿配方奶粉", "1901101000", "122", ZERO),
    ("纸尿裤", "9619001100", "125", ZERO),
    ("鱼油软胶囊", "2106909090", "142", ZERO),
    ("维生素C咀嚼片", "2106909090", "142", ZERO),
    ("电动牙刷", "8509809000", "007", ZERO),
    ("洗发水", "3305100090", "142", ZERO),
]
_RETURN_REASONS = ["七天无理由退货", "商品与描述不符", "包装破损", "尺寸不合适", "重复下单"]
_REJECT_CODES = ["11", "12", "21", "31"]  # e.g. seal broken, used, not the original, missing
_ALNUM = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # as in unified social credit codes
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _rng(rng: random.Random | None, serial: int) -> random.Random:
    return rng if rng is not None else random.Random(serial)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _fen(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _id_number(rng: random.Random, region: str) -> str:
    birth = datetime(1970, 1, 1) + timedelta(days=rng.randrange(35 * 365))
    body = f"{region}{birth:%Y%m%d}{_digits(rng, 3)}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    return body + check


def sample_buyer(rng: random.Random) -> Buyer:
    """A plausible consumer: name, resident ID number, mobile phone and address."""
    region, place = rng.choice(_REGIONS)
    return Buyer(
        name=rng.choice(_SURNAMES) + rng.choice(_GIVEN),
        id_type="1",
        id_number=_id_number(rng, region),
        phone="1" + rng.choice("3456789") + _digits(rng, 9),
        address=f"{place}{rng.choice(_STREETS)}{rng.randint(1, 999)}号"
        f"{rng.randint(1, 30)}幢{rng.randint(1, 30)}0{rng.randint(1, 6)}室",
    )


def _platform(rng: random.Random, customs_code: str) -> tuple[str, str, str, str]:
    """(ebp code, ebc code, agent code, ems no) of one of three platforms in the area."""
    index = rng.randrange(3)
    local = random.Random(f"{customs_code}-{index}")  # the same platform every time
    ebp = f"{customs_code}96{_digits(local, 4)}"
    ebc = "91" + _digits(local, 6) + "".join(local.choice(_ALNUM) for _ in range(10))
    agent = f"{customs_code}98{_digits(local, 4)}"
    return ebp, ebc, agent, f"T{customs_code}W{_digits(local, 6)}"


def _taxes(total_price: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(consumption tax, VAT) payable on a line, both at 70%."""
    excise = total_price / (1 - rate) * rate
    return (
        _fen(excise * CROSS_BORDER_SHARE),
        _fen((total_price + excise) * VAT_RATE * CROSS_BORDER_SHARE),
    )


def _assessment_line(
    rng: random.Random, gnum: int, budget_fen: int, customs_code: str
) -> AssessmentLine:
    gname, gcode, unit, rate = rng.choice(_GOODS)
    qty = rng.randint(1, 3)
    high = max(1, min(89_900, budget_fen // qty))
    price = Decimal(rng.randint(max(1, min(3_900, high // 2)), high)) / 100
    total_price = _fen(price * qty)
    consumption_tax, vat = _taxes(total_price, rate)
    return AssessmentLine(
        gnum=gnum,
        item_record_no=f"{customs_code}{gcode[:6]}{_digits(rng, 6)}",
        gcode=gcode,
        gname=gname,
        qty=qty,
        unit=unit,
        price=_fen(price),
        total_price=total_price,
        customs_duty=ZERO,
        vat=vat,
        consumption_tax=consumption_tax,
    )


def sample_tax_assessment(
    serial: int = 1,
    customs_code: str = "3100",
    lines: int = 3,
    rng: random.Random | None = None,
) -> TaxAssessment:
    """A released inventory list with its tax bill, within the single-transaction limit."""
    if not 0 <= serial < 10**9 or not 1 <= lines <= MAX_LINES:
        raise ValueError("serial must have at most 9 digits and lines be 1..99")
    rng = _rng(rng, serial)
    ebp, ebc, agent, ems_no = _platform(rng, customs_code)
    release = DOUBLE_11 + timedelta(seconds=rng.randrange(86_400))
    items = [
        _assessment_line(rng, gnum, SINGLE_LIMIT_FEN // lines, customs_code)
        for gnum in range(1, lines + 1)
    ]
    totals = _totals(items)  # a bill whose head agrees with its lines to the fen
    return TaxAssessment(
        invt_no=f"{customs_code}{release.year}I{serial:09d}",
        order_no=f"DD{release:%Y%m%d}{_digits(rng, 10)}",
        customs_code=customs_code,
        ebp_code=ebp,
        ebc_code=ebc,
        agent_code=agent,
        logistics_no=f"YT{_digits(rng, 13)}",
        ems_no=ems_no,
        trade_mode="1210",
        release_time=release,
        buyer=sample_buyer(rng),
        lines=items,
        totals=totals,
        declared_totals=DeclaredTotals(
            customs_duty=totals.customs_duty,
            vat=totals.vat,
            consumption_tax=totals.consumption_tax,
            tax_total=totals.tax_total,
        ),
    )


def _totals(lines: Sequence[AssessmentLine]) -> TaxTotals:
    duty = sum((x.customs_duty for x in lines), ZERO)
    vat = sum((x.vat for x in lines), ZERO)
    excise = sum((x.consumption_tax for x in lines), ZERO)
    return TaxTotals(
        total_price=sum((x.total_price for x in lines), ZERO),
        customs_duty=duty,
        vat=vat,
        consumption_tax=excise,
        tax_total=duty + vat + excise,
    )


def sample_tax_payment(
    assessments: Sequence[TaxAssessment], serial: int = 1, rng: random.Random | None = None
) -> TaxPayment:
    """The agent's payment of the bills of `assessments` (one area, one agent) a week later."""
    if not assessments:
        raise ValueError("a payment covers at least one assessment")
    first = assessments[0]
    if any(
        a.customs_code != first.customs_code or a.agent_code != first.agent_code
        for a in assessments
    ):
        raise ValueError("a payment covers the bills of one agent in one customs area")
    rng = _rng(rng, serial)
    latest = max(a.release_time for a in assessments)
    items = [PaymentItem(invt_no=a.invt_no, tax_amount=a.totals.tax_total) for a in assessments]
    return TaxPayment(
        tax_no=f"{first.customs_code}{latest.year}T{serial:09d}",
        ent_duty_no=first.agent_code,
        agent_code=first.agent_code,
        customs_code=first.customs_code,
        paid_time=latest + timedelta(days=7, seconds=rng.randrange(86_400)),
        items=items,
        total=sum((item.tax_amount for item in items), ZERO),
    )


def sample_return_application(
    assessment: TaxAssessment,
    gnums: Collection[int] | None = None,
    qty: Mapping[int, int] | None = None,
    return_centre_code: str = HANGZHOU_CENTRE,
    rng: random.Random | None = None,
) -> ReturnApplication:
    """A return of `gnums` (default all lines) of `assessment`, `qty` pieces each (default all)."""
    rng = _rng(rng, int(assessment.invt_no[-9:]))
    chosen = sorted(gnums) if gnums is not None else [line.gnum for line in assessment.lines]
    declared = {line.gnum: line.qty for line in assessment.lines}
    goods = {line.gnum: line for line in assessment.lines}
    wanted = qty or {}
    return ReturnApplication(
        invt_no=assessment.invt_no,
        order_no=assessment.order_no,
        logistics_no=f"SF{_digits(rng, 12)}",
        customs_code=assessment.customs_code,
        return_centre_code=return_centre_code,
        ebp_code=assessment.ebp_code,
        agent_code=assessment.agent_code,
        applied_time=assessment.release_time + timedelta(days=rng.randint(2, 20)),
        lines=[
            ReturnLine(
                gnum=g,
                qty=wanted.get(g, declared.get(g, 1)),
                gcode=goods[g].gcode if g in goods else None,
                gname=goods[g].gname if g in goods else None,
            )
            for g in chosen
        ],
        reason=rng.choice(_RETURN_REASONS),
    )


def sample_return_id(serial: int = 1) -> str:
    """A stand-in pseudonymous return id (0x + 64 hex); real ones come from commitments.ids."""
    return "0x" + hashlib.sha256(f"sample-return-{serial}".encode()).hexdigest()


def _officer(rng: random.Random, centre_code: str) -> str:
    return f"{centre_code}-{_digits(rng, 5)}"


def sample_arrival_record(
    application: ReturnApplication, return_id: str, rng: random.Random | None = None
) -> ArrivalRecord:
    """The arrival of `application`'s parcel at its return centre a few days after applying."""
    rng = _rng(rng, int(application.invt_no[-9:]))
    return ArrivalRecord(
        return_id=return_id,
        centre_code=application.return_centre_code,
        arrived_time=application.applied_time + timedelta(days=rng.randint(1, 5), hours=3),
        logistics_no=application.logistics_no,
        package_count=1,
        officer=_officer(rng, application.return_centre_code),
    )


def sample_inspection_report(
    return_id: str,
    gnums: Collection[int],
    accepted: bool | Collection[int] = True,
    centre_code: str = HANGZHOU_CENTRE,
    inspected_time: datetime | None = None,
    rng: random.Random | None = None,
) -> InspectionReport:
    """An inspection of `gnums`: all accepted, all rejected, or accepted for the given gnums."""
    rng = _rng(rng, int(return_id[-8:], 16))
    ok = set(gnums) if accepted is True else set() if accepted is False else set(accepted)
    lines = []
    for gnum in sorted(gnums):
        photos = rng.randint(0, 3)
        lines.append(
            InspectionLine(
                gnum=gnum,
                result="accepted" if gnum in ok else "rejected",
                reason_code=ACCEPTED_REASON_CODE if gnum in ok else rng.choice(_REJECT_CODES),
                evidence=["0x" + rng.randbytes(32).hex() for _ in range(photos)],
            )
        )
    when = inspected_time or DOUBLE_11 + timedelta(days=rng.randint(5, 25), hours=10)
    return InspectionReport(
        return_id=return_id,
        centre_code=centre_code,
        inspected_time=when,
        officer=_officer(rng, centre_code),
        lines=lines,
        remark=None if ok == set(gnums) else "部分商品不符合退货条件",
    )


def sample_recognition_decision(
    return_id: str,
    origin_code: str = "3100",
    decision: Literal["recognized", "disputed"] = "recognized",
    mode: Literal["automatic", "officer"] = "automatic",
    decided_time: datetime | None = None,
    rng: random.Random | None = None,
) -> RecognitionDecision:
    """The origin area's decision on a return's inspection result."""
    rng = _rng(rng, int(return_id[-8:], 16))
    return RecognitionDecision(
        return_id=return_id,
        origin_code=origin_code,
        decided_time=decided_time or DOUBLE_11 + timedelta(days=rng.randint(6, 26), hours=11),
        decision=decision,
        mode=mode,
        officer=_officer(rng, origin_code) if mode == "officer" else None,
        reason="" if decision == "recognized" else "检验结果与申报商品不一致",
    )


def sample_settlement_record(
    assessment: TaxAssessment,
    return_id: str,
    gnums: Collection[int] | None = None,
    kind: Literal["not_levied", "refunded"] = "not_levied",
    settled_time: datetime | None = None,
    rng: random.Random | None = None,
) -> SettlementRecord:
    """The settlement of whole lines `gnums` (default all) of `assessment`, quota given back."""
    rng = _rng(rng, int(return_id[-8:], 16))
    chosen = set(gnums) if gnums is not None else {line.gnum for line in assessment.lines}
    when = settled_time or assessment.release_time + timedelta(days=rng.randint(20, 40))
    return settlement_for(assessment, return_id, chosen, kind, when)
