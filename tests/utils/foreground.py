"""A foreground `crossreturn` command (`up`, `serve`, `node anvil`) in its own process, for the
tests that stop it with signals: started in a session of its own with its output in a file,
waited on for a line, for its own signal handlers, for a child or an open file; afterwards
checked to have left no process behind, and always killed with everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.utils.processes import stop_group

POLL_S = 0.005


def children(pid: int) -> set[int]:
    """The child processes of `pid` (forked by any of its threads)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue  # the thread or the process ended meanwhile
    return found


def descendants(pid: int) -> set[int]:
    """Every process below `pid`."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        new = children(todo.pop()) - found
        found |= new
        todo += new
    return found


def started_at(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot; with the pid, which process it is), None if
    it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # from field 3, the state; 22 is the start time
    return None if fields[0] == "Z" else int(fields[19])


def naming(marker: str) -> set[int]:
    """Processes (other than this one) whose command line holds `marker`."""
    found: set[int] = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        pid = int(cmdline.parent.name)
        try:
            if (
                pid != os.getpid()
                and marker.encode() in cmdline.read_bytes()
                and started_at(pid) is not None
            ):
                found.add(pid)
        except OSError:
            continue
    return found


def handles(pid: int, sig: int) -> bool:
    """Whether `pid` has a handler of its own for `sig` (SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (sig - 1) & 1)


def has_open(pid: int, path: Path) -> bool:
    """Whether `pid` holds `path` open."""
    target = str(path)
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            if os.readlink(fd) == target:
                return True
        except OSError:
            continue
    return False


@dataclass
class Foreground:
    """A command's process, its output (from `offset` in `log`) and what it spawned."""

    proc: subprocess.Popen[bytes]
    log: Path
    marker: str  # in the command line of anything it may start (its temporary directory)
    offset: int = 0
    url: str = ""  # where it answers, once ready
    seen: set[tuple[int, int]] = field(default_factory=set)  # descendants: (pid, started_at)

    @property
    def pid(self) -> int:
        """The command's process id (and its process group's)."""
        return self.proc.pid

    def output(self) -> str:
        """What it printed so far (stdout and stderr)."""
        return self.log.read_bytes()[self.offset :].decode("utf-8", "replace")

    def until(
        self, check: Callable[[], bool], what: str, timeout: float = 90, exits: bool = False
    ) -> None:
        """Poll `check` until it holds, noting the descendants; fail after `timeout` seconds,
        or if the command exits first (unless `exits`: then that ends the wait too)."""
        deadline = time.monotonic() + timeout
        while True:
            self._note_descendants()
            if check():
                return
            if self.proc.poll() is not None:
                assert exits, f"exited {self.proc.returncode} before {what}:\n{self.output()}"
                return
            assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{self.output()}"
            time.sleep(POLL_S)

    def printed(self, text: str) -> None:
        """Wait until it printed `text`."""
        self.until(lambda: text in self.output(), repr(text))

    def handling_signals(self) -> None:
        """Wait until the command installed its own handlers (Python catches SIGINT from its
        start, SIGTERM only when the command asks)."""
        self.until(lambda: handles(self.pid, signal.SIGTERM), "its signal handlers")

    def _note_descendants(self) -> None:
        for pid in descendants(self.pid):
            start = started_at(pid)
            if start is not None:
                self.seen.add((pid, start))

    def _surviving(self) -> set[int]:
        return {pid for pid, start in self.seen if started_at(pid) == start}

    def ctrl_c(self) -> None:
        """SIGINT to its process group, as a terminal sends it on Ctrl-C."""
        self._note_descendants()
        os.killpg(self.pid, signal.SIGINT)

    def send(self, sig: int) -> None:
        """`sig` to the command's process only (`kill`, a service manager)."""
        self._note_descendants()
        self.proc.send_signal(sig)

    def finish(self, timeout: float = 60) -> int:
        """Wait for the command to exit; its exit status."""
        return self.proc.wait(timeout)

    def leftovers(self) -> list[str]:
        """What outlived the command: descendants seen, processes naming its directory,
        members of its process group."""
        left = [f"descendant {pid}" for pid in sorted(self._surviving())]
        left += [f"process {pid} naming {self.marker}" for pid in sorted(naming(self.marker))]
        try:
            os.killpg(self.pid, 0)
            left.append(f"process group {self.pid}")
        except ProcessLookupError:
            pass
        return left

    def kill(self) -> None:
        """SIGKILL the command, its group and whatever it started (a failed test's clean-up)."""
        if self.proc.poll() is None:
            self._note_descendants()
        stop_group(self.proc, signal.SIGKILL)
        for pid in self._surviving() | naming(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@contextmanager
def foreground(
    args: list[str], directory: Path, env: dict[str, str] | None = None
) -> Iterator[Foreground]:
    """`crossreturn ARGS` running in its own session, its output appended to DIRECTORY/out.log,
    DIRECTORY its marker; killed with all it started on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "out.log"
    with log.open("ab") as fh:
        offset = fh.tell()
        proc = subprocess.Popen(
            [sys.executable, "-m", "node_gateway", *args],
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    with killed_after(Foreground(proc, log, str(directory), offset)) as fg:
        yield fg


@contextmanager
def killed_after(fg: Foreground) -> Iterator[Foreground]:
    """`fg`, killed with all it started on exit (see Foreground.kill)."""
    try:
        yield fg
    finally:
        fg.kill()
