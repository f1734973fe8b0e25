"""The `crossreturn` program's entry point: Ctrl-C and SIGTERM mean "stop" from its first moment.

Loading the command line takes about a second (the SDK's command groups, web3, pydantic). A
signal in that time would end the program with a traceback, so until it is loaded a signal is
only noted; the program then stops before doing anything, exit 0. From there on the foreground
commands (`up`, `serve`, `node anvil`) handle signals themselves
(node_gateway.cli.run), and the others get Python's usual Ctrl-C.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def main() -> None:
    """Run `crossreturn` with the arguments of this process."""
    noted: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        noted.append(signum)

    previous: dict[signal.Signals, Any] = {}
    for sig in _STOP_SIGNALS:
        handler = signal.getsignal(sig)
        if handler is not signal.SIG_IGN:  # ignored stays ignored (`nohup`, `&` in a script)
            previous[sig] = handler
            signal.signal(sig, note)

    from node_gateway.cli.main import main as command_line

    if noted:
        print("stopped", flush=True)  # noqa: T201 — before the command line's output layer
        sys.exit(0)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    command_line()
