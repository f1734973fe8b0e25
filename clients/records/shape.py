"""The structure of record models as data: each field's JSON key, nesting and field class.

Shared by the field-class tables and the translation of pydantic error locations into JSON
pointers, so both read the models the same way.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from clients.records.base import FIELD_CLASS_KEY, FieldClass


@dataclass(frozen=True)
class Slot:
    """One field of a model: its JSON key, what it nests and the class of its leaves."""

    name: str
    key: str
    model: type[BaseModel] | None  # the nested model, or the item model of a list
    is_list: bool
    field_class: FieldClass | None
    required: bool  # False: the field may be left out (it is then null)


def _strip(annotation: Any) -> Any:
    """Drop Annotated metadata and Optional."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            kept = [a for a in get_args(annotation) if a is not type(None)]
            if len(kept) != 1:
                raise TypeError(f"unsupported union in a record: {annotation!r}")
            annotation = kept[0]
        else:
            return annotation


def _slot(name: str, model: type[BaseModel]) -> Slot:
    info = model.model_fields[name]
    inner = _strip(info.annotation)
    is_list = get_origin(inner) is list
    if is_list:
        inner = _strip(get_args(inner)[0])
    nested = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    extra = info.json_schema_extra
    tag = extra.get(FIELD_CLASS_KEY) if isinstance(extra, dict) else None
    return Slot(
        name=name,
        key=info.alias or name,
        model=nested,
        is_list=is_list,
        field_class=FieldClass(tag) if isinstance(tag, str) else None,
        required=info.is_required(),
    )


@cache
def slots(model: type[BaseModel]) -> tuple[Slot, ...]:
    """The fields of `model` in declaration order."""
    return tuple(_slot(name, model) for name in model.model_fields)


@cache
def _by_name_or_key(model: type[BaseModel]) -> dict[str, Slot]:
    found = {s.key: s for s in slots(model)}
    found.update({s.name: s for s in slots(model)})
    return found


def escape(key: str) -> str:
    """A JSON pointer reference token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def pointer(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    """The JSON pointer (camelCase keys) of a pydantic error location in `model`."""
    parts: list[str] = []
    node: type[BaseModel] | None = model
    for segment in loc:
        if isinstance(segment, int):
            parts.append(str(segment))
            continue
        slot = _by_name_or_key(node).get(segment) if node is not None else None
        if slot is None:  # an unknown key (extra_forbidden): report it as given
            parts.append(escape(segment))
            node = None
        else:
            parts.append(escape(slot.key))
            node = slot.model
    return "".join("/" + p for p in parts)
