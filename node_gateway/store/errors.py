"""The errors of the gateway's store: one root, `StoreError`, for everything the store raises."""

from __future__ import annotations

from node_gateway.errors import GatewayFault


class StoreError(GatewayFault):
    """Base class for everything the store raises."""


class MigrationError(StoreError):
    """The schema cannot be brought up to date safely (bad, changed or unknown migration)."""


class VaultError(StoreError):
    """Base class for the errors of the encrypted vault."""


class VaultKeyError(VaultError):
    """A vault key directory or key file is missing, malformed or unsafe, or a key is unknown."""


class VaultKeyInUse(VaultKeyError):
    """A key cannot be retired while records are still encrypted under it."""

    def __init__(self, key_id: str, records: int) -> None:
        self.key_id = key_id
        self.records = records
        super().__init__(
            f"key {key_id!r} still encrypts {records} vault record(s); "
            "run Vault.reencrypt_all() before retiring it"
        )


class VaultRecordNotFound(VaultError):
    """No record with this id is in the vault."""

    def __init__(self, record_id: str) -> None:
        self.record_id = record_id
        super().__init__(f"vault record {record_id!r} not found")


class VaultConflict(VaultError):
    """A record with this id already exists with a different document type or content."""

    def __init__(self, record_id: str) -> None:
        self.record_id = record_id
        super().__init__(
            f"vault record {record_id!r} already exists with different content; "
            "vault records are never overwritten"
        )


class VaultIntegrityError(VaultError):
    """A stored record fails authentication: wrong key, tampered, swapped or truncated row."""

    def __init__(self, record_id: str, reason: str) -> None:
        self.record_id = record_id
        self.reason = reason
        super().__init__(f"vault record {record_id!r} failed its integrity check: {reason}")
