"""The store's database: connection settings, transactions, migrations and the initial schema."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from node_gateway.store import (
    MIGRATIONS_DIR,
    MigrationError,
    StoreError,
    current_version,
    load_migrations,
    migrate,
    open_db,
    transaction,
    utc_now,
)

TABLES = {
    "schema_migrations",
    "vault_records",
    "outbox",
    "ledger_index",
    "index_checkpoint",
    "api_keys",
    "idempotency_keys",
    "anchored_roots",
    "batches",
    "batch_leaves",
    "disclosure_log",
    "tax_records",
    "case_documents",
    "returns_view",
    "cases_view",
    "tax_payments",
    "peer_nonces",
    "expected_goods",
    "case_declarations",
    "follow_retries",
    "peer_answers",
}
HASH = "0x" + "ab" * 32
OTHER_HASH = "0x" + "cd" * 32


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "gateway.db"


@pytest.fixture
def conn(db_path: Path) -> Iterator[sqlite3.Connection]:
    connection = open_db(db_path)
    yield connection
    connection.close()


@pytest.fixture
def migrated(conn: sqlite3.Connection) -> sqlite3.Connection:
    migrate(conn)
    return conn


def tmp_path_of(migrations: Path) -> Path:
    return migrations.parent


@pytest.fixture
def migrations(tmp_path: Path) -> Path:
    """A copy of the first real migration, for tests of the migration mechanism to extend."""
    copy = tmp_path / "migrations"
    copy.mkdir()
    shutil.copy(MIGRATIONS_DIR / "0001_initial.sql", copy)
    return copy


def tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0] for row in rows} - {"sqlite_sequence"}


def add_migration(directory: Path, name: str, sql: str) -> None:
    (directory / name).write_text(sql, encoding="utf-8")


# --- open_db -------------------------------------------------------------------------------


def test_open_db_creates_parent_dir_and_private_file(db_path: Path) -> None:
    conn = open_db(db_path)
    conn.close()
    assert db_path.is_file()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_open_db_tightens_mode_of_existing_file(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.touch(mode=0o644)
    open_db(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_open_db_sets_wal_full_sync_and_foreign_keys(conn: sqlite3.Connection) -> None:
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.isolation_level is None
    assert isinstance(conn.execute("SELECT 1 AS one").fetchone(), sqlite3.Row)


def test_open_db_wal_file_is_private(migrated: sqlite3.Connection, db_path: Path) -> None:
    wal = db_path.with_name(db_path.name + "-wal")
    assert wal.exists()
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600


def _deleted_files_open(path: Path) -> list[str]:
    """This process's descriptors of `path`'s database files that were deleted under it."""
    fd_dir = Path("/proc/self/fd")
    held = []
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(path)) and target.endswith("(deleted)"):
            held.append(target)
    return held


_OTHER_PROCESS = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("INSERT INTO index_checkpoint (name, block_number) VALUES ('admin', 1)")
conn.close()
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")
def test_open_db_again_keeps_the_wal_of_a_connection_in_use(
    migrated: sqlite3.Connection, db_path: Path
) -> None:
    """A second open in this process must not drop the first connection's POSIX locks: else
    another process (an operator's `crossreturn admin …`) closing its connection deletes -wal
    and -shm under the first, and what it commits afterwards is lost (issue: acknowledged means
    kept)."""
    insert_checkpoint(migrated, "before")
    open_db(db_path).close()  # e.g. the pool opening one more connection, then closing it
    second = open_db(db_path)  # and one it keeps
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS, str(db_path)], check=True, timeout=60)
    insert_checkpoint(migrated, "after")  # written by the gateway after the operator left
    insert_checkpoint(second, "second")
    assert _deleted_files_open(db_path) == []
    # A new process sees every write: nothing went into a WAL file nobody can reach any more.
    seen = subprocess.run(
        [sys.executable, "-c", _READ_CHECKPOINTS, str(db_path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert sorted(seen) == ["admin", "after", "before", "second"]
    second.close()


_READ_CHECKPOINTS = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(" ".join(r[0] for r in conn.execute("SELECT name FROM index_checkpoint")))
conn.close()
"""


# --- transaction ---------------------------------------------------------------------------


def insert_checkpoint(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("INSERT INTO index_checkpoint (name, block_number) VALUES (?, 0)", (name,))


def checkpoints(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM index_checkpoint")}


def test_transaction_commits(migrated: sqlite3.Connection, db_path: Path) -> None:
    with transaction(migrated):
        insert_checkpoint(migrated, "indexer")
        assert migrated.in_transaction
    assert not migrated.in_transaction
    other = open_db(db_path)
    assert checkpoints(other) == {"indexer"}
    other.close()


def test_transaction_rolls_back_on_exception(migrated: sqlite3.Connection) -> None:
    with pytest.raises(RuntimeError), transaction(migrated):
        insert_checkpoint(migrated, "indexer")
        raise RuntimeError("boom")
    assert not migrated.in_transaction
    assert checkpoints(migrated) == set()


def test_transaction_nested_joins_outer(migrated: sqlite3.Connection) -> None:
    with transaction(migrated):
        insert_checkpoint(migrated, "outer")
        with transaction(migrated):
            insert_checkpoint(migrated, "inner")
        with pytest.raises(RuntimeError), transaction(migrated):
            insert_checkpoint(migrated, "undone")
            raise RuntimeError("only the inner block is undone")
    assert checkpoints(migrated) == {"outer", "inner"}


def test_transaction_nested_rolls_back_with_outer(migrated: sqlite3.Connection) -> None:
    with pytest.raises(RuntimeError), transaction(migrated):
        with transaction(migrated):
            insert_checkpoint(migrated, "inner")
        raise RuntimeError("the outer transaction fails after the inner one finished")
    assert checkpoints(migrated) == set()


def test_transaction_takes_write_lock_at_begin(migrated: sqlite3.Connection, db_path: Path) -> None:
    other = open_db(db_path, busy_timeout_ms=50)
    with transaction(migrated):
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT count(*) FROM index_checkpoint").fetchone()[0] == 0
    other.close()


# --- migrate -------------------------------------------------------------------------------


def test_migrate_fresh_db_applies_all_and_creates_every_table(conn: sqlite3.Connection) -> None:
    versions = [m.version for m in load_migrations()]
    assert migrate(conn) == versions
    assert tables(conn) == TABLES
    assert current_version(conn) == versions[-1]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == versions[-1]
    row = conn.execute("SELECT * FROM schema_migrations WHERE version = 1").fetchone()
    assert row["name"] == "initial"
    assert row["checksum"] == load_migrations()[0].checksum
    assert row["applied_at"].endswith("Z")


def test_migrate_second_run_applies_nothing(conn: sqlite3.Connection, db_path: Path) -> None:
    migrate(conn)
    assert migrate(conn) == []
    reopened = open_db(db_path)
    assert migrate(reopened) == []
    reopened.close()


def test_migrate_of_an_up_to_date_database_needs_no_write_lock(
    migrated: sqlite3.Connection, db_path: Path
) -> None:
    """An operator's command opens a busy gateway's database: finding the schema up to date
    must not queue for the write lock (it failed "database is locked" under load)."""
    with transaction(migrated):  # the gateway holds the write lock
        other = open_db(db_path, busy_timeout_ms=0)
        try:
            assert migrate(other) == []
        finally:
            other.close()


def test_current_version_of_empty_db_is_zero(conn: sqlite3.Connection) -> None:
    assert current_version(conn) == 0


def test_migrate_applies_new_migrations_in_order(
    conn: sqlite3.Connection, migrations: Path
) -> None:
    assert migrate(conn, migrations) == [1]
    add_migration(migrations, "0003_second.sql", "ALTER TABLE first ADD COLUMN b TEXT;")
    add_migration(migrations, "0002_first.sql", "CREATE TABLE first (a TEXT);")
    assert migrate(conn, migrations) == [2, 3]
    columns = [row["name"] for row in conn.execute("PRAGMA table_info(first)")]
    assert columns == ["a", "b"]
    assert current_version(conn) == 3


def test_migrate_tampered_migration_raises(conn: sqlite3.Connection, migrations: Path) -> None:
    migrate(conn, migrations)
    initial = migrations / "0001_initial.sql"
    initial.write_text(initial.read_text() + "\nCREATE TABLE sneaky (x TEXT);\n")
    with pytest.raises(MigrationError, match="0001_initial.sql"):
        migrate(conn, migrations)
    assert "sneaky" not in tables(conn)


def test_migrate_crlf_checkout_is_not_tampering(conn: sqlite3.Connection, migrations: Path) -> None:
    migrate(conn, migrations)
    initial = migrations / "0001_initial.sql"
    initial.write_bytes(initial.read_bytes().replace(b"\n", b"\r\n"))
    assert migrate(conn, migrations) == []


def test_migrate_unknown_newer_version_raises(conn: sqlite3.Connection, migrations: Path) -> None:
    newer = len(load_migrations()) + 1
    full = tmp_path_of(migrations) / "all"
    shutil.copytree(MIGRATIONS_DIR, full)
    add_migration(full, f"{newer:04d}_newer.sql", "CREATE TABLE newer (a TEXT);")
    migrate(conn, full)
    with pytest.raises(MigrationError, match=f"{newer:04d}_newer.*newer gateway"):
        migrate(conn)  # the code does not know the newest one


def test_migrate_failing_migration_rolls_back_only_itself(
    conn: sqlite3.Connection, migrations: Path
) -> None:
    add_migration(migrations, "0002_good.sql", "CREATE TABLE good (a TEXT);")
    add_migration(migrations, "0003_bad.sql", "CREATE TABLE half (a TEXT);\nSELECT * FROM nowhere;")
    with pytest.raises(MigrationError, match="0003_bad.sql: statement 2 failed"):
        migrate(conn, migrations)
    assert current_version(conn) == 2
    assert "good" in tables(conn)
    assert "half" not in tables(conn)
    assert not conn.in_transaction


def test_migrate_refuses_migration_that_commits(conn: sqlite3.Connection, migrations: Path) -> None:
    add_migration(migrations, "0002_commits.sql", "CREATE TABLE x (a TEXT);\nCOMMIT;")
    with pytest.raises(MigrationError, match="ended the transaction"):
        migrate(conn, migrations)
    assert current_version(conn) == 1


def test_migrate_splits_triggers_strings_and_comments(
    conn: sqlite3.Connection, migrations: Path
) -> None:
    sql = """
        -- a comment; with a semicolon
        CREATE TABLE t (a TEXT DEFAULT 'x;y');  /* another; one */
        CREATE TRIGGER t_guard BEFORE DELETE ON t BEGIN
            SELECT RAISE(ABORT, 'no; deletes');
        END;
        INSERT INTO t DEFAULT VALUES;
        -- trailing comment
    """
    add_migration(migrations, "0002_tricky.sql", sql)
    assert migrate(conn, migrations) == [1, 2]
    assert conn.execute("SELECT a FROM t").fetchone()[0] == "x;y"
    with pytest.raises(sqlite3.IntegrityError, match="no; deletes"):
        conn.execute("DELETE FROM t")


def test_migrate_refuses_unterminated_statement(conn: sqlite3.Connection, migrations: Path) -> None:
    add_migration(migrations, "0002_open.sql", "CREATE TABLE x (a TEXT)")
    with pytest.raises(MigrationError, match="no closing ';'"):
        migrate(conn, migrations)


@pytest.mark.parametrize(
    "name", ["0003_gap.sql", "0001_duplicate.sql", "2_short.sql", "0002-x.sql"]
)
def test_load_migrations_refuses_bad_file_names(migrations: Path, name: str) -> None:
    add_migration(migrations, name, "SELECT 1;")
    with pytest.raises(MigrationError, match="migration"):
        load_migrations(migrations)


def test_migration_error_is_a_store_error() -> None:
    assert issubclass(MigrationError, StoreError)


# --- the initial schema --------------------------------------------------------------------


def now() -> str:
    return utc_now()


def add_outbox(conn: sqlite3.Connection, **columns: object) -> None:
    values: dict[str, object] = {
        "kind": "commitInspection",
        "payload": "{}",
        "created_at": now(),
        "updated_at": now(),
    }
    values.update(columns)
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO outbox ({names}) VALUES ({marks})", list(values.values()))


def test_outbox_status_must_be_known(migrated: sqlite3.Connection) -> None:
    add_outbox(migrated)
    assert migrated.execute("SELECT status FROM outbox").fetchone()[0] == "pending"
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        add_outbox(migrated, status="lost")


def test_outbox_account_nonce_is_unique(migrated: sqlite3.Connection) -> None:
    add_outbox(migrated, account="0xA", nonce=7)
    add_outbox(migrated, account="0xB", nonce=7)
    add_outbox(migrated)  # no nonce yet: any number of these
    add_outbox(migrated)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        add_outbox(migrated, account="0xA", nonce=7)


def test_outbox_sent_needs_account_nonce_and_hash(migrated: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        add_outbox(migrated, status="sent", account="0xA", nonce=1)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        add_outbox(migrated, status="confirmed", account="0xA", nonce=1, tx_hash=HASH)
    add_outbox(migrated, status="confirmed", account="0xA", nonce=1, tx_hash=HASH, block_number=3)


def test_outbox_payload_must_be_json(migrated: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        add_outbox(migrated, payload="{not json")


@pytest.mark.parametrize("bad", ["0x" + "AB" * 32, "ab" * 33, "0x" + "ab" * 31, "0x" + "zz" * 32])
def test_hex32_columns_refuse_malformed_values(migrated: sqlite3.Connection, bad: str) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        add_outbox(migrated, account="0xA", nonce=1, tx_hash=bad)


def add_event(conn: sqlite3.Connection, block: int, log: int, case_id: str | None) -> None:
    conn.execute(
        "INSERT INTO ledger_index (block_number, log_index, tx_hash, contract, event, case_id,"
        " return_id, args) VALUES (?, ?, ?, 'ReturnLedger', 'CaseOpened', ?, NULL, '{}')",
        (block, log, HASH, case_id),
    )


def test_ledger_index_key_is_block_and_log(migrated: sqlite3.Connection) -> None:
    add_event(migrated, 1, 0, HASH)
    add_event(migrated, 1, 1, None)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        add_event(migrated, 1, 0, OTHER_HASH)


@pytest.mark.parametrize(
    ("column", "index"),
    [("case_id", "ledger_index_by_case"), ("return_id", "ledger_index_by_return")],
)
def test_ledger_index_lookups_use_their_index(
    migrated: sqlite3.Connection, column: str, index: str
) -> None:
    plan = migrated.execute(
        f"EXPLAIN QUERY PLAN SELECT * FROM ledger_index WHERE {column} = ?"
        " ORDER BY block_number, log_index",
        (HASH,),
    ).fetchall()
    details = " ".join(row["detail"] for row in plan)
    assert f"USING INDEX {index}" in details
    assert "TEMP B-TREE" not in details


def test_api_key_role_must_be_known(migrated: sqlite3.Connection) -> None:
    sql = "INSERT INTO api_keys (key_id, key_hash, member_id, role, created_at) VALUES (?,?,?,?,?)"
    migrated.execute(sql, ("k1", "h1", "3100", "officer", now()))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        migrated.execute(sql, ("k2", "h2", "3100", "root", now()))


def test_idempotency_keys_are_scoped_per_member(migrated: sqlite3.Connection) -> None:
    sql = "INSERT INTO idempotency_keys (key, member_id, request_hash, created_at) VALUES (?,?,?,?)"
    migrated.execute(sql, ("same-key", "platform-a", "h", now()))
    migrated.execute(sql, ("same-key", "platform-b", "h", now()))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        migrated.execute(sql, ("same-key", "platform-a", "h", now()))


def test_batch_leaves_need_their_batch_and_vault_record(migrated: sqlite3.Connection) -> None:
    migrated.execute(
        "INSERT INTO batches (batch_id, kind, status, created_at) VALUES ('b1', 'tax', 'open', ?)",
        (now(),),
    )
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        migrated.execute(
            "INSERT INTO batch_leaves (batch_id, record_id, leaf) VALUES ('b1', 'missing', ?)",
            (HASH,),
        )


def test_vault_records_are_never_deleted(migrated: sqlite3.Connection) -> None:
    migrated.execute(
        "INSERT INTO vault_records VALUES ('r1', 'tax_assessment', 'k', ?, ?, ?, ?)",
        (bytes(12), bytes(16), now(), now()),
    )
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        migrated.execute("DELETE FROM vault_records")
    with pytest.raises(sqlite3.IntegrityError, match="keeps its record_id"):
        migrated.execute("UPDATE vault_records SET record_id = 'r2'")


def test_disclosure_log_is_append_only(migrated: sqlite3.Connection) -> None:
    migrated.execute(
        "INSERT INTO disclosure_log (case_id, requester, digest, fields, created_at)"
        " VALUES (?, '2900', ?, '[\"/lines\"]', ?)",
        (HASH, OTHER_HASH, now()),
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        migrated.execute("UPDATE disclosure_log SET requester = '3100'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        migrated.execute("DELETE FROM disclosure_log")
