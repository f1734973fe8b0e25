"""Adapters: CEB621 + CEB816 and CEB625 XML, and the areas' own JSON, to canonical records.

Round trips go sample record -> writer (tests/utils/ceb.py, tests/utils/area_json.py) ->
adapter -> the same canonical record; the hand-written messages in tests/fixtures/ceb/ read as
their .expected.json. Unsafe XML (DTD, entities, depth, size) is refused before it is used,
and every problem names its element path or source JSON pointer with a stable rule. The
endpoint is played against the session's live consortium, down to anchored batches.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import fromstring, tostring

import pytest

from clients.adapters import (
    AdapterError,
    InvalidJson,
    InvalidSourceRecord,
    InvalidXml,
    JsonTooLarge,
    UnmatchedTaxBill,
    XmlLimits,
    XmlTooLarge,
    parse_xml,
    read_return_applications,
)
from clients.adapters.ceb import CEB_NS
from clients.records import TaxAssessment, canonical
from clients.records.samples import sample_return_application, sample_tax_assessment
from node_gateway.adapters import MappingError, load_mapping, read_mapped, read_tax_assessments
from node_gateway.adapters.json_mapping import parse_mapping
from node_gateway.run.local_consortium import PLATFORM
from node_gateway.services import tax_records
from tests.utils.area_json import ningbo_wms, zhengzhou_bsp
from tests.utils.ceb import ceb621, ceb625, ceb816, expected
from tests.utils.gateway import NINGBO, ZHENGZHOU, GatewayWorld, assert_problem

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ceb"
CEB = "/v1/tax-records/ceb"
I621 = "/CEB621Message/Inventory"
T816 = "/CEB816Message/Tax"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<ceb:CEB621Message xmlns:ceb="http://www.chinaport.gov.cn/ceb">&lol9;</ceb:CEB621Message>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ceb:CEB621Message xmlns:ceb="http://www.chinaport.gov.cn/ceb">&xxe;</ceb:CEB621Message>"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://127.0.0.1:9/evil.dtd">
<ceb:CEB621Message xmlns:ceb="http://www.chinaport.gov.cn/ceb"/>"""


def samples(count: int, first: int = 1) -> list[TaxAssessment]:
    """Assessments of Ningbo with 1 to 4 lines."""
    return [sample_tax_assessment(n, lines=1 + n % 4) for n in range(first, first + count)]


def edit(xml: str, path: str, text: str | None) -> str:
    """`xml` with the element at `path` ("Inventory[3]/InventoryList[2]/qty", below the
    root) given `text`, or removed when `text` is None."""
    root = fromstring(xml)
    steps = "/".join(f"ceb:{step}" for step in path.split("/"))
    ns = {"ceb": CEB_NS}
    target = root.find(steps, ns)
    assert target is not None, path
    if text is not None:
        target.text = text
    else:
        parent_path = steps.rsplit("/", 1)[0] if "/" in steps else "."
        parent = root.find(parent_path, ns)
        assert parent is not None
        parent.remove(target)
    return tostring(root, encoding="unicode")


def refused(fn: Callable[[], object], kind: type[AdapterError]) -> AdapterError:
    """Run `fn`, which must raise `kind`; return the error."""
    with pytest.raises(kind) as caught:
        fn()
    return caught.value


# ---------------------------------------------------------------------- CEB621 + CEB816


def test_read_tax_assessments_round_trips_samples() -> None:
    lists = samples(6)
    assert read_tax_assessments(ceb621(lists), ceb816(lists)) == [canonical(a) for a in lists]


def test_read_tax_assessments_hand_written_fixture_matches_expected() -> None:
    records = read_tax_assessments(
        (FIXTURES / "ceb621_two_lists.xml").read_bytes(),
        (FIXTURES / "ceb816_two_lists.xml").read_text(encoding="utf-8"),
    )
    want = json.loads((FIXTURES / "ceb621_two_lists.expected.json").read_text(encoding="utf-8"))
    assert records == want
    assert [r["releaseTime"] for r in records] == [
        "2026-11-11T10:30:15+08:00",
        "2026-11-11T14:30:00+08:00",
    ]


def test_read_tax_assessments_many_lists_pair_by_invt_no_not_position() -> None:
    lists = samples(300)
    bills = sorted(lists, key=lambda a: a.order_no)  # any order: bills pair by invtNo
    records = read_tax_assessments(ceb621(lists), ceb816(bills))
    assert records == [canonical(a) for a in lists]


def test_read_tax_assessments_bad_qty_named_by_element_path() -> None:
    lists = samples(3)  # the third list has 4 lines
    xml = edit(ceb621(lists), "Inventory[3]/InventoryList[2]/qty", "two")
    error = refused(lambda: read_tax_assessments(xml, ceb816(lists)), InvalidSourceRecord)
    assert error.rules == [(f"{I621}[3]/InventoryList[2]/qty", "int_type")]
    assert error.problems[0].field == "/lines/1/qty"
    assert error.code == "invalid_record" and error.status == 422


def test_read_tax_assessments_reports_every_problem_of_every_list() -> None:
    lists = samples(3)
    xml = edit(ceb621(lists), "Inventory[1]/InventoryHead/emsNo", "ems-1")
    xml = edit(xml, "Inventory[2]/InventoryList[1]/price", "12.345")
    xml = edit(xml, "Inventory[3]/InventoryHead/buyerName", None)
    error = refused(lambda: read_tax_assessments(xml, ceb816(lists)), InvalidSourceRecord)
    assert set(error.rules) == {
        (f"{I621}[1]/InventoryHead/emsNo", "ems_no"),
        (f"{I621}[2]/InventoryList[1]/price", "money_precision"),
        (f"{I621}[3]/InventoryHead/buyerName", "missing"),
    }


def test_read_tax_assessments_bill_head_disagreeing_with_its_lines_names_the_bill() -> None:
    lists = samples(2)
    bills = edit(ceb816(lists), "Tax[2]/TaxHeadRd/valueAddedTax", "9999.00")
    error = refused(lambda: read_tax_assessments(ceb621(lists), bills), InvalidSourceRecord)
    assert error.rules == [(f"{T816}[2]/TaxHeadRd/valueAddedTax", "totals_mismatch")]
    assert error.problems[0].field == "/declaredTotals/vat"
    assert lists[1].invt_no in error.problems[0].message and "9999.00" in error.problems[0].message


def test_read_tax_assessments_bad_release_time_names_return_time() -> None:
    lists = samples(1)
    bills = edit(ceb816(lists), "Tax[1]/TaxHeadRd/returnTime", "2026-11-11 10:00")
    error = refused(lambda: read_tax_assessments(ceb621(lists), bills), InvalidSourceRecord)
    assert error.rules == [(f"{T816}[1]/TaxHeadRd/returnTime", "ceb_time")]


def test_read_tax_assessments_repeated_element_refused() -> None:
    lists = samples(1)
    xml = ceb621(lists).replace("<ceb:gname>", "<ceb:gname>第二个名称</ceb:gname><ceb:gname>", 1)
    error = refused(lambda: read_tax_assessments(xml, ceb816(lists)), InvalidSourceRecord)
    assert (f"{I621}[1]/InventoryList[1]/gname[2]", "repeated_element") in error.rules


def test_read_tax_assessments_duplicate_invt_no_refused() -> None:
    first = samples(1)
    again = [first[0], first[0]]
    error = refused(lambda: read_tax_assessments(ceb621(again), ceb816(first)), AdapterError)
    assert error.rules == [(f"{I621}[2]/InventoryHead/invtNo", "duplicate_invt_no")]


def test_read_tax_assessments_void_bill_refused() -> None:
    lists = samples(1)
    error = refused(
        lambda: read_tax_assessments(ceb621(lists), ceb816(lists, status="3")),
        InvalidSourceRecord,
    )
    assert error.rules == [(f"{T816}[1]/TaxHeadRd/status", "tax_bill_void")]


TAX_LIST = f"{T816}[3]/TaxListRd[1]"


@pytest.mark.parametrize(
    ("bills", "edits", "found"),
    [
        ("first-two", (), [(f"{I621}[3]/InventoryHead/invtNo", "no_tax_bill")]),
        ("all-and-one", (), [(f"{T816}[4]/TaxHeadRd/invtNo", "no_inventory_list")]),
        ("twice", (), [(f"{T816}[4]/TaxHeadRd/invtNo", "duplicate_tax_bill")]),
        (
            "all",
            (("Tax[2]/TaxListRd[1]", None),),
            [(f"{I621}[2]/InventoryList[1]", "line_without_tax")],
        ),
        (
            "all",
            (("Tax[3]/TaxListRd[1]/gnum", "42"),),
            [(f"{I621}[3]/InventoryList[1]", "line_without_tax"), (TAX_LIST, "tax_without_line")],
        ),
        (
            "all",
            (("Tax[1]/TaxListRd[1]/gcode", "9999999999"),),
            [(f"{T816}[1]/TaxListRd[1]/gcode", "bill_mismatch")],
        ),
        (
            "all",
            (("Tax[1]/TaxHeadRd/orderNo", "DD-OTHER"),),
            [(f"{T816}[1]/TaxHeadRd/orderNo", "bill_mismatch")],
        ),
    ],
)
def test_read_tax_assessments_unmatched_bill_refused(
    bills: str, edits: tuple[tuple[str, str | None], ...], found: list[tuple[str, str]]
) -> None:
    lists = samples(3)
    other = sample_tax_assessment(900)
    billed = {
        "first-two": lists[:2],
        "all-and-one": [*lists, other],
        "twice": [*lists, lists[0]],
        "all": lists,
    }[bills]
    xml = ceb816(billed)
    for where, text in edits:
        xml = edit(xml, where, text)
    error = refused(lambda: read_tax_assessments(ceb621(lists), xml), UnmatchedTaxBill)
    assert error.rules == found
    assert error.code == "unmatched_tax_bill" and error.status == 422


def test_read_tax_assessments_empty_message_refused() -> None:
    empty = f'<ceb:CEB621Message xmlns:ceb="{CEB_NS}"/>'
    error = refused(lambda: read_tax_assessments(empty, ceb816([])), InvalidSourceRecord)
    assert error.rules == [(f"{I621}", "missing_element")]


# ---------------------------------------------------------------------- safe XML


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        (BILLION_LAUGHS, "dtd_forbidden"),
        (EXTERNAL_ENTITY, "dtd_forbidden"),
        (EXTERNAL_DTD, "dtd_forbidden"),
        (f'<ceb:CEB621Message xmlns:ceb="{CEB_NS}">&lol;</ceb:CEB621Message>', "malformed"),
        ("<ceb:CEB621Message", "malformed"),
        ("", "malformed"),
        ("<a>\udc80</a>", "malformed"),
    ],
)
def test_parse_xml_unsafe_or_malformed_refused(document: str, rule: str) -> None:
    started = time.perf_counter()
    error = refused(lambda: read_tax_assessments(document, ceb816([])), InvalidXml)
    assert [p.rule for p in error.problems] == [rule]
    assert error.code == "invalid_xml" and error.status == 422
    assert time.perf_counter() - started < 1  # refused, not expanded


def test_parse_xml_bytes_billion_laughs_refused() -> None:
    error = refused(lambda: parse_xml(BILLION_LAUGHS.encode()), InvalidXml)
    assert error.rules == [("", "dtd_forbidden")]


def test_read_tax_assessments_mangled_messages_only_refused() -> None:
    """Truncated, spliced or byte-flipped messages give a refusal, never another error."""
    rng = random.Random(5)
    lists = samples(3)
    good = [ceb621(lists).encode(), ceb816(lists).encode()]
    for _ in range(300):
        which = rng.randrange(2)
        data = bytearray(good[which])
        cut = rng.randrange(len(data))
        if rng.random() < 0.3:
            del data[cut:]
        else:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        pair = list(good)
        pair[which] = bytes(data)
        try:
            read_tax_assessments(pair[0], pair[1])
        except AdapterError:
            pass


def test_read_tax_assessments_huge_numbers_refused_as_fields() -> None:
    lists = samples(1)
    xml = edit(ceb621(lists), "Inventory[1]/InventoryList[1]/qty", "9" * 5000)
    xml = edit(xml, "Inventory[1]/InventoryList[1]/price", "9" * 100_000 + ".5")
    bills = edit(ceb816(lists), "Tax[1]/TaxHeadRd/valueAddedTax", "9" * 1_000_000)
    error = refused(lambda: read_tax_assessments(xml, bills), InvalidSourceRecord)
    assert {rule for _, rule in error.rules} >= {"int_type", "money_too_large"}


def test_parse_xml_malformed_names_line_and_column() -> None:
    error = refused(lambda: parse_xml("<a>\n  <b></a>"), InvalidXml)
    problem = error.problems[0]
    assert (problem.rule, problem.line, problem.column) == ("malformed", 2, 7)


def test_parse_xml_deep_nesting_refused_before_building_the_tree() -> None:
    depth = 100_000
    deep = f'<ceb:CEB621Message xmlns:ceb="{CEB_NS}">' + "<x>" * depth + "</x>" * depth
    deep += "</ceb:CEB621Message>"
    started = time.perf_counter()
    error = refused(lambda: read_tax_assessments(deep, ceb816([])), InvalidXml)
    assert time.perf_counter() - started < 1
    problem = error.problems[0]
    assert problem.rule == "too_deep"
    assert problem.path == "/CEB621Message" + "/x" * 32
    assert parse_xml("<a><b><c/></b></a>", XmlLimits(max_depth=3)).tag == "a"
    refused(lambda: parse_xml("<a><b><c><d/></c></b></a>", XmlLimits(max_depth=3)), InvalidXml)


def test_parse_xml_oversized_refused_before_parsing() -> None:
    lists = samples(3)
    document = ceb621(lists)
    limit = XmlLimits(max_bytes=len(document.encode()) - 1)
    error = refused(lambda: read_tax_assessments(document, ceb816(lists), limit), XmlTooLarge)
    assert error.problems[0].rule == "too_large"
    assert error.code == "invalid_xml" and error.status == 413
    # the limit counts bytes, not characters: every name here is 3 bytes a character
    wide = "<a>" + "名" * 100 + "</a>"
    refused(lambda: parse_xml(wide, XmlLimits(max_bytes=200)), XmlTooLarge)
    assert parse_xml(wide, XmlLimits(max_bytes=307)).text == "名" * 100


def test_read_tax_assessments_wrong_message_refused() -> None:
    lists = samples(1)
    error = refused(lambda: read_tax_assessments(ceb816(lists), ceb816(lists)), InvalidXml)
    assert error.rules == [("/CEB816Message", "unexpected_root")]
    no_ns = ceb621(lists).replace(CEB_NS, "urn:other")
    error = refused(lambda: read_tax_assessments(no_ns, ceb816(lists)), InvalidXml)
    assert error.rules == [("/CEB621Message", "unexpected_root")]


# ---------------------------------------------------------------------- CEB625


def test_read_return_applications_round_trips_samples() -> None:
    apps = [
        sample_return_application(a, gnums=[a.lines[-1].gnum], return_centre_code="2900")
        for a in samples(4)
    ]
    assert read_return_applications(ceb625(apps)) == [canonical(app) for app in apps]


def test_read_return_applications_hand_written_fixture_matches_expected() -> None:
    records = read_return_applications((FIXTURES / "ceb625_return.xml").read_bytes())
    want = json.loads((FIXTURES / "ceb625_return.expected.json").read_text(encoding="utf-8"))
    assert records == want


def test_read_return_applications_return_centre_from_caller_when_not_in_message() -> None:
    app = sample_return_application(samples(1)[0], return_centre_code="2900")
    message = ceb625([app], with_centre=False)
    assert read_return_applications(message, return_centre_code="2900") == [canonical(app)]
    error = refused(lambda: read_return_applications(message), InvalidSourceRecord)
    path = "/CEB625Message/InvtRefund[1]/InvtRefundHead/returnCustomsCode"
    assert error.rules == [(path, "missing")]


def test_read_return_applications_bad_line_named_by_element_path() -> None:
    a = sample_tax_assessment(5, lines=3)
    app = sample_return_application(a, gnums=[1, 2, 3])
    message = edit(ceb625([app, app]), "InvtRefund[2]/InvtRefundList[3]/gnum", "2")
    error = refused(lambda: read_return_applications(message), InvalidSourceRecord)
    assert error.rules == [
        ("/CEB625Message/InvtRefund[2]/InvtRefundList[3]/gnum", "duplicate_gnum")
    ]


# ---------------------------------------------------------------------- JSON mappings


def test_read_mapped_round_trips_two_areas_with_different_field_names() -> None:
    lists = samples(4)
    want = [canonical(a) for a in lists]
    ningbo = [ningbo_wms(a) for a in lists]
    zhengzhou = zhengzhou_bsp(lists)
    assert read_mapped(json.dumps(ningbo, ensure_ascii=False), "ningbo_wms") == want
    assert read_mapped(json.dumps(ningbo[0]).encode(), "ningbo_wms") == want[:1]
    undeclared = [canonical(a.model_copy(update={"declared_totals": None})) for a in lists]
    assert read_mapped(json.dumps(zhengzhou), "zhengzhou_bsp") == undeclared  # no bill head
    assert set(ningbo[0]).isdisjoint(zhengzhou["data"]["inventories"][0])


def test_read_mapped_json_numbers_read_as_exact_decimals() -> None:
    a = sample_tax_assessment(7, lines=1)
    record = ningbo_wms(a)
    line = record["goods"][0]
    numbers = {
        "@unit_price@": line["unit_price"],
        "@amount@": line["amount"],
        "@goods_value@": record["bill"]["goods_value"],
    }
    line["unit_price"], line["amount"], record["bill"]["goods_value"] = numbers
    text = json.dumps(record)
    for marker, number in numbers.items():
        text = text.replace(f'"{marker}"', number)  # a JSON number, not a string
    assert f'"amount": {line and numbers["@amount@"]}' in text
    assert read_mapped(text, "ningbo_wms") == [canonical(a)]


def test_read_mapped_problem_named_by_source_pointer() -> None:
    lists = samples(3)
    source = zhengzhou_bsp(lists)
    source["data"]["inventories"][1]["details"][0]["quantity"] = "many"
    source["data"]["inventories"][2]["details"][0]["unitPriceFen"] = 12.5
    source["data"]["inventories"][0]["passTime"] = "2026/11/11"
    error = refused(lambda: read_mapped(source, "zhengzhou_bsp"), InvalidSourceRecord)
    assert set(error.rules) == {
        ("/data/inventories/1/details/0/quantity", "int_type"),
        ("/data/inventories/2/details/0/unitPriceFen", "fen"),
        ("/data/inventories/0/passTime", "time_format"),
    }
    fields = {p.path: p.field for p in error.problems}
    assert fields["/data/inventories/1/details/0/quantity"] == "/lines/0/qty"


def test_read_mapped_missing_field_named_where_it_belongs() -> None:
    record = ningbo_wms(samples(1)[0])
    del record["buyer"]["mobile"]
    error = refused(lambda: read_mapped(record, "ningbo_wms"), InvalidSourceRecord)
    assert error.rules == [("/buyer/mobile", "missing")]


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        ('{"data": ', "malformed"),
        ('{"amount": NaN}', "malformed"),
        ("[" * 100_000 + "]" * 100_000, "too_deep"),
    ],
)
def test_read_mapped_invalid_json_refused(document: str, rule: str) -> None:
    error = refused(lambda: read_mapped(document, "ningbo_wms"), InvalidJson)
    assert [p.rule for p in error.problems] == [rule]


def test_read_mapped_oversized_json_refused() -> None:
    document = json.dumps(ningbo_wms(samples(1)[0]))
    error = refused(lambda: read_mapped(document, "ningbo_wms", max_bytes=100), JsonTooLarge)
    assert error.status == 413 and error.code == "invalid_json"


def test_read_mapped_wrapper_without_records_refused() -> None:
    error = refused(lambda: read_mapped({"code": 1, "data": {}}, "zhengzhou_bsp"), InvalidJson)
    assert error.rules == [("/data/inventories", "not_an_array")]


def _mapping_text(name: str) -> str:
    path = Path(__file__).resolve().parents[2] / "node_gateway/adapters/mappings" / f"{name}.toml"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('"/emsNo" = "account_book"\n', ""), "not mapped ['/emsNo']"),
        (('"/declaredTotals/vat" = { path = "bill.vat", type = "money" }\n', ""), "not mapped"),
        (('"/emsNo" = "account_book"', '"/emsNumber" = "account_book"'), "no such field"),
        (('type = "int"', 'type = "integer"'), "type 'integer'"),
        (('path = "goods"', 'path = "goods..x"'), "dotted name"),
        (('doc_type = "tax_assessment"', 'doc_type = "tax_payment"'), "doc_type is one of"),
        (("[format]", "[formats]"), "[format] is required"),
    ],
)
def test_parse_mapping_refuses_unusable_mapping(change: tuple[str, str], message: str) -> None:
    text = _mapping_text("ningbo_wms")
    assert change[0] in text
    with pytest.raises(MappingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_mapping(text.replace(change[0], change[1], 1), "test.toml")


def test_load_mapping_unknown_name_refused() -> None:
    with pytest.raises(MappingError, match="no such shipped mapping"):
        load_mapping("shanghai_nope")
    with pytest.raises(MappingError, match="lowercase"):
        load_mapping("../secrets")


# ---------------------------------------------------------------------- the endpoint


def _released(gw: GatewayWorld, count: int, code: str = NINGBO) -> list[TaxAssessment]:
    """Fresh lists of area `code` released an hour ago (in China Standard Time, as CEB)."""
    when = datetime.fromtimestamp(gw.now() - 3600, UTC)
    return [a.model_copy(update={"release_time": when}) for a in gw.assessments(code, count)]


def _body(lists: list[TaxAssessment], bills: list[TaxAssessment] | None = None) -> dict[str, Any]:
    return {"platform": PLATFORM, "ceb621": ceb621(lists), "ceb816": ceb816(bills or lists)}


def test_post_ceb_tax_records_accepted_and_anchored(gw: GatewayWorld) -> None:
    lists = _released(gw, 5)
    r = gw.call(NINGBO, "system", "POST", CEB, json=_body(lists, list(reversed(lists))))
    assert r.status_code == 202, r.text
    accepted = r.json()["accepted"]
    assert [x["invtNo"] for x in accepted] == [a.invt_no for a in lists]
    gw.drain()
    ningbo = gw.consortium.gateways[NINGBO]
    for a, x in zip(lists, accepted, strict=True):
        case = gw.case_of(a)
        assert case.case_id == x["caseId"]
        assert case.header["anchorStatus"] == "anchored" and case.header["root"]
        assert case.header["header"]["recordDigest"] == x["recordDigest"]
        held = tax_records.assessment(ningbo.context, ningbo.connections.get(), x["caseId"])
        assert held["record"] == expected(a)


def test_post_ceb_tax_records_replayed_with_idempotency_key(gw: GatewayWorld) -> None:
    body = _body(_released(gw, 2))
    first = gw.call(NINGBO, "officer", "POST", CEB, json=body, idempotency_key="ceb-replay-1")
    assert first.status_code == 202, first.text
    with gw.unchanged():
        again = gw.call(NINGBO, "officer", "POST", CEB, json=body, idempotency_key="ceb-replay-1")
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("make", "status", "code", "rule"),
    [
        (lambda ls: {"ceb621": BILLION_LAUGHS}, 422, "invalid_xml", "dtd_forbidden"),
        (lambda ls: {"ceb621": EXTERNAL_ENTITY}, 422, "invalid_xml", "dtd_forbidden"),
        (lambda ls: {"ceb816": "<ceb:CEB816Message"}, 422, "invalid_xml", "malformed"),
        (lambda ls: {"ceb816": ceb816(ls[:1])}, 422, "unmatched_tax_bill", "no_tax_bill"),
        (
            lambda ls: {"ceb621": edit(ceb621(ls), "Inventory[2]/InventoryList[1]/qty", "0")},
            422,
            "invalid_record",
            "qty",
        ),
    ],
)
def test_post_ceb_tax_records_bad_input_refused_writing_nothing(
    gw: GatewayWorld,
    make: Callable[[list[TaxAssessment]], dict[str, str]],
    status: int,
    code: str,
    rule: str,
) -> None:
    lists = _released(gw, 2)
    body = _body(lists) | make(lists)
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", CEB, json=body)
    problem = assert_problem(r, status, code)
    assert problem["errors"][0]["rule"] == rule and problem["errorCount"] >= 1
    if code == "invalid_record":
        assert problem["errors"][0]["path"] == f"{I621}[2]/InventoryList[1]/qty"
        assert problem["errors"][0]["field"] == "/lines/0/qty"


def test_post_ceb_tax_records_of_another_area_refused(gw: GatewayWorld) -> None:
    lists = _released(gw, 1, ZHENGZHOU)
    with gw.unchanged():
        r = gw.call(NINGBO, "system", "POST", CEB, json=_body(lists))
    assert_problem(r, 422, "wrong_area")
