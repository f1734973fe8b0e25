"""A whole consortium in one process on the embedded ledger: the three demo customs areas
(2900 Hangzhou return centre, 3100 Ningbo and 4600 Zhengzhou origins), one platform, one
auditor — for `crossreturn up`, `crossreturn demo`, the end-to-end tests and benchmarks. The
same consortium can run on a JSON-RPC node instead (`Consortium.open(..., node=...)`: the
benchmarks on anvil).

Data dir layout (everything needed to resume; keys are files of mode 0600):
  ledger/journal.jsonl       the embedded chain (none on a JSON-RPC node)
  consortium.json            the deployment manifest (ledger.manifest) plus the demo's areas
                             (label, code, role, name, port); public
  credentials.json           API keys per gateway and role (secret)
  areas/<code>/              one gateway's store, vault keys, id secret, account.key
  clients/<label>.key        the platform's and the auditor's signing keys (demo only)
"""

from __future__ import annotations

import json
import secrets
import shlex
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from clients.bindings import MemberKind
from node_gateway import ports
from node_gateway.config import GatewaySettings
from node_gateway.deploy.bootstrap import MemberSpec, found, found_on_node
from node_gateway.deploy.manifest import Manifest
from node_gateway.ledger.backends.embedded import EmbeddedChain
from node_gateway.ledger.backends.rpc_node import RpcNode, check_chain
from node_gateway.ledger.signer import address_of
from node_gateway.peer.client import DirectTransport, HttpTransport
from node_gateway.run.gateway import Gateway
from node_gateway.services.auth import issue_key
from node_gateway.store import migrate, open_db
from node_gateway.store.files import create_private, write_private

AREAS = (
    ("customs-2900", 2900, "return_centre", "Hangzhou"),
    ("customs-3100", 3100, "origin", "Ningbo"),
    ("customs-4600", 4600, "origin", "Zhengzhou"),
)
PLATFORM = "platform-demo"
PLATFORM_SPONSOR = "customs-3100"
AUDITOR = "auditor-gacc"
THRESHOLD = 2
AREA_ROLES = ("officer", "system", "admin")


def load_or_create_key(path: Path) -> bytes:
    """A 32-byte secret key kept hex-encoded in `path` (mode 0600), created on first use."""
    if not path.exists():
        create_private(path, secrets.token_bytes(32).hex().encode())
    return bytes.fromhex(path.read_text().strip())


def free_base_port(count: int = len(AREAS), host: str = "127.0.0.1") -> int:
    """Free consecutive loopback ports, by default one per area of this consortium."""
    return ports.free_base_port(count, host)


def _recognition(setting: str | dict[str, str], code: str) -> Literal["automatic", "officer"]:
    value = setting.get(code, "officer") if isinstance(setting, dict) else setting
    if value not in ("automatic", "officer"):
        raise ValueError(f"recognition must be 'automatic' or 'officer', got {value!r}")
    return "automatic" if value == "automatic" else "officer"


def _signing_keys(data_dir: Path) -> dict[str, bytes]:
    """Every member's signing key by label (the areas', the platform's, the auditor's),
    created on first use."""
    keys = {
        label: load_or_create_key(data_dir / "areas" / str(code) / "keys" / "account.key")
        for label, code, _, _ in AREAS
    }
    for label in (PLATFORM, AUDITOR):
        keys[label] = load_or_create_key(data_dir / "clients" / f"{label}.key")
    return keys


def _found_consortium(
    backend: EmbeddedChain | RpcNode,
    funder_key: bytes | None,
    keys: dict[str, bytes],
    manifest_path: Path,
    base_port: int,
) -> None:
    """Deploy and found the consortium on `backend`; write its manifest with the areas' ports."""
    members = [
        MemberSpec(label, MemberKind.CUSTOMS, address_of(keys[label]), code, role)
        for label, code, role, _ in AREAS
    ]
    members.append(
        MemberSpec(
            PLATFORM, MemberKind.PLATFORM, address_of(keys[PLATFORM]), sponsor=PLATFORM_SPONSOR
        )
    )
    members.append(MemberSpec(AUDITOR, MemberKind.AUDITOR, address_of(keys[AUDITOR])))
    # The platform and the auditor sign their own registrations.
    if isinstance(backend, EmbeddedChain):
        deployment = found(backend, backend.funded_key(), members, THRESHOLD, signing_keys=keys)
    else:
        assert funder_key is not None  # checked by Consortium.open
        deployment = found_on_node(backend, funder_key, members, THRESHOLD, keys)
    areas = [
        {"label": label, "code": f"{code}", "role": role, "name": name, "port": base_port + i}
        for i, (label, code, role, name) in enumerate(AREAS)
    ]
    Manifest.of(deployment, members, THRESHOLD).write(manifest_path, {"areas": areas})


@dataclass
class Consortium:
    """The demo consortium rooted in one data dir."""

    data_dir: Path
    backend: EmbeddedChain | RpcNode  # the ledger every gateway writes to
    manifest: dict[str, Any]
    credentials: dict[str, dict[str, str]]
    gateways: dict[str, Gateway] = field(default_factory=dict)
    fresh: bool = False
    transport: Any = None
    _servers: list[Any] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    # ------------------------------------------------------------ set-up

    @classmethod
    def open(
        cls,
        data_dir: Path,
        base_port: int = 8200,
        genesis_timestamp: int | None = None,
        batch_size: int = 1000,
        batch_interval_ms: int = 1000,
        recognition: str | dict[str, str] = "officer",
        node: RpcNode | None = None,
        funder_key: bytes | None = None,
        rate_limit_per_second: float = 0.0,
    ) -> Consortium:
        """Open the consortium in `data_dir`, founding it on first use. `recognition` is
        "automatic" or "officer" for every area, or a mapping customs code -> setting.

        The per-key rate limit is off unless `rate_limit_per_second` is given: every key of
        this one-machine consortium (`crossreturn up`, the tests, the benches) belongs to
        whoever runs it, and a bench must measure the gateways, not the limit.

        By default the ledger is the embedded chain in `data_dir/ledger`. With `node` it is
        that JSON-RPC node instead: founded there (gas money from `funder_key`, e.g. anvil's
        dev key) on first use, checked to be the manifest's chain when reopened."""
        data_dir = Path(data_dir)
        manifest_path = data_dir / "consortium.json"
        fresh = not manifest_path.exists()
        if node is not None and genesis_timestamp is not None:
            raise ValueError("genesis_timestamp is for the embedded chain: a node has its own")
        if node is not None and fresh and funder_key is None:
            raise ValueError("founding on a JSON-RPC node needs a funder_key")
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        backend = EmbeddedChain(data_dir / "ledger", genesis_timestamp) if node is None else node
        keys = _signing_keys(data_dir)
        if fresh:
            _found_consortium(backend, funder_key, keys, manifest_path, base_port)
        elif isinstance(backend, RpcNode):
            described = Manifest.load(manifest_path)
            check_chain(backend.w3, described.chain_id, described.addresses)
        manifest = json.loads(manifest_path.read_text())
        self = cls(data_dir, backend, manifest, {}, fresh=fresh, transport=DirectTransport())
        # The settings a gateway on that node would be served with (serve.py).
        on_node: dict[str, Any] = (
            {} if node is None else {"ledger": node.url, "deployment_file": manifest_path}
        )
        for area in manifest["areas"]:
            settings = GatewaySettings(
                area_label=area["label"],
                customs_code=area["code"],
                role=area["role"],
                data_dir=data_dir / "areas" / area["code"],
                port=int(area["port"]),
                batch_size=batch_size,
                batch_interval_ms=batch_interval_ms,
                recognition=_recognition(recognition, area["code"]),
                rate_limit_per_second=rate_limit_per_second,
                **on_node,
            )
            self._add_gateway(settings, keys[area["label"]])
        self.credentials = self._credentials()
        return self

    def _add_gateway(self, settings: GatewaySettings, key: bytes) -> None:
        """Build one area's gateway, reachable by its peers through the direct transport."""
        gw = Gateway(settings, self.backend, self.manifest["addresses"], key, self.transport)
        url = f"http://127.0.0.1:{settings.port}"
        self.transport.handlers[url] = gw.answer_peer
        gw.publish_profile(url)
        self.gateways[settings.customs_code] = gw

    def _credentials(self) -> dict[str, dict[str, str]]:
        path = self.data_dir / "credentials.json"
        if path.exists():
            loaded: dict[str, dict[str, str]] = json.loads(path.read_text())
            return loaded
        creds: dict[str, dict[str, str]] = {}
        for code, gw in self.gateways.items():
            conn = open_db(gw.settings.database)
            try:
                migrate(conn)
                label = gw.settings.area_label
                creds[code] = {role: issue_key(conn, label, role)[1] for role in AREA_ROLES}
                creds[code]["platform"] = issue_key(conn, PLATFORM, "platform")[1]
                creds[code]["auditor"] = issue_key(conn, AUDITOR, "auditor")[1]
            finally:
                conn.close()
        write_private(path, (json.dumps(creds, indent=2) + "\n").encode())
        return creds

    @property
    def chain(self) -> EmbeddedChain:
        """The embedded chain (the default ledger); a consortium on a JSON-RPC node has none."""
        if not isinstance(self.backend, EmbeddedChain):
            raise TypeError(f"this consortium runs on the JSON-RPC node at {self.backend.url}")
        return self.backend

    def client_key(self, label: str) -> bytes:
        """A client member's signing key (demo only: real ones live in keystores)."""
        return bytes.fromhex((self.data_dir / "clients" / f"{label}.key").read_text().strip())

    def write_client_env(self, urls: dict[str, str]) -> Path:
        """Write one shell file per demo user — `export CROSSRETURN_…` lines for the
        `crossreturn` client commands — under DATA_DIR/env/ (mode 0600; they hold API keys),
        and the demo platform's encrypted keystore; returns the env directory."""
        env_dir = self.data_dir / "env"
        for name, values in self._client_env(urls).items():
            lines = [
                f"# crossreturn demo consortium: {name}",
                *(f"export {k}={shlex.quote(v)}" for k, v in values.items()),
            ]
            write_private(env_dir / f"{name}.env", ("\n".join(lines) + "\n").encode())
        return env_dir

    def _platform_keystore(self) -> tuple[Path, str]:
        """The demo platform's encrypted keystore and its password, created on first use."""
        keystore = self.data_dir / "clients" / f"{PLATFORM}.keystore.json"
        password_file = self.data_dir / "clients" / f"{PLATFORM}.password"
        if not keystore.exists():
            from clients.keystore import create_keystore

            password = secrets.token_urlsafe(18)
            write_private(password_file, password.encode())
            create_keystore(keystore, password, self.client_key(PLATFORM))
        return keystore, password_file.read_text().strip()

    def _client_env(self, urls: dict[str, str]) -> dict[str, dict[str, str]]:
        """Each demo user's CROSSRETURN_* settings, by env file name."""
        keystore, password = self._platform_keystore()
        creds = self.credentials
        centre = self.centre.settings.customs_code
        env: dict[str, dict[str, str]] = {}
        for code in urls:
            env[f"officer-{code}"] = {
                "CROSSRETURN_GATEWAY": urls[code],
                "CROSSRETURN_API_KEY": creds[code]["officer"],
                "CROSSRETURN_OFFICER": f"{code}0001",
            }
            env[f"admin-{code}"] = {
                "CROSSRETURN_GATEWAY": urls[code],
                "CROSSRETURN_API_KEY": creds[code]["admin"],
            }
            if code != centre:
                env[f"platform-{code}"] = {
                    "CROSSRETURN_GATEWAY": urls[centre],
                    "CROSSRETURN_API_KEY": creds[centre]["platform"],
                    "CROSSRETURN_ORIGIN": urls[code],
                    "CROSSRETURN_ORIGIN_API_KEY": creds[code]["platform"],
                    "CROSSRETURN_KEYSTORE": str(keystore),
                    "CROSSRETURN_KEYSTORE_PASSWORD": password,
                }
        home = next(code for code in urls if code != centre)
        env["auditor"] = {
            "CROSSRETURN_GATEWAY": urls[home],
            "CROSSRETURN_API_KEY": creds[home]["auditor"],
            "CROSSRETURN_AREA_KEYS": " ".join(
                f"{code}={creds[code]['auditor']}" for code in urls if code != home
            ),
        }
        return env

    @property
    def centre(self) -> Gateway:
        """The return centre's gateway (2900)."""
        return self.gateways["2900"]

    # ------------------------------------------------------------ running

    def start(self) -> None:
        """Start every gateway's worker."""
        for gw in self.gateways.values():
            gw.start()

    def drain(self, timeout_s: float = 300.0) -> None:
        """Work every gateway until all writes are on the ledger and every index is at the
        head (twice round, as one area's writes show up in the others' indexes)."""
        for _ in range(2):
            for gw in self.gateways.values():
                gw.drain(timeout_s)

    def serve(self, host: str = "127.0.0.1") -> list[str]:
        """Serve every gateway with uvicorn on its port (threads); returns the base URLs."""
        import uvicorn

        urls = []
        for gw in self.gateways.values():
            config = uvicorn.Config(
                gw.app, host=host, port=gw.settings.port, log_level="warning", access_log=False
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(
                target=server.run, daemon=True, name=f"http-{gw.settings.customs_code}"
            )
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
            urls.append(f"http://{host}:{gw.settings.port}")
        for server, thread in zip(self._servers, self._threads, strict=True):
            while not server.started:
                if not thread.is_alive():
                    self.stop()
                    raise OSError(f"a gateway could not listen on {host}: port in use?")
                threading.Event().wait(0.02)
        # Served: gateways now reach each other over HTTP, as separate organisations would.
        http = HttpTransport()
        for gw in self.gateways.values():
            if gw.peer is not None:
                gw.peer.transport = http
        return urls

    def stop(self) -> None:
        """Stop servers and workers."""
        for server in self._servers:
            server.should_exit = True
        for thread in self._threads:
            thread.join(timeout=10)
        self._servers.clear()
        self._threads.clear()
        for gw in self.gateways.values():
            gw.stop()
