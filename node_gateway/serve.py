"""One customs area's gateway as its own process on a JSON-RPC ledger node — how each area
runs in production (and in CI against anvil): settings from the environment
(`CROSSRETURN_*`, see config.py), the contracts from the deployment manifest, the node's
chain id checked against it before anything else, peers reached over HTTP at the URLs the
areas registered on the ledger.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from clients.errors import LedgerError
from node_gateway.config import GatewaySettings
from node_gateway.ledger.manifest import Manifest
from node_gateway.ledger.rpc_node import RpcNode, check_chain
from node_gateway.peer.client import HttpTransport
from node_gateway.runtime import Gateway

log = logging.getLogger(__name__)


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
    check_chain(node.w3, manifest)
    return Gateway(settings, node, manifest.addresses, _key(settings), HttpTransport())


def serve(settings: GatewaySettings, public_url: str | None = None) -> None:
    """Run the gateway until SIGINT / SIGTERM: publish its profile (key, URL) if it changed,
    start the worker, serve the API with uvicorn; stop cleanly."""
    import uvicorn

    gateway = build(settings)
    url = public_url or f"http://{settings.host}:{settings.port}"
    try:
        gateway.publish_profile(url)
    except LedgerError as exc:
        raise ServeError(f"cannot publish this area's profile: {exc}") from exc
    config = uvicorn.Config(
        gateway.app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    stop = threading.Event()

    def on_signal(*_args: object) -> None:
        stop.set()
        server.should_exit = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    gateway.start()
    try:
        server.run()
    finally:
        gateway.stop()
