"""clients.records: canonical form, round trips, every validation rule, field classes, samples."""

from __future__ import annotations

import copy
import json
import random
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from clients.errors import CrossReturnError
from clients.records import (
    FIELD_CLASSES,
    RECORD_TYPES,
    DocType,
    FieldClass,
    InspectionLine,
    InspectionReport,
    Record,
    RecordValidationError,
    ReturnApplication,
    ReturnLine,
    SettlementRecord,
    TaxAssessment,
    UnknownFieldPath,
    canonical,
    field_class,
    parse_record,
    validate_return_against_assessment,
)
from clients.records.samples import (
    sample_arrival_record,
    sample_inspection_report,
    sample_recognition_decision,
    sample_return_application,
    sample_return_id,
    sample_settlement_record,
    sample_tax_assessment,
    sample_tax_payment,
)

RETURN_ID = sample_return_id(7)
DIGEST = "0x" + "ab" * 32
MONEY_TEXT = re.compile(r"[0-9]+\.[0-9]{2}")
TIME_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}"
)
MONEY_KEYS = {
    "price",
    "totalPrice",
    "customsDuty",
    "vat",
    "consumptionTax",
    "taxTotal",
    "taxAmount",
    "total",
    "amount",
}
TIME_KEYS = {"releaseTime", "paidTime", "appliedTime", "arrivedTime", "inspectedTime"}
TIME_KEYS |= {"decidedTime", "settledTime"}


def _same_agent(first: TaxAssessment, count: int) -> list[TaxAssessment]:
    """Other sample assessments whose tax the same agent pays."""
    serial = int(first.invt_no[-9:])
    others = (sample_tax_assessment(serial=s) for s in range(serial + 1, serial + 50))
    return [a for a in others if a.agent_code == first.agent_code][:count]


def _samples() -> dict[str, Record]:
    assessment = sample_tax_assessment(serial=42, lines=3)
    application = sample_return_application(assessment, gnums=[1, 3])
    mixed_report = InspectionReport(
        return_id=RETURN_ID,
        centre_code="2900",
        inspected_time=datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=8))),
        officer="2900-00042",
        lines=[
            InspectionLine(gnum=1, result="accepted", reason_code="00", evidence=[]),
            InspectionLine(gnum=3, result="rejected", reason_code="21", evidence=[DIGEST]),
        ],
        remark="外包装已拆封",
    )
    return {
        "tax_assessment": assessment,
        "tax_assessment_undeclared": assessment.model_copy(update={"declared_totals": None}),
        "tax_payment": sample_tax_payment([assessment, *_same_agent(assessment, 2)]),
        "return_application": application,
        "arrival": sample_arrival_record(application, RETURN_ID),
        "inspection_report": sample_inspection_report(RETURN_ID, [1, 3]),
        "inspection_report_mixed": mixed_report,
        "recognition": sample_recognition_decision(RETURN_ID),
        "recognition_disputed": sample_recognition_decision(
            RETURN_ID, decision="disputed", mode="officer"
        ),
        "settlement": sample_settlement_record(assessment, RETURN_ID, gnums=[1, 3]),
    }


SAMPLES = _samples()


def canonical_of(name: str) -> dict[str, Any]:
    """A deep copy of a sample's canonical form, free to mutate."""
    return copy.deepcopy(canonical(SAMPLES[name]))


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(JSON pointer, scalar) pairs; an empty array or object is a leaf, as in commitments."""
    if isinstance(value, dict):
        if not value:
            yield prefix, value
        for key, child in value.items():
            yield from leaves(child, f"{prefix}/{key}")
    elif isinstance(value, list):
        if not value:
            yield prefix, value
        for index, child in enumerate(value):
            yield from leaves(child, f"{prefix}/{index}")
    else:
        yield prefix, value


def set_at(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`doc` with the value at a JSON pointer replaced (or deleted when value is ...)."""
    node: Any = doc
    parts = path.split("/")[1:]
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return doc


def rejected(doc_type: str, data: Any) -> list[tuple[str, str]]:
    """The (path, rule) pairs parse_record reports for `data`."""
    with pytest.raises(RecordValidationError) as caught:
        parse_record(doc_type, data)
    return caught.value.rules


def doc_type_of(name: str) -> str:
    return SAMPLES[name].doc_type.value


# ---------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_parse_canonical_round_trips(name: str) -> None:
    record = SAMPLES[name]
    assert parse_record(record.doc_type, canonical(record)) == record


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_parse_json_text_round_trips(name: str) -> None:
    record = SAMPLES[name]
    text = json.dumps(canonical(record), ensure_ascii=False)
    parsed = parse_record(record.doc_type.value, json.loads(text))
    assert parsed == record
    assert canonical(parsed) == canonical(record)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_parse_accepts_python_values_and_snake_case(name: str) -> None:
    record = SAMPLES[name]
    assert parse_record(record.doc_type, record.model_dump()) == record


def test_record_types_cover_every_doc_type() -> None:
    assert set(RECORD_TYPES) == set(DocType)
    for doc_type, model in RECORD_TYPES.items():
        assert model.doc_type is doc_type
    assert {s.doc_type for s in SAMPLES.values()} == set(DocType)


def test_records_are_frozen() -> None:
    with pytest.raises(ValidationError):
        SAMPLES["arrival"].return_id = RETURN_ID  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- canonical form


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_canonical_puts_doc_type_first_then_declared_fields(name: str) -> None:
    record = SAMPLES[name]
    doc = canonical(record)
    keys = list(doc)
    assert keys[0] == "docType"
    assert doc["docType"] == record.doc_type.value
    assert keys[1:] == [info.alias for info in type(record).model_fields.values()]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_canonical_holds_only_json_scalars_and_no_floats(name: str) -> None:
    for path, value in leaves(canonical(SAMPLES[name])):
        assert value is None or type(value) in (str, int, bool, list, dict), path
        assert not isinstance(value, float), path


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_canonical_money_and_times_are_fixed_format_strings(name: str) -> None:
    seen = 0
    for path, value in leaves(canonical(SAMPLES[name])):
        key = path.rsplit("/", 1)[-1]
        if key in MONEY_KEYS:
            assert isinstance(value, str) and MONEY_TEXT.fullmatch(value), (path, value)
            seen += 1
        if key in TIME_KEYS:
            assert isinstance(value, str) and TIME_TEXT.fullmatch(value), (path, value)
            seen += 1
    assert seen


def test_canonical_money_keeps_two_decimals() -> None:
    doc = canonical_of("settlement")
    set_at(doc, "/quota/amount", "12.3")
    assert canonical(parse_record("settlement", doc))["quota"]["amount"] == "12.30"
    set_at(doc, "/quota/amount", 7)
    assert canonical(parse_record("settlement", doc))["quota"]["amount"] == "7.00"
    set_at(doc, "/quota/amount", Decimal("0.100"))
    assert canonical(parse_record("settlement", doc))["quota"]["amount"] == "0.10"
    set_at(doc, "/quota/amount", "-0.00")
    assert canonical(parse_record("settlement", doc))["quota"]["amount"] == "0.00"


def test_canonical_times_keep_offset_to_the_second() -> None:
    doc = canonical_of("arrival")
    set_at(doc, "/arrivedTime", "2026-11-11T02:00:00.999Z")
    assert canonical(parse_record("arrival", doc))["arrivedTime"] == "2026-11-11T02:00:00+00:00"
    set_at(doc, "/arrivedTime", datetime(2026, 11, 11, 10, 0, 5, 123, tzinfo=UTC))
    assert canonical(parse_record("arrival", doc))["arrivedTime"] == "2026-11-11T10:00:05+00:00"
    set_at(doc, "/arrivedTime", "2026-11-11T10:00:00+08:00")
    record = parse_record("arrival", doc)
    assert canonical(record)["arrivedTime"] == "2026-11-11T10:00:00+08:00"


def test_canonical_keeps_none_as_null() -> None:
    report = sample_inspection_report(RETURN_ID, [1], accepted=True)
    assert report.remark is None
    doc = canonical(report)
    assert "remark" in doc and doc["remark"] is None
    decision = canonical(SAMPLES["recognition"])
    assert "officer" in decision and decision["officer"] is None


# ---------------------------------------------------------------------- validation rules


@pytest.mark.parametrize(
    ("name", "path", "value", "expected"),
    [
        # customs codes
        ("tax_assessment", "/customsCode", "310", "customs_code"),
        ("tax_assessment", "/customsCode", "31OO", "customs_code"),
        ("return_application", "/returnCentreCode", "29000", "customs_code"),
        ("arrival", "/centreCode", 2900, "customs_code"),
        ("settlement", "/originCode", "٣١٠٠", "customs_code"),  # non-ASCII digits
        # inventory list numbers
        ("tax_assessment", "/invtNo", "31002026I00000001", "invt_no"),
        ("tax_assessment", "/invtNo", "31002026X000000001", "invt_no"),
        ("tax_payment", "/items/0/invtNo", "3100-2026I00000001", "invt_no"),
        ("tax_assessment", "/invtNo", "29002026I000000001", "invt_no_customs_code"),
        ("return_application", "/invtNo", "29002026I000000042", "invt_no_customs_code"),
        # goods
        ("tax_assessment", "/lines/1/gcode", "33049900", "gcode"),
        ("tax_assessment", "/lines/1/gcode", "330499009A", "gcode"),
        ("tax_assessment", "/lines/0/unit", "瓶", "unit"),
        ("tax_assessment", "/lines/2/gnum", 0, "gnum"),
        ("return_application", "/lines/0/gnum", 100, "gnum"),
        ("return_application", "/lines/0/qty", 0, "qty"),
        ("return_application", "/lines/0/qty", 100_001, "qty"),
        ("return_application", "/lines/0/qty", "1", "int_type"),
        ("return_application", "/lines/0/qty", 1.0, "int_type"),
        ("return_application", "/lines/0/qty", True, "int_type"),
        # enterprise codes
        ("tax_assessment", "/ebpCode", "310096123", "enterprise_code"),
        ("tax_assessment", "/ebcCode", "91330100mA2XXXXXXX", "enterprise_code"),
        ("tax_assessment", "/agentCode", "3100-98123", "enterprise_code"),
        ("tax_payment", "/entDutyNo", "31009812345", "enterprise_code"),
        ("return_application", "/agentCode", "", "enterprise_code"),
        # other codes
        ("tax_assessment", "/tradeMode", "9610", "trade_mode"),
        ("tax_assessment", "/emsNo", "t3100w000001", "ems_no"),
        ("tax_assessment", "/buyer/idType", "3", "id_type"),
        ("tax_assessment", "/buyer/idNumber", "33010619800101123", "id_number"),
        ("tax_assessment", "/buyer/phone", "call me", "phone"),
        ("arrival", "/returnId", "0x1234", "return_id"),
        ("inspection_report_mixed", "/returnId", "0x" + "AB" * 32, "return_id"),
        ("inspection_report_mixed", "/lines/1/evidence/0", "ab" * 32, "digest"),
        ("inspection_report_mixed", "/lines/1/reasonCode", "x", "reason_code"),
        ("arrival", "/packageCount", 0, "package_count"),
        ("settlement", "/quota/year", 1999, "year"),
        ("settlement", "/quota/year", 2101, "year"),
        # money
        ("settlement", "/quota/amount", "12.345", "money_precision"),
        ("settlement", "/quota/amount", "-1.00", "money_negative"),
        ("settlement", "/quota/amount", "10000000.01", "money_too_large"),
        ("settlement", "/quota/amount", 12.3, "money_type"),
        ("settlement", "/quota/amount", True, "money_type"),
        ("settlement", "/quota/amount", None, "money_type"),
        ("settlement", "/quota/amount", "1e3", "money_format"),
        ("settlement", "/quota/amount", " 12.30", "money_format"),
        ("settlement", "/quota/amount", Decimal("NaN"), "money_format"),
        ("tax_assessment", "/lines/0/price", "0.001", "money_precision"),
        # text
        ("tax_assessment", "/buyer/name", "张" * 101, "text_too_long"),
        ("tax_assessment", "/buyer/name", "", "text_too_short"),
        ("tax_assessment", "/buyer/name", "张\n三", "invalid_text"),
        ("tax_assessment", "/buyer/name", "张\x00三", "invalid_text"),
        ("tax_assessment", "/buyer/name", "张\x85三", "invalid_text"),
        ("tax_assessment", "/buyer/name", "张\ud800", "invalid_text"),
        ("tax_assessment", "/buyer/name", 123, "text_type"),
        ("tax_assessment", "/buyer/address", "路" * 201, "text_too_long"),
        ("tax_assessment", "/lines/0/gname", "\t面霜", "invalid_text"),
        ("return_application", "/reason", "因" * 201, "text_too_long"),
        ("return_application", "/reason", "", "text_too_short"),
        ("inspection_report_mixed", "/remark", "r" * 501, "text_too_long"),
        # times
        ("tax_assessment", "/releaseTime", "2026-11-11T10:00:00", "naive_datetime"),
        ("tax_assessment", "/releaseTime", datetime(2026, 11, 11, 10), "naive_datetime"),
        ("tax_payment", "/paidTime", "2026-11-11", "naive_datetime"),
        ("arrival", "/arrivedTime", "yesterday", "datetime_format"),
        ("arrival", "/arrivedTime", 1_700_000_000, "datetime_type"),
        ("arrival", "/arrivedTime", "2026-11-11T10:00:00+05:30:15", "timezone_offset"),
        # choices
        ("inspection_report_mixed", "/lines/0/result", "maybe", "literal_error"),
        ("recognition", "/decision", "approved", "literal_error"),
        ("settlement", "/kind", "waived", "literal_error"),
    ],
)
def test_invalid_field_is_rejected_with_its_path_and_rule(
    name: str, path: str, value: Any, expected: str
) -> None:
    doc = set_at(canonical_of(name), path, value)
    assert rejected(doc_type_of(name), doc) == [(path, expected)]


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("tax_assessment", "/ebpCode", "3100961234"),
        ("tax_assessment", "/ebpCode", "91330100MA2XXXXXXX"),
        ("tax_assessment", "/buyer/name", "张" * 100),
        ("tax_assessment", "/buyer/name", " 张三 "),  # surrounding spaces are not refused
        ("tax_assessment", "/buyer/idNumber", "33010619800101123X"),
        ("tax_assessment", "/buyer/phone", "+86-571-87654321"),
        ("return_application", "/reason", "因" * 200),
        ("return_application", "/lines/0/qty", 1),
        ("arrival", "/packageCount", 999),
        ("settlement", "/quota/amount", "10000000.00"),
        ("settlement", "/quota/amount", "0"),
        ("settlement", "/quota/amount", 0),
        ("settlement", "/quota/year", 2000),
        ("inspection_report_mixed", "/lines/1/evidence", [DIGEST] * 20),
        ("inspection_report_mixed", "/remark", None),
        ("recognition", "/reason", ""),
    ],
)
def test_valid_edge_value_is_accepted(name: str, path: str, value: Any) -> None:
    doc = set_at(canonical_of(name), path, value)
    parse_record(doc_type_of(name), doc)


# Bidi controls (Trojan Source, CVE-2021-42574) and the other invisible format characters.
BIDI_CONTROLS = [chr(c) for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F))]
BIDI_CONTROLS += [chr(c) for c in range(0x2066, 0x206A)]
OTHER_FORMAT_CHARS = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\U000e0041"]
# Every free-text field (ShortText, Name, GoodsName, Address, Reason, Explanation).
FREE_TEXT_FIELDS = [
    ("tax_assessment", "/orderNo", "ORD-20261111-0001"),
    ("tax_assessment", "/logisticsNo", "YT7700123456789"),
    ("tax_assessment", "/buyer/name", "张三"),
    ("tax_assessment", "/buyer/address", "浙江省杭州市西湖区文三路 90 号（东部软件园）"),
    ("tax_assessment", "/lines/0/itemRecordNo", "JXS-2026-0001"),
    ("tax_assessment", "/lines/0/gname", "雅诗兰黛®小棕瓶精华 50ml·修护"),
    ("tax_payment", "/taxNo", "31002026T000000001"),
    ("return_application", "/orderNo", "ORD-20261111-0001"),
    ("return_application", "/logisticsNo", "SF1234567890"),
    ("return_application", "/reason", "尺码不合适，七天无理由退货。"),
    ("arrival", "/logisticsNo", "SF1234567890"),
    ("arrival", "/officer", "2900-00042"),
    ("inspection_report_mixed", "/officer", "2900-00042"),
    ("inspection_report_mixed", "/remark", "外包装已拆封；附件「说明书」缺失"),
    ("recognition_disputed", "/officer", "2900-00042"),
    ("recognition_disputed", "/reason", "买家称商品未拆封，照片显示已使用"),
]
FIELD_IDS = [f"{name}{path}" for name, path, _ in FREE_TEXT_FIELDS]


@pytest.mark.parametrize("char", BIDI_CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("tax_assessment", "/logisticsNo"),
        ("tax_assessment", "/buyer/name"),
        ("return_application", "/reason"),
    ],
)
def test_bidi_control_in_text_is_rejected(name: str, path: str, char: str) -> None:
    doc = set_at(canonical_of(name), path, f"3100{char}2026")
    with pytest.raises(RecordValidationError) as caught:
        parse_record(doc_type_of(name), doc)
    (error,) = caught.value.errors
    assert (error.path, error.rule) == (path, "invisible_character")
    assert f"U+{ord(char):04X}" in error.message


@pytest.mark.parametrize(("name", "path", "value"), FREE_TEXT_FIELDS, ids=FIELD_IDS)
def test_right_to_left_override_in_any_free_text_field_is_rejected(
    name: str, path: str, value: str
) -> None:
    doc = set_at(canonical_of(name), path, value[:2] + "\u202e" + value[2:])
    assert rejected(doc_type_of(name), doc) == [(path, "invisible_character")]


@pytest.mark.parametrize("char", OTHER_FORMAT_CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_invisible_format_character_in_text_is_rejected(char: str) -> None:
    doc = set_at(canonical_of("tax_assessment"), "/lines/0/gname", f"面{char}霜")
    assert rejected("tax_assessment", doc) == [("/lines/0/gname", "invisible_character")]


def test_every_unicode_format_character_is_rejected() -> None:
    # The refused set is written out in clients.records.scalars so that it does not change
    # with the Python version; this fails if this Python knows a format character it misses.
    format_chars = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
    doc = canonical_of("tax_assessment")
    missed = []
    for char in format_chars:
        if not rejected("tax_assessment", set_at(doc, "/logisticsNo", f"YT{char}1")):
            missed.append(f"U+{ord(char):04X}")
    assert missed == []


@pytest.mark.parametrize(("name", "path", "value"), FREE_TEXT_FIELDS, ids=FIELD_IDS)
def test_cjk_and_punctuation_in_free_text_are_accepted(name: str, path: str, value: str) -> None:
    doc = set_at(canonical_of(name), path, value)
    assert dict(leaves(canonical(parse_record(doc_type_of(name), doc))))[path] == value


def test_line_counts_are_checked() -> None:
    doc = set_at(canonical_of("return_application"), "/lines", [])
    assert rejected("return_application", doc) == [("/lines", "too_few_lines")]
    many = [{"gnum": g, "qty": 1} for g in range(1, 101)]
    doc = set_at(canonical_of("return_application"), "/lines", many)
    assert rejected("return_application", doc) == [("/lines", "too_many_lines")]
    doc = set_at(canonical_of("return_application"), "/lines", many[:99])
    assert len(parse_record("return_application", doc).lines) == 99  # type: ignore[attr-defined]


def test_payment_items_and_evidence_counts_are_checked() -> None:
    doc = set_at(canonical_of("tax_payment"), "/items", [])
    assert rejected("tax_payment", doc) == [("/items", "too_few_items")]
    doc = set_at(canonical_of("inspection_report_mixed"), "/lines/1/evidence", [DIGEST] * 21)
    assert rejected("inspection_report", doc) == [("/lines/1/evidence", "too_much_evidence")]


def test_duplicate_gnum_is_rejected_at_the_repeating_line() -> None:
    lines = [{"gnum": 1, "qty": 1}, {"gnum": 3, "qty": 1}, {"gnum": 1, "qty": 1}]
    doc = set_at(canonical_of("return_application"), "/lines", lines)
    assert rejected("return_application", doc) == [("/lines/2/gnum", "duplicate_gnum")]
    doc = set_at(canonical_of("tax_assessment"), "/lines/2/gnum", 2)
    assert rejected("tax_assessment", doc) == [("/lines/2/gnum", "duplicate_gnum")]


def test_line_total_must_equal_price_times_qty() -> None:
    doc = canonical_of("tax_assessment")
    wrong = str(Decimal(doc["lines"][1]["totalPrice"]) + Decimal("0.01"))
    set_at(doc, "/lines/1/totalPrice", wrong)
    assert rejected("tax_assessment", doc) == [("/lines/1/totalPrice", "line_total_mismatch")]


def test_assessment_totals_must_match_the_lines() -> None:
    doc = canonical_of("tax_assessment")
    set_at(doc, "/totals/taxTotal", "0.01")
    assert rejected("tax_assessment", doc) == [("/totals/taxTotal", "totals_mismatch")]
    doc = canonical_of("tax_assessment")
    set_at(doc, "/totals/vat", str(Decimal(doc["totals"]["vat"]) + 1))
    assert rejected("tax_assessment", doc) == [
        ("/totals/vat", "totals_mismatch"),
        ("/totals/taxTotal", "totals_mismatch"),
    ]
    doc = canonical_of("tax_assessment")
    set_at(doc, "/totals/totalPrice", "1.00")
    assert rejected("tax_assessment", doc) == [("/totals/totalPrice", "totals_mismatch")]


def _declared_off(vat_fen: int, excise_fen: int = 0) -> dict[str, Any]:
    """The sample assessment (3 lines) with a bill head off its lines' sums by so many fen."""
    doc = canonical_of("tax_assessment")
    head = doc["declaredTotals"]
    vat = Decimal(head["vat"]) + Decimal(vat_fen) / 100
    excise = Decimal(head["consumptionTax"]) + Decimal(excise_fen) / 100
    head["vat"], head["consumptionTax"] = f"{vat:.2f}", f"{excise:.2f}"
    head["taxTotal"] = f"{Decimal(head['customsDuty']) + vat + excise:.2f}"
    return doc


@pytest.mark.parametrize(("vat", "excise"), [(1, 0), (-1, 0), (3, 0), (-3, 0), (2, -2), (1, 1)])
def test_declared_totals_within_a_fen_per_line_kept_beside_the_lines(vat: int, excise: int) -> None:
    doc = _declared_off(vat, excise)
    record = parse_record("tax_assessment", doc)
    assert isinstance(record, TaxAssessment) and record.declared_totals is not None
    assert canonical(record)["declaredTotals"] == doc["declaredTotals"]
    assert canonical(record)["totals"] == canonical_of("tax_assessment")["totals"]


@pytest.mark.parametrize(
    ("vat", "excise", "path"),
    [
        (4, 0, "/declaredTotals/vat"),
        (-4, 0, "/declaredTotals/vat"),
        (0, 4, "/declaredTotals/consumptionTax"),
        (2, 2, "/declaredTotals/taxTotal"),  # each within 3 fen, together 4 off
    ],
)
def test_declared_totals_beyond_a_fen_per_line_refused(vat: int, excise: int, path: str) -> None:
    doc = _declared_off(vat, excise)
    with pytest.raises(RecordValidationError) as caught:
        parse_record("tax_assessment", doc)
    total = ("/declaredTotals/taxTotal", "totals_mismatch")
    assert caught.value.rules == list(dict.fromkeys([(path, "totals_mismatch"), total]))
    message = caught.value.errors[0].message
    assert doc["invtNo"] in message and "0.04" in message and "(0.03)" in message
    key = path.rsplit("/", 1)[1]
    assert doc["declaredTotals"][key] in message and doc["totals"][key] in message


def test_declared_tax_total_must_add_up_its_own_taxes() -> None:
    doc = _declared_off(1)
    set_at(doc, "/declaredTotals/taxTotal", doc["totals"]["taxTotal"])  # within 3 fen, but
    assert rejected("tax_assessment", doc) == [("/declaredTotals/taxTotal", "totals_mismatch")]


def test_declared_totals_may_be_null_but_not_partial() -> None:
    doc = set_at(canonical_of("tax_assessment"), "/declaredTotals", None)
    assert parse_record("tax_assessment", doc).declared_totals is None  # type: ignore[attr-defined]
    del doc["declaredTotals"]
    assert canonical(parse_record("tax_assessment", doc))["declaredTotals"] is None
    doc = set_at(canonical_of("tax_assessment"), "/declaredTotals/vat", ...)
    assert rejected("tax_assessment", doc) == [("/declaredTotals/vat", "missing")]


def test_payment_total_and_unique_inventory_lists() -> None:
    assert len(canonical_of("tax_payment")["items"]) == 3
    doc = set_at(canonical_of("tax_payment"), "/total", "0.00")
    assert rejected("tax_payment", doc) == [("/total", "totals_mismatch")]
    doc = canonical_of("tax_payment")
    doc["items"] = [doc["items"][0], doc["items"][0]]
    doc["total"] = str(Decimal(doc["items"][0]["taxAmount"]) * 2)
    assert rejected("tax_payment", doc) == [("/items/1/invtNo", "duplicate_invt_no")]


def test_settlement_amounts_must_add_up() -> None:
    doc = set_at(canonical_of("settlement"), "/lines/0/amount", "999.99")
    assert rejected("settlement", doc) == [("/lines/0/amount", "line_total_mismatch")]
    doc = set_at(canonical_of("settlement"), "/total", "999.99")
    assert rejected("settlement", doc) == [("/total", "totals_mismatch")]


def test_inspection_reason_code_must_fit_the_result() -> None:
    doc = set_at(canonical_of("inspection_report_mixed"), "/lines/0/reasonCode", "21")
    assert rejected("inspection_report", doc) == [("/lines/0/reasonCode", "reason_code_mismatch")]
    doc = set_at(canonical_of("inspection_report_mixed"), "/lines/1/reasonCode", "00")
    assert rejected("inspection_report", doc) == [("/lines/1/reasonCode", "reason_code_mismatch")]


def test_recognition_needs_an_officer_and_a_reason_when_it_says_so() -> None:
    doc = set_at(canonical_of("recognition"), "/mode", "officer")
    assert rejected("recognition", doc) == [("/officer", "officer_required")]
    doc = set_at(canonical_of("recognition"), "/decision", "disputed")
    assert rejected("recognition", doc) == [("/reason", "reason_required")]
    parse_record("recognition", canonical_of("recognition_disputed"))


def test_unknown_and_missing_fields_are_rejected() -> None:
    doc = canonical_of("tax_assessment")
    doc["buyer"]["nickname"] = "小张"
    set_at(doc, "/orderNo", ...)
    assert sorted(rejected("tax_assessment", doc)) == [
        ("/buyer/nickname", "extra_forbidden"),
        ("/orderNo", "missing"),
    ]


def test_error_paths_use_camel_case_keys_for_snake_case_input() -> None:
    data = SAMPLES["tax_assessment"].model_dump()
    data["lines"][0]["total_price"] = "1.001"
    data["buyer"]["id_number"] = "?"
    assert sorted(rejected("tax_assessment", data)) == [
        ("/buyer/idNumber", "id_number"),
        ("/lines/0/totalPrice", "money_precision"),
    ]


def test_doc_type_must_match() -> None:
    doc = canonical_of("arrival")
    assert rejected("inspection_report", doc)[0] == ("/docType", "doc_type_mismatch")
    assert rejected("no_such_type", doc) == [("/docType", "unknown_doc_type")]
    del doc["docType"]
    assert parse_record("arrival", doc) == SAMPLES["arrival"]


def test_non_object_is_rejected() -> None:
    assert rejected("arrival", ["not", "an", "object"]) == [("", "model_type")]


def test_every_error_is_reported_on_its_own_line() -> None:
    doc = canonical_of("tax_assessment")
    set_at(doc, "/customsCode", "31")
    set_at(doc, "/lines/1/gcode", "1")
    set_at(doc, "/buyer/name", "a\x07")
    with pytest.raises(RecordValidationError) as caught:
        parse_record("tax_assessment", doc)
    error = caught.value
    assert isinstance(error, CrossReturnError)
    assert sorted(error.rules) == [
        ("/buyer/name", "invalid_text"),
        ("/customsCode", "customs_code"),
        ("/lines/1/gcode", "gcode"),
    ]
    lines = str(error).splitlines()
    assert lines[0] == "3 record validation errors"
    for e in error.errors:
        assert sum(e.path in line and e.rule in line for line in lines[1:]) == 1


def test_python_values_are_accepted_directly() -> None:
    record = SAMPLES["settlement"]
    assert isinstance(record, SettlementRecord)
    again = SettlementRecord(
        **{name: getattr(record, name) for name in SettlementRecord.model_fields}
    )
    assert again == record


# ---------------------------------------------------------------------- cross-record check


def test_return_of_existing_lines_passes() -> None:
    assessment = SAMPLES["tax_assessment"]
    assert isinstance(assessment, TaxAssessment)
    validate_return_against_assessment(sample_return_application(assessment), assessment)
    partial = sample_return_application(assessment, gnums=[2], qty={2: 1})
    validate_return_against_assessment(partial, assessment)


def test_return_of_unknown_line_or_too_many_pieces_fails() -> None:
    assessment = SAMPLES["tax_assessment"]
    assert isinstance(assessment, TaxAssessment)
    app = SAMPLES["return_application"]
    assert isinstance(app, ReturnApplication)
    too_many = app.lines[1].qty + 1
    changed = app.model_copy(
        update={"lines": [ReturnLine(gnum=9, qty=1), ReturnLine(gnum=3, qty=too_many)]}
    )
    with pytest.raises(RecordValidationError) as caught:
        validate_return_against_assessment(changed, assessment)
    assert caught.value.rules == [
        ("/lines/0/gnum", "unknown_gnum"),
        ("/lines/1/qty", "qty_exceeds_declared"),
    ]


def test_return_of_another_inventory_list_fails() -> None:
    assessment = SAMPLES["tax_assessment"]
    assert isinstance(assessment, TaxAssessment)
    other = sample_return_application(sample_tax_assessment(serial=99, lines=1))
    with pytest.raises(RecordValidationError) as caught:
        validate_return_against_assessment(other, assessment)
    rules = caught.value.rules
    assert ("/invtNo", "invt_no_mismatch") in rules
    assert ("/orderNo", "order_no_mismatch") in rules


# ---------------------------------------------------------------------- field classes


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_leaf_of_every_sample_has_a_field_class(name: str) -> None:
    record = SAMPLES[name]
    for path, _ in leaves(canonical(record)):
        assert isinstance(field_class(record.doc_type, path), FieldClass), path


def test_samples_reach_every_pattern_of_every_table() -> None:
    reached: dict[DocType, set[str]] = {t: set() for t in DocType}
    for record in SAMPLES.values():
        for path, _ in leaves(canonical(record)):
            pattern = re.sub(r"/[0-9]+(?=/|$)", "/*", path)
            reached[record.doc_type].add(pattern)
    for doc_type, table in FIELD_CLASSES.items():
        assert reached[doc_type] == set(table), doc_type


@pytest.mark.parametrize(
    ("doc_type", "path", "expected"),
    [
        (DocType.TAX_ASSESSMENT, "/docType", FieldClass.PUBLIC),
        (DocType.TAX_ASSESSMENT, "/lines/2/price", FieldClass.COMMERCIAL),
        (DocType.TAX_ASSESSMENT, "/lines/0/gname", FieldClass.GOODS),
        (DocType.TAX_ASSESSMENT, "/lines/98/gcode", FieldClass.GOODS),
        (DocType.TAX_ASSESSMENT, "/lines/*/vat", FieldClass.COMMERCIAL),
        (DocType.TAX_ASSESSMENT, "/buyer/name", FieldClass.PERSONAL),
        (DocType.TAX_ASSESSMENT, "/buyer/idNumber", FieldClass.PERSONAL),
        (DocType.TAX_ASSESSMENT, "/orderNo", FieldClass.COMMERCIAL),
        (DocType.TAX_ASSESSMENT, "/logisticsNo", FieldClass.COMMERCIAL),
        (DocType.TAX_ASSESSMENT, "/invtNo", FieldClass.PUBLIC),
        (DocType.TAX_ASSESSMENT, "/totals/taxTotal", FieldClass.COMMERCIAL),
        (DocType.TAX_ASSESSMENT, "/declaredTotals/vat", FieldClass.COMMERCIAL),
        (DocType.TAX_ASSESSMENT, "/declaredTotals", FieldClass.COMMERCIAL),  # null when absent
        (DocType.TAX_PAYMENT, "/items/3/taxAmount", FieldClass.COMMERCIAL),
        (DocType.TAX_PAYMENT, "/items/3/invtNo", FieldClass.PUBLIC),
        (DocType.RETURN_APPLICATION, "/reason", FieldClass.GOODS),
        (DocType.RETURN_APPLICATION, "/lines/0/qty", FieldClass.GOODS),
        (DocType.ARRIVAL, "/packageCount", FieldClass.INSPECTION),
        (DocType.ARRIVAL, "/arrivedTime", FieldClass.PUBLIC),
        (DocType.INSPECTION_REPORT, "/lines/0/evidence/2", FieldClass.INSPECTION),
        (DocType.INSPECTION_REPORT, "/lines/0/evidence", FieldClass.INSPECTION),
        (DocType.INSPECTION_REPORT, "/returnId", FieldClass.PUBLIC),
        (DocType.RECOGNITION, "/reason", FieldClass.INSPECTION),
        (DocType.RECOGNITION, "/decidedTime", FieldClass.PUBLIC),
        (DocType.SETTLEMENT, "/quota/buyerIdNumber", FieldClass.PERSONAL),
        (DocType.SETTLEMENT, "/lines/0/amount", FieldClass.COMMERCIAL),
        (DocType.SETTLEMENT, "/kind", FieldClass.PUBLIC),
        ("settlement", "/lines/1/gnum", FieldClass.GOODS),
    ],
)
def test_field_class_of_path(doc_type: DocType | str, path: str, expected: FieldClass) -> None:
    assert field_class(doc_type, path) is expected


@pytest.mark.parametrize(
    ("doc_type", "path"),
    [
        (DocType.TAX_ASSESSMENT, "/nope"),
        (DocType.TAX_ASSESSMENT, "/buyer"),  # an object, not a leaf
        (DocType.TAX_ASSESSMENT, "/lines"),
        (DocType.TAX_ASSESSMENT, "/lines/x/price"),
        (DocType.TAX_ASSESSMENT, "/lines/01/price"),
        (DocType.TAX_ASSESSMENT, "/lines/0/price/0"),
        (DocType.TAX_ASSESSMENT, "lines/0/price"),
        (DocType.TAX_ASSESSMENT, ""),
        (DocType.ARRIVAL, "/buyer/name"),
        ("no_such_type", "/docType"),
    ],
)
def test_field_class_of_unknown_path_raises(doc_type: DocType | str, path: str) -> None:
    with pytest.raises(KeyError) as caught:
        field_class(doc_type, path)
    assert isinstance(caught.value, UnknownFieldPath)
    assert repr(path) in str(caught.value)


def test_personal_data_is_only_the_buyer_and_the_quota_holder() -> None:
    personal = {
        (doc_type.value, path)
        for doc_type, table in FIELD_CLASSES.items()
        for path, cls in table.items()
        if cls is FieldClass.PERSONAL
    }
    assert personal == {
        ("tax_assessment", "/buyer/name"),
        ("tax_assessment", "/buyer/idType"),
        ("tax_assessment", "/buyer/idNumber"),
        ("tax_assessment", "/buyer/phone"),
        ("tax_assessment", "/buyer/address"),
        ("settlement", "/quota/buyerIdNumber"),
    }


def test_money_order_and_waybill_numbers_are_commercial_outside_the_return_centre() -> None:
    for doc_type, table in FIELD_CLASSES.items():
        for path, cls in table.items():
            key = path.rsplit("/", 1)[-1]
            if key in MONEY_KEYS or key == "orderNo":
                assert cls is FieldClass.COMMERCIAL, (doc_type, path)
            if key == "logisticsNo" and doc_type is not DocType.ARRIVAL:
                assert cls is FieldClass.COMMERCIAL, (doc_type, path)
    assert field_class(DocType.ARRIVAL, "/logisticsNo") is FieldClass.INSPECTION


def test_field_class_is_in_the_json_schema() -> None:
    schema = TaxAssessment.model_json_schema(by_alias=True)
    assert schema["properties"]["orderNo"]["x-field-class"] == "commercial"
    assert schema["$defs"]["Buyer"]["properties"]["name"]["x-field-class"] == "personal"


# ---------------------------------------------------------------------- samples


def test_samples_are_deterministic_with_a_seeded_rng() -> None:
    first = sample_tax_assessment(serial=5, rng=random.Random(1234))
    again = sample_tax_assessment(serial=5, rng=random.Random(1234))
    other = sample_tax_assessment(serial=5, rng=random.Random(4321))
    assert canonical(first) == canonical(again)
    assert canonical(first) != canonical(other)
    assert sample_tax_assessment(serial=5) == sample_tax_assessment(serial=5)
    app = sample_return_application(first, rng=random.Random(9))
    assert app == sample_return_application(first, rng=random.Random(9))
    report = sample_inspection_report(RETURN_ID, [1, 2], accepted=[1], rng=random.Random(3))
    assert report == sample_inspection_report(RETURN_ID, [1, 2], accepted=[1], rng=random.Random(3))


@pytest.mark.parametrize("seed", range(20))
def test_sample_assessments_are_valid_and_realistic(seed: int) -> None:
    rng = random.Random(seed)
    lines = rng.choice([1, 3, 7, 99])
    code = rng.choice(["2200", "2900", "3100", "4600", "5300"])
    record = sample_tax_assessment(serial=seed, customs_code=code, lines=lines, rng=rng)
    assert parse_record(DocType.TAX_ASSESSMENT, canonical(record)) == record
    assert record.invt_no == f"{code}2026I{seed:09d}"
    assert len(record.lines) == lines
    assert record.totals.total_price <= 5000
    assert re.fullmatch(r"[0-9]{17}[0-9X]", record.buyer.id_number)
    assert re.fullmatch(r"1[3-9][0-9]{9}", record.buyer.phone)
    assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", record.buyer.name)


def test_sample_inspection_report_marks_accepted_lines() -> None:
    report = sample_inspection_report(RETURN_ID, [3, 1, 2], accepted=[2])
    assert [(x.gnum, x.result) for x in report.lines] == [
        (1, "rejected"),
        (2, "accepted"),
        (3, "rejected"),
    ]
    rejected_all = sample_inspection_report(RETURN_ID, [1], accepted=False)
    assert rejected_all.lines[0].reason_code != "00"


def test_sample_settlement_gives_back_the_returned_lines() -> None:
    assessment = SAMPLES["tax_assessment"]
    assert isinstance(assessment, TaxAssessment)
    settlement = sample_settlement_record(assessment, RETURN_ID, gnums=[2], kind="refunded")
    line = assessment.lines[1]
    assert settlement.total == line.vat + line.consumption_tax + line.customs_duty
    assert settlement.quota.amount == line.total_price
    assert settlement.quota.buyer_id_number == assessment.buyer.id_number
    with pytest.raises(ValueError):
        sample_settlement_record(assessment, RETURN_ID, gnums=[7])


# ---------------------------------------------------------------------- properties


@given(st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False))
def test_money_strings_round_trip(amount: Decimal) -> None:
    doc = set_at(canonical_of("settlement"), "/quota/amount", format(amount, "f"))
    out = canonical(parse_record("settlement", doc))["quota"]["amount"]
    assert out == f"{amount:.2f}"
    assert Decimal(out) == amount
    doc = set_at(canonical_of("settlement"), "/quota/amount", out)
    assert canonical(parse_record("settlement", doc))["quota"]["amount"] == out


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_never_money(amount: float) -> None:
    doc = set_at(canonical_of("settlement"), "/quota/amount", amount)
    assert rejected("settlement", doc) == [("/quota/amount", "money_type")]


@given(st.text(max_size=8).filter(lambda s: re.fullmatch(r"[0-9]{4}", s) is None))
def test_invalid_customs_codes_are_rejected(code: str) -> None:
    doc = set_at(canonical_of("arrival"), "/centreCode", code)
    assert rejected("arrival", doc) == [("/centreCode", "customs_code")]


def _renumbered(gnums: list[int]) -> dict[str, Any]:
    doc = canonical(sample_tax_assessment(serial=77, lines=len(gnums)))
    for line, gnum in zip(doc["lines"], gnums, strict=True):
        line["gnum"] = gnum
    return doc


@pytest.mark.parametrize(
    ("gnums", "where", "missing"),
    [([1, 5], "/lines/1/gnum", 2), ([2, 3], "/lines/1/gnum", 1), ([3, 1, 4], "/lines/2/gnum", 2)],
)
def test_assessment_lines_with_a_gap_in_their_numbers_are_refused(
    gnums: list[int], where: str, missing: int
) -> None:
    """A case is known on the ledger by its line count: line 5 of a 2-line list could never be
    returned, so lines are numbered 1..n, and the refusal names the missing line."""
    with pytest.raises(RecordValidationError) as caught:
        parse_record("tax_assessment", _renumbered(gnums))
    assert (where, "gnum_gap") in caught.value.rules
    assert f"line {missing} missing" in str(caught.value)


def test_assessment_lines_numbered_1_to_n_in_any_order_are_accepted() -> None:
    parse_record("tax_assessment", _renumbered([3, 1, 2]))
