"""The gateway's local store (SQLite, WAL): the encrypted vault, outbox, ledger index, API keys,
idempotency keys, batches and disclosure log, and the migrations that create them.

Open with `open_db`, bring the schema up to date with `migrate`, group writes with
`transaction`. Raw records go only through `Vault`; everything raised here is a `StoreError`.
"""

from node_gateway.store.db import (
    MIGRATIONS_DIR,
    Migration,
    current_version,
    load_migrations,
    migrate,
    open_db,
    transaction,
    utc_now,
)
from node_gateway.store.errors import (
    MigrationError,
    StoreError,
    VaultConflict,
    VaultError,
    VaultIntegrityError,
    VaultKeyError,
    VaultKeyInUse,
    VaultRecordNotFound,
)
from node_gateway.store.keyring import Keyring
from node_gateway.store.vault import Vault

__all__ = [
    "MIGRATIONS_DIR",
    "Keyring",
    "Migration",
    "MigrationError",
    "StoreError",
    "Vault",
    "VaultConflict",
    "VaultError",
    "VaultIntegrityError",
    "VaultKeyError",
    "VaultKeyInUse",
    "VaultRecordNotFound",
    "current_version",
    "load_migrations",
    "migrate",
    "open_db",
    "transaction",
    "utc_now",
]
