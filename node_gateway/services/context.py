"""What every service of one customs area's gateway needs: who the area is, its settings, its
vault keys, its id secret and its ledger."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from clients.bindings import member_id
from clients.commitments.document import DisclosedDocument
from clients.envelope import EncryptionKeys
from node_gateway.config import GatewaySettings
from node_gateway.ledger.area_ledger import AreaLedger
from node_gateway.services.policy import DisclosurePolicy, load_policy
from node_gateway.services.rate_limit import RateLimiter
from node_gateway.store.files import create_private
from node_gateway.store.keyring import Keyring

ID_SECRET_FILE = "id-secret.bin"
PEER_BUCKETS = 10_000  # requester/subject pairs kept before idle (full) buckets are dropped
ENCRYPTION_KEY_FILE = "hpke.key"


@dataclass(frozen=True)
class Disclosure:
    """An opened answer: its documents, the digest the holder logged, and the salt of the
    commitment that names this area in the holder's ledger entries (None if it gave none)."""

    documents: list[DisclosedDocument]
    digest: str
    requester_salt: str | None = None


class PeerRequester(Protocol):
    """What the services ask of another member's gateway (node_gateway.peer.client's PeerClient
    asks it over the peer protocol); raises PeerUnavailable when the holder cannot answer."""

    def fetch(self, holder: bytes, subject: str, doc_type: str) -> Disclosure:
        """The documents of `doc_type` about `subject` that `holder` discloses to this area."""
        ...

    def fetch_declaration(
        self, holder: bytes, case_id: str, application: dict[str, Any]
    ) -> Disclosure:
        """The origin `holder`'s declaration of case `case_id`, on the authority of the signed
        `application` (`{header, terms, signature}`) naming this area as return centre."""
        ...


@dataclass
class AreaContext:
    """One area's identity and dependencies."""

    settings: GatewaySettings
    keyring: Keyring
    id_secret: bytes
    ledger: AreaLedger
    policy: DisclosurePolicy
    encryption: EncryptionKeys
    wake: threading.Event = field(default_factory=threading.Event)
    # How this area asks other gateways (None when it runs without a peer transport).
    peer: PeerRequester | None = None
    # Peer requests per requester and subject (services/disclosure.py; None: unbounded).
    peer_limiter: RateLimiter | None = None

    @property
    def label(self) -> str:
        """The area's member label (e.g. customs-2900)."""
        return self.settings.area_label

    @property
    def member(self) -> bytes:
        """The area's member id."""
        return member_id(self.settings.area_label)

    @property
    def member_hex(self) -> str:
        """The area's member id as 0x-hex."""
        return "0x" + self.member.hex()

    @property
    def code(self) -> str:
        """The 4-digit customs code."""
        return self.settings.customs_code


def area_profile(settings: GatewaySettings) -> dict[str, str]:
    """This gateway's own area as its clients need it (to address an application to the right
    return centre): member id, label, customs code and role, from its settings alone."""
    return {
        "memberId": "0x" + member_id(settings.area_label).hex(),
        "label": settings.area_label,
        "customsCode": settings.customs_code,
        "role": settings.role,
    }


def load_id_secret(keys_dir: Path) -> bytes:
    """The secret behind this area's pseudonymous case ids (created on first use, mode 0600)."""
    path = keys_dir / ID_SECRET_FILE
    if not path.exists():
        create_private(path, secrets.token_bytes(32))
    secret = path.read_bytes()
    if len(secret) < 32:
        raise ValueError(f"{path}: the id secret must be at least 32 bytes")
    return secret


def load_keyring(keys_dir: Path) -> Keyring:
    """The vault keyring, created on first start."""
    return Keyring.open(keys_dir)


def load_encryption_keys(keys_dir: Path) -> EncryptionKeys:
    """The area's HPKE keys (ML-KEM-768 + X25519; created on first use, mode 0600); their
    public part is what the area registers on the Consortium."""
    path = keys_dir / ENCRYPTION_KEY_FILE
    if not path.exists():
        create_private(path, EncryptionKeys.generate(hybrid=True).private_bytes())
    return EncryptionKeys.from_private_bytes(path.read_bytes())


def make_context(settings: GatewaySettings, ledger: AreaLedger) -> AreaContext:
    """Load the area's keys and policy around a connected ledger."""
    keys_dir = settings.keys_dir
    return AreaContext(
        settings=settings,
        keyring=load_keyring(keys_dir),
        id_secret=load_id_secret(keys_dir),
        ledger=ledger,
        policy=load_policy(settings.policy_file),
        encryption=load_encryption_keys(keys_dir),
        peer_limiter=peer_limiter(settings),
    )


def peer_limiter(settings: GatewaySettings) -> RateLimiter | None:
    """The bound on peer requests per requester and subject the settings ask for."""
    if settings.peer_rate_per_minute == 0:
        return None
    return RateLimiter(
        settings.peer_rate_per_minute / 60, settings.peer_rate_burst, max_keys=PEER_BUCKETS
    )
