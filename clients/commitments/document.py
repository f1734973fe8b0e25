"""Salted field commitments of canonical records, and selective disclosure.

The scheme (write any other implementation against this text and tests/vectors/):

1. **Flatten.** A canonical record (a JSON object: only strings, integers in ±(2^53-1), booleans,
   null, arrays and objects — no floats) becomes (path, value) pairs, one per scalar. The path is
   an RFC 6901 JSON pointer ("/buyer/name", "/lines/0/gnum"; "~" and "/" in keys escaped as "~0"
   and "~1"). An empty array or object is itself a leaf with value `[]` or `{}`.
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
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sha3 import keccak_256

from clients.commitments.keccak import keccak256
from clients.commitments.merkle import merkle_root
from clients.errors import CrossReturnError

MAX_SAFE_INTEGER = 2**53 - 1
FORMAT_VERSION = 1

# json's C string encoder with ensure_ascii=False escapes exactly what RFC 8785 escapes.
_quote: Callable[[str], str] = json.encoder.encode_basestring
_prefixes: dict[str, bytes] = {}


class CommitmentError(CrossReturnError):
    """A record cannot be committed, or a disclosed document is malformed."""


# ---------------------------------------------------------------------- flatten and encode


_escaped_keys: dict[str, str] = {}


def _escape(key: str) -> str:
    escaped = _escaped_keys.get(key)
    if escaped is None:
        if not isinstance(key, str):
            raise CommitmentError(f"object keys must be strings, got {key!r}")
        escaped = _escaped_keys[key] = key.replace("~", "~0").replace("/", "~1")
    return escaped


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
                walk(prefix + "/" + _escape(key), child)
        elif kind is list:
            if not value:
                append((prefix, []))
            for index, child in enumerate(value):
                walk(prefix + "/" + str(index), child)
        elif kind is str or kind is bool or value is None:
            append((prefix, value))
        else:
            _check_scalar(prefix, value)
            append((prefix, value))

    if type(doc) is not dict:
        doc = dict(doc)
    walk("", doc)
    return out


def _check_scalar(path: str, value: Any) -> None:
    if value is None or isinstance(value, str | bool):
        return
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return
        raise CommitmentError(f"{path}: integer outside ±(2^53-1); encode it as a string")
    if isinstance(value, dict | list) and not value:
        return
    raise CommitmentError(f"{path}: {type(value).__name__} is not canonical (no floats)")


def _encode_value(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _quote(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if kind is int:
        return str(value)
    return "[]" if value == [] else "{}"


def encode_field(path: str, value: Any) -> bytes:
    """RFC 8785 bytes of `[path, value]`."""
    prefix = _prefixes.get(path)
    if prefix is None:
        prefix = _prefixes[path] = ("[" + _quote(path) + ",").encode()
    try:
        return prefix + (_encode_value(value) + "]").encode()
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
            if path == "/docType" or chosen(path):
                revealed.append(RevealedField(path, value, self.salts[path]))
            else:
                withheld.append(self.leaves[path])
        return DisclosedDocument(self.doc_type, self.digest, revealed, sorted(withheld))


def commit(doc: Mapping[str, Any], salts: Mapping[str, bytes] | None = None) -> Commitment:
    """Commit a canonical record with a fresh 32-byte salt per field (or the given salts)."""
    if not isinstance(doc.get("docType"), str):
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

    def values(self) -> dict[str, Any]:
        """Revealed path -> value."""
        return {f.path: f.value for f in self.revealed}

    def paths(self) -> list[str]:
        """The revealed paths, in the order given."""
        return [f.path for f in self.revealed]

    def disclose(self, keep: Iterable[str] | Callable[[str], bool]) -> DisclosedDocument:
        """Reveal a subset of the revealed fields; the rest become withheld leaves."""
        chosen = _chooser(keep)
        revealed = [f for f in self.revealed if f.path == "/docType" or chosen(f.path)]
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
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value
    return root
