"""Failpoints for the crash-recovery tests: named places where a gateway process can be made to
die by SIGKILL at the very moment that matters (inside a vault write, while a batch is sealed,
after transactions are submitted but before their receipts are stored, while events are
indexed). Random kills from outside rarely land on those instants; a failpoint always does.

Armed only by the environment of a process started for such a test:
`CROSSRETURN_FAILPOINT=<name>:<n>` kills the process the n-th time it reaches `<name>`.
Unset (always, in production) a failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger(__name__)

ENV = "CROSSRETURN_FAILPOINT"
VAULT_WRITE = "vault_write"  # a vault record inserted, its transaction not yet committed
BATCH_SEAL = "batch_seal"  # a batch's root and proofs stored, its anchoring not yet queued
TX_SENT = "tx_sent"  # transactions submitted (and maybe mined), receipts not yet stored
INDEXING = "indexing"  # events written to the index, its checkpoint not yet moved
NAMES = (VAULT_WRITE, BATCH_SEAL, TX_SENT, INDEXING)


def _armed(spec: str) -> dict[str, int]:
    if not spec:
        return {}
    name, _, count = spec.partition(":")
    if name not in NAMES or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{ENV}={spec!r}: expected <name>:<n> with name in {NAMES} and n >= 1")
    return {name: int(count)}


_ARMED = _armed(os.environ.get(ENV, ""))
_hits: dict[str, int] = {}
_lock = threading.Lock()


def reach(name: str) -> None:
    """Pass failpoint `name`: SIGKILL this process if it is armed and its count is reached."""
    wanted = _ARMED.get(name)
    if wanted is None:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] < wanted:
            return
    log.warning("failpoint %s reached (%d): SIGKILL", name, wanted)
    os.kill(os.getpid(), signal.SIGKILL)
