"""The gateway's SQLite database: opening it safely, explicit transactions and schema migrations.

Migrations are the SQL files `migrations/NNNN_<name>.sql`, applied in version order, each in its
own transaction together with its row in `schema_migrations`. An applied migration is never
edited: its checksum is recorded, and a changed file stops the gateway instead of leaving the
schema in a state no migration describes. Change the schema with a new file.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from node_gateway.store.errors import MigrationError, StoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
DEFAULT_BUSY_TIMEOUT_MS = 5_000

_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""
_savepoint_ids = itertools.count(1)
# Held while a connection is being opened: see `_create_db_file`.
_opening = threading.Lock()


def utc_now() -> str:
    """The current UTC time as ISO 8601 with microseconds and a `Z`, as every table stores it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def open_db(
    path: Path,
    *,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    check_same_thread: bool = True,
) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path`: WAL, synchronous=FULL, foreign keys on."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _opening:
        _create_db_file(path)
        for file in (path, _sidecar(path, "-wal"), _sidecar(path, "-shm")):
            if file.exists():
                os.chmod(file, 0o600)  # SQLite gives -wal and -shm the mode of the database file
        # isolation_level=None: the sqlite3 module never opens transactions behind our back;
        # `transaction()` does it explicitly.
        conn = sqlite3.connect(
            path,
            timeout=busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=check_same_thread,
        )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{path}: SQLite refused WAL mode (journal_mode is {mode!r})")
        # The vault is the system of record: an accepted record must survive a power loss, so
        # every commit is synced to the WAL (NORMAL would only protect against a process crash).
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _create_db_file(path: Path) -> None:
    """Create the database file with mode 0600 if it does not exist yet; never touch one that does.

    Closing *any* descriptor of a file drops every POSIX lock this process holds on it (fcntl
    semantics), including the locks of SQLite connections already open on it. SQLite in another
    process (an operator's `crossreturn admin …`) then believes it is the last user and deletes
    `-wal` and `-shm` under the running gateway, whose acknowledged writes go with them. So an
    existing file is never opened here: only a file this call itself creates (O_EXCL, a new inode
    no connection can have open) is opened and closed. `_opening` keeps another thread of this
    process from connecting to the new file before that descriptor is closed.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one transaction: BEGIN IMMEDIATE, COMMIT, or ROLLBACK if it raises.

    Nested use (the connection is already in a transaction) opens a SAVEPOINT instead, so the
    block joins the caller's transaction: its writes commit or roll back with the caller's,
    and an exception in the block undoes only the block's own writes.
    """
    if conn.in_transaction:
        name = f"sp_{next(_savepoint_ids)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled everything back
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return

    # IMMEDIATE takes the write lock now (waiting up to busy_timeout), so a transaction that
    # reads and then writes never fails halfway with SQLITE_BUSY.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class Migration:
    """One migration file: its version, name, SQL and the checksum recorded when applied."""

    version: int
    name: str
    path: Path
    sql: str
    checksum: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in `directory`, in version order; versions must run 1, 2, 3… without gaps."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: a migration file must be named NNNN_<name>.sql")
        sql = path.read_text(encoding="utf-8")
        # Hash the text with normalised line ends, so a checkout with CRLF is not "changed".
        checksum = hashlib.sha256(sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()
        found.append(Migration(int(match[1]), match[2], path, sql, checksum))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"{migration.path.name}: expected migration version {expected:04d} here; "
                "versions must be unique and without gaps"
            )
    return found


def migrate(conn: sqlite3.Connection, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply every migration not yet applied, in order; return the versions applied."""
    migrations = load_migrations(directory)
    # Nothing here takes the write lock unless a migration is missing: an operator's command on
    # a busy gateway's database (`crossreturn admin …`) must not queue for it just to find the
    # schema up to date.
    if current_version(conn) == 0:
        conn.execute(_SCHEMA_MIGRATIONS)
    done = _check_applied(conn, migrations)

    applied: list[int] = []
    for migration in migrations:
        if migration.version in done:
            continue
        # Checked again under the write lock: another process may be migrating the same file.
        with transaction(conn):
            row = conn.execute(
                "SELECT name, checksum FROM schema_migrations WHERE version = ?",
                (migration.version,),
            ).fetchone()
            if row is not None:
                _check_same(migration, row["name"], row["checksum"])
                continue
            _apply(conn, migration)
        applied.append(migration.version)
    return applied


def current_version(conn: sqlite3.Connection) -> int:
    """The highest migration version applied to this database, 0 for an empty one."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if exists is None:
        return 0
    version = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    return int(version or 0)


def _check_applied(conn: sqlite3.Connection, migrations: list[Migration]) -> set[int]:
    """The versions already applied, each checked against its file."""
    known = {m.version: m for m in migrations}
    done: set[int] = set()
    for row in conn.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY 1"):
        done.add(row["version"])
        migration = known.get(row["version"])
        if migration is None:
            newest = max(known, default=0)
            raise MigrationError(
                f"the database has migration {row['version']:04d}_{row['name']}, which this "
                f"code does not know (it knows up to {newest:04d}): the database was migrated "
                "by a newer gateway; run that version or restore a matching backup"
            )
        _check_same(migration, row["name"], row["checksum"])
    return done


def _check_same(migration: Migration, name: str, checksum: str) -> None:
    if name != migration.name or checksum != migration.checksum:
        raise MigrationError(
            f"{migration.path.name} differs from the migration applied as version "
            f"{migration.version:04d} ({name}, checksum {checksum[:12]}…, file has "
            f"{migration.checksum[:12]}…); never edit an applied migration, add a new one"
        )


def _apply(conn: sqlite3.Connection, migration: Migration) -> None:
    # executescript() would commit our transaction first, so run the statements one by one.
    for number, statement in enumerate(_statements(migration), start=1):
        try:
            conn.execute(statement)
        except sqlite3.Error as exc:
            raise MigrationError(
                f"{migration.path.name}: statement {number} failed: {exc}\n{statement}"
            ) from exc
        if not conn.in_transaction:
            raise MigrationError(
                f"{migration.path.name}: statement {number} ended the transaction; a migration "
                "must not BEGIN, COMMIT or ROLLBACK (each one already runs in its own)"
            )
    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise MigrationError(
            f"{migration.path.name}: leaves {len(broken)} row(s) violating foreign keys, "
            f"first in table {broken[0][0]!r}"
        )
    conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
        (migration.version, migration.name, migration.checksum, utc_now()),
    )
    conn.execute(f"PRAGMA user_version = {migration.version}")  # for sqlite3 CLI users


def _statements(migration: Migration) -> Iterator[str]:
    """Split a migration into statements, using SQLite's own idea of a complete statement."""
    sql = migration.sql
    start = 0
    for end, char in enumerate(sql, start=1):
        if char == ";" and sqlite3.complete_statement(sql[start:end]):
            statement = sql[start:end].strip()
            start = end
            if statement != ";":
                yield statement
    if _strip_comments(sql[start:]):
        raise MigrationError(f"{migration.path.name}: the last statement has no closing ';'")


def _strip_comments(sql: str) -> str:
    without_block = re.sub(r"/\*.*?\*/", "", sql, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", "", without_block).strip()
