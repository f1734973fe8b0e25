"""anvil, the JSON-RPC node of tests and local runs: where the pinned binary is (npm
`@foundry-rs/anvil-linux-amd64` in tools/anvil, or `CROSSRETURN_ANVIL`) and `AnvilNode`, one
anvil process on loopback whose chain lives in a state file.

anvil has no access control (`anvil_setStorageAt`, impersonation), so it only ever listens on
127.0.0.1. Its chain survives a clean stop (SIGTERM/SIGINT dump the state file) and, with
`--state-interval 1`, a SIGKILL loses at most the last second (LEDGER-FACTS).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from clients.errors import LedgerError
from node_gateway.ports import free_base_port

ENV_BINARY = "CROSSRETURN_ANVIL"
PACKAGE_BINARY = (
    Path(__file__).resolve().parents[3]
    / "tools"
    / "anvil"
    / "node_modules"
    / "@foundry-rs"
    / "anvil-linux-amd64"
    / "bin"
    / "anvil"
)
HOST = "127.0.0.1"
DEFAULT_CHAIN_ID = 31337
# anvil's first dev account (the well-known test mnemonic), funded with 10,000 ETH at genesis.
# Public knowledge: for a local anvil only, never for a chain that matters.
DEV_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
_PR_SET_PDEATHSIG = 1


class AnvilError(LedgerError):
    """anvil is missing, or did not start or stop as asked."""


def anvil_binary() -> Path:
    """The anvil executable: `CROSSRETURN_ANVIL` if set, else the one `make anvil` installs."""
    override = os.environ.get(ENV_BINARY)
    path = Path(override) if override else PACKAGE_BINARY
    if not (path.is_file() and os.access(path, os.X_OK)):
        where = f"{ENV_BINARY}={override}" if override else str(path)
        raise AnvilError(
            f"anvil not found at {where}: run `make anvil` (npm ci in tools/anvil) "
            f"or set {ENV_BINARY} to an anvil executable"
        )
    return path


def free_port() -> int:
    """A TCP port free on loopback now (another process may still take it before anvil), outside
    the ephemeral range, so that anvil restarted on it finds it free (node_gateway.ports)."""
    return free_base_port(1, HOST)


def _die_with_parent() -> Any:
    """A preexec_fn asking Linux to SIGTERM the child when its parent dies (so anvil still
    dumps its state), resolved before the fork; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))

    return preexec


def _dumped_head(state_file: Path) -> int:
    """The last block anvil's state file holds (-1 while unreadable or being written)."""
    try:
        best = json.loads(state_file.read_bytes())["best_block_number"]
        return int(best, 16) if isinstance(best, str) else int(best)
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send `sig` to anvil's process group (its own, start_new_session), whatever it spawned
    included; nothing if it is gone already."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class AnvilNode:
    """One anvil process on 127.0.0.1, its chain kept in `state_file` (None: in memory only).

    `start()` returns once the node answers eth_chainId; `stop()` sends SIGTERM (anvil dumps
    its state) and SIGKILL after `stop_timeout`; `restart()` starts again from the state file,
    on the same port (a port chosen here is kept after the first start). As a context manager
    it is started and always stopped. On Linux anvil also gets SIGTERM when the thread that
    started it ends (PR_SET_PDEATHSIG), so an owner that dies leaves no node behind: start it
    from a long-lived thread.
    """

    def __init__(
        self,
        state_file: Path | None = None,
        port: int = 0,
        chain_id: int = DEFAULT_CHAIN_ID,
        gas_limit: int | None = None,
        state_interval: int = 1,
        start_timeout: float = 15.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.state_file = Path(state_file) if state_file is not None else None
        self._fixed_port = port != 0
        self.port = port or free_port()
        self.chain_id = chain_id
        self.gas_limit = gas_limit
        self.state_interval = state_interval
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The node's JSON-RPC URL."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the anvil process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The anvil process id while it runs."""
        return self._proc.pid if self.running and self._proc is not None else None

    def funded_key(self) -> bytes:
        """The private key of anvil's first dev account (funds other accounts)."""
        return DEV_KEY

    def command(self) -> list[str]:
        """The anvil command line."""
        cmd = [
            str(anvil_binary()),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--silent",
        ]
        if self.gas_limit is not None:
            cmd += ["--gas-limit", str(self.gas_limit)]
        if self.state_file is not None:
            cmd += [
                "--state",
                str(self.state_file),
                "--state-interval",
                str(self.state_interval),
                "--preserve-historical-states",
            ]
        return cmd

    # ------------------------------------------------------------ lifecycle

    def start(self, cancel: threading.Event | None = None) -> AnvilNode:
        """Start anvil and wait until it answers; a fixed port taken by another process is an
        error, a port chosen here is chosen again.

        Once `cancel` is set (an operator's Ctrl-C), start stops what it spawned and returns
        at once, the node not running. It is polled, never waited on, so a signal handler may
        set it. Interrupted (KeyboardInterrupt) or failing, start leaves no process behind."""
        if self.running:
            return self
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            if cancel is not None and cancel.is_set():
                return self
            # Another node on the port would answer in anvil's place: refuse it up front.
            if self._port_taken():
                if self._fixed_port:
                    raise AnvilError(f"port {self.port} on {HOST} is taken by another process")
                self.port = free_port()
            try:
                if self._spawn(cancel):
                    self._fixed_port = True  # a later start (restart) keeps the URL
                return self
            except AnvilError:
                if attempt + 1 == attempts or not self._port_taken():
                    raise
                self.port = free_port()
        return self

    def _port_taken(self) -> bool:
        """Whether something listens on the port (connections in TIME_WAIT do not count)."""
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((HOST, self.port))
            except OSError:
                return True
        return False

    def _spawn(self, cancel: threading.Event | None) -> bool:
        """Spawn anvil and wait until it answers (True) or `cancel` is set (False, stopped)."""
        cmd = self.command()
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,  # Ctrl-C reaches the owner, which stops anvil cleanly
            preexec_fn=_die_with_parent(),  # prctl is resolved before the fork
        )
        try:
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if cancel is not None and cancel.is_set():
                    self._terminate()
                    return False
                if self._proc.poll() is not None:
                    raise AnvilError(f"anvil exited with {self._proc.returncode}: {self._errors()}")
                if self._answers() and self._proc.poll() is None:
                    return True
                time.sleep(0.02)
        except BaseException:
            self._terminate()  # e.g. KeyboardInterrupt: no anvil left without an owner
            raise
        self._terminate()
        raise AnvilError(f"anvil did not answer on {self.url} within {self.start_timeout:g} s")

    def _call(self, method: str, params: list[Any], timeout: float = 1.0) -> Any:
        """One JSON-RPC call; OSError or ValueError if it fails."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        request = urllib.request.Request(
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
        if "result" not in answer:
            raise ValueError(f"{method}: {answer.get('error')}")
        return answer["result"]

    def _answers(self) -> bool:
        try:
            self._call("eth_chainId", [])
        except (OSError, ValueError, urllib.error.URLError):
            return False
        return True

    def _errors(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        lines = [line for line in text.splitlines() if line.strip()]
        return " ".join(lines[-3:])[-500:] or "no message"

    def stop(self) -> int | None:
        """Stop anvil: mining switched off, then SIGTERM (it writes the state file), SIGKILL
        after `stop_timeout`; returns its exit status (None if it was not running).

        Mining stops first, and the periodic state dump is given time to hold the last block,
        because anvil answers requests while it writes its state on SIGTERM (seconds for a
        chain with historical states under load): a block mined meanwhile was reported mined
        to its sender yet missing after a restart — the chain lost its tail (seen in CI).
        A transaction sent after mining stopped stays unmined, as in any outage.

        Safe at any time: twice, before start, or on a node spawned that never answered."""
        if self.running:
            try:
                self._call("evm_setAutomine", [False], timeout=5.0)
                head = int(self._call("eth_blockNumber", [], timeout=5.0), 16)
            except (OSError, ValueError, urllib.error.URLError):
                pass  # not answering: nothing more can be mined either
            else:
                self._wait_dumped(head)
        return self._terminate()

    def _wait_dumped(self, head: int) -> None:
        """Wait until the periodic state dump holds block `head` (the file's
        `best_block_number`), at most `stop_timeout`: a fixed wait was not always enough on a
        loaded machine, and the chain then lost its tail on the restart."""
        if self.state_file is None:
            return
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline:
            if _dumped_head(self.state_file) >= head:
                return
            time.sleep(0.1)

    def _terminate(self) -> int | None:
        """SIGTERM anvil's process group (anvil dumps its state) and wait; SIGKILL after
        `stop_timeout`, or at once if the wait is interrupted: no anvil outlives its owner."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        try:
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(self.stop_timeout)
                except BaseException as exc:
                    _signal_group(proc, signal.SIGKILL)
                    proc.wait()
                    if not isinstance(exc, subprocess.TimeoutExpired):
                        raise
            return proc.returncode
        finally:
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None

    def kill(self) -> None:
        """SIGKILL anvil, as a crash would (the state file keeps up to `state_interval` s less)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def restart(self) -> AnvilNode:
        """Stop cleanly and start again from the same state file, on the same port."""
        self.stop()
        return self.start()

    def wait(self) -> int:
        """Block until anvil exits by itself; returns its exit status."""
        if self._proc is None:
            raise AnvilError("anvil is not running")
        return self._proc.wait()

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
