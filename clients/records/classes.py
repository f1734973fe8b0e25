"""The field class of every leaf of every document, as tables of JSON-pointer patterns.

Tables are built once, at import, by walking the models; a scalar field without a class is a
programming error and fails the import. A pattern uses "*" for array indices
("/lines/*/price"); an array of scalars is also classed as a whole, since an empty array is a
leaf of its own when a record is flattened (clients.commitments), and so is an optional object,
which is a null leaf when absent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from types import MappingProxyType

from pydantic import BaseModel

from clients.errors import CrossReturnError
from clients.records.base import DocType, FieldClass
from clients.records.registry import RECORD_TYPES
from clients.records.shape import slots

DOC_TYPE_PATH = "/docType"
_INDEX = re.compile(r"0|[1-9][0-9]*")


class UnknownFieldPath(CrossReturnError, KeyError):
    """No leaf of this document type lives at this path."""

    def __init__(self, doc_type: str, path: str) -> None:
        self.doc_type = doc_type
        self.path = path
        super().__init__(f"{doc_type} has no field at {path!r}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _walk(model: type[BaseModel], prefix: str, table: dict[str, FieldClass]) -> None:
    for slot in slots(model):
        path = f"{prefix}/{slot.key}"
        leaf = f"{path}/*" if slot.is_list else path
        if slot.model is not None:
            if not slot.required:  # an optional object: a null leaf of its own when absent
                if slot.field_class is None:
                    raise TypeError(f"{model.__name__}.{slot.name} is optional; use field()")
                table[path] = slot.field_class
            _walk(slot.model, leaf, table)
            continue
        if slot.field_class is None:
            raise TypeError(f"{model.__name__}.{slot.name} has no field class; use field()")
        table[leaf] = slot.field_class
        if slot.is_list:
            table[path] = slot.field_class


def _table(model: type[BaseModel]) -> MappingProxyType[str, FieldClass]:
    table = {DOC_TYPE_PATH: FieldClass.PUBLIC}
    _walk(model, "", table)
    return MappingProxyType(table)


FIELD_CLASSES: MappingProxyType[DocType, MappingProxyType[str, FieldClass]] = MappingProxyType(
    {doc_type: _table(model) for doc_type, model in RECORD_TYPES.items()}
)


@lru_cache(maxsize=65_536)
def field_class(doc_type: DocType | str, path: str) -> FieldClass:
    """The class of the leaf at a JSON pointer ("/lines/2/price"); "*" may stand for an index."""
    try:
        table = FIELD_CLASSES[DocType(doc_type)]
    except ValueError:
        raise UnknownFieldPath(str(doc_type), path) from None
    pattern = "/".join("*" if _INDEX.fullmatch(segment) else segment for segment in path.split("/"))
    found = table.get(pattern)
    if found is None:
        raise UnknownFieldPath(str(doc_type), path)
    return found


def of_classes(doc_type: DocType | str, *classes: FieldClass) -> Callable[[str], bool]:
    """A path predicate selecting the leaves of `doc_type` in `classes` (for disclosure)."""
    wanted = frozenset(classes)
    return lambda path: field_class(doc_type, path) in wanted
