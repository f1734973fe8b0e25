"""Salted field commitments of canonical records, and selective disclosure.

The scheme (write any other implementation against this text and tests/vectors/):

1. **Flatten.** A canonical record (a JSON object: only strings, integers in ±(2^53-1), booleans,
   null, arrays and objects — no floats) becomes (path, value) pairs, one per scalar. In Python
   the values must be of exactly the types str, int, bool, None, dict and list (object keys
   exactly str): subclasses (StrEnum, IntEnum, OrderedDict…), float and Decimal raise
   CommitmentError naming the path. The path is an RFC 6901 JSON pointer ("/buyer/name",
   "/lines/0/gnum"; "~" and "/" in keys escaped as "~0" and "~1"). An empty array or object is
   itself a leaf with value `[]` or `{}`.
   **Arrays vs objects.** An array element's segment is its index in plain decimal, as RFC 6901
   writes it. An object key that reads as an array index (matches `0|[1-9][0-9]*`) is written
   with the marker "~2" in front: `{"0": x}` flattens to ("/~20", x), `[x]` to ("/0", x), so the
   two give different leaves. The marker is unambiguous ("~" in a key is always escaped to "~0",
   so "~2" never starts an escaped key otherwise); every other key — all of CrossReturn's
   records' keys — keeps its plain RFC 6901 path.
2. **Encode.** A field's bytes are the RFC 8785 (JCS) serialisation of the two-element array
   `[path, value]`, UTF-8: no whitespace, strings escaped as ECMAScript's JSON.stringify does
   (only `"`, `\\` and U+0000-U+001F, the latter as \\b \\t \\n \\f \\r or lowercase \\u00xx),
   integers in plain decimal. Example: `["/buyer/name","张三"]`.
3. **Salt.** Each field gets its own fresh 32-byte random salt (`secrets`).
4. **Leaf.** `leaf = keccak256(salt || encode(path, value))`.
5. **Digest.** The document digest is the sorted-pair keccak256 Merkle root of all leaves
   (`clients.commitments.merkle`, the rule TaxAnchor and OpenAttestation use).

A **disclosed document** reveals chosen fields with their salts and gives the leaf hashes of
everything withheld; anyone recomputes the same digest. Revealing a subset of a disclosed
document's fields yields another valid disclosed document (a subset of a subset).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sha3 import keccak_256

from clients.commitments.keccak import keccak256
from clients.commitments.merkle import merkle_root
from clients.errors import CrossReturnError

MAX_SAFE_INTEGER = 2**53 - 1
DOC_TYPE_PATH = "/docType"  # the same path as clients.records.classes.DOC_TYPE_PATH
FORMAT_VERSION = 1

# json's C string encoder with ensure_ascii=False escapes exactly what RFC 8785 escapes.
_quote: Callable[[str], str] = json.encoder.encode_basestring
_prefixes: dict[str, bytes] = {}


class CommitmentError(CrossReturnError):
    """A record cannot be committed, or a disclosed document is malformed."""


# ---------------------------------------------------------------------- flatten and encode


_escaped_keys: dict[str, str] = {}
_INDEX_KEY = re.compile(r"0|[1-9][0-9]*")
INDEX_KEY_MARK = "~2"  # written before an object key that would read as an array index


def _escape(key: Any, prefix: str) -> str:
    if type(key) is not str:
        raise CommitmentError(
            f"{prefix or '(root)'}: object keys must be exact str, got {type(key).__name__} {key!r}"
        )
    escaped = _escaped_keys.get(key)
    if escaped is None:
        escaped = key.replace("~", "~0").replace("/", "~1")
        if _INDEX_KEY.fullmatch(key):
            escaped = INDEX_KEY_MARK + escaped
        _escaped_keys[key] = escaped
    return escaped


def _unescape(segment: str) -> str:
    if segment.startswith(INDEX_KEY_MARK):
        return segment[len(INDEX_KEY_MARK) :]
    return segment.replace("~1", "/").replace("~0", "~")


def _not_canonical(path: str, value: Any) -> CommitmentError:
    return CommitmentError(
        f"{path}: {type(value).__name__} is not canonical "
        "(exact str, int, bool, None, dict or list only; no floats)"
    )


def flatten(doc: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The (JSON pointer, scalar) pairs of a canonical record, in document order."""
    out: list[tuple[str, Any]] = []
    append = out.append

    def walk(prefix: str, value: Any) -> None:
        kind = type(value)
        if kind is dict:
            if not value:
                append((prefix, {}))
            for key, child in value.items():
                walk(prefix + "/" + _escape(key, prefix), child)
        elif kind is list:
            if not value:
                append((prefix, []))
            for index, child in enumerate(value):
                walk(prefix + "/" + str(index), child)
        elif kind is str or kind is bool or value is None:
            append((prefix, value))
        else:
            _check_scalar(prefix, value)  # an exact int in range, or raise
            append((prefix, value))

    if type(doc) is not dict:
        doc = dict(doc)
    walk("", doc)
    return out


def _check_scalar(path: str, value: Any) -> None:
    """Raise unless `value` is a leaf value: exact str, bool, None, int in range, `[]` or `{}`."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return
        raise CommitmentError(f"{path}: integer outside ±(2^53-1); encode it as a string")
    if (kind is dict or kind is list) and not value:
        return
    raise _not_canonical(path, value)


def _encode_value(value: Any) -> str | None:
    """The JCS text of a leaf value, or None when it is not one (exact types only)."""
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is int:
        return str(value) if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else None
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if kind is list and not value:
        return "[]"
    if kind is dict and not value:
        return "{}"
    return None


def encode_field(path: str, value: Any) -> bytes:
    """RFC 8785 bytes of `[path, value]`; CommitmentError names the path of a bad value."""
    text = _encode_value(value)
    if text is None:
        _check_scalar(path, value)
        raise _not_canonical(path, value)  # not reached: _check_scalar raised
    prefix = _prefixes.get(path)
    if prefix is None:
        prefix = _prefixes[path] = ("[" + _quote(path) + ",").encode()
    try:
        return prefix + (text + "]").encode()
    except UnicodeEncodeError as exc:  # a lone surrogate cannot be UTF-8
        raise CommitmentError(f"{path}: text is not valid Unicode") from exc


def field_leaf(salt: bytes, path: str, value: Any) -> bytes:
    """The leaf of one field."""
    return keccak256(salt + encode_field(path, value))


# ---------------------------------------------------------------------- holder side


@dataclass(frozen=True)
class Commitment:
    """A committed record as its holder keeps it: the fields, their salts, leaves and digest."""

    doc: dict[str, Any]
    salts: dict[str, bytes]
    leaves: dict[str, bytes]
    digest: bytes

    @property
    def doc_type(self) -> str:
        """The record's document type (its "docType" field)."""
        return str(self.doc.get("docType", ""))

    def fields(self) -> list[tuple[str, Any]]:
        """(path, value) pairs in document order."""
        return flatten(self.doc)

    def disclose(self, keep: Iterable[str] | Callable[[str], bool]) -> DisclosedDocument:
        """A disclosed document revealing the fields chosen by path or predicate.

        "/docType" is always revealed: a verifier needs to know what it is looking at.
        """
        chosen = _chooser(keep)
        revealed: list[RevealedField] = []
        withheld: list[bytes] = []
        for path, value in self.fields():
            if path == DOC_TYPE_PATH or chosen(path):
                revealed.append(RevealedField(path, value, self.salts[path]))
            else:
                withheld.append(self.leaves[path])
        return DisclosedDocument(self.doc_type, self.digest, revealed, sorted(withheld))


def commit(doc: Mapping[str, Any], salts: Mapping[str, bytes] | None = None) -> Commitment:
    """Commit a canonical record with a fresh 32-byte salt per field (or the given salts)."""
    if type(doc.get("docType")) is not str:
        raise CommitmentError("a record needs a string /docType")
    fields = flatten(doc)
    if salts is None:
        pool = secrets.token_bytes(32 * len(fields))
        salt_of = {path: pool[32 * i : 32 * i + 32] for i, (path, _) in enumerate(fields)}
    else:
        missing = [p for p, _ in fields if p not in salts]
        if missing or any(len(salts[p]) != 32 for p, _ in fields):
            raise CommitmentError(f"salts must be 32 bytes for every field; missing {missing}")
        salt_of = {path: bytes(salts[path]) for path, _ in fields}
    leaves = {
        path: keccak_256(salt_of[path] + encode_field(path, value)).digest()
        for path, value in fields
    }
    return Commitment(dict(doc), salt_of, leaves, merkle_root(leaves.values()))


def _chooser(keep: Iterable[str] | Callable[[str], bool]) -> Callable[[str], bool]:
    if callable(keep):
        return keep
    wanted = set(keep)
    prefixes = tuple(p.rstrip("/") + "/" for p in wanted)
    return lambda path: path in wanted or path.startswith(prefixes)


# ---------------------------------------------------------------------- disclosed documents


@dataclass(frozen=True)
class RevealedField:
    """One revealed field: its path, value and salt."""

    path: str
    value: Any
    salt: bytes

    def leaf(self) -> bytes:
        """This field's leaf."""
        leaf: bytes = keccak_256(self.salt + encode_field(self.path, self.value)).digest()
        return leaf


@dataclass(frozen=True)
class DisclosedDocument:
    """Some fields of a committed record, with the leaf hashes of the others.

    `anchor` carries the evidence that ties the digest to the ledger (see clients.verify); it is
    not part of the digest.
    """

    doc_type: str
    digest: bytes
    revealed: list[RevealedField]
    withheld: list[bytes]
    anchor: dict[str, Any] = field(default_factory=dict)

    def compute_digest(self) -> bytes:
        """The digest recomputed from the revealed fields and the withheld leaves."""
        leaves = [f.leaf() for f in self.revealed]
        leaves.extend(self.withheld)
        if not leaves:
            raise CommitmentError("a disclosed document has at least one leaf")
        return merkle_root(leaves)

    def check_revealed(self) -> None:
        """Raise CommitmentError unless no path is revealed twice and /docType is revealed with
        this document's `doc_type` as its value: the wrapper's doc_type is only a claim, the
        revealed field is what the digest proves."""
        paths = [f.path for f in self.revealed]
        if len(set(paths)) != len(paths):
            seen: set[str] = set()
            for path in paths:
                if path in seen:
                    raise CommitmentError(f"{path} is revealed twice")
                seen.add(path)
        doc_type = next((f for f in self.revealed if f.path == DOC_TYPE_PATH), None)
        if doc_type is None:
            raise CommitmentError(
                f"{DOC_TYPE_PATH} is not revealed, so the document type is unproven"
            )
        revealed_type = doc_type.value
        if type(revealed_type) is not str or revealed_type != self.doc_type:
            raise CommitmentError(
                f"the revealed {DOC_TYPE_PATH} {revealed_type!r} is not the document's type "
                f"{self.doc_type!r}"
            )

    def values(self) -> dict[str, Any]:
        """Revealed path -> value."""
        return {f.path: f.value for f in self.revealed}

    def paths(self) -> list[str]:
        """The revealed paths, in the order given."""
        return [f.path for f in self.revealed]

    def disclose(self, keep: Iterable[str] | Callable[[str], bool]) -> DisclosedDocument:
        """Reveal a subset of the revealed fields; the rest become withheld leaves."""
        chosen = _chooser(keep)
        revealed = [f for f in self.revealed if f.path == DOC_TYPE_PATH or chosen(f.path)]
        withheld = list(self.withheld)
        withheld.extend(f.leaf() for f in self.revealed if f not in revealed)
        return DisclosedDocument(
            self.doc_type, self.digest, revealed, sorted(withheld), self.anchor
        )

    def with_anchor(self, anchor: Mapping[str, Any]) -> DisclosedDocument:
        """The same disclosure carrying ledger evidence."""
        return DisclosedDocument(
            self.doc_type, self.digest, self.revealed, self.withheld, dict(anchor)
        )

    def nested(self) -> dict[str, Any]:
        """The revealed fields rebuilt as a (partial) JSON object, for display."""
        return unflatten(self.values().items())

    def whole(self) -> dict[str, Any]:
        """The record itself, when every field is revealed: `flatten` undone exactly (array
        segments back into lists, "~2"-marked keys into object keys); CommitmentError when
        any field is withheld."""
        if self.withheld:
            raise CommitmentError(f"{len(self.withheld)} field(s) withheld: not the whole record")
        root: dict[str, Any] = {}
        for path, value in self.values().items():
            _place(root, path.split("/")[1:], value)
        whole: dict[str, Any] = _listed(root)
        return whole

    def to_json(self) -> dict[str, Any]:
        """The interchange form (JSON-compatible)."""
        out: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "docType": self.doc_type,
            "digest": "0x" + self.digest.hex(),
            "revealed": [
                {"path": f.path, "value": f.value, "salt": "0x" + f.salt.hex()}
                for f in self.revealed
            ],
            "withheld": ["0x" + leaf.hex() for leaf in self.withheld],
        }
        if self.anchor:
            out["anchor"] = self.anchor
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DisclosedDocument:
        """Parse the interchange form; CommitmentError names what is malformed."""
        try:
            if data.get("version") != FORMAT_VERSION:
                raise CommitmentError(f"unsupported disclosure version {data.get('version')!r}")
            revealed = []
            for i, item in enumerate(data["revealed"]):
                path, value = item["path"], item["value"]
                if not isinstance(path, str) or not (path == "" or path.startswith("/")):
                    raise CommitmentError(f"revealed[{i}].path is not a JSON pointer")
                _check_scalar(path, value)
                revealed.append(RevealedField(path, value, _hex32(item["salt"], f"revealed[{i}]")))
            withheld = [_hex32(h, f"withheld[{i}]") for i, h in enumerate(data["withheld"])]
            anchor = data.get("anchor") or {}
            if not isinstance(anchor, dict):
                raise CommitmentError("anchor must be an object")
            return cls(
                str(data["docType"]), _hex32(data["digest"], "digest"), revealed, withheld, anchor
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise CommitmentError(f"malformed disclosed document: {exc!r}") from exc


def _hex32(text: Any, where: str) -> bytes:
    if not isinstance(text, str) or not text.startswith("0x") or len(text) != 66:
        raise CommitmentError(f"{where}: expected 0x-prefixed 32-byte hex")
    try:
        return bytes.fromhex(text[2:])
    except ValueError as exc:
        raise CommitmentError(f"{where}: not hex") from exc


def unflatten(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Rebuild nested objects from (pointer, value) pairs; array positions become object keys
    when only some elements are present, so nothing is invented."""
    root: dict[str, Any] = {}
    for path, value in pairs:
        parts = [_unescape(p) for p in path.split("/")[1:]]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value
    return root


class _Array(dict[int, Any]):
    """An array being rebuilt from its elements' paths (index -> element)."""


def _place(node: dict[Any, Any], segments: list[str], value: Any) -> None:
    """Put `value` at raw (escaped) path `segments` below `node`: a plain decimal segment is
    an array index, anything else an object key."""
    *parents, last = segments
    for i, segment in enumerate(parents):
        key = _segment_key(segment)
        if key not in node:
            node[key] = _Array() if _INDEX_KEY.fullmatch(segments[i + 1]) else {}
        node = node[key]
    node[_segment_key(last)] = value


def _segment_key(segment: str) -> str | int:
    return int(segment) if _INDEX_KEY.fullmatch(segment) else _unescape(segment)


def _listed(value: Any) -> Any:
    if isinstance(value, _Array):
        if sorted(value) != list(range(len(value))):
            raise CommitmentError(f"array indices {sorted(value)} are not 0..{len(value) - 1}")
        return [_listed(value[i]) for i in range(len(value))]
    if isinstance(value, dict):
        return {key: _listed(child) for key, child in value.items()}
    return value
