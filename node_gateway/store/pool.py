"""One SQLite connection per thread, for a server whose handlers run in a thread pool.

A connection must not carry two threads' transactions at once; WAL lets many connections read
while one writes, so each worker thread gets its own.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from node_gateway.store.db import migrate, open_db


class ThreadConnections:
    """Lazily opened per-thread connections to one migrated database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        migrate(self.get())

    def get(self) -> sqlite3.Connection:
        """This thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_db(self.path, check_same_thread=False)  # closed from any thread
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this pool opened."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
