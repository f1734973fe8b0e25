"""A running gateway: its app, and the worker that seals batches, sends the outbox and follows
the ledger into the index.

One worker thread per gateway does the three jobs in turn, so the store has one background
writer; the API's writes wake it (`AreaContext.wake`) and it otherwise polls. `drain()` runs
the jobs in the caller's thread until nothing is left to do (demos, tests, benchmarks).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from fastapi import FastAPI

from node_gateway.config import GatewaySettings
from node_gateway.errors import GatewayError
from node_gateway.ledger.area_ledger import AreaLedger, Backend
from node_gateway.main import create_app
from node_gateway.peer import declarations, disclosures
from node_gateway.peer.client import DECLARATIONS_PATH, PATH, PeerClient, PeerTransport
from node_gateway.pipeline.anchoring import seal_due
from node_gateway.pipeline.indexer import Indexer
from node_gateway.pipeline.sender import Sender
from node_gateway.services import expectations, rebuild, recognition
from node_gateway.services.context import AreaContext, make_context
from node_gateway.store import outbox
from node_gateway.store.pool import ThreadConnections

log = logging.getLogger(__name__)

POLL_S = 0.05
MAX_INDEX_LAG = 50


class Gateway:
    """One customs area's gateway: app + worker, on a ledger backend."""

    def __init__(
        self,
        settings: GatewaySettings,
        backend: Backend,
        addresses: dict[str, str],
        private_key: bytes,
        transport: PeerTransport | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = AreaLedger(backend, addresses, private_key)
        self.context: AreaContext = make_context(settings, self.ledger)
        self.peer: PeerClient | None = PeerClient(self.context, transport) if transport else None
        self.context.peer = self.peer  # the return centre asks origins before relaying
        self.connections = ThreadConnections(settings.database)
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread: threading.Thread | None = None
        self._node_up = True
        self._jobs_lock = threading.Lock()
        self.app: FastAPI = create_app(
            settings,
            readiness={
                "ledger": self.ledger.is_up,
                "sender": lambda: self._node_up,
                "index": self._index_fresh,
            },
            connections=self.connections,
            context=self.context,
        )

    def _index_fresh(self) -> bool:
        try:
            indexer = Indexer(self.connections.get(), self.ledger)
            return indexer.lag() <= MAX_INDEX_LAG
        except Exception:
            return False

    def work_once(self) -> int:
        """Seal due batches, send pending writes, index new blocks; when no write was waiting,
        also the followers that ask other gateways (recognition, expected goods), so that
        writes callers wait for go first. Returns the work done."""
        with self._jobs_lock:
            conn = self.connections.get()
            s = self.settings
            done = seal_due(conn, s.batch_size, s.batch_interval_ms)
            sender = Sender(conn, self.ledger, window=s.send_window)
            sent = sender.run_once()
            self._node_up = sender.node_up
            if sender.node_up:
                # A batch the contract refused goes back to the batcher under fresh salts.
                done += rebuild.rebuild_refused(self.context, conn)
                done += sent + Indexer(conn, self.ledger).run_once()
                if sent == 0:
                    done += recognition.run_once(self.context, conn, self.peer)
                    done += expectations.run_once(self.context, conn, self.peer)
            return done

    def answer_peer(self, body: dict[str, Any], path: str = PATH) -> tuple[int, dict[str, Any]]:
        """Answer a peer request in this process (DirectTransport), as the route would."""
        answer = declarations.answer if path == DECLARATIONS_PATH else disclosures.answer
        try:
            return 200, answer(self.context, self.connections.get(), body)
        except GatewayError as exc:
            return exc.status, {"code": exc.code, "detail": exc.detail, **exc.extra}

    def publish_profile(self, gateway_url: str) -> None:
        """Register this area's encryption key and gateway URL on the Consortium if they
        differ from what is registered."""
        key = self.context.encryption.public_bytes()
        if self.ledger.profile(self.context.member) == (key, gateway_url):
            return
        # Sent outside the outbox, before the worker starts: transactions a crash left signed
        # in the outbox go first and keep their nonces; the profile takes the next one.
        conn = self.connections.get()
        Sender(conn, self.ledger).reconcile()
        last = outbox.last_nonce(conn, self.ledger.account)
        nonce = max(self.ledger.next_nonce(), -1 if last is None else last + 1)
        self.ledger.update_profile(key, gateway_url, nonce)

    def drain(self, timeout_s: float = 120.0, seal_open: bool = True) -> None:
        """Work until no batch is open (if `seal_open`), no write is queued and the index is
        at the head."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            conn = self.connections.get()
            if seal_open:
                with self._jobs_lock:
                    seal_due(conn, self.settings.batch_size, 0)
            self.work_once()
            open_rows = outbox.counts(conn)
            # held disclosure-log entries wait for a case that may never open
            held = outbox.held_count(conn)
            busy = open_rows.get("pending", 0) - held + open_rows.get("sent", 0)
            if busy == 0 and Indexer(conn, self.ledger).lag() <= 0:
                return
        raise TimeoutError(f"gateway {self.settings.customs_code} did not drain in {timeout_s}s")

    def start(self) -> None:
        """Start the worker thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name=f"gateway-{self.settings.customs_code}", daemon=True
        )
        self._thread.start()

    def pause(self) -> None:
        """Hold the worker after its current round (e.g. while an operator — or a benchmark —
        signs with the area's key directly); writes stay queued."""
        self._paused.set()
        with self._jobs_lock:  # wait for the round in progress
            pass

    def resume(self) -> None:
        """Let the worker run again."""
        self._paused.clear()
        self.context.wake.set()

    def _loop(self) -> None:
        wake = self.context.wake
        while not self._stop.is_set():
            if self._paused.is_set():
                wake.wait(POLL_S)
                continue
            try:
                done = self.work_once()
            except Exception:  # keep serving; the failure is logged and retried
                log.exception("gateway %s worker failed", self.settings.customs_code)
                done = 0
            if done == 0:
                wake.wait(POLL_S)
                wake.clear()

    def stop(self) -> None:
        """Stop the worker and close the store."""
        self._stop.set()
        self.context.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.connections.close()
