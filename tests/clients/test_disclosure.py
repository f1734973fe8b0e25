"""Disclosure by field class over real sample records: withheld data never leaves in the bytes."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from clients.commitments.document import DisclosedDocument, commit, flatten
from clients.records import DocType, FieldClass, canonical, field_class, of_classes
from clients.records.samples import sample_tax_assessment


def _scalars_of_class(doc: dict, doc_type: DocType, cls: FieldClass) -> list[str]:  # type: ignore[type-arg]
    return [
        str(v)
        for p, v in flatten(doc)
        if field_class(doc_type, p) == cls and isinstance(v, str) and len(v) >= 4
    ]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**6), lines=st.integers(min_value=1, max_value=5))
def test_disclose_goods_withholds_personal_and_commercial_values(seed: int, lines: int) -> None:
    record = sample_tax_assessment(seed + 1, lines=lines, rng=random.Random(seed))
    doc = canonical(record)
    c = commit(doc)
    disclosed = c.disclose(of_classes(DocType.TAX_ASSESSMENT, FieldClass.GOODS))
    assert disclosed.compute_digest() == c.digest
    revealed_classes = {field_class(DocType.TAX_ASSESSMENT, p) for p in disclosed.paths()}
    assert revealed_classes <= {FieldClass.GOODS, FieldClass.PUBLIC}  # /docType is public
    text = json.dumps(disclosed.to_json(), ensure_ascii=False)
    escaped = json.dumps(disclosed.to_json())
    for value in _scalars_of_class(doc, DocType.TAX_ASSESSMENT, FieldClass.PERSONAL):
        assert value not in text and value not in escaped
    buyer = record.buyer
    for value in (buyer.name, buyer.id_number, buyer.phone, buyer.address):
        assert value not in text


def test_disclose_by_class_then_narrow_to_one_line() -> None:
    doc = canonical(sample_tax_assessment(3, lines=4))
    c = commit(doc)
    goods = c.disclose(of_classes(DocType.TAX_ASSESSMENT, FieldClass.GOODS, FieldClass.PUBLIC))
    one = goods.disclose(["/lines/2"])
    back = DisclosedDocument.from_json(json.loads(json.dumps(one.to_json())))
    assert back.compute_digest() == c.digest
    assert {p.split("/")[2] for p in back.paths() if p.startswith("/lines/")} == {"2"}
    assert "/lines/2/price" not in back.values()  # commercial was never in `goods`
