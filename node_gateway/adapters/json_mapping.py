"""An area system's own JSON -> canonical records, through a mapping file per format.

Customs areas export the same facts under their own field names, nesting, units and time
formats. A mapping file (TOML; the shipped ones live in `mappings/<name>.toml`) says, for every
field of the canonical record, where it is in the source and how to convert it:

    [format]
    name = "ningbo-wms"
    doc_type = "tax_assessment"      # or "return_application"
    timezone = "+08:00"              # for source times without an offset (the default)
    records = "data.inventories"     # optional: where a wrapper keeps the array of records

    [fields]                         # canonical JSON pointer = source
    "/invtNo" = "invt_no"            # a dotted path into the source record
    "/releaseTime" = { path = "passTime", type = "time", format = "%Y-%m-%d %H:%M:%S" }
    "/tradeMode" = { value = "1210" }                       # a constant
    "/totals/vat" = { sum_lines = "/vat" }                  # the sum of a line field
    "/totals/taxTotal" = { sum = ["/totals/customsDuty", "/totals/vat"] }  # of other fields
    "/declaredTotals/vat" = { path = "bill.vat", type = "money" }  # the bill head, if any

    [lines]
    path = "goods"                   # the source array; item i becomes /lines/i
    [lines.fields]                   # line field (pointer inside a line) = source in the item
    "/qty" = { path = "quantity", type = "int" }

Types: `text` (default: the value as it is), `int` (an integer or a string of digits), `str`
(an integer written as text), `money` (a decimal string or JSON number, read exactly: numbers
are parsed as Decimal, never float), `fen` (an integer number of fen -> yuan), `time` (ISO 8601,
or `format` as for strptime; no offset -> the mapping's timezone). A mapping must cover every
field of the record, except that an optional object (`/declaredTotals`) is mapped whole or
not at all (then null); it is checked when loaded (MappingError). Problems in a source are
reported at its JSON pointer (`/data/inventories/0/details/1/quantity`).

A tax assessment's `/totals` are the sums of its lines (`sum_lines`); a source whose bill head
carries its own figures maps them to `/declaredTotals`, which the record accepts within
rounding of the lines' sums (1 fen per line; clients.records.tax) and keeps beside them.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from clients.adapters.drafts import Draft, build_records, decimal_of, total
from clients.adapters.errors import InvalidJson, JsonTooLarge, SourceProblem
from clients.records import FIELD_CLASSES, RECORD_TYPES, DocType
from clients.records.shape import slots
from node_gateway.json_guard import json_depth

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
TYPES = ("text", "int", "str", "money", "fen", "time")
DOC_TYPES = (DocType.TAX_ASSESSMENT, DocType.RETURN_APPLICATION)  # the records with `lines`
LINES = "/lines"
_OFFSET = re.compile(r"([+-])([01][0-9]|2[0-3]):([0-5][0-9])")
_DIGITS = re.compile(r"-?[0-9]{1,18}")


class MappingError(ValueError):
    """A JSON mapping file that cannot be used (unknown canonical field, missing required field,
    bad converter); raised when the mapping is loaded, not per request."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"mapping {source}: {message}")


@dataclass(frozen=True)
class Rule:
    """How to get one canonical field: from a source path (with a type), a constant, or a
    sum of other canonical fields (`sum`) or of a line field over the lines (`sum_lines`)."""

    pointer: str
    path: tuple[str, ...] = ()
    type: str = "text"
    format: str | None = None
    value: Any = None
    sum: tuple[str, ...] = ()
    sum_lines: str | None = None


@dataclass(frozen=True)
class JsonMapping:
    """A loaded, checked mapping file."""

    name: str
    doc_type: DocType
    timezone: tzinfo
    records: tuple[str, ...] | None
    fields: tuple[Rule, ...]
    lines_path: tuple[str, ...]
    line_fields: tuple[Rule, ...]


# ---------------------------------------------------------------------- loading


def _dotted(text: Any, where: str, source: str) -> tuple[str, ...]:
    if not isinstance(text, str) or not text or any(not p for p in text.split(".")):
        raise MappingError(source, f"{where}: a source path is a dotted name like 'a.b'")
    return tuple(text.split("."))


def _rule(pointer: str, spec: Any, where: str, source: str) -> Rule:
    if isinstance(spec, str):
        return Rule(pointer, path=_dotted(spec, where, source))
    if not isinstance(spec, dict):
        raise MappingError(source, f"{where}: expected a source path or a table")
    unknown = set(spec) - {"path", "type", "format", "value", "sum", "sum_lines"}
    if unknown:
        raise MappingError(source, f"{where}: unknown keys {sorted(unknown)}")
    kinds = [k for k in ("path", "value", "sum", "sum_lines") if k in spec]
    if len(kinds) != 1:
        raise MappingError(source, f"{where}: give exactly one of path, value, sum, sum_lines")
    kind = spec.get("type", "text")
    if kind not in TYPES:
        raise MappingError(source, f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
    if "format" in spec and (kind != "time" or not isinstance(spec["format"], str)):
        raise MappingError(source, f"{where}: format is a strptime pattern of a time")
    if "path" in spec:
        path = _dotted(spec["path"], where, source)
        return Rule(pointer, path=path, type=kind, format=spec.get("format"))
    if "value" in spec:
        return Rule(pointer, value=spec["value"])
    if "sum" in spec:
        refs = spec["sum"]
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            raise MappingError(source, f"{where}: sum is a list of canonical pointers")
        return Rule(pointer, sum=tuple(refs))
    if not isinstance(spec["sum_lines"], str):
        raise MappingError(source, f"{where}: sum_lines is a line field pointer like '/vat'")
    return Rule(pointer, sum_lines=spec["sum_lines"])


def _table(data: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    found = data.get(key)
    if not isinstance(found, dict):
        raise MappingError(source, f"[{key}] is required and must be a table")
    return found


def _timezone(text: Any, source: str) -> tzinfo:
    match = _OFFSET.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise MappingError(source, "timezone is a UTC offset like '+08:00'")
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _optional_objects(doc_type: DocType) -> set[str]:
    """The record's optional objects (`/declaredTotals`): mapped whole or not at all."""
    return {f"/{s.key}" for s in slots(RECORD_TYPES[doc_type]) if s.model and not s.required}


def _check(mapping: JsonMapping, source: str) -> None:
    """Every leaf of the record mapped, nothing else (an optional object may be left out
    whole: it is then null); sums refer to mapped fields."""
    optional = _optional_objects(mapping.doc_type)
    given_top = {r.pointer for r in mapping.fields}
    leaves = {p for p in FIELD_CLASSES[mapping.doc_type] if p != "/docType"} - optional
    for part in optional:
        if not any(p.startswith(part + "/") for p in given_top):
            leaves = {p for p in leaves if not p.startswith(part + "/")}
    wanted_top = {p for p in leaves if not p.startswith(LINES + "/")}
    wanted_line = {p.removeprefix(LINES + "/*") for p in leaves if p.startswith(LINES + "/")}
    for rules, wanted, what in (
        (mapping.fields, wanted_top, "[fields]"),
        (mapping.line_fields, wanted_line, "[lines.fields]"),
    ):
        given = {r.pointer for r in rules}
        if given - wanted:
            raise MappingError(source, f"{what}: no such field {sorted(given - wanted)}")
        if wanted - given:
            raise MappingError(source, f"{what}: not mapped {sorted(wanted - given)}")
    plain = {r.pointer for r in mapping.fields if not r.sum}
    for r in mapping.fields:
        if any(ref not in plain for ref in r.sum):
            raise MappingError(source, f"{r.pointer}: sum refers to a field that is not mapped")
        if r.sum_lines is not None and r.sum_lines not in wanted_line:
            raise MappingError(source, f"{r.pointer}: sum_lines names no line field")
    if any(r.sum or r.sum_lines for r in mapping.line_fields):
        raise MappingError(source, "[lines.fields]: sums are for record fields")


def parse_mapping(text: str, source: str = "<string>") -> JsonMapping:
    """A mapping from TOML text, checked (MappingError names what is wrong)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(source, f"not TOML: {exc}") from None
    head = _table(data, "format", source)
    name = head.get("name")
    if not isinstance(name, str) or not name:
        raise MappingError(source, "[format] name is required")
    doc_type = next((d for d in DOC_TYPES if d.value == head.get("doc_type")), None)
    if doc_type is None:
        raise MappingError(source, f"doc_type is one of {', '.join(d.value for d in DOC_TYPES)}")
    records = head.get("records")
    lines = _table(data, "lines", source)
    mapping = JsonMapping(
        name=name,
        doc_type=doc_type,
        timezone=_timezone(head.get("timezone", "+08:00"), source),
        records=None if records is None else _dotted(records, "records", source),
        fields=tuple(
            _rule(p, spec, f"[fields] {p!r}", source)
            for p, spec in _table(data, "fields", source).items()
        ),
        lines_path=_dotted(lines.get("path"), "[lines] path", source),
        line_fields=tuple(
            _rule(p, spec, f"[lines.fields] {p!r}", source)
            for p, spec in _table(lines, "fields", source).items()
        ),
    )
    _check(mapping, source)
    return mapping


@cache
def load_mapping(name: str) -> JsonMapping:
    """A shipped mapping (`mappings/<name>.toml`) by name, or a mapping file by path."""
    if name.endswith(".toml"):
        return parse_mapping(Path(name).read_text(encoding="utf-8"), name)
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise MappingError(name, "a shipped mapping name is lowercase letters, digits and _")
    resource = resources.files("node_gateway.adapters.mappings") / f"{name}.toml"
    if not resource.is_file():
        raise MappingError(name, "no such shipped mapping")
    return parse_mapping(resource.read_text(encoding="utf-8"), f"mappings/{name}.toml")


# ---------------------------------------------------------------------- reading


def _pointer(base: str, path: Sequence[str | int]) -> str:
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return base + "".join("/" + p for p in parts)


def _get(node: Any, path: Sequence[str]) -> tuple[bool, Any]:
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


class _Unconvertible(Exception):
    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        self.message = message


def _convert(value: Any, rule: Rule, tz: tzinfo) -> Any:
    """The value as the schema wants it; a value of the wrong kind is left for the schema
    to refuse, except where only this adapter can say what was expected (fen, time)."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if rule.type == "int" and isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if rule.type == "int" and isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if rule.type == "str" and is_int:
        return str(value)
    if rule.type == "money":
        return decimal_of(value) if isinstance(value, str) else value
    if rule.type == "fen":
        if isinstance(value, str) and _DIGITS.fullmatch(value):
            value, is_int = int(value), True
        if not is_int:
            raise _Unconvertible("fen", "must be a whole number of fen")
        return Decimal(value).scaleb(-2)
    if rule.type == "time":
        return _time(value, rule.format, tz)
    return value


def _time(value: Any, pattern: str | None, tz: tzinfo) -> datetime:
    hint = f"a time like {pattern!r}" if pattern else "an ISO 8601 time"
    if not isinstance(value, str):
        raise _Unconvertible("time_format", f"must be {hint}")
    try:
        when = datetime.strptime(value, pattern) if pattern else datetime.fromisoformat(value)
    except ValueError:
        raise _Unconvertible("time_format", f"must be {hint}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def _apply(draft: Draft, rule: Rule, item: Any, base: str, at: str, tz: tzinfo) -> None:
    """Put one field of `item` (found at source pointer `base`) at canonical `at`."""
    source = _pointer(base, rule.path)
    found, value = _get(item, rule.path)
    if not found:
        draft.put(at, None, source)
        return
    try:
        draft.put(at, _convert(value, rule, tz), source)
    except _Unconvertible as exc:
        draft.fail(at, source, exc.rule, exc.message)


def _draft(record: Any, where: str, mapping: JsonMapping) -> Draft:
    draft = Draft(where)
    tz = mapping.timezone
    lines_at = _pointer(where, mapping.lines_path)
    draft.origin(LINES, lines_at)
    found, items = _get(record, mapping.lines_path)
    if found and not isinstance(items, list):
        draft.fail(LINES, lines_at, "not_an_array", "the lines must be an array")
    elif found:
        for index, item in enumerate(items):
            base = f"{lines_at}/{index}"
            draft.origin(f"{LINES}/{index}", base)
            for rule in mapping.line_fields:
                _apply(draft, rule, item, base, f"{LINES}/{index}{rule.pointer}", tz)
    count = len(items) if found and isinstance(items, list) else 0
    for rule in mapping.fields:
        if rule.path:
            _apply(draft, rule, record, where, rule.pointer, tz)
        elif rule.sum_lines is not None:
            values = [draft.get(f"{LINES}/{i}{rule.sum_lines}") for i in range(count)]
            draft.put(rule.pointer, total(values), lines_at, derived=True)
        elif not rule.sum:
            draft.put(rule.pointer, rule.value, f"{where} (constant of mapping {mapping.name})")
    for rule in mapping.fields:
        if rule.sum:
            values = [draft.get(ref) for ref in rule.sum]
            draft.put(rule.pointer, total(values), where, derived=True)
    return draft


def _load_json(data: str | bytes, max_bytes: int, max_depth: int) -> Any:
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        problem = SourceProblem("", "too_large", f"{size} bytes; at most {max_bytes}")
        raise JsonTooLarge([problem], "JSON too large")

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        text = data if isinstance(data, str) else data.decode("utf-8")
        if json_depth(text) > max_depth:
            problem = SourceProblem("", "too_deep", f"nests deeper than {max_depth} levels")
            raise InvalidJson([problem], "invalid JSON")
        return json.loads(text, parse_float=Decimal, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        problem = SourceProblem("", "malformed", exc.msg, line=exc.lineno, column=exc.colno)
        raise InvalidJson([problem], "invalid JSON") from None
    except (UnicodeError, ValueError) as exc:
        raise InvalidJson([SourceProblem("", "malformed", str(exc))], "invalid JSON") from None


def read_mapped(
    source: str | bytes | dict[str, Any] | list[Any],
    mapping: JsonMapping | str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> list[dict[str, Any]]:
    """The canonical records of an area system's JSON: one record (an object), an array of
    them, or a wrapper holding the array at the mapping's `records` path. Raises InvalidJson
    or InvalidSourceRecord (problems at source JSON pointers)."""
    rules = load_mapping(mapping) if isinstance(mapping, str) else mapping
    doc = _load_json(source, max_bytes, max_depth) if isinstance(source, str | bytes) else source
    base = ""
    if rules.records is not None:
        found, doc = _get(doc, rules.records)
        base = _pointer("", rules.records)
        if not found or not isinstance(doc, list):
            problem = SourceProblem(base, "not_an_array", "the records must be an array here")
            raise InvalidJson([problem], "unexpected JSON shape")
    items = list(enumerate(doc)) if isinstance(doc, list) else [(None, doc)]
    problems: list[SourceProblem] = []
    drafts: list[Draft] = []
    for index, item in items:
        where = base if index is None else f"{base}/{index}"
        if not isinstance(item, dict):
            problems.append(SourceProblem(where, "not_an_object", "a record is a JSON object"))
            continue
        drafts.append(_draft(item, where, rules))
    return build_records(rules.doc_type, drafts, problems)
