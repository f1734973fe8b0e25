"""Keystores: create (mode 0600, never overwriting), open (clear refusals), sign with the
unlocked account exactly as with the raw key, and the `platform keystore create` command with
its password sources (never argv)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from clients.applications import application_body
from clients.cli.common import EXIT_AUTH, EXIT_USAGE, read_password
from clients.cli.platform import platform
from clients.errors import InputFileError, KeystoreError
from clients.keystore import create_keystore, load_account
from clients.records.samples import sample_return_application, sample_tax_assessment
from clients.signing import ReturnApplicationTerms, recover_applicant, sign_return_application

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ADDRESS = Account.from_key(KEY).address
FAST = 2  # scrypt work factor for tests only
LEDGER = "0x" + "12" * 20


def test_create_keystore_then_load_gives_the_account(tmp_path: Path) -> None:
    path = tmp_path / "me.json"
    address = create_keystore(path, "s3cret", KEY, iterations=FAST)
    assert address == ADDRESS
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["version"] == 3 and KEY.hex() not in path.read_text()
    account = load_account(path, "s3cret")
    assert account.address == ADDRESS and bytes(account.key) == KEY


def test_create_keystore_without_key_makes_a_new_one(tmp_path: Path) -> None:
    first = create_keystore(tmp_path / "a.json", "pw", iterations=FAST)
    second = create_keystore(tmp_path / "b.json", "pw", iterations=FAST)
    assert first != second
    assert load_account(tmp_path / "a.json", "pw").address == first


def test_create_keystore_existing_file_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "me.json"
    path.write_text("precious")
    with pytest.raises(KeystoreError, match="refusing to overwrite"):
        create_keystore(path, "pw", KEY, iterations=FAST)
    assert path.read_text() == "precious"


def test_create_keystore_empty_password_refused(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="non-empty password"):
        create_keystore(tmp_path / "me.json", "", KEY, iterations=FAST)
    assert not (tmp_path / "me.json").exists()


def test_create_keystore_bad_key_refused(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="not a usable private key"):
        create_keystore(tmp_path / "me.json", "pw", b"\x00" * 31, iterations=FAST)
    assert not (tmp_path / "me.json").exists()


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    path = tmp_path / "me.json"
    create_keystore(path, "right", KEY, iterations=FAST)
    return path


def test_load_account_wrong_password_refused(keystore: Path) -> None:
    with pytest.raises(KeystoreError, match="wrong password") as caught:
        load_account(keystore, "wrong")
    assert str(keystore) in str(caught.value)


def test_load_account_missing_file_refused(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="no such keystore file"):
        load_account(tmp_path / "absent.json", "pw")


def test_load_account_directory_refused(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="is a directory"):
        load_account(tmp_path, "pw")


def test_load_account_unreadable_file_refused(
    keystore: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chmod 0 does not stop root (CI runs as root), so the read itself is made to fail.
    def denied(*_args: object, **_kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", denied)
    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(KeystoreError, match="cannot read"):
        load_account(keystore, "right")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", "expected v3 keystore JSON"),
        ('{"version": 3}', "expected v3 keystore JSON"),
        ('{"version": 1, "crypto": {}}', "expected v3 keystore JSON"),
    ],
)
def test_load_account_not_a_keystore_refused(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(KeystoreError, match=reason):
        load_account(path, "pw")


def test_load_account_damaged_keystore_refused(keystore: Path) -> None:
    data = json.loads(keystore.read_text())
    del data["crypto"]["kdf"]
    keystore.write_text(json.dumps(data))
    with pytest.raises(KeystoreError, match="not a usable keystore"):
        load_account(keystore, "right")


# ---------------------------------------------------------------------- signing


def _terms() -> ReturnApplicationTerms:
    return ReturnApplicationTerms(
        return_id=b"\x01" * 32,
        case_id=b"\x02" * 32,
        origin_area=b"\x03" * 32,
        line_mask=3,
        pieces=(1, 2),
        application_digest=b"\x04" * 32,
        return_centre=b"\x05" * 32,
        deadline=2_000_000_000,
    )


def test_sign_with_account_same_as_with_raw_key(keystore: Path) -> None:
    account = load_account(keystore, "right")
    by_account = sign_return_application(_terms(), account, 31337, LEDGER)
    assert by_account == sign_return_application(_terms(), KEY, 31337, LEDGER)
    assert recover_applicant(_terms(), by_account, 31337, LEDGER) == ADDRESS


def test_application_body_with_account_same_as_with_raw_key(keystore: Path) -> None:
    assessment = sample_tax_assessment(7, "3100")
    record = sample_return_application(assessment, gnums=[1])
    case = {
        "header": {"caseId": "0x" + "aa" * 32, "originArea": "0x" + "bb" * 32},
        "root": "0x" + "cc" * 32,
        "proof": [],
        "eip712": {"chainId": 31337, "verifyingContract": LEDGER},
    }
    centre, rid = "0x" + "dd" * 32, "0x" + "ee" * 32
    raw = application_body(case, record, centre, KEY, 2_000_000_000, rid)
    account = load_account(keystore, "right")
    unlocked = application_body(case, record, centre, account, 2_000_000_000, rid)
    # Fresh salts give another digest, so compare what each signature recovers to.
    for body in (raw, unlocked):
        t = body["terms"]
        terms = ReturnApplicationTerms(
            bytes.fromhex(t["returnId"][2:]),
            bytes.fromhex(t["caseId"][2:]),
            bytes.fromhex(t["originArea"][2:]),
            t["lineMask"],
            tuple(t["pieces"]),
            bytes.fromhex(t["applicationDigest"][2:]),
            bytes.fromhex(t["returnCentre"][2:]),
            t["deadline"],
        )
        signature = bytes.fromhex(body["signature"][2:])
        assert recover_applicant(terms, signature, 31337, LEDGER) == ADDRESS


# ---------------------------------------------------------------------- password sources


def test_read_password_from_file_first_line(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("first line\nsecond\n")
    assert read_password(path) == "first line"


def test_read_password_empty_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("\n")
    with pytest.raises(InputFileError, match="empty"):
        read_password(path)


def test_read_password_missing_file_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read"):
        read_password(tmp_path / "absent")


def test_read_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSRETURN_KEYSTORE_PASSWORD", "from-env")
    assert read_password(None) == "from-env"


# ---------------------------------------------------------------------- the CLI


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("CROSSRETURN_KEYSTORE_PASSWORD", raising=False)
    return CliRunner()


def test_keystore_create_from_key_file_with_password_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    key_file, pw_file, out = tmp_path / "demo.key", tmp_path / "pw", tmp_path / "ks.json"
    key_file.write_text(KEY.hex() + "\n")
    pw_file.write_text("pw-from-file\n")
    args = ["keystore", "create", "--out", str(out), "--from-key-file", str(key_file)]
    result = runner.invoke(platform, [*args, "--password-file", str(pw_file), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"keystore": str(out), "address": ADDRESS}
    assert load_account(out, "pw-from-file").address == ADDRESS
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_keystore_create_prompts_twice_for_a_hidden_password(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "ks.json"
    typed = "hunter2-secret\nhunter2-secret\n"
    result = runner.invoke(platform, ["keystore", "create", "--out", str(out)], input=typed)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Keystore password") == 1
    assert "Repeat for confirmation" in result.stderr
    assert "hunter2" not in result.output  # hidden: nothing typed is echoed
    address = load_account(out, "hunter2-secret").address
    assert address in result.stdout


def test_keystore_create_existing_out_refused(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "ks.json"
    out.write_text("{}")
    result = runner.invoke(platform, ["keystore", "create", "--out", str(out)], input="pw\npw\n")
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.strip().splitlines() == [
        f"error: {out} exists; refusing to overwrite a keystore"
    ]
    assert out.read_text() == "{}"


@pytest.mark.parametrize(
    ("content", "reason"),
    [("zz" * 32, "not a hex private key"), ("ab" * 31, "32 bytes, this one 31")],
)
def test_keystore_create_bad_key_file_refused(
    runner: CliRunner, tmp_path: Path, content: str, reason: str
) -> None:
    key_file, out = tmp_path / "bad.key", tmp_path / "ks.json"
    key_file.write_text(content)
    args = ["keystore", "create", "--out", str(out), "--from-key-file", str(key_file)]
    result = runner.invoke(platform, args, input="pw\npw\n")
    assert result.exit_code == EXIT_USAGE
    assert len(result.stderr.strip().splitlines()) == 1 and reason in result.stderr
    assert not out.exists()


def test_keystore_create_has_no_password_option(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "ks.json"
    result = runner.invoke(
        platform, ["keystore", "create", "--out", str(out), "--password", "in-argv"]
    )
    assert result.exit_code == EXIT_USAGE and "No such option" in result.stderr
    assert not out.exists()


def test_keystore_error_maps_to_auth_exit_code(keystore: Path) -> None:
    from clients.cli.common import exit_code

    with pytest.raises(KeystoreError) as caught:
        load_account(keystore, "wrong")
    assert exit_code(caught.value) == EXIT_AUTH
