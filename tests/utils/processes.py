"""Stopping the processes tests start: always, and never leaving one behind."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_group(
    proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20
) -> None:
    """Send `sig` to `proc`'s process group (started with start_new_session=True), wait up to
    `timeout` seconds, then SIGKILL it."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
