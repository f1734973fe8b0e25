"""Salted commitments and selective disclosure (clients.commitments.document) and ids."""

from __future__ import annotations

import json
from collections import OrderedDict
from enum import IntEnum, StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.commitments.document import (
    DOC_TYPE_PATH,
    CommitmentError,
    DisclosedDocument,
    RevealedField,
    commit,
    encode_field,
    field_leaf,
    flatten,
    unflatten,
)
from clients.commitments.ids import case_id, return_id
from clients.commitments.keccak import keccak256
from clients.commitments.merkle import merkle_root

DOC: dict[str, Any] = {
    "docType": "tax_assessment",
    "invtNo": "310020261000000001",
    "customsCode": "3100",
    "buyer": {
        "name": "张三",
        "idNumber": "330102199001011234",
        "phone": "13800000000",
        "address": "浙江省杭州市西湖区文三路1号",
    },
    "lines": [
        {"gnum": 1, "gname": "面霜", "qty": 2, "price": "199.00"},
        {"gnum": 2, "gname": "精华", "qty": 1, "price": "350.00"},
    ],
    "remark": None,
    "flags": [],
}
PERSONAL = ["张三", "330102199001011234", "13800000000", "浙江省杭州市西湖区文三路1号"]


# ---------------------------------------------------------------- flatten and encoding


def test_flatten_uses_json_pointers_in_document_order() -> None:
    paths = [p for p, _ in flatten(DOC)]
    assert paths[:4] == ["/docType", "/invtNo", "/customsCode", "/buyer/name"]
    assert "/lines/1/price" in paths
    assert ("/flags", []) in flatten(DOC)
    assert ("/remark", None) in flatten(DOC)


def test_flatten_escapes_pointer_characters() -> None:
    assert flatten({"a/b": {"c~d": 1}, "e": {}}) == [("/a~1b/c~0d", 1), ("/e", {})]


@pytest.mark.parametrize("bad", [1.5, 2**53, -(2**53), object()])
def test_flatten_rejects_non_canonical_values(bad: Any) -> None:
    with pytest.raises(CommitmentError):
        flatten({"x": bad})


def test_encode_field_is_rfc8785_of_path_value_pair() -> None:
    assert encode_field("/buyer/name", "张三") == '["/buyer/name","张三"]'.encode()
    assert (
        encode_field("/q", 'a"b\\c\n\x01\x7f\u2028')
        == b'["/q","a\\"b\\\\c\\n\\u0001\x7f\xe2\x80\xa8"]'
    )
    assert encode_field("/n", -12) == b'["/n",-12]'
    assert encode_field("/t", True) == b'["/t",true]'
    assert encode_field("/z", None) == b'["/z",null]'
    assert encode_field("/e", []) == b'["/e",[]]'


def test_encode_field_matches_json_module_for_pairs() -> None:
    for path, value in flatten(DOC):
        expected = json.dumps([path, value], ensure_ascii=False, separators=(",", ":"))
        assert encode_field(path, value) == expected.encode()


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "bad",
    [Colour.RED, Level.HIGH, OrderedDict(a=1), OrderedDict(), type("S", (str,), {})("s")],
)
def test_flatten_rejects_subclasses_of_canonical_types_naming_the_path(bad: Any) -> None:
    with pytest.raises(CommitmentError, match="/outer/x: .*exact"):
        flatten({"outer": {"x": bad}})


@pytest.mark.parametrize("bad", [Colour.RED, Level.HIGH, [1], {"a": 1}, 1.5, 2**53])
def test_encode_field_rejects_non_canonical_values_naming_the_path(bad: Any) -> None:
    with pytest.raises(CommitmentError, match="^/v: "):
        encode_field("/v", bad)


def test_revealed_field_with_enum_value_cannot_pose_as_empty_object() -> None:
    salt = b"\x01" * 32
    with pytest.raises(CommitmentError, match="/v"):
        RevealedField("/v", Level.HIGH, salt).leaf()
    with pytest.raises(CommitmentError, match="/v"):
        RevealedField("/v", [1], salt).leaf()
    assert RevealedField("/v", {}, salt).leaf() == field_leaf(salt, "/v", {})


def test_commit_rejects_enum_values_and_keys() -> None:
    with pytest.raises(CommitmentError, match="/kind"):
        commit({"docType": "x", "kind": Colour.RED})
    with pytest.raises(CommitmentError, match="/n"):
        commit({"docType": "x", "n": Level.HIGH})
    with pytest.raises(CommitmentError, match="key"):
        commit({"docType": "x", "m": {Colour.RED: 1}})


def test_commit_array_and_index_keyed_object_give_different_digests() -> None:
    as_list = {"docType": "x", "a": ["v"]}
    as_dict = {"docType": "x", "a": {"0": "v"}}
    assert flatten(as_list) != flatten(as_dict)
    salt = b"\x05" * 32
    salts = {path: salt for doc in (as_list, as_dict) for path, _ in flatten(doc)}
    assert commit(as_list, salts).digest != commit(as_dict, salts).digest


def test_flatten_marks_only_object_keys_that_read_as_array_indices() -> None:
    doc = {"0": 1, "10": 2, "01": 3, "-": 4, "0a": 5, "": 6, "a": [7, {"1": 8}]}
    assert flatten(doc) == [
        ("/~20", 1),
        ("/~210", 2),
        ("/01", 3),
        ("/-", 4),
        ("/0a", 5),
        ("/", 6),
        ("/a/0", 7),
        ("/a/1/~21", 8),
    ]


def test_unflatten_reads_index_key_marker_back() -> None:
    assert flatten({"~2": 1, "~20": 2}) == [("/~02", 1), ("/~020", 2)]
    assert unflatten([("/~20/x", 1), ("/a/0", 2), ("/~02", 3), ("/~020", 4)]) == {
        "0": {"x": 1},
        "a": {"0": 2},
        "~2": 3,
        "~20": 4,
    }


def test_encode_field_rejects_lone_surrogate() -> None:
    with pytest.raises(CommitmentError, match="not valid Unicode"):
        commit({"docType": "x", "x": "\ud800"})


# ---------------------------------------------------------------- commit


def test_commit_digest_is_merkle_root_of_salted_leaves() -> None:
    c = commit(DOC)
    assert len(c.salts) == len(flatten(DOC)) == len(c.leaves)
    assert all(len(s) == 32 for s in c.salts.values())
    for path, value in flatten(DOC):
        assert c.leaves[path] == keccak256(c.salts[path] + encode_field(path, value))
        assert c.leaves[path] == field_leaf(c.salts[path], path, value)
    assert c.digest == merkle_root(c.leaves.values())
    assert c.doc_type == "tax_assessment"


def test_commit_twice_gives_different_salts_and_digests() -> None:
    a, b = commit(DOC), commit(DOC)
    assert a.digest != b.digest
    assert set(a.salts.values()).isdisjoint(b.salts.values())


def test_commit_with_given_salts_is_deterministic() -> None:
    a = commit(DOC)
    assert commit(DOC, a.salts).digest == a.digest


def test_commit_with_missing_salt_raises() -> None:
    salts = dict(commit(DOC).salts)
    salts.pop("/invtNo")
    with pytest.raises(CommitmentError, match="/invtNo"):
        commit(DOC, salts)


@pytest.mark.parametrize("doc", [{}, {"docType": 1}, {"invtNo": "x"}])
def test_commit_without_doc_type_raises(doc: dict[str, Any]) -> None:
    with pytest.raises(CommitmentError, match="docType"):
        commit(doc)


# ---------------------------------------------------------------- disclosure


def test_disclose_goods_only_recomputes_digest_and_hides_personal_data() -> None:
    c = commit(DOC)
    d = c.disclose(lambda p: p.startswith("/lines/") and not p.endswith("/price"))
    assert d.compute_digest() == c.digest
    assert d.paths()[0] == "/docType"  # always revealed
    assert "/buyer/name" not in d.values()
    text = json.dumps(d.to_json(), ensure_ascii=False)
    raw = json.dumps(d.to_json())
    for secret in PERSONAL + ["199.00", "350.00"]:
        assert secret not in text and secret not in raw
    assert len(d.revealed) + len(d.withheld) == len(c.leaves)


def test_disclose_by_path_prefix() -> None:
    d = commit(DOC).disclose(["/lines/1"])
    assert d.paths() == [
        "/docType",
        "/lines/1/gnum",
        "/lines/1/gname",
        "/lines/1/qty",
        "/lines/1/price",
    ]


def test_disclose_subset_of_subset_keeps_digest() -> None:
    c = commit(DOC)
    first = c.disclose(["/lines", "/invtNo"])
    second = first.disclose(["/lines/0/gnum"])
    assert second.paths() == ["/docType", "/lines/0/gnum"]
    assert second.compute_digest() == first.compute_digest() == c.digest
    assert sorted(second.withheld) == second.withheld


def test_disclosed_document_json_round_trip() -> None:
    d = commit(DOC).disclose(["/buyer/name"]).with_anchor({"kind": "return", "returnId": "0x00"})
    back = DisclosedDocument.from_json(json.loads(json.dumps(d.to_json())))
    assert back == d
    assert back.nested() == {"docType": "tax_assessment", "buyer": {"name": "张三"}}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda j: j.update(version=2), "version"),
        (lambda j: j.update(digest="0x12"), "digest"),
        (lambda j: j["withheld"].append("zz"), "withheld"),
        (lambda j: j["revealed"][0].update(path="docType"), "JSON pointer"),
        (lambda j: j["revealed"][0].update(value=1.5), "no floats"),
        (lambda j: j.pop("revealed"), "malformed"),
        (lambda j: j.update(anchor=[1]), "anchor"),
    ],
)
def test_disclosed_document_from_malformed_json_raises(mutate: Any, message: str) -> None:
    data = commit(DOC).disclose(["/lines"]).to_json()
    mutate(data)
    with pytest.raises(CommitmentError, match=message):
        DisclosedDocument.from_json(data)


def test_unflatten_rebuilds_partial_objects() -> None:
    assert unflatten([("/a/b", 1), ("/a/c~1d", 2), ("/e/0/f", None)]) == {
        "a": {"b": 1, "c/d": 2},
        "e": {"0": {"f": None}},
    }


def test_whole_gives_back_a_fully_disclosed_record() -> None:
    doc = {**DOC, "0": {"1": "index-like keys"}, "empty": [], "none": {}, "a/b~c": None}
    disclosed = commit(doc).disclose(lambda _p: True)
    back = DisclosedDocument.from_json(json.loads(json.dumps(disclosed.to_json()))).whole()
    assert back == doc and isinstance(back["lines"], list)


def test_whole_with_withheld_fields_raises() -> None:
    disclosed = commit(DOC).disclose(lambda p: not p.startswith("/buyer"))
    with pytest.raises(CommitmentError, match="4 field\\(s\\) withheld"):
        disclosed.whole()


def test_doc_type_path_is_the_records_doc_type_path() -> None:
    from clients.records.classes import DOC_TYPE_PATH as RECORDS_DOC_TYPE_PATH

    assert DOC_TYPE_PATH == RECORDS_DOC_TYPE_PATH == "/docType"


def test_check_revealed_accepts_a_disclosure() -> None:
    commit(DOC).disclose(["/lines"]).check_revealed()
    commit(DOC).disclose(["/lines"]).disclose([]).check_revealed()


def test_check_revealed_without_doc_type_raises() -> None:
    d = commit(DOC).disclose(["/lines"])
    hidden = DisclosedDocument(
        d.doc_type, d.digest, d.revealed[1:], sorted([*d.withheld, d.revealed[0].leaf()])
    )
    assert hidden.compute_digest() == d.digest
    with pytest.raises(CommitmentError, match="/docType is not revealed"):
        hidden.check_revealed()


def test_check_revealed_with_other_doc_type_raises() -> None:
    d = commit(DOC).disclose(["/lines"])
    with pytest.raises(CommitmentError, match="'tax_assessment'.*'settlement'"):
        DisclosedDocument("settlement", d.digest, d.revealed, d.withheld).check_revealed()


def test_check_revealed_with_duplicate_path_raises() -> None:
    d = commit(DOC).disclose(["/lines"])
    twice = DisclosedDocument(d.doc_type, d.digest, [*d.revealed, d.revealed[2]], d.withheld)
    assert twice.compute_digest() == d.digest  # the Merkle root de-duplicates the leaf
    with pytest.raises(CommitmentError, match="/lines/0/gname is revealed twice"):
        twice.check_revealed()


# ---------------------------------------------------------------- tampering (hypothesis)

COMMITTED = commit(DOC)
DISCLOSED = COMMITTED.disclose(["/lines", "/invtNo"])


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(min_value=0),
    new=st.one_of(st.text(max_size=5), st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)),
)
def test_changing_any_revealed_value_breaks_integrity(index: int, new: Any) -> None:
    fields = list(DISCLOSED.revealed)
    i = index % len(fields)
    if fields[i].value == new:
        return
    fields[i] = RevealedField(fields[i].path, new, fields[i].salt)
    tampered = DisclosedDocument(DISCLOSED.doc_type, DISCLOSED.digest, fields, DISCLOSED.withheld)
    assert tampered.compute_digest() != DISCLOSED.digest


@settings(max_examples=60, deadline=None)
@given(index=st.integers(min_value=0), byte=st.integers(min_value=0, max_value=31))
def test_changing_any_salt_or_withheld_leaf_breaks_integrity(index: int, byte: int) -> None:
    fields = list(DISCLOSED.revealed)
    i = index % len(fields)
    salt = bytearray(fields[i].salt)
    salt[byte] ^= 1
    fields[i] = RevealedField(fields[i].path, fields[i].value, bytes(salt))
    bad_salt = DisclosedDocument(DISCLOSED.doc_type, DISCLOSED.digest, fields, DISCLOSED.withheld)
    assert bad_salt.compute_digest() != DISCLOSED.digest
    withheld = list(DISCLOSED.withheld)
    j = index % len(withheld)
    leaf = bytearray(withheld[j])
    leaf[byte] ^= 1
    withheld[j] = bytes(leaf)
    bad_leaf = DisclosedDocument(DISCLOSED.doc_type, DISCLOSED.digest, DISCLOSED.revealed, withheld)
    assert bad_leaf.compute_digest() != DISCLOSED.digest


def test_moving_a_value_to_another_path_breaks_integrity() -> None:
    fields = list(DISCLOSED.revealed)
    gnum = next(i for i, f in enumerate(fields) if f.path == "/lines/0/gnum")
    fields[gnum] = RevealedField("/lines/1/gnum", fields[gnum].value, fields[gnum].salt)
    tampered = DisclosedDocument(DISCLOSED.doc_type, DISCLOSED.digest, fields, DISCLOSED.withheld)
    assert tampered.compute_digest() != DISCLOSED.digest


# ---------------------------------------------------------------- pseudonymous ids

SECRET = b"\x07" * 32


def test_case_id_is_stable_under_one_secret_and_differs_under_another() -> None:
    a = case_id(SECRET, "3100", "310020261000000001")
    assert a == case_id(SECRET, "3100", "310020261000000001")
    assert a != case_id(b"\x08" * 32, "3100", "310020261000000001")
    assert a != case_id(SECRET, "3100", "310020261000000002")
    assert len(a) == 32


def test_case_id_is_not_an_unsalted_hash_of_public_identifiers() -> None:
    invt = "310020261000000001"
    a = case_id(SECRET, "3100", invt)
    for candidate in (invt, "3100" + invt, f'["crossreturn.case.v1","3100","{invt}"]'):
        assert a != keccak256(candidate.encode())


def test_return_id_depends_on_application_number() -> None:
    a = return_id(SECRET, "3100", "310020261000000001", "R1")
    assert a != return_id(SECRET, "3100", "310020261000000001", "R2")
    assert a != case_id(SECRET, "3100", "310020261000000001")


def test_id_secret_too_short_raises() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        case_id(b"short", "3100", "310020261000000001")
