"""The encrypted vault and its keyring: confidentiality, fail-closed integrity, rotation."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node_gateway.store import (
    Keyring,
    StoreError,
    Vault,
    VaultConflict,
    VaultIntegrityError,
    VaultKeyError,
    VaultKeyInUse,
    VaultRecordNotFound,
    migrate,
    open_db,
    transaction,
)
from node_gateway.store import keyring as keyring_module
from node_gateway.store.keyring import KEY_BYTES

REPO = Path(__file__).resolve().parents[2]
TAX = "tax_assessment"
NAME = "欧阳秀英"
ID_NUMBER = "33010619900307452X"
PHONE = "13957112345"
ADDRESS = "浙江省杭州市西湖区文三路478号华星时代广场A座1203室"
PERSONAL = (NAME, ID_NUMBER, PHONE, ADDRESS)


def tax_record(serial: int = 1) -> dict[str, Any]:
    """A tax assessment with personal data, nested lines and its salts, as the vault holds it."""
    return {
        "record": {
            "invtNo": f"31002026I{serial:09d}",
            "buyer": {"name": NAME, "idNumber": ID_NUMBER, "phone": PHONE, "address": ADDRESS},
            "lines": [
                {"gnum": 1, "name": "婴儿配方奶粉", "qty": 2, "price": "298.00"},
                {"gnum": 2, "name": "面霜", "qty": 1, "price": "520.50", "note": None},
            ],
            "taxTotal": "91.23",
            "released": True,
        },
        "salts": {"/buyer/name": "11" * 32, "/lines/0/gnum": "22" * 32},
    }


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "gateway.db"


@pytest.fixture
def conn(db_path: Path) -> Iterator[sqlite3.Connection]:
    connection = open_db(db_path)
    migrate(connection)
    yield connection
    connection.close()


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def keyring(key_dir: Path) -> Keyring:
    return Keyring.create(key_dir)


@pytest.fixture
def vault(conn: sqlite3.Connection, keyring: Keyring) -> Vault:
    return Vault(conn, keyring)


def set_column(conn: sqlite3.Connection, record_id: str, column: str, value: object) -> None:
    conn.execute(f"UPDATE vault_records SET {column} = ? WHERE record_id = ?", (value, record_id))


def column(conn: sqlite3.Connection, record_id: str, name: str) -> Any:
    row = conn.execute(f"SELECT {name} FROM vault_records WHERE record_id = ?", (record_id,))
    return row.fetchone()[0]


# --- round trip ----------------------------------------------------------------------------


def test_put_get_round_trips_chinese_and_nested_data(vault: Vault) -> None:
    record = tax_record()
    vault.put("rec-1", TAX, record)
    assert vault.get("rec-1") == record
    assert vault.doc_type("rec-1") == TAX


def test_put_get_round_trips_empty_record(vault: Vault) -> None:
    vault.put("empty", TAX, {})
    assert vault.get("empty") == {}


def test_get_survives_reopening_db_and_keyring(vault: Vault, db_path: Path, key_dir: Path) -> None:
    vault.put("rec-1", TAX, tax_record())
    vault.connection.close()
    reopened = open_db(db_path)
    assert Vault(reopened, Keyring.load(key_dir)).get("rec-1") == tax_record()
    reopened.close()


def test_exists_list_ids_and_count(vault: Vault) -> None:
    vault.put("b", TAX, tax_record(2))
    vault.put("a", TAX, tax_record(1))
    vault.put("c", "inspection_report", {"lines": []})
    assert vault.exists("a")
    assert not vault.exists("z")
    assert vault.list_ids() == ["a", "b", "c"]
    assert vault.list_ids(TAX) == ["a", "b"]
    assert vault.list_ids(after="a", limit=1) == ["b"]
    assert vault.count() == 3
    assert vault.count(TAX) == 2
    assert vault.count_by_key() == {vault.keyring.current: 3}


def test_get_missing_record_raises(vault: Vault) -> None:
    with pytest.raises(VaultRecordNotFound, match="nope") as caught:
        vault.get("nope")
    assert caught.value.record_id == "nope"
    with pytest.raises(VaultRecordNotFound):
        vault.doc_type("nope")


@pytest.mark.parametrize(
    ("record_id", "data", "error"),
    [
        ("", {}, ValueError),
        ("x" * 257, {}, ValueError),
        ("r", {"amount": float("nan")}, ValueError),
        ("r", {"when": object()}, TypeError),
        ("r", ["not", "an", "object"], TypeError),
    ],
)
def test_put_refuses_bad_input(vault: Vault, record_id: str, data: Any, error: type) -> None:
    with pytest.raises(error):
        vault.put(record_id, TAX, data)
    assert vault.count() == 0


# --- confidentiality -----------------------------------------------------------------------


def encodings(text: str) -> list[bytes]:
    return [text.encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be")]


def db_files(db_path: Path) -> bytes:
    files = [db_path, *(db_path.with_name(db_path.name + s) for s in ("-wal", "-shm"))]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_db_files_hold_no_plaintext_personal_data(vault: Vault, db_path: Path) -> None:
    for serial in range(20):
        vault.put(f"rec-{serial}", TAX, tax_record(serial))
    assert db_path.with_name(db_path.name + "-wal").stat().st_size > 0
    while_open = db_files(db_path)
    vault.connection.close()  # checkpoints the WAL into the main file
    after_close = db_files(db_path)

    for content in (while_open, after_close):
        for value in PERSONAL:
            for needle in encodings(value):
                assert needle not in content, f"{value!r} found in the database files"


def test_plaintext_scan_finds_unencrypted_data(tmp_path: Path) -> None:
    """Control: the scan above does find the same data when it is stored in the clear."""
    path = tmp_path / "clear.db"
    clear = open_db(path)
    clear.execute("CREATE TABLE t (utf8 TEXT, utf16 BLOB)")
    clear.execute("INSERT INTO t VALUES (?, ?)", (repr(tax_record()), ADDRESS.encode("utf-16-le")))
    content = db_files(path)
    clear.close()
    for value in PERSONAL:
        assert value.encode("utf-8") in content
    assert ADDRESS.encode("utf-16-le") in content


def test_identical_records_get_distinct_nonces_and_ciphertexts(
    vault: Vault, conn: sqlite3.Connection
) -> None:
    vault.put("a", TAX, tax_record())
    vault.put("b", TAX, tax_record())
    assert column(conn, "a", "nonce") != column(conn, "b", "nonce")
    assert column(conn, "a", "ciphertext") != column(conn, "b", "ciphertext")


# --- integrity: fail closed ----------------------------------------------------------------


def test_get_with_other_keyring_raises_integrity_error(
    vault: Vault, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    vault.put("rec-1", TAX, tax_record())
    other = Vault(conn, Keyring.create(tmp_path / "other-keys"))
    with pytest.raises(VaultIntegrityError, match="rec-1.*does not hold") as caught:
        other.get("rec-1")
    assert caught.value.record_id == "rec-1"


def test_get_with_different_key_under_same_id_raises_integrity_error(
    vault: Vault, conn: sqlite3.Connection, keyring: Keyring, tmp_path: Path
) -> None:
    vault.put("rec-1", TAX, tax_record())
    impostor = tmp_path / "impostor"
    impostor.mkdir(mode=0o700)
    key_file = impostor / f"key-{keyring.current}.bin"
    key_file.write_bytes(os.urandom(KEY_BYTES))
    key_file.chmod(0o600)
    (impostor / "current").write_text(keyring.current + "\n")
    with pytest.raises(VaultIntegrityError, match="rec-1.*authentication"):
        Vault(conn, Keyring.load(impostor)).get("rec-1")


@pytest.mark.parametrize("position", [0, 100, -17, -1], ids=["first", "middle", "last", "tag"])
def test_get_flipped_ciphertext_byte_raises(
    vault: Vault, conn: sqlite3.Connection, position: int
) -> None:
    vault.put("rec-1", TAX, tax_record())
    ciphertext = bytearray(column(conn, "rec-1", "ciphertext"))
    ciphertext[position] ^= 0x01
    set_column(conn, "rec-1", "ciphertext", bytes(ciphertext))
    with pytest.raises(VaultIntegrityError, match="rec-1"):
        vault.get("rec-1")


def test_get_flipped_nonce_byte_raises(vault: Vault, conn: sqlite3.Connection) -> None:
    vault.put("rec-1", TAX, tax_record())
    nonce = bytearray(column(conn, "rec-1", "nonce"))
    nonce[5] ^= 0x80
    set_column(conn, "rec-1", "nonce", bytes(nonce))
    with pytest.raises(VaultIntegrityError, match="rec-1"):
        vault.get("rec-1")


@pytest.mark.parametrize("keep", [-1, -16, 16], ids=["last-byte", "tag", "tag-only"])
def test_get_truncated_ciphertext_raises(vault: Vault, conn: sqlite3.Connection, keep: int) -> None:
    vault.put("rec-1", TAX, tax_record())
    set_column(conn, "rec-1", "ciphertext", column(conn, "rec-1", "ciphertext")[:keep])
    with pytest.raises(VaultIntegrityError, match="rec-1"):
        vault.get("rec-1")


def test_get_swapped_rows_raises_for_both(vault: Vault, conn: sqlite3.Connection) -> None:
    vault.put("rec-1", TAX, tax_record(1))
    vault.put("rec-2", TAX, tax_record(2))
    one = [column(conn, "rec-1", c) for c in ("nonce", "ciphertext")]
    two = [column(conn, "rec-2", c) for c in ("nonce", "ciphertext")]
    conn.execute(
        "UPDATE vault_records SET nonce = ?, ciphertext = ? WHERE record_id = 'rec-1'", two
    )
    conn.execute(
        "UPDATE vault_records SET nonce = ?, ciphertext = ? WHERE record_id = 'rec-2'", one
    )
    for record_id in ("rec-1", "rec-2"):
        with pytest.raises(VaultIntegrityError, match=record_id):
            vault.get(record_id)


def test_get_relabelled_doc_type_raises(vault: Vault, conn: sqlite3.Connection) -> None:
    vault.put("rec-1", TAX, tax_record())
    conn.execute("DROP TRIGGER vault_records_identity_fixed")  # an attacker with the file could
    set_column(conn, "rec-1", "doc_type", "inspection_report")
    with pytest.raises(VaultIntegrityError, match="rec-1"):
        vault.get("rec-1")


def test_get_relabelled_key_id_raises(
    vault: Vault, conn: sqlite3.Connection, keyring: Keyring
) -> None:
    vault.put("rec-1", TAX, tax_record())
    old = keyring.current
    keyring.rotate()
    # Same key bytes would be needed to decrypt; relabelling alone must already fail.
    set_column(conn, "rec-1", "key_id", keyring.current)
    with pytest.raises(VaultIntegrityError, match="rec-1"):
        vault.get("rec-1")
    set_column(conn, "rec-1", "key_id", old)
    assert vault.get("rec-1") == tax_record()


def test_get_text_instead_of_blob_raises(vault: Vault, conn: sqlite3.Connection) -> None:
    vault.put("rec-1", TAX, tax_record())
    conn.execute("PRAGMA ignore_check_constraints = ON")
    set_column(conn, "rec-1", "ciphertext", "plain text pretending" * 2)
    with pytest.raises(VaultIntegrityError, match="rec-1.*blob"):
        vault.get("rec-1")


def test_vault_errors_share_the_store_root() -> None:
    for error in (VaultIntegrityError, VaultRecordNotFound, VaultConflict, VaultKeyInUse):
        assert issubclass(error, StoreError)


# --- idempotency and transactions ----------------------------------------------------------


def test_put_identical_record_again_is_a_no_op(vault: Vault, conn: sqlite3.Connection) -> None:
    vault.put("rec-1", TAX, tax_record())
    before = conn.execute("SELECT * FROM vault_records").fetchall()
    reordered = dict(reversed(list(tax_record().items())))
    vault.put("rec-1", TAX, reordered)
    assert conn.execute("SELECT * FROM vault_records").fetchall() == before


def test_put_different_content_under_same_id_conflicts(vault: Vault) -> None:
    vault.put("rec-1", TAX, tax_record(1))
    with pytest.raises(VaultConflict, match="rec-1"):
        vault.put("rec-1", TAX, tax_record(2))
    with pytest.raises(VaultConflict, match="rec-1"):
        vault.put("rec-1", "inspection_report", tax_record(1))
    assert vault.get("rec-1") == tax_record(1)


def test_put_over_damaged_row_raises_integrity_error(
    vault: Vault, conn: sqlite3.Connection
) -> None:
    vault.put("rec-1", TAX, tax_record())
    set_column(conn, "rec-1", "ciphertext", column(conn, "rec-1", "ciphertext")[:-1])
    with pytest.raises(VaultIntegrityError):
        vault.put("rec-1", TAX, tax_record())


def test_put_joins_callers_transaction(vault: Vault, conn: sqlite3.Connection) -> None:
    with pytest.raises(RuntimeError), transaction(conn):
        vault.put("rec-1", TAX, tax_record())
        assert vault.exists("rec-1")
        raise RuntimeError("the request fails after the vault write")
    assert not vault.exists("rec-1")

    with transaction(conn):
        vault.put("rec-1", TAX, tax_record())
        conn.execute(
            "INSERT INTO outbox (kind, payload, created_at, updated_at) VALUES ('x', '{}', '', '')"
        )
    assert vault.exists("rec-1")


def test_put_conflict_inside_transaction_keeps_earlier_writes(
    vault: Vault, conn: sqlite3.Connection
) -> None:
    vault.put("rec-1", TAX, tax_record(1))
    with transaction(conn):
        vault.put("rec-2", TAX, tax_record(2))
        with pytest.raises(VaultConflict):
            vault.put("rec-1", TAX, tax_record(3))
    assert vault.list_ids() == ["rec-1", "rec-2"]


# --- keyring -------------------------------------------------------------------------------


def test_keyring_create_writes_private_key_and_current(key_dir: Path) -> None:
    keyring = Keyring.create(key_dir)
    key_file = key_dir / f"key-{keyring.current}.bin"
    assert key_file.read_bytes() != bytes(KEY_BYTES)
    assert len(key_file.read_bytes()) == KEY_BYTES
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert (key_dir / "current").read_text().strip() == keyring.current
    assert Keyring.load(key_dir).key_ids == (keyring.current,)


def test_keyring_repr_hides_key_material(keyring: Keyring, key_dir: Path) -> None:
    key = (key_dir / f"key-{keyring.current}.bin").read_bytes()
    assert key.hex() not in repr(keyring)
    assert repr(key) not in repr(keyring)
    assert keyring.current in repr(keyring)


def test_keyring_create_refuses_existing_keyring(keyring: Keyring, key_dir: Path) -> None:
    with pytest.raises(VaultKeyError, match="already holds a keyring"):
        Keyring.create(key_dir)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_keyring_load_refuses_key_readable_by_others(
    keyring: Keyring, key_dir: Path, mode: int
) -> None:
    (key_dir / f"key-{keyring.current}.bin").chmod(mode)
    with pytest.raises(VaultKeyError, match="chmod 600"):
        Keyring.load(key_dir)


def test_keyring_load_accepts_read_only_key(keyring: Keyring, key_dir: Path) -> None:
    (key_dir / f"key-{keyring.current}.bin").chmod(0o400)
    assert Keyring.load(key_dir).current == keyring.current


def test_keyring_load_refuses_dir_writable_by_others(keyring: Keyring, key_dir: Path) -> None:
    key_dir.chmod(0o777)
    with pytest.raises(VaultKeyError, match="writable by group or others"):
        Keyring.load(key_dir)


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_keyring_load_refuses_wrong_size_key(keyring: Keyring, key_dir: Path, size: int) -> None:
    (key_dir / f"key-{keyring.current}.bin").write_bytes(os.urandom(size))
    with pytest.raises(VaultKeyError, match=f"holds {size} bytes"):
        Keyring.load(key_dir)


def test_keyring_load_refuses_missing_current_key(keyring: Keyring, key_dir: Path) -> None:
    (key_dir / f"key-{keyring.current}.bin").unlink()
    with pytest.raises(VaultKeyError, match="has no key-"):
        Keyring.load(key_dir)


def test_keyring_load_refuses_missing_current_file(keyring: Keyring, key_dir: Path) -> None:
    (key_dir / "current").unlink()
    with pytest.raises(VaultKeyError, match="current.*missing"):
        Keyring.load(key_dir)


def test_keyring_load_refuses_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(VaultKeyError, match="does not exist"):
        Keyring.load(tmp_path / "nowhere")


# --- rotation ------------------------------------------------------------------------------


def put_many(vault: Vault, prefix: str, count: int) -> None:
    for serial in range(count):
        vault.put(f"{prefix}-{serial:03d}", TAX, tax_record(serial))


def assert_all_readable(vault: Vault) -> None:
    for record_id in vault.list_ids():
        serial = int(record_id.rsplit("-", 1)[1])
        assert vault.get(record_id) == tax_record(serial)


def test_rotate_reencrypt_and_retire(vault: Vault, keyring: Keyring, key_dir: Path) -> None:
    put_many(vault, "old", 50)
    old = keyring.current
    new = keyring.rotate()
    assert new != old
    assert keyring.current == new
    assert (key_dir / "current").read_text().strip() == new
    put_many(vault, "new", 10)
    assert vault.count_by_key() == {old: 50, new: 10}
    assert_all_readable(vault)  # old records stay readable before re-encryption

    with pytest.raises(VaultKeyInUse, match="50 vault record") as caught:
        keyring.retire(old, vault)
    assert caught.value.records == 50
    assert (key_dir / f"key-{old}.bin").exists()

    assert vault.reencrypt_all(batch_size=7) == 50
    assert vault.reencrypt_all(batch_size=7) == 0
    assert vault.count_by_key() == {new: 60}
    assert_all_readable(vault)

    retired = keyring.retire(old, vault)
    assert retired == key_dir / "retired" / f"key-{old}.bin"
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    assert not (key_dir / f"key-{old}.bin").exists()
    assert old not in keyring
    reloaded = Keyring.load(key_dir)
    assert reloaded.key_ids == (new,)
    assert_all_readable(Vault(vault.connection, reloaded))


def test_running_keyring_follows_rotation_and_retirement_by_another_process(
    vault: Vault, keyring: Keyring, key_dir: Path, db_path: Path
) -> None:
    """The gateway's keyring (`keyring`) while an operator's command (its own keyring and
    connection) rotates, re-encrypts and retires: the gateway seals new records under the new
    key at once, reads the rows re-encrypted under a key it never loaded, and the old key can
    be retired because nothing new is sealed under it."""
    put_many(vault, "old", 5)
    old = keyring.current
    operator_conn = open_db(db_path)
    try:
        operator = Keyring.load(key_dir)
        new = operator.rotate()
        operator_vault = Vault(operator_conn, operator)
        assert operator_vault.reencrypt_all() == 5
        assert_all_readable(vault)  # rows under a key the gateway had not loaded yet
        put_many(vault, "new", 3)  # the gateway's next writes
        assert keyring.current == new
        assert vault.count_by_key() == {new: 8}
        operator.retire(old, operator_vault)
    finally:
        operator_conn.close()
    put_many(vault, "later", 2)
    assert_all_readable(vault)
    assert vault.count_by_key() == {new: 10}
    assert_all_readable(Vault(vault.connection, Keyring.load(key_dir)))  # after a restart too


def test_keyring_refresh_is_a_no_op_until_current_changes(keyring: Keyring, key_dir: Path) -> None:
    assert keyring.refresh() is False
    Keyring.load(key_dir).rotate()
    assert keyring.refresh() is True
    assert keyring.refresh() is False
    assert keyring.current == (key_dir / "current").read_text().strip()


def test_keyring_load_skips_a_key_retired_while_it_lists_the_directory(
    keyring: Keyring, key_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's `--retire-old` may move a key away between the gateway's listing and its
    read of the file: the reload goes on without it (it holds no record), no 500."""
    old = keyring.current
    Keyring.load(key_dir).rotate()
    real_key_files = keyring_module._key_files

    def listing_then_retire(directory: Path) -> list[tuple[str, Path]]:
        listed = real_key_files(directory)
        (directory / f"key-{old}.bin").unlink()
        return listed

    monkeypatch.setattr(keyring_module, "_key_files", listing_then_retire)
    reloaded = Keyring.load(key_dir)
    assert old not in reloaded and reloaded.current != old


def test_keyring_open_finishes_a_first_start_stopped_before_current(key_dir: Path) -> None:
    created = Keyring.create(key_dir)
    (key_dir / "current").unlink()  # stopped between writing the key and naming it current
    assert Keyring.open(key_dir).current == created.current


def test_keyring_open_creates_on_first_start_and_loads_after(key_dir: Path) -> None:
    first = Keyring.open(key_dir)
    assert Keyring.open(key_dir).key_ids == first.key_ids


def test_keyring_open_does_not_guess_between_several_keys(key_dir: Path) -> None:
    Keyring.create(key_dir).rotate()
    (key_dir / "current").unlink()
    with pytest.raises(VaultKeyError, match="current"):
        Keyring.open(key_dir)


def test_retire_current_or_unknown_key_refused(vault: Vault, keyring: Keyring) -> None:
    with pytest.raises(VaultKeyError, match="current key"):
        keyring.retire(keyring.current, vault)
    with pytest.raises(VaultKeyError, match="not in the keyring"):
        keyring.retire("nope", vault)


def test_reencrypt_keeps_identity_and_refreshes_nonce(
    vault: Vault, conn: sqlite3.Connection, keyring: Keyring
) -> None:
    vault.put("rec-1", TAX, tax_record())
    before = conn.execute("SELECT * FROM vault_records").fetchone()
    keyring.rotate()
    assert vault.reencrypt_all() == 1
    after = conn.execute("SELECT * FROM vault_records").fetchone()
    assert (after["record_id"], after["doc_type"], after["created_at"]) == (
        before["record_id"],
        before["doc_type"],
        before["created_at"],
    )
    assert after["nonce"] != before["nonce"]
    assert after["key_id"] == keyring.current


def test_reencrypt_refuses_damaged_row(
    vault: Vault, conn: sqlite3.Connection, keyring: Keyring
) -> None:
    put_many(vault, "old", 3)
    old = keyring.current
    ciphertext = bytearray(column(conn, "old-001", "ciphertext"))
    ciphertext[3] ^= 0xFF
    set_column(conn, "old-001", "ciphertext", bytes(ciphertext))
    keyring.rotate()
    with pytest.raises(VaultIntegrityError, match="old-001"):
        vault.reencrypt_all(batch_size=10)
    # The batch rolled back: the damaged row was not laundered under the new key.
    assert vault.count_by_key() == {old: 3}


class SimulatedCrash(Exception):
    pass


def test_reencrypt_crash_midway_leaves_all_readable_and_resumes(
    vault: Vault, keyring: Keyring, db_path: Path, key_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_many(vault, "old", 50)
    old = keyring.current
    new = keyring.rotate()
    seal = vault._seal
    calls = 0

    def crash_in_second_batch(record_id: str, doc_type: str, plaintext: bytes) -> Any:
        nonlocal calls
        calls += 1
        if calls == 15:  # batch 1 (10 rows) committed, batch 2 halfway
            raise SimulatedCrash
        return seal(record_id, doc_type, plaintext)

    monkeypatch.setattr(vault, "_seal", crash_in_second_batch)
    with pytest.raises(SimulatedCrash):
        vault.reencrypt_all(batch_size=10)
    assert vault.count_by_key() == {new: 10, old: 40}
    vault.connection.close()

    restarted = open_db(db_path)
    resumed = Vault(restarted, Keyring.load(key_dir))
    assert_all_readable(resumed)
    assert resumed.reencrypt_all(batch_size=10) == 40
    assert resumed.count_by_key() == {new: 50}
    assert_all_readable(resumed)
    restarted.close()


def test_reencrypt_killed_process_midway_resumes(
    vault: Vault, keyring: Keyring, db_path: Path, key_dir: Path
) -> None:
    """A real crash: the process dies (no rollback, no checkpoint) in the middle of batch 3."""
    put_many(vault, "old", 30)
    old = keyring.current
    new = keyring.rotate()
    vault.connection.close()
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from node_gateway.store import Keyring, Vault, open_db

        vault = Vault(open_db(Path({str(db_path)!r})), Keyring.load(Path({str(key_dir)!r})))
        seal, calls = vault._seal, [0]

        def dying_seal(*args):
            calls[0] += 1
            if calls[0] == 25:
                os._exit(86)
            return seal(*args)

        vault._seal = dying_seal
        vault.reencrypt_all(batch_size=10)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, timeout=60)
    assert result.returncode == 86

    restarted = open_db(db_path)
    resumed = Vault(restarted, Keyring.load(key_dir))
    assert resumed.count_by_key() == {new: 20, old: 10}
    assert_all_readable(resumed)
    assert resumed.reencrypt_all() == 10
    assert resumed.count_by_key() == {new: 30}
    restarted.close()


def test_reencrypt_refuses_zero_batch(vault: Vault) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        vault.reencrypt_all(batch_size=0)
