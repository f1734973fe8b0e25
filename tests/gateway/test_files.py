"""Private files beside the database: written whole or not at all, mode 0600, never over a key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from node_gateway.store.files import create_private, write_private


def test_create_private_writes_once_and_never_over_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "secret.bin"
    assert create_private(path, b"first") is True
    assert create_private(path, b"second") is False
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret.bin"]  # no temporaries


def test_write_private_replaces_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_private(path, b"new content")
    assert path.read_bytes() == b"new content"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_crash_while_writing_leaves_no_empty_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that dies half-way leaves neither the key file nor a temporary behind, so the
    next start creates the key instead of failing on an empty one."""
    path = tmp_path / "account.key"

    def dying_write(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", dying_write)
    with pytest.raises(OSError, match="No space"):
        create_private(path, b"k" * 32)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    assert create_private(path, b"k" * 32) is True


def test_mode_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        create_private(tmp_path / "a", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o600


def test_write_private_that_cannot_replace_leaves_no_copy_behind(tmp_path: Path) -> None:
    target = tmp_path / "creds.json"
    target.mkdir()  # a directory where the file should go: the rename fails
    with pytest.raises(OSError):
        write_private(target, b"secret")
    assert [p.name for p in tmp_path.iterdir()] == ["creds.json"]
