"""`crossreturn admin rotate-vault-key`: a new current key, every record re-encrypted and still
readable, old keys retired on request; bad input is one line and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from node_gateway.cli.main import main
from node_gateway.store import Keyring, Vault, migrate, open_db


def _vault(tmp_path: Path) -> tuple[Path, Path, str]:
    db, keys = tmp_path / "gateway.db", tmp_path / "keys"
    keyring = Keyring.create(keys)
    conn = open_db(db)
    migrate(conn)
    vault = Vault(conn, keyring)
    for i in range(7):
        vault.put(f"rec-{i}", "tax_assessment", {"n": i, "buyer": "张三"})
    conn.close()
    return db, keys, keyring.current


def test_rotate_vault_key_reencrypts_and_retires(tmp_path: Path) -> None:
    db, keys, old = _vault(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "admin",
            "rotate-vault-key",
            "--db",
            str(db),
            "--keys-dir",
            str(keys),
            "--retire-old",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["reencrypted"] == 7 and out["retired"] == [old] and out["currentKey"] != old
    keyring = Keyring.load(keys)
    assert keyring.key_ids == (out["currentKey"],)
    assert (keys / "retired" / f"key-{old}.bin").exists()
    conn = open_db(db)
    vault = Vault(conn, keyring)
    assert vault.count_by_key() == {out["currentKey"]: 7}
    assert vault.get("rec-3") == {"n": 3, "buyer": "张三"}
    conn.close()


def test_rotate_vault_key_without_keyring_fails_cleanly(tmp_path: Path) -> None:
    db, _, _ = _vault(tmp_path)
    result = CliRunner().invoke(
        main, ["admin", "rotate-vault-key", "--db", str(db), "--keys-dir", str(tmp_path / "no")]
    )
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")
