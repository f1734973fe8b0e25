"""The privacy scan of the end-to-end stories (DESIGN.md §4: no buyer's name, ID number, phone
or address on the ledger, not even an unsalted hash of it — nor in any area's database files
outside the encrypted vault). This module owns what every story's scan shares: the personal
values of the test data, the byte strings ("needles") each value would leave behind —
its encodings and their unsalted digests —, the search for them in a list of byte strings,
and a gateway's database files. What to scan on a ledger (an embedded chain's tries, a node's
JSON-RPC) is each story's own.

Every needle is at least MIN_NEEDLE (6) bytes: a 4-byte needle (a 2-character name in UTF-16)
occurs by chance in megabytes of ciphertext and digests (~1 run in 10). The samples'
two-character names are lengthened (`three_char_names`) to keep the rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from clients.commitments.keccak import keccak256
from clients.records import TaxAssessment

MIN_NEEDLE = 6
GRAM = 4
# Chinese names mostly have three characters: a third one for the samples' two-character names.
_THIRD = "嘉文思宇欣晨佳子"


def three_char_names(a: TaxAssessment) -> TaxAssessment:
    """`a` with its buyer's name lengthened to three characters if it has two, so that every
    needle of the name is at least MIN_NEEDLE bytes."""
    name = a.buyer.name
    if len(name) < 3:
        name += _THIRD[int(a.invt_no[-9:]) % len(_THIRD)]
    return a.model_copy(update={"buyer": a.buyer.model_copy(update={"name": name})})


def personal_values(assessments: Iterable[TaxAssessment]) -> dict[str, str]:
    """Every buyer's name, ID number, phone and address in `assessments`, each labelled with
    what it is and the first inventory list it comes from."""
    out: dict[str, str] = {}
    for a in assessments:
        b = a.buyer
        for what, value in (
            ("name", b.name),
            ("ID number", b.id_number),
            ("phone", b.phone),
            ("address", b.address),
        ):
            out.setdefault(value, f"{what} of {a.invt_no}")
    return out


def sha256(data: bytes) -> bytes:
    """The SHA-256 digest of `data`."""
    return hashlib.sha256(data).digest()


def needles_of(values: dict[str, str]) -> dict[bytes, str]:
    """Each value in UTF-8, UTF-16LE and UTF-16BE and as JSON \\u-escapes, and the unsalted
    keccak-256 and SHA-256 of each encoding, raw and as hex (lower and upper case); each
    needle labelled with its value's label and its form."""
    needles: dict[bytes, str] = {}
    for value, label in values.items():
        for enc, raw in (
            ("UTF-8", value.encode("utf-8")),
            ("UTF-16LE", value.encode("utf-16-le")),
            ("UTF-16BE", value.encode("utf-16-be")),
        ):
            needles[raw] = f"{label} in {enc}"
            for algo, digest in (("keccak-256", keccak256), ("SHA-256", sha256)):
                d = digest(raw)
                needles[d] = f"{label}: {algo} of its {enc} (raw)"
                needles[d.hex().encode()] = f"{label}: {algo} of its {enc} (hex)"
                needles[d.hex().upper().encode()] = f"{label}: {algo} of its {enc} (HEX)"
        escaped = json.dumps(value).strip('"')  # json.dumps' default ensure_ascii form
        if escaped != value:
            needles[escaped.encode()] = f"{label} as JSON escapes"
            upper = re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), escaped)
            needles[upper.encode()] = f"{label} as JSON escapes (upper case)"
    assert min(len(n) for n in needles) >= MIN_NEEDLE
    return needles


def scan(parts: list[bytes], needles: dict[bytes, str]) -> list[str]:
    """The labels of the needles found in any of `parts`: a prefilter on the 4-byte grams of
    all parts, then an exact search of each part."""
    grams = {p[i : i + GRAM] for p in parts for i in range(len(p) - GRAM + 1)}
    found = set()
    for needle, label in needles.items():
        if needle[:GRAM] in grams and needle[-GRAM:] in grams:
            if any(needle in p for p in parts):
                found.add(label)
    return sorted(found)


def database_files(directory: Path, code: str) -> list[Path]:
    """A gateway's SQLite database with its -wal and -shm files, those that exist."""
    db = directory / f"gateway-{code}.db"
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return [p for p in files if p.exists()]


def scan_database(directory: Path, code: str, needles: dict[bytes, str]) -> dict[str, list[str]]:
    """The needles found in each of a gateway's database files (which must exist), by file
    name."""
    files = database_files(directory, code)
    assert files and files[0].stat().st_size > 0
    return {p.name: found for p in files if (found := scan([p.read_bytes()], needles))}
