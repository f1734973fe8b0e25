"""The indexer: follows the contracts' events from the store's checkpoint into the store.

Events are enriched here with what the projections need and only the ledger can tell (block
time, the customs code behind a member id), then written with `pipeline.projections`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from node_gateway.ledger.area_ledger import AreaLedger
from node_gateway.pipeline import projections
from node_gateway.store import index

MAX_RANGE = 2_000


class Indexer:
    """Copies one ledger's CrossReturn events into one store."""

    def __init__(self, conn: sqlite3.Connection, ledger: AreaLedger) -> None:
        self.conn = conn
        self.ledger = ledger
        self._codes: dict[bytes, int] = {}
        self._area_code: int | None = None

    def lag(self) -> int:
        """Blocks the index is behind the head."""
        return self.ledger.head_block() - index.checkpoint(self.conn)

    def run_once(self) -> int:
        """Index the next range of blocks; returns the number of events indexed."""
        start = index.checkpoint(self.conn) + 1
        head = self.ledger.head_block()
        if start > head:
            return 0
        end = min(head, start + MAX_RANGE - 1)
        events = self.ledger.events(start, end)
        times: dict[int, int] = {}
        for ev in events:
            block = ev["block"]
            if block not in times:
                times[block] = self.ledger.block_time(block)
            ev["blockTime"] = times[block]
            self._enrich(ev)
        projections.apply_events(self.conn, events, end, self._own_code() if events else 0)
        return len(events)

    def catch_up(self) -> int:
        """Index up to the current head."""
        total = 0
        while self.lag() > 0:
            total += self.run_once()
        return total

    def _own_code(self) -> int:
        """The customs code of this gateway's area (read once it is known on the ledger)."""
        if not self._area_code:
            self._area_code = self.ledger.area_code()
        return self._area_code

    def _code(self, member: bytes) -> int:
        if member not in self._codes:
            self._codes[member] = self.ledger.member(member)[2]
        return self._codes[member]

    def _enrich(self, ev: dict[str, Any]) -> None:
        args = ev["args"]
        if ev["event"] == "CaseOpened":
            ev["originCode"] = self._code(bytes(args["originArea"]))
        elif ev["event"] == "ReturnApplied":
            ev["centreCode"] = self._code(bytes(args["returnCentre"]))
