"""Foreground commands that run something until stopped: `up` (the local consortium), `demo`,
`serve` (one area's gateway) and `node anvil`; and the Ctrl-C / SIGTERM handling they share."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from clients.cli.common import fail
from clients.errors import LedgerError
from node_gateway.cli.common import directory_option, file_option
from node_gateway.config import GatewaySettings

if TYPE_CHECKING:
    from node_gateway.run.local_consortium import Consortium


class _StopSignals:
    """SIGINT (Ctrl-C) and SIGTERM as the operator's request to stop a foreground command
    (`up`, `serve`, `node anvil`); installed first thing, so that no moment of the command
    turns them into click's "Aborted!" (exit 1). The command stops cleanly, exit status 0.

    A signal sets `requested`, which the command checks between its steps. Inside
    `interruptible()` the first signal also raises KeyboardInterrupt, cutting short a step
    that cannot check it (a replay, the demo story, a call to a slow node, waiting): only
    steps that start no process or thread. A further signal finds the stop under way and
    changes nothing, so nothing interrupts the clean-up.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._signals = 0
        self._interruptible = False
        for sig in (signal.SIGINT, signal.SIGTERM):
            # Ignored ones stay so: `nohup`, or `&` in a script, keep Ctrl-C off a background job.
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, self._on_signal)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self._signals += 1
        if self._signals > 1:
            return  # stopping already
        # The main thread never waits on `requested` (Event.wait holds its lock, which set
        # takes): set here cannot deadlock.
        self.requested.set()
        if self._interruptible:
            raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if a stop was requested."""
        if self.requested.is_set():
            raise KeyboardInterrupt

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Let the first signal interrupt the block (KeyboardInterrupt), which must start no
        process or thread; checks `requested` on entry and on exit too."""
        self.check()
        self._interruptible = True
        try:
            yield
        except Exception:
            # The signal's KeyboardInterrupt may arrive wrapped: raised inside a callback that
            # a library (pydantic-core's serializer) converts into its own error.
            if self.requested.is_set():
                raise KeyboardInterrupt from None
            raise
        finally:
            self._interruptible = False
        self.check()  # a step may swallow the KeyboardInterrupt

    def wait(self) -> None:
        """Block until a stop is requested (then raise KeyboardInterrupt)."""
        with self.interruptible():
            while True:
                time.sleep(3600)


# ---------------------------------------------------------------------- consortium


# Ningbo recognises automatically; Zhengzhou leaves recognition to its officers.
DEMO_RECOGNITION = {"3100": "automatic", "4600": "officer", "2900": "officer"}

CONSORTIUM_DIR = directory_option(
    "--data-dir",
    default=Path("data/consortium"),
    show_default=True,
    help="where the consortium keeps its ledger, stores and keys",
)


@click.command(short_help="Run the 3-area demo consortium on the embedded ledger.")
@CONSORTIUM_DIR
@click.option("--base-port", type=click.IntRange(1024, 65000), default=8200, show_default=True)
@click.option(
    "--demo/--no-demo", default=True, show_default=True, help="load the demo story on first start"
)
@click.option(
    "--records",
    type=click.IntRange(60, 100_000),
    default=520,
    show_default=True,
    help="demo tax records per origin area (first start)",
)
def up(data_dir: Path, base_port: int, demo: bool, records: int) -> None:
    """Run Hangzhou (2900, return centre), Ningbo (3100) and Zhengzhou (4600) gateways on one
    embedded ledger, each on its own port; a second run resumes with everything kept.

    Example: crossreturn up --data-dir data/consortium --base-port 8200
    """
    stop = _StopSignals()
    from node_gateway.run.demo import run_story
    from node_gateway.run.local_consortium import Consortium

    c: Consortium | None = None
    loading = False
    try:
        with stop.interruptible():  # long on a second start: it replays the ledger's journal
            c = Consortium.open(data_dir, base_port=base_port, recognition=DEMO_RECOGNITION)
        if c.fresh and demo:
            click.echo("loading the demo story (first start)…")
            loading = True
            # Stopped cooperatively, between steps: a KeyboardInterrupt raised from the signal
            # handler could land where Python can only print it ("Exception ignored in …").
            run_story(
                c,
                records_per_origin=records,
                progress=lambda m: click.echo(f"  {m}"),
                check=stop.check,
            )
            loading = False
        try:
            urls = c.serve()
        except OSError as exc:
            fail(f"cannot listen: {exc}")
        stop.check()
        c.start()
        _announce(c, urls)
        stop.wait()
    except KeyboardInterrupt:
        pass  # the operator's stop
    finally:
        if c is not None:
            c.stop()
    if loading:
        click.echo(f"stopped while loading the demo story: {data_dir} keeps part of it")
    else:
        click.echo("stopped")


def _announce(c: Consortium, urls: list[str]) -> None:
    """Print the running consortium: ledger head, each area's URLs and keys, the client env."""
    click.echo(f"ledger head: {json.dumps(c.chain.head())}")
    for (code, gw), url in zip(c.gateways.items(), urls, strict=True):
        click.echo(f"\n{code} {gw.settings.area_label} ({gw.settings.role})")
        click.echo(f"  API   {url}/v1    docs {url}/docs")
        for role, key in c.credentials[code].items():
            click.echo(f"  {role:<9} {key}")
    env_dir = c.write_client_env(dict(zip(c.gateways, urls, strict=True)))
    click.echo(f"\nclient settings (source one, then run `crossreturn …`): {env_dir}/*.env")
    click.echo("\nCtrl-C stops; `crossreturn up` again resumes.")


@click.command(short_help="Run the demo story to completion without serving.")
@CONSORTIUM_DIR
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary")
@click.option(
    "--records",
    type=click.IntRange(1, 100_000),
    default=520,
    show_default=True,
    help="tax records per origin area",
)
def demo(data_dir: Path, as_json: bool, records: int) -> None:
    """Found a consortium in DATA_DIR, ingest tax records in Ningbo and Zhengzhou, carry returns
    through every state at the Hangzhou return centre; source documents go to DIR/messages/.

    Example: crossreturn demo --data-dir /tmp/story --json
    """
    from node_gateway.run.demo import run_story
    from node_gateway.run.local_consortium import Consortium

    c = Consortium.open(data_dir, recognition=DEMO_RECOGNITION)
    try:
        if not c.fresh:
            fail(f"{data_dir} already holds a consortium; the demo needs a new directory")
        say = (lambda _m: None) if as_json else (lambda m: click.echo(m))
        result = run_story(
            c, records_per_origin=records, messages=data_dir / "messages", progress=say
        )
    finally:
        c.stop()
    click.echo(json.dumps(result, indent=None if as_json else 2))


@click.command(short_help="Run one area's gateway on a JSON-RPC ledger node.")
@file_option(
    "--env-file",
    exists=True,
    help="a file of CROSSRETURN_* settings (the environment wins)",
)
@click.option("--public-url", help="the URL peers reach this gateway at (default http://HOST:PORT)")
def serve(env_file: Path | None, public_url: str | None) -> None:
    """Run this customs area's gateway until Ctrl-C / SIGTERM, configured by CROSSRETURN_*
    settings (area label, customs code, role, CROSSRETURN_LEDGER = the node's JSON-RPC URL,
    CROSSRETURN_DEPLOYMENT_FILE = the manifest from `crossreturn deploy`, data dir, port …).
    The node's chain id must be the manifest's.

    \b
    Example:
      CROSSRETURN_AREA_LABEL=customs-2900 CROSSRETURN_CUSTOMS_CODE=2900 \\
      CROSSRETURN_ROLE=return_centre CROSSRETURN_LEDGER=http://127.0.0.1:8545 \\
      CROSSRETURN_DEPLOYMENT_FILE=deployment.json CROSSRETURN_DATA_DIR=data/2900 \\
      crossreturn serve --public-url https://gw.2900.example
    """
    stop = _StopSignals()
    from pydantic import ValidationError

    from node_gateway.run.gateway import Gateway
    from node_gateway.run.serve import ServeError, prepare, run

    gateway: Gateway | None = None
    try:
        with stop.interruptible():
            settings = GatewaySettings(_env_file=env_file)  # type: ignore[call-arg]
            gateway = prepare(settings, public_url)
        run(gateway, stop.requested)
    except KeyboardInterrupt:
        pass  # the operator's stop
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        fail(f"settings: {where}: {first['msg']}")
    except (ServeError, LedgerError) as exc:
        fail(str(exc), 3)
    except OSError as exc:
        fail(f"cannot serve: {exc}", 3)
    finally:
        if gateway is not None:
            gateway.stop()
    click.echo("stopped")


@click.group(short_help="Run a local JSON-RPC ledger node (anvil) for trials and tests.")
def node() -> None:
    """Local ledger nodes. anvil has no access control: it listens on 127.0.0.1 only and is
    no production node (production runs Besu, see scripts/besu)."""


@node.command("anvil", short_help="Run anvil on 127.0.0.1 until Ctrl-C; its chain kept in --state.")
@file_option(
    "--state",
    "state_file",
    required=True,
    help="the chain's state file: loaded if it exists, written on stop and every second",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@click.option("--chain-id", type=click.IntRange(min=1), default=31337, show_default=True)
@click.option("--gas-limit", type=click.IntRange(min=1), help="block gas limit (anvil's default)")
def node_anvil(state_file: Path, port: int, chain_id: int, gas_limit: int | None) -> None:
    """Run the pinned anvil (`make anvil`, or CROSSRETURN_ANVIL) in the foreground. Ctrl-C or
    SIGTERM stops it cleanly, writing the state file; the next start resumes that chain.

    \b
    Example:
      crossreturn node anvil --state data/anvil/state.json --port 8545
    """
    stop = _StopSignals()
    from node_gateway.ledger.backends.anvil import DEV_KEY, AnvilError, AnvilNode
    from node_gateway.ledger.signer import address_of

    anvil = AnvilNode(state_file, port=port, chain_id=chain_id, gas_limit=gas_limit)
    answered = False
    exited: int | None = None  # anvil's status, had it exited by itself
    try:
        anvil.start(cancel=stop.requested)
        stop.check()
        answered = True
        click.echo(f"anvil at {anvil.url}, chain {chain_id}, state in {state_file}")
        click.echo(
            f"funded dev account {address_of(DEV_KEY)} "
            f"(anvil's public test key 0x{DEV_KEY.hex()}); Ctrl-C stops"
        )
        with stop.interruptible():
            exited = anvil.wait()
    except KeyboardInterrupt:
        exited = None  # the operator's stop, which may have reached anvil too (a cgroup's)
    except AnvilError as exc:
        fail(str(exc), 3)
    finally:
        status = anvil.stop()
    if exited is not None:
        fail(f"anvil exited by itself with status {exited}", 1)
    if answered and status != 0:
        fail(f"anvil stopped with status {status}: its state may lack the last second", 1)
    click.echo("stopped; state written" if answered else "stopped")
