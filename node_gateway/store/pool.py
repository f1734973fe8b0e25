"""SQLite connections for a server whose handlers run in a thread pool.

A connection must not carry two requests' transactions at once; WAL lets many connections read
while one writes. Background workers keep one connection per thread (`get`); an API request
checks one out for its whole life (`checkout` / `checkin`), because FastAPI may run a request's
dependencies and its handler in different threads of its pool.
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
        self._idle: list[sqlite3.Connection] = []
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

    def checkout(self) -> sqlite3.Connection:
        """A connection for one request alone (an idle one, or a new one)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        conn = open_db(self.path, check_same_thread=False)
        with self._lock:
            self._all.append(conn)
        return conn

    def checkin(self, conn: sqlite3.Connection) -> None:
        """Return a request's connection; anything it left open is rolled back."""
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        """Close every connection this pool opened."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
            self._idle.clear()
        self._local = threading.local()
