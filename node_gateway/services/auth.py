"""API keys: issue, authenticate, revoke.

A key reads `cr_<key id>_<secret>`; only SHA-256 of the secret is stored (the secret has 256
bits of entropy, so a slow hash adds nothing), compared in constant time. Each key is bound to
one member and one role: officer, system (the area's own IT), platform, auditor, admin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass

from node_gateway.errors import Unauthenticated
from node_gateway.store.api_keys import ApiKeyRow, find_key, insert_key, list_keys, revoke_key

ROLES = ("officer", "system", "platform", "auditor", "admin")
PREFIX = "cr_"


class AuthError(Unauthenticated):
    """A key is missing, malformed, unknown or revoked (the message never echoes the key)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a member acting in a role, through one key."""

    member_id: str
    role: str
    key_id: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(conn: sqlite3.Connection, member_id: str, role: str) -> tuple[str, str]:
    """Create a key; returns (key id, the full key — shown once, never stored)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not member_id:
        raise ValueError("a key belongs to a member")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    insert_key(conn, key_id, _hash(secret), member_id, role)
    return key_id, f"{PREFIX}{key_id}_{secret}"


def authenticate(conn: sqlite3.Connection, presented: str | None) -> Principal:
    """The principal of a presented key; AuthError when it is not a valid, active key."""
    if not presented:
        raise AuthError("no API key: send 'Authorization: Bearer <key>'")
    if not presented.startswith(PREFIX) or presented.count("_") < 2:
        raise AuthError("malformed API key")
    key_id, _, secret = presented[len(PREFIX) :].partition("_")
    row = find_key(conn, key_id)
    if row is None or not hmac.compare_digest(row.key_hash, _hash(secret)):
        raise AuthError("unknown API key")
    if row.revoked_at is not None:
        raise AuthError("this API key was revoked")
    return Principal(row.member_id, row.role, row.key_id)


def revoke(conn: sqlite3.Connection, key_id: str) -> bool:
    """Revoke a key by id; False if there is no active key with that id."""
    return revoke_key(conn, key_id)


def keys(conn: sqlite3.Connection) -> list[ApiKeyRow]:
    """Every key (hashes only)."""
    return list_keys(conn)
