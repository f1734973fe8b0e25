"""The canonical JSON form of records, and parsing it back with errors named by JSON pointer.

Canonical form: "docType" first, then the fields in declaration order under camelCase keys;
money as strings with two decimals, times as ISO 8601 with offset to the second, None as null,
no floats. It is what clients.commitments flattens, salts and hashes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from clients.records.base import DocType, Record
from clients.records.errors import PROBLEMS_ERROR_TYPE, FieldError, RecordValidationError
from clients.records.registry import RECORD_TYPES
from clients.records.shape import pointer


def canonical(record: Record) -> dict[str, Any]:
    """The canonical JSON-compatible form of a record ("docType" first)."""
    return {
        "docType": record.doc_type.value,
        **record.model_dump(mode="json", by_alias=True),
    }


def parse_record(doc_type: DocType | str, data: dict[str, Any]) -> Record:
    """Validate `data` (canonical form or python values) as a record of `doc_type`."""
    try:
        model = RECORD_TYPES[DocType(doc_type)]
    except ValueError:
        raise RecordValidationError(
            [FieldError("/docType", "unknown_doc_type", f"unknown document type {doc_type!r}")]
        ) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RecordValidationError(field_errors(model, exc)) from exc


def field_errors(model: type[BaseModel], exc: ValidationError) -> list[FieldError]:
    """One FieldError per pydantic error, cross-field problems expanded, paths as JSON pointers."""
    found: list[FieldError] = []
    for error in exc.errors(include_url=False, include_input=False):
        base = pointer(model, error["loc"])
        ctx = error.get("ctx") or {}
        if error["type"] == PROBLEMS_ERROR_TYPE:
            found.extend(FieldError(base + p.path, p.rule, p.message) for p in ctx["problems"])
        else:
            found.append(FieldError(base, error["type"], error["msg"]))
    return found
