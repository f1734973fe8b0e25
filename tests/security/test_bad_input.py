"""Hand-picked hostile input the generated cases are unlikely to hit: unicode edge cases,
absurd amounts, oversized records, SQL- and path-looking strings in paths, queries and record
fields. Each is refused with a 4xx problem+json carrying a stable code, and writes nothing.

XML bombs, deep JSON, malformed JSON and oversized bodies are covered in tests/gateway
(test_adapters.py, test_app.py, test_returns_api.py) and not repeated here.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from clients.records import canonical
from node_gateway.run.local_consortium import PLATFORM
from tests.utils.gateway import CENTRE, NINGBO, GatewayWorld, assert_problem

BULK = "/v1/tax-records/bulk"
SQL = "' OR '1'='1'; DROP TABLE outbox; --"
PATHLIKE = "../../../../etc/passwd"
HOSTILE_STRINGS = {
    "nul": "3100\x002026",
    "lone_surrogate": "\ud800",
    "rtl_override": "3100\u202e2026",
    "very_long": "3" * 100_000,
    "sql": SQL,
    "path": PATHLIKE,
}


def _post_raw(gw: GatewayWorld, body: dict[str, Any]) -> httpx.Response:
    """POST a bulk of tax records as Ningbo's system, escaping non-ASCII (so a lone surrogate
    travels as the JSON escape `\\ud800`, which no UTF-8 encoder would produce)."""
    return gw.call(
        NINGBO,
        "system",
        "POST",
        BULK,
        content=json.dumps(body, ensure_ascii=True).encode(),
        headers={"Content-Type": "application/json"},
    )


def _record(gw: GatewayWorld, lines: int = 3) -> dict[str, Any]:
    (a,) = gw.assessments(NINGBO, lines=lines)
    return canonical(a)


def _refused(r: httpx.Response, *codes: str) -> None:
    assert 400 <= r.status_code < 500, r.text
    body = assert_problem(r, r.status_code, r.json().get("code", ""))
    assert body["code"] in codes, body


# ---------------------------------------------------------------- record fields


@pytest.mark.parametrize("value", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS.keys())
@pytest.mark.parametrize("field", ["invtNo", "customsCode", "ebpCode"])
def test_ingest_hostile_string_in_id_field_refused(
    gw: GatewayWorld, field: str, value: str
) -> None:
    record = _record(gw) | {field: value}
    with gw.unchanged():
        r = _post_raw(gw, {"records": [{"platform": PLATFORM, "record": record}]})
    _refused(r, "invalid_record", "invalid_request")


@pytest.mark.parametrize(
    "value",
    ["\x00", "\ud800", "x" * 100_000, "张\u202e三"],
    ids=["nul", "surrogate", "long", "rtl_override"],
)
@pytest.mark.parametrize("field", ["name", "address"])
def test_ingest_hostile_string_in_buyer_field_refused(
    gw: GatewayWorld, field: str, value: str
) -> None:
    record = _record(gw)
    record["buyer"] = record["buyer"] | {field: value}
    with gw.unchanged():
        r = _post_raw(gw, {"records": [{"platform": PLATFORM, "record": record}]})
    _refused(r, "invalid_record", "invalid_request")


@pytest.mark.parametrize("value", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS.keys())
def test_ingest_hostile_platform_refused(gw: GatewayWorld, value: str) -> None:
    with gw.unchanged():
        r = _post_raw(gw, {"records": [{"platform": value, "record": _record(gw)}]})
    _refused(r, "unknown_member", "invalid_request")


ABSURD_LINE_VALUES = {
    "negative_qty": ("qty", -1),
    "zero_qty": ("qty", 0),
    "huge_qty": ("qty", 10**30),
    "fractional_qty": ("qty", 1.5),
    "negative_price": ("price", "-193.55"),
    "exponent_price": ("price", "1e308"),
    "nan_price": ("price", "NaN"),
    "negative_vat": ("vat", "-41.44"),
    "huge_total": ("totalPrice", "9" * 60 + ".00"),
    "numeric_price": ("price", 193.55),
}


@pytest.mark.parametrize(
    ("field", "value"), ABSURD_LINE_VALUES.values(), ids=ABSURD_LINE_VALUES.keys()
)
def test_ingest_absurd_amount_refused(gw: GatewayWorld, field: str, value: Any) -> None:
    record = _record(gw, lines=1)
    record["lines"][0][field] = value
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", BULK, json={"records": [tax_item_raw(record)]})
    _refused(r, "invalid_record", "invalid_request")


@pytest.mark.parametrize("value", ["-89.26", "0.001", "-0.00"], ids=["negative", "mills", "neg0"])
def test_ingest_absurd_tax_total_refused(gw: GatewayWorld, value: str) -> None:
    record = _record(gw)
    record["totals"]["taxTotal"] = value
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", BULK, json={"records": [tax_item_raw(record)]})
    _refused(r, "invalid_record", "invalid_request")


def test_ingest_record_with_150_lines_refused(gw: GatewayWorld) -> None:
    record = _record(gw, lines=1)
    line = record["lines"][0]
    record["lines"] = [line | {"gnum": n} for n in range(1, 151)]
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", BULK, json={"records": [tax_item_raw(record)]})
    _refused(r, "invalid_record", "invalid_request")


def tax_item_raw(record: dict[str, Any]) -> dict[str, Any]:
    """`tax_item` for a record already in canonical JSON form."""
    return {"platform": PLATFORM, "record": record}


# logisticsNo is the carrier's waybill number, free text to the record schema: it refuses NUL,
# lone surrogates, overlong values and invisible format characters such as bidi marks (which
# could make what an officer reads differ from what is stored), but stores SQL- or
# path-looking text as plain data (parameterised SQL, never a path).
HOSTILE_LOGISTICS_NOS = {
    "nul": ("\x00", "invalid_text"),
    "surrogate": ("\ud800", "invalid_text"),
    "long": ("Y" * 100_000, "text_too_long"),
    "rtl_override": ("YT\u202e4321", "invisible_character"),
    "rtl_mark": ("YT\u200f4321", "invisible_character"),
    "rtl_isolate": ("YT\u20674321\u2069", "invisible_character"),
    "arabic_letter_mark": ("YT\u061c4321", "invisible_character"),
    "zero_width_joiner": ("YT\u200d4321", "invisible_character"),
}


@pytest.mark.parametrize(
    ("value", "rule"), HOSTILE_LOGISTICS_NOS.values(), ids=HOSTILE_LOGISTICS_NOS.keys()
)
def test_ingest_hostile_logistics_no_refused(gw: GatewayWorld, value: str, rule: str) -> None:
    record = _record(gw) | {"logisticsNo": value}
    with gw.unchanged():
        r = _post_raw(gw, {"records": [{"platform": PLATFORM, "record": record}]})
    body = assert_problem(r, 422, "invalid_record")
    assert [(e["path"], e["rule"]) for e in body["errors"]] == [
        ("/records/0/record/logisticsNo", rule)
    ]


# ---------------------------------------------------------------- path and query parameters

HOSTILE_SEGMENTS = {
    "sql": "'%20OR%20'1'='1",
    "path": "..%2F..%2F..%2Fetc%2Fpasswd",
    "nul": "0x%00ab",
    "rtl": "0x%E2%80%AEab",
    "overlong_hex": "0x" + "ab" * 400,
    # Found by `make soak`: an operation id past SQLite's 64-bit integers was a 500.
    "huge_number": str(2**64),
    "negative_number": "-1",
}


@pytest.mark.parametrize("segment", HOSTILE_SEGMENTS.values(), ids=HOSTILE_SEGMENTS.keys())
@pytest.mark.parametrize(
    ("role", "method", "template"),
    [
        ("auditor", "GET", "/v1/returns/{}"),
        ("auditor", "GET", "/v1/cases/{}"),
        ("auditor", "GET", "/v1/cases/{}/trail"),
        ("auditor", "GET", "/v1/operations/{}"),
        ("officer", "POST", "/v1/returns/{}/arrival"),
        ("admin", "GET", "/v1/governance/proposals/{}"),
    ],
    ids=lambda v: str(v),
)
def test_call_with_hostile_path_parameter_refused(
    gw: GatewayWorld, role: str, method: str, template: str, segment: str
) -> None:
    body: dict[str, Any] | None = {"record": {}} if method == "POST" else None
    with gw.unchanged():
        r = gw.call(CENTRE, role, method, template.format(segment), json=body)
    _refused(r, "not_found", "invalid_request", "unknown_proposal")


HOSTILE_QUERIES = {
    "sql_state": ("/v1/returns", {"state": SQL}),
    "path_area": ("/v1/returns", {"area": PATHLIKE}),
    "nul_after": ("/v1/returns", {"after": "1\x00"}),
    "negative_limit": ("/v1/returns", {"limit": "-1"}),
    "absurd_limit": ("/v1/returns", {"limit": str(10**30)}),
    "sql_invt_no": ("/v1/cases/lookup", {"invtNo": SQL}),
    "path_invt_no": ("/v1/cases/lookup", {"invtNo": PATHLIKE}),
    "long_invt_no": ("/v1/cases/lookup", {"invtNo": "3" * 10_000}),
    "sql_audit_area": ("/v1/audit/report", {"from": "2026-01-01", "to": "2026-02-01", "area": SQL}),
    "absurd_days": (
        "/v1/audit/report",
        {"from": "2026-01-01", "to": "2026-02-01", "recognitionDays": str(10**30)},
    ),
    "sql_proposal_status": ("/v1/governance/proposals", {"status": SQL}),
}


@pytest.mark.parametrize(("path", "params"), HOSTILE_QUERIES.values(), ids=HOSTILE_QUERIES.keys())
def test_query_with_hostile_parameter_refused(
    gw: GatewayWorld, path: str, params: dict[str, str]
) -> None:
    with gw.unchanged():
        r = gw.call(CENTRE, "officer" if "audit" in path else "auditor", "GET", path, params=params)
    _refused(r, "not_found", "invalid_request", "invalid_record", "invalid_query")


def test_lookup_with_hostile_invt_no_leaves_cases_intact(gw: GatewayWorld) -> None:
    (case,) = gw.anchored_cases()
    r = gw.call(NINGBO, "auditor", "GET", "/v1/cases/lookup", params={"invtNo": SQL})
    _refused(r, "not_found", "invalid_request")
    assert gw.case_of(case.assessment).case_id == case.case_id
