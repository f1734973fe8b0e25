"""Per-return progress for the followers that ask other gateways: the origin's automatic
recognition (services/recognition.py) and the centre's expected goods (services/expectations.py).

A follower reads its events from the index past its checkpoint, and the checkpoint always moves
on: each return is then worked on its own. A return whose work raises — its peer cannot be
reached, refuses (404: it never held the document), answers 429, or anything else goes wrong
for that return alone — gets its own retry state in the store (attempts, next attempt, last
error; store/retries.py) and is tried again after an exponential backoff, while every other
return goes ahead. After `recognition_max_attempts` failed attempts the follower gives up on
it with the last error as the reason: a dispute for an officer, or an expectations problem.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from node_gateway.config import GatewaySettings
from node_gateway.errors import GatewayError
from node_gateway.services.context import AreaContext, PeerRequester
from node_gateway.store import index, retries

log = logging.getLogger(__name__)

DUE_PER_PASS = 100  # retries tried in one pass, so one pass stays short


@dataclass(frozen=True)
class Backoff:
    """When to try a failed return again, and when to stop."""

    max_attempts: int
    base_s: float
    cap_s: float

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> Backoff:
        """The backoff the area's settings ask for."""
        return cls(
            settings.recognition_max_attempts,
            settings.recognition_retry_base_s,
            settings.recognition_retry_cap_s,
        )

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failure: base * 2^(attempts-1), capped."""
        return float(min(self.cap_s, self.base_s * 2 ** min(attempts - 1, 40)))


@dataclass(frozen=True)
class Follower:
    """What one follower does for a return: whether it still has work, the work, and what
    giving up records (called with the attempts made and the last error)."""

    name: str
    pending: Callable[[str], bool]
    attempt: Callable[[str], object]
    give_up: Callable[[str, int, str], None]


def describe(exc: Exception) -> str:
    """An error as a reason an officer can read (a domain error's own words, else its type)."""
    if isinstance(exc, GatewayError):
        return exc.detail
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def follow_event(
    conn: sqlite3.Connection,
    follower: Follower,
    event: str,
    settings: GatewaySettings,
    now: float | None = None,
) -> int:
    """Run `follower` over the returns whose `event` the index has seen since the follower's
    checkpoint, plus the retries that are due; the checkpoint moves past every event at once
    (a failed return waits in its own retry row, never in the checkpoint)."""
    after, upto = index.checkpoint(conn, follower.name), index.checkpoint(conn)
    new = [e["returnId"] for e in index.events_after(conn, event, after, upto)]
    done = run(conn, follower, new, Backoff.from_settings(settings), now)
    if upto > after:
        index.set_checkpoint(conn, follower.name, upto)
    return done


def follow_area(
    ctx: AreaContext,
    conn: sqlite3.Connection,
    peer: PeerRequester,
    follower: tuple[str, str],
    work: tuple[
        Callable[[AreaContext, sqlite3.Connection, str], bool],
        Callable[[AreaContext, sqlite3.Connection, PeerRequester, str], object],
        Callable[[AreaContext, sqlite3.Connection, str, int, str], None],
    ],
    now: float | None = None,
) -> int:
    """follow_event for one area's follower `(name, event)` that asks other gateways through
    `peer`; `work` is its (pending, attempt, give_up), each also given the area, the
    connection (and `attempt` the requester)."""
    name, event = follower
    pending, attempt, give_up = work
    bound = Follower(
        name,
        pending=lambda rid: pending(ctx, conn, rid),
        attempt=lambda rid: attempt(ctx, conn, peer, rid),
        give_up=lambda rid, attempts, error: give_up(ctx, conn, rid, attempts, error),
    )
    return follow_event(conn, bound, event, ctx.settings, now)


def run(
    conn: sqlite3.Connection,
    follower: Follower,
    new: Iterable[str],
    backoff: Backoff,
    now: float | None = None,
) -> int:
    """Work the returns newly seen (`new`, in ledger order) and those whose retry is due;
    returns how many were finished (done or given up)."""
    now = time.time() if now is None else now
    seen: set[str] = set()
    finished = 0
    fresh = [rid for rid in new if retries.get(conn, follower.name, rid) is None]
    for return_id in [*fresh, *retries.due(conn, follower.name, now, DUE_PER_PASS)]:
        if return_id in seen:
            continue
        seen.add(return_id)
        finished += _one(conn, follower, return_id, backoff, now)
    return finished


def _one(
    conn: sqlite3.Connection, follower: Follower, return_id: str, backoff: Backoff, now: float
) -> int:
    try:
        if not follower.pending(return_id):
            retries.clear(conn, follower.name, return_id)  # decided elsewhere (an officer)
            return 0
        follower.attempt(return_id)
    except Exception as exc:  # one return's failure never stops the others
        return _failed(conn, follower, return_id, backoff, now, exc)
    retries.clear(conn, follower.name, return_id)
    return 1


def _failed(
    conn: sqlite3.Connection,
    follower: Follower,
    return_id: str,
    backoff: Backoff,
    now: float,
    exc: Exception,
) -> int:
    before = retries.get(conn, follower.name, return_id)
    attempts = 1 + (before["attempts"] if before else 0)
    error = describe(exc)
    if attempts < backoff.max_attempts:
        wait = backoff.delay(attempts)
        log.warning(
            "%s: return %s failed (attempt %d of %d), next in %.0f s: %s",
            follower.name,
            return_id,
            attempts,
            backoff.max_attempts,
            wait,
            error,
        )
        retries.failed(conn, follower.name, return_id, attempts, error, now + wait, False)
        return 0
    try:
        follower.give_up(return_id, attempts, error)
    except Exception as give_up_exc:  # e.g. the store is busy: try the whole return again
        log.exception("%s: return %s could not be given up", follower.name, return_id)
        error = f"{error} (giving up failed: {describe(give_up_exc)})"
        retries.failed(
            conn, follower.name, return_id, attempts, error, now + backoff.delay(attempts), False
        )
        return 0
    log.warning(
        "%s: return %s given up after %d attempts: %s", follower.name, return_id, attempts, error
    )
    retries.failed(conn, follower.name, return_id, attempts, error, now, True)
    return 1
