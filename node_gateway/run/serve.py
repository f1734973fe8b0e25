"""One customs area's gateway as its own process on a JSON-RPC ledger node — how each area
runs in production (and in CI against anvil): settings from the environment
(`CROSSRETURN_*`, see config.py), the contracts from the deployment manifest, the node's
chain id checked against it before anything else, peers reached over HTTP at the URLs the
areas registered on the ledger.

`prepare` does all that comes before serving and may be cut short; `run` serves until a stop
event is set. The CLI turns SIGINT / SIGTERM into both.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from clients.errors import LedgerError
from node_gateway.config import GatewaySettings
from node_gateway.deploy.manifest import Manifest
from node_gateway.ledger.backends.rpc_node import RpcNode, check_chain
from node_gateway.peer.client import HttpTransport
from node_gateway.run.gateway import Gateway

log = logging.getLogger(__name__)

GRACE_S = 10  # for the requests under way when the gateway stops


class ServeError(Exception):
    """The gateway cannot start (bad settings, manifest, key, or the wrong chain)."""


def _key(settings: GatewaySettings) -> bytes:
    path = settings.private_key_file or settings.keys_dir / "account.key"
    try:
        return bytes.fromhex(Path(path).read_text().strip().removeprefix("0x"))
    except (OSError, ValueError) as exc:
        raise ServeError(f"the area's signing key {path}: {exc}") from exc


def build(settings: GatewaySettings) -> Gateway:
    """The gateway of `settings` connected to its node, chain id checked."""
    if settings.ledger == "embedded" or settings.deployment_file is None:
        raise ServeError(
            "serve runs one gateway on a JSON-RPC node: set CROSSRETURN_LEDGER to the node's "
            "URL and CROSSRETURN_DEPLOYMENT_FILE (the embedded ledger runs with `crossreturn up`)"
        )
    manifest = Manifest.load(settings.deployment_file)
    node = RpcNode(settings.ledger)
    check_chain(node.w3, manifest.chain_id, manifest.addresses)
    return Gateway(settings, node, manifest.addresses, _key(settings), HttpTransport())


def prepare(settings: GatewaySettings, public_url: str | None = None) -> Gateway:
    """The gateway of `settings` on its node, its profile (key, URL) published if it changed:
    all that comes before serving. It starts no thread, so it may be cut short."""
    gateway = build(settings)
    url = public_url or f"http://{settings.host}:{settings.port}"
    try:
        gateway.publish_profile(url)
    except LedgerError as exc:
        gateway.stop()
        raise ServeError(f"cannot publish this area's profile: {exc}") from exc
    except BaseException:
        gateway.stop()  # cut short (KeyboardInterrupt): its store closed all the same
        raise
    return gateway


class _Server(uvicorn.Server):
    """uvicorn ending once `stop` is set, SIGINT and SIGTERM left to the handlers of the caller
    (which set it): a second Ctrl-C while stopping then changes nothing, where uvicorn's own
    would cut its shutdown short."""

    def __init__(self, config: uvicorn.Config, stop: threading.Event) -> None:
        super().__init__(config)
        self._stop = stop

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def on_tick(self, counter: int) -> bool:
        return self._stop.is_set() or await super().on_tick(counter)


def run(gateway: Gateway, stop: threading.Event) -> None:
    """Start the gateway's worker and serve its API with uvicorn until `stop` is set (requests
    under way get GRACE_S to finish); the caller turns signals into `stop`, and stops the
    gateway afterwards."""
    if stop.is_set():
        return
    settings = gateway.settings
    config = uvicorn.Config(
        gateway.app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACE_S,
    )
    gateway.start()
    _Server(config, stop).run()
