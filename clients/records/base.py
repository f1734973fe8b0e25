"""The record base classes, the document types and the field classes every leaf carries.

A `Part` is any object inside a record; a `Record` is a whole document of one `DocType`. Both
are frozen pydantic models with snake_case attributes and camelCase JSON keys. A part checks its
cross-field rules by overriding `_problems`, which returns `FieldError`s with paths relative to
the part.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from clients.records.errors import FieldError, fail, problems

FIELD_CLASS_KEY = "x-field-class"


class FieldClass(StrEnum):
    """What kind of data a leaf holds; the disclosure policy decides per class who may see it."""

    PERSONAL = "personal"
    COMMERCIAL = "commercial"
    GOODS = "goods"
    INSPECTION = "inspection"
    PUBLIC = "public"


class DocType(StrEnum):
    """The off-chain documents of a case, one canonical schema each."""

    TAX_ASSESSMENT = "tax_assessment"
    TAX_PAYMENT = "tax_payment"
    RETURN_APPLICATION = "return_application"
    ARRIVAL = "arrival"
    INSPECTION_REPORT = "inspection_report"
    RECOGNITION = "recognition"
    SETTLEMENT = "settlement"


def field(cls: FieldClass, **kw: Any) -> Any:
    """A pydantic Field tagged with its field class (kept in the JSON schema as x-field-class)."""
    return Field(json_schema_extra={FIELD_CLASS_KEY: cls.value}, **kw)


class Part(BaseModel):
    """A frozen, closed object of a record; override `_problems` for cross-field rules."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    def _problems(self) -> list[FieldError]:
        return []

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        found = self._problems()
        if found:
            raise problems(found)
        return self


class Record(Part):
    """A whole document. Its canonical form carries `docType` first (see clients.records.codec)."""

    doc_type: ClassVar[DocType]

    @model_validator(mode="before")
    @classmethod
    def _accept_doc_type(cls, data: Any) -> Any:
        # The canonical form names its type; accept it when it is ours and drop it.
        if isinstance(data, dict) and "docType" in data:
            data = dict(data)
            given = data.pop("docType")
            if given != cls.doc_type.value:
                raise fail(
                    "/docType",
                    "doc_type_mismatch",
                    f"expected {cls.doc_type.value!r}, got {given!r}",
                )
        return data
