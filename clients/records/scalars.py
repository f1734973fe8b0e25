"""The scalar and list types records are made of, each validated with its own rule code.

Money is a Decimal with at most two places (fen), canonically a string "12.30"; floats are
refused so no binary rounding ever enters a record. Times are timezone-aware, cut to whole
seconds and kept with a fixed UTC offset. Text refuses control characters, lone surrogates
and invisible format characters (bidi controls, zero-width characters).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, PlainSerializer
from pydantic import WithJsonSchema as Schema
from pydantic_core import PydanticCustomError

from clients.records.errors import FieldError, problems

MAX_LINES = 99
MAX_QTY = 100_000
MAX_MONEY = Decimal("10000000")
MAX_PAYMENT_ITEMS = 10_000
MAX_EVIDENCE = 20
CENT = Decimal("0.01")

T = TypeVar("T")

# ---------------------------------------------------------------------- money

_MONEY_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_ZERO = Decimal("0.00")


def _money(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise PydanticCustomError("money_format", "money must be a finite amount")
        amount = value
    elif isinstance(value, str):
        if not _MONEY_TEXT.fullmatch(value):
            raise PydanticCustomError("money_format", "money must be a decimal like '12.30'")
        amount = Decimal(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    else:
        raise PydanticCustomError(
            "money_type",
            "money must be a decimal string, an int or a Decimal, not {kind}",
            {"kind": type(value).__name__},
        )
    if amount < 0:
        raise PydanticCustomError("money_negative", "money must not be negative")
    if amount > MAX_MONEY:
        raise PydanticCustomError("money_too_large", "money must not exceed 10,000,000.00")
    fen = amount.quantize(CENT)
    if fen != amount:
        raise PydanticCustomError("money_precision", "money has at most two decimal places")
    return fen if fen else _ZERO  # no "-0.00"


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    Schema({"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$"}),
]

# ---------------------------------------------------------------------- times


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "datetime_format", "time must be ISO 8601, like 2026-11-11T10:00:00+08:00"
            ) from None
    elif not isinstance(value, datetime):
        raise PydanticCustomError("datetime_type", "time must be an ISO 8601 string or a datetime")
    offset = value.utcoffset()
    if offset is None:
        raise PydanticCustomError("naive_datetime", "time must carry a UTC offset")
    if offset % timedelta(minutes=1):
        raise PydanticCustomError("timezone_offset", "UTC offset must be whole minutes")
    fixed: datetime = value.replace(microsecond=0, tzinfo=timezone(offset))
    return fixed


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp),
    PlainSerializer(_iso, return_type=str, when_used="json"),
    Schema({"type": "string", "format": "date-time"}),
]

# ---------------------------------------------------------------------- text and codes

# C0 and C1 controls (which include tab and newline) and lone surrogates.
_BAD_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

# Invisible format characters (Unicode category Cf, as of Unicode 15.0), above all the bidi
# controls: they can make text read differently from what it holds on an officer's screen
# (Trojan Source, CVE-2021-42574). Written out rather than read from `unicodedata` so that every
# party validates a record alike, whatever Unicode version its Python ships.
_FORMAT_CHARS = re.compile(
    "["
    "\u00ad"  # soft hyphen
    "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2"  # Arabic and Syriac number marks
    "\u061c"  # Arabic letter mark (bidi)
    "\u180e"  # Mongolian vowel separator
    "\u200b-\u200f"  # zero width space, non-joiner, joiner; LRM, RLM (bidi)
    "\u202a-\u202e"  # LRE, RLE, PDF, LRO, RLO (bidi)
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u206f"  # LRI, RLI, FSI, PDI (bidi); deprecated format characters
    "\ufeff"  # zero width no-break space (BOM)
    "\ufff9-\ufffb"  # interlinear annotation
    "\U000110bd\U000110cd"  # Kaithi number signs
    "\U00013430-\U0001343f"  # Egyptian hieroglyph format controls
    "\U0001bca0-\U0001bca3"  # shorthand format controls
    "\U0001d173-\U0001d17a"  # musical symbol format controls
    "\U000e0001\U000e0020-\U000e007f"  # language tag, tag characters
    "]"
)


def _text_validator(max_length: int, min_length: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise PydanticCustomError("text_type", "must be a string")
        if len(value) < min_length:
            raise PydanticCustomError(
                "text_too_short", "must have at least {min} characters", {"min": min_length}
            )
        if len(value) > max_length:
            raise PydanticCustomError(
                "text_too_long", "must have at most {max} characters", {"max": max_length}
            )
        if _BAD_TEXT.search(value):
            raise PydanticCustomError(
                "invalid_text", "must not contain control characters or lone surrogates"
            )
        hidden = _FORMAT_CHARS.search(value)
        if hidden:
            raise PydanticCustomError(
                "invisible_character",
                "must not contain invisible format characters such as bidi controls or "
                "zero-width characters (found {char})",
                {"char": f"U+{ord(hidden.group()):04X}"},
            )
        return value

    return check


def text(max_length: int, min_length: int = 1) -> BeforeValidator:
    """Annotated metadata for free text of the given length range."""
    return BeforeValidator(_text_validator(max_length, min_length))


def _code_validator(rule: str, pattern: str, what: str) -> Callable[[Any], str]:
    compiled = re.compile(pattern)

    def check(value: Any) -> str:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            raise PydanticCustomError(rule, "must be {what}", {"what": what})
        return value

    return check


def code(rule: str, pattern: str, what: str) -> BeforeValidator:
    """Annotated metadata for an identifier matching `pattern` (rule code `rule`)."""
    return BeforeValidator(_code_validator(rule, pattern, what))


ShortText = Annotated[str, text(60)]
Name = Annotated[str, text(100)]
GoodsName = Annotated[str, text(250)]
Address = Annotated[str, text(200)]
Reason = Annotated[str, text(200)]
Explanation = Annotated[str, text(500, min_length=0)]

CustomsCode = Annotated[str, code("customs_code", r"[0-9]{4}", "a 4-digit customs code")]
InvtNo = Annotated[
    str,
    code(
        "invt_no",
        r"[0-9]{4}[0-9]{4}I[0-9]{9}",
        "an 18-character inventory list number: customs code, year, 'I', 9-digit serial",
    ),
]
Gcode = Annotated[str, code("gcode", r"[0-9]{10}", "a 10-digit HS code")]
EnterpriseCode = Annotated[
    str,
    code(
        "enterprise_code",
        r"[0-9A-Z]{10}|[0-9A-Z]{18}",
        "a 10-character customs code or an 18-character credit code (A-Z, 0-9)",
    ),
]
EmsNo = Annotated[str, code("ems_no", r"[0-9A-Z]{1,30}", "an account book number (A-Z, 0-9)")]
TradeMode = Annotated[str, code("trade_mode", r"1210", "trade mode 1210 (bonded import)")]
IdType = Annotated[str, code("id_type", r"[12]", "'1' (resident ID card) or '2' (other)")]
IdNumber = Annotated[str, code("id_number", r"[0-9A-Z]{5,30}", "an ID number (A-Z, 0-9)")]
Phone = Annotated[str, code("phone", r"\+?[0-9][0-9-]{4,19}", "a phone number")]
Unit = Annotated[str, code("unit", r"[0-9]{3}", "a 3-digit customs unit code")]
ReasonCode = Annotated[str, code("reason_code", r"[0-9A-Z]{2,8}", "a reason code like '00'")]
ReturnId = Annotated[
    str, code("return_id", r"0x[0-9a-f]{64}", "0x and 64 lowercase hex digits (a return id)")
]
Digest = Annotated[str, code("digest", r"0x[0-9a-f]{64}", "0x and 64 lowercase hex digits")]

# ---------------------------------------------------------------------- integers


def _int_validator(rule: str, low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if type(value) is not int:
            raise PydanticCustomError("int_type", "must be an integer")
        if not low <= value <= high:
            raise PydanticCustomError(
                rule, "must be between {low} and {high}", {"low": low, "high": high}
            )
        return value

    return check


def integer(rule: str, low: int, high: int) -> BeforeValidator:
    """Annotated metadata for an integer in [low, high] (rule code `rule`)."""
    return BeforeValidator(_int_validator(rule, low, high))


Gnum = Annotated[int, integer("gnum", 1, MAX_LINES)]
Qty = Annotated[int, integer("qty", 1, MAX_QTY)]
PackageCount = Annotated[int, integer("package_count", 1, 999)]
Year = Annotated[int, integer("year", 2000, 2100)]

# ---------------------------------------------------------------------- lists


def _counted(few: str, many: str, low: int, high: int) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) < low:
                raise PydanticCustomError(few, "needs at least {low}", {"low": low})
            if len(value) > high:
                raise PydanticCustomError(many, "allows at most {high}", {"high": high})
        return value  # anything else is left to the list validator

    return check


def _unique_gnums(lines: Sequence[Any]) -> Sequence[Any]:
    seen: set[int] = set()
    found: list[FieldError] = []
    for index, line in enumerate(lines):
        if line.gnum in seen:
            found.append(
                FieldError(f"/{index}/gnum", "duplicate_gnum", f"gnum {line.gnum} repeats")
            )
        seen.add(line.gnum)
    if found:
        raise problems(found)
    return lines


# Lines of a document: 1..99, each with a distinct gnum (item types need a `gnum`).
Lines = Annotated[
    list[T],
    BeforeValidator(_counted("too_few_lines", "too_many_lines", 1, MAX_LINES)),
    AfterValidator(_unique_gnums),
]
Items = Annotated[
    list[T],
    BeforeValidator(_counted("too_few_items", "too_many_items", 1, MAX_PAYMENT_ITEMS)),
]
Evidence = Annotated[
    list[Digest],
    BeforeValidator(_counted("too_little_evidence", "too_much_evidence", 0, MAX_EVIDENCE)),
]
