"""Ctrl-C (SIGINT to the process group, as a terminal sends it) or SIGTERM at any moment of the
foreground commands — `crossreturn node anvil`, `up` and `serve` — stops them cleanly: exit
status 0, a "stopped" line, no process left behind (anvil's included), and a second Ctrl-C
while stopping changes nothing.

"Any moment" starts when the command runs: a signal sent at once lands while the interpreter
starts and imports the CLI (about a second), and ends the process as Python ends any program
then — still leaving nothing behind, and never with click's "Aborted!".
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from node_gateway.ledger.backends.anvil import free_port
from node_gateway.run.local_consortium import free_base_port
from tests.utils.anvil_network import AnvilNetwork
from tests.utils.foreground import Foreground, children, foreground, has_open, killed_after

AREA = "3100"


@dataclass(frozen=True)
class Command:
    """How a test runs one foreground command: started in a directory, a moment of its
    start-up, its readiness, and whether it still answers on `fg.url`."""

    run: Callable[[Path], AbstractContextManager[Foreground]]
    starting: Callable[[Foreground], bool]
    ready: Callable[[Foreground], bool]
    answers: Callable[[Foreground], bool]


def _http_answers(fg: Foreground, path: str = "/health") -> bool:
    try:
        return httpx.get(fg.url + path, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _anvil_automines(fg: Foreground) -> bool:
    """Whether anvil answers with automine on (stop() switches it off first)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "anvil_getAutomine", "params": []}
    try:
        return httpx.post(fg.url, json=body, timeout=2).json().get("result") is True
    except (httpx.HTTPError, ValueError):
        return False


@contextmanager
def _node_anvil(directory: Path) -> Iterator[Foreground]:
    port = free_port()
    args = ["node", "anvil", "--state", str(directory / "state.json"), "--port", str(port)]
    with foreground(args, directory) as fg:
        fg.url = f"http://127.0.0.1:{port}"
        yield fg


@contextmanager
def _up(directory: Path) -> Iterator[Foreground]:
    base = free_base_port()
    args = ["up", "--data-dir", str(directory / "c"), "--base-port", str(base), "--no-demo"]
    with foreground(args, directory) as fg:
        fg.url = f"http://127.0.0.1:{base}"
        yield fg


def _serve(net: AnvilNetwork) -> Callable[[Path], AbstractContextManager[Foreground]]:
    @contextmanager
    def run(_directory: Path) -> Iterator[Foreground]:
        log = net.root / f"gateway-{AREA}.log"
        offset = log.stat().st_size if log.exists() else 0
        proc = net.start(AREA)
        fg = Foreground(proc, log, str(net.data_dir(AREA)), offset, url=net.urls[AREA])
        with killed_after(fg):
            yield fg

    return run


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNetwork]:
    """anvil, the contracts deployed and area 3100's `crossreturn serve` (stopped here)."""
    with AnvilNetwork.running(
        tmp_path_factory.mktemp("serve"), {AREA: ("origin", "automatic")}
    ) as n:
        n.stop(AREA)
        yield n


@pytest.fixture(params=["node anvil", "up", "serve"])
def command(request: pytest.FixtureRequest) -> Command:
    if request.param == "node anvil":
        return Command(
            _node_anvil,
            starting=lambda fg: bool(children(fg.pid)),  # anvil spawned
            ready=lambda fg: "anvil at http://" in fg.output(),
            answers=_anvil_automines,
        )
    if request.param == "up":
        return Command(
            _up,
            starting=lambda fg: Path(fg.marker, "c", "ledger", "journal.jsonl").exists(),
            ready=lambda fg: "Ctrl-C stops" in fg.output(),
            answers=_http_answers,
        )
    n: AnvilNetwork = request.getfixturevalue("net")
    database = Path(os.path.realpath(n.database(AREA)))
    return Command(
        _serve(n),
        starting=lambda fg: has_open(fg.pid, database),  # the gateway being built
        ready=lambda fg: _http_answers(fg, "/ready"),
        answers=_http_answers,
    )


def _assert_stopped_cleanly(fg: Foreground) -> None:
    status = fg.finish()
    out = fg.output()
    assert status == 0, out
    assert "stopped" in out and "Aborted!" not in out and "Traceback" not in out, out
    assert fg.leftovers() == [], out


@pytest.mark.parametrize("delay", [0, 0.005])
def test_ctrl_c_at_once_leaves_nothing_behind(
    command: Command, tmp_path: Path, delay: float
) -> None:
    with command.run(tmp_path) as fg:
        time.sleep(delay)  # the moment itself: before the CLI is loaded
        fg.ctrl_c()
        status = fg.finish()
        out = fg.output()
        # In the interpreter's own first ~50 ms, before node_gateway.cli.entry installs its
        # handlers, Python's handling applies: a KeyboardInterrupt ends it by SIGINT, or, while
        # it imports `site`, exit 1 and "Fatal Python error". From then on it is exit 0.
        assert status in (0, -signal.SIGINT) or "Fatal Python error" in out, out
        assert "Aborted!" not in out and fg.leftovers() == [], out


def test_ctrl_c_as_soon_as_it_handles_signals_exits_0(command: Command, tmp_path: Path) -> None:
    """node_gateway.cli.entry handles signals before it loads the command line (about a second):
    a Ctrl-C while it loads stops it before anything starts."""
    with command.run(tmp_path) as fg:
        fg.handling_signals()
        fg.ctrl_c()
        _assert_stopped_cleanly(fg)


def test_ctrl_c_during_start_up_exits_0(command: Command, tmp_path: Path) -> None:
    with command.run(tmp_path) as fg:
        fg.until(lambda: command.starting(fg), "its start-up")
        fg.ctrl_c()
        _assert_stopped_cleanly(fg)


def test_ctrl_c_twice_when_ready_exits_0(command: Command, tmp_path: Path) -> None:
    with command.run(tmp_path) as fg:
        fg.until(lambda: command.ready(fg), "it to be ready")
        assert command.answers(fg)
        fg.ctrl_c()
        fg.until(lambda: not command.answers(fg), "it to stop answering", exits=True)
        fg.ctrl_c()  # while it stops (or just after)
        _assert_stopped_cleanly(fg)


def test_sigterm_when_ready_exits_0(command: Command, tmp_path: Path) -> None:
    with command.run(tmp_path) as fg:
        fg.until(lambda: command.ready(fg), "it to be ready")
        fg.send(signal.SIGTERM)
        _assert_stopped_cleanly(fg)


def test_up_stopped_while_loading_the_demo_stops_at_once_and_resumes(tmp_path: Path) -> None:
    args = ["up", "--data-dir", str(tmp_path / "c"), "--base-port", str(free_base_port())]
    with foreground(args, tmp_path) as fg:  # the whole story takes ~10 s on 2 cores
        fg.until(lambda: "loading the demo story" in fg.output(), "the demo loading")
        fg.ctrl_c()
        _assert_stopped_cleanly(fg)
        assert "stopped while loading the demo story" in fg.output()
        assert "decided automatically" not in fg.output()  # the story's last step
    with foreground([*args, "--no-demo"], tmp_path) as fg:
        fg.until(lambda: "Ctrl-C stops" in fg.output(), "it to resume")
        fg.send(signal.SIGTERM)
        _assert_stopped_cleanly(fg)
