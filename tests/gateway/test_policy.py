"""The disclosure policy: one test per cell of DESIGN §4's table, deny by default, custom files."""

from __future__ import annotations

from pathlib import Path

import pytest

from clients.commitments.document import commit
from clients.records import DocType, FieldClass, canonical
from clients.records.samples import sample_tax_assessment
from node_gateway.services.policy import PolicyError, load_policy, parse_policy

POLICY = load_policy()
# One representative tax-assessment path per field class.
PATH = {
    FieldClass.PERSONAL: "/buyer/idNumber",
    FieldClass.GOODS: "/lines/0/gcode",
    FieldClass.COMMERCIAL: "/lines/0/price",
    FieldClass.INSPECTION: None,  # tax assessments hold no inspection fields
    FieldClass.PUBLIC: "/invtNo",
}
# DESIGN §4: rows are field classes, columns the requester's role on the case.
TABLE = {
    FieldClass.PERSONAL: {
        "origin": True,
        "return_centre": False,
        "platform": True,
        "auditor": False,
    },
    FieldClass.GOODS: {"origin": True, "return_centre": True, "platform": True, "auditor": True},
    FieldClass.COMMERCIAL: {
        "origin": True,
        "return_centre": False,
        "platform": True,
        "auditor": True,
    },
    FieldClass.INSPECTION: {
        "origin": True,
        "return_centre": True,
        "platform": True,
        "auditor": True,
    },
    FieldClass.PUBLIC: {"origin": True, "return_centre": True, "platform": True, "auditor": True},
}
CELLS = [(cls, role, allowed) for cls, row in TABLE.items() for role, allowed in row.items()]


@pytest.mark.parametrize(("cls", "role", "allowed"), CELLS)
def test_default_policy_cell(cls: FieldClass, role: str, allowed: bool) -> None:
    assert (cls in POLICY.classes(role, DocType.TAX_ASSESSMENT)) is allowed
    assert (cls in POLICY.classes(role, DocType.INSPECTION_REPORT)) is allowed
    path = PATH[cls]
    if path is not None:
        assert POLICY.allows(role, DocType.TAX_ASSESSMENT, path) is allowed
    else:
        assert POLICY.allows(role, DocType.INSPECTION_REPORT, "/lines/0/result") is allowed


def test_return_centre_disclosure_of_assessment_holds_no_buyer_or_price() -> None:
    record = sample_tax_assessment(5, lines=2)
    c = commit(canonical(record))
    doc = c.disclose(POLICY.selector("return_centre", DocType.TAX_ASSESSMENT))
    assert doc.compute_digest() == c.digest
    paths = doc.paths()
    assert "/lines/1/gcode" in paths
    assert not any(p.startswith("/buyer") or p.endswith("rice") for p in paths)
    assert record.buyer.name not in str(doc.to_json())


@pytest.mark.parametrize(
    ("role", "doc_type", "path"),
    [
        ("stranger", DocType.TAX_ASSESSMENT, "/invtNo"),
        ("auditor", "invoice", "/invtNo"),
        ("auditor", DocType.TAX_ASSESSMENT, "/no/such/field"),
    ],
)
def test_unknown_role_type_or_path_is_denied(role: str, doc_type: str, path: str) -> None:
    assert POLICY.allows(role, doc_type, path) is False


def test_custom_policy_narrows_a_document_type(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        'version = 1\n[roles.auditor]\nallow = ["public", "goods", "commercial"]\n'
        '[roles.auditor.doc_types]\nsettlement = ["public"]\n'
    )
    policy = load_policy(path)
    assert policy.allows("auditor", DocType.TAX_ASSESSMENT, "/lines/0/price")
    assert not policy.allows("auditor", DocType.SETTLEMENT, "/lines/0/amount")
    assert not policy.allows("origin", DocType.TAX_ASSESSMENT, "/invtNo")  # unlisted role


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": 2}, "version"),
        ({"version": 1, "roles": {"king": {"allow": []}}}, "unknown role"),
        ({"version": 1, "roles": {"auditor": {"allow": ["secret"]}}}, "roles.auditor.allow"),
        ({"version": 1, "roles": {"auditor": {"allow": "goods"}}}, "must be a list"),
        (
            {"version": 1, "roles": {"auditor": {"doc_types": {"invoice": []}}}},
            "unknown type",
        ),
    ],
)
def test_malformed_policy_raises(data: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(data)


def test_unreadable_policy_file_raises(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("version = ")
    with pytest.raises(PolicyError, match="bad.toml"):
        load_policy(tmp_path / "bad.toml")
