"""Small private files the gateway keeps beside its database (keys, secrets, credentials),
written whole or not at all: a temporary file is written and synced, then renamed (or linked)
into place and the directory synced, so a crash never leaves an empty or half-written key that
stops the next start.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

POSIX = os.name == "posix"


def write_private(path: Path, content: bytes) -> None:
    """Write `path` (mode 0600) with `content`, replacing any earlier file atomically."""
    temporary = _write_temporary(path, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # never leave a copy of a secret behind
        raise
    fsync_dir(path.parent)


def create_private(path: Path, content: bytes) -> bool:
    """Create `path` (mode 0600) with `content` unless it exists; False (and `path` left as it
    is) when it does. Two processes creating the same file at once: one wins, whole."""
    temporary = _write_temporary(path, content)
    try:
        os.link(temporary, path)  # fails if `path` exists, unlike a rename
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    fsync_dir(path.parent)
    return True


def fsync_dir(directory: Path) -> None:
    """Make a rename or link in `directory` durable (a no-op where directories cannot be opened)."""
    if not POSIX:
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temporary(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if POSIX:
            os.fchmod(fd, 0o600)  # whatever the umask
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    return temporary
