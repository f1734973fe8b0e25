"""The disclosure policy: which field classes a requester in a given role on a case may receive.

Loaded from a TOML file each area can change (the default ships beside this module). Deny by
default: unknown roles, unlisted classes and unknown document types get nothing. The requester's
role on the case (origin, return centre, the case's platform, an auditor) is established from
the ledger by the caller; this module only answers "may this role see this field".
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clients.records import DocType, FieldClass, UnknownFieldPath, field_class
from node_gateway.errors import GatewayFault

DEFAULT_POLICY_FILE = Path(__file__).with_name("default_policy.toml")
# named_centre: a return centre named by a platform's signed application that is not on the
# ledger yet; it only ever receives the fields that bind an application to its case
# (node_gateway.peer.declarations.BINDING_FIELDS), and of those only what its classes allow.
ROLES = ("origin", "return_centre", "platform", "auditor", "named_centre")


class PolicyError(GatewayFault):
    """The policy file is unreadable or malformed."""


@dataclass(frozen=True)
class DisclosurePolicy:
    """Allowed field classes per role, optionally narrowed per document type."""

    allow: dict[str, frozenset[FieldClass]]
    doc_types: dict[str, dict[str, frozenset[FieldClass]]]

    def classes(self, role: str, doc_type: str) -> frozenset[FieldClass]:
        """The classes `role` may receive of a `doc_type` document (empty when denied)."""
        try:
            DocType(doc_type)
        except ValueError:
            return frozenset()
        allowed = self.allow.get(role, frozenset())
        narrowed = self.doc_types.get(role, {}).get(doc_type)
        return allowed & narrowed if narrowed is not None else allowed

    def allows(self, role: str, doc_type: str, path: str) -> bool:
        """Whether `role` may receive the field at `path` (unknown paths are denied)."""
        try:
            return field_class(doc_type, path) in self.classes(role, doc_type)
        except (UnknownFieldPath, ValueError):
            return False

    def selector(self, role: str, doc_type: str) -> Callable[[str], bool]:
        """A path predicate for `Commitment.disclose`."""
        return lambda path: self.allows(role, doc_type, path)


def _classes(values: Any, where: str) -> frozenset[FieldClass]:
    if not isinstance(values, list):
        raise PolicyError(f"{where} must be a list of field classes")
    try:
        return frozenset(FieldClass(v) for v in values)
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from exc


def parse_policy(data: dict[str, Any]) -> DisclosurePolicy:
    """Build a policy from parsed TOML; PolicyError names the offending key."""
    if data.get("version") != 1:
        raise PolicyError("policy version must be 1")
    roles = data.get("roles", {})
    if not isinstance(roles, dict):
        raise PolicyError("[roles] must be a table")
    allow: dict[str, frozenset[FieldClass]] = {}
    doc_types: dict[str, dict[str, frozenset[FieldClass]]] = {}
    for role, table in roles.items():
        if role not in ROLES:
            raise PolicyError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        if not isinstance(table, dict):
            raise PolicyError(f"roles.{role} must be a table")
        allow[role] = _classes(table.get("allow", []), f"roles.{role}.allow")
        for doc_type, narrowed in table.get("doc_types", {}).items():
            try:
                DocType(doc_type)
            except ValueError as exc:
                raise PolicyError(f"roles.{role}.doc_types: unknown type {doc_type!r}") from exc
            doc_types.setdefault(role, {})[doc_type] = _classes(
                narrowed, f"roles.{role}.doc_types.{doc_type}"
            )
    return DisclosurePolicy(allow, doc_types)


def load_policy(path: Path | None = None) -> DisclosurePolicy:
    """Read a policy file (the shipped default when `path` is None)."""
    source = path or DEFAULT_POLICY_FILE
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{source}: {exc}") from exc
    return parse_policy(data)


def roles_allowed(policy: DisclosurePolicy, doc_type: str, cls: FieldClass) -> Iterable[str]:
    """The roles that may receive `cls` fields of `doc_type` (for documentation and audits)."""
    return [role for role in ROLES if cls in policy.classes(role, doc_type)]
