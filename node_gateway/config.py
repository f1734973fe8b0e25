"""Settings of one customs area's gateway (pydantic-settings, env prefix `CROSSRETURN_`).

Unsafe combinations fail loudly at start-up rather than at the first request: a vault key file
inside the database directory's file, a listen address other than loopback without TLS
termination acknowledged, batch, request, rate or ledger JSON-RPC limits out of range.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _finite(
    default: float, *, description: str, le: float, ge: float | None = None, gt: float | None = None
) -> Any:
    """A float setting: a finite number (no inf or NaN) within its bounds."""
    return Field(default=default, ge=ge, gt=gt, le=le, allow_inf_nan=False, description=description)


class GatewaySettings(BaseSettings):
    """Everything one gateway needs; every field can come from `CROSSRETURN_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="CROSSRETURN_", extra="forbid")

    area_label: str = Field(description="member label of this customs area, e.g. customs-2900")
    customs_code: str = Field(pattern=r"^\d{4}$", description="4-digit customs code")
    role: Literal["origin", "return_centre", "both"] = "both"
    ledger: str = Field(
        default="embedded",
        description="'embedded' (eth-tester in this process) or a JSON-RPC URL",
    )
    deployment_file: Path | None = Field(
        default=None, description="deployment manifest (chain id, contract addresses)"
    )
    data_dir: Path = Path("data")
    vault_key_dir: Path | None = Field(
        default=None, description="vault keys, outside data_dir's database (default data_dir/keys)"
    )
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    batch_interval_ms: int = Field(default=1000, ge=10, le=600_000)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_bulk_records: int = Field(default=10_000, ge=1, le=100_000)
    # Per API key (services/rate_limit.py). 50/s is above what any one client's legitimate
    # traffic needs (a bulk of 10,000 records is one request; the whole gateway confirms ~15-25
    # return steps/s) yet keeps one runaway key from taking every API thread; a burst of 200
    # lets a client catch up after an outage, or page through a list, without waiting.
    rate_limit_per_second: float = _finite(
        50.0,
        ge=0,
        le=100_000,
        description="requests per second each API key earns (sustained); 0 turns the limit off",
    )
    rate_limit_burst: int = Field(
        default=200, ge=1, le=100_000, description="requests an API key may send at once"
    )
    # The embedded ledger's read-only JSON-RPC front (ledger/rpc.py): each call runs in pure
    # Python under the lock every gateway on the chain shares. The heaviest legitimate call
    # needs ~294k gas (a simulated registerPlatform; views ≤ ~125k); 1M gas is ~0.15 s of the
    # worst call the contracts allow (a long Merkle proof, 5-7M gas/s in py-evm).
    rpc_call_gas_cap: int = Field(
        default=1_000_000,
        ge=100_000,
        le=30_000_000,
        description="gas of one eth_call / eth_estimateGas through /v1/ledger/rpc (more is cut)",
    )
    # clients.verify (the auditor's LedgerView) reads block times 100 to a batch.
    rpc_max_batch: int = Field(
        default=100, ge=1, le=1000, description="requests in one JSON-RPC batch to /v1/ledger/rpc"
    )
    rpc_time_budget_s: float = _finite(
        2.0,
        gt=0,
        le=60,
        description="seconds a /v1/ledger/rpc request may run before its batch's rest is refused",
    )
    send_window: int = Field(
        default=32, ge=1, le=1000, description="ledger writes in flight at once (one account)"
    )
    recognition: Literal["automatic", "officer"] = "automatic"
    # The followers that ask other gateways per return (services/follow.py): the origin's
    # automatic recognition and the centre's expected goods; the three recognition_* settings
    # govern both. A return that fails is retried on its own, after base * 2^(attempt-1) s
    # capped at `recognition_retry_cap_s`; with the defaults the 8th and last attempt comes
    # ~1 h after the first (30+60+...+1920 s): long enough to ride out a peer's restart or a
    # deployment, short enough for an officer to see the dispute the same day.
    recognition_max_attempts: int = Field(
        default=8,
        ge=1,
        le=100,
        description="attempts per return before the origin disputes it (reason: what failed) "
        "and the centre records an expectations problem",
    )
    recognition_retry_base_s: float = _finite(
        30.0,
        gt=0,
        le=86_400,
        description="seconds before a failed return's first retry (doubling after each)",
    )
    recognition_retry_cap_s: float = _finite(
        3_600.0,
        gt=0,
        le=7 * 86_400,
        description="the longest wait between two attempts of one return",
    )
    # The peer API, per requester and subject (services/disclosure.py). Automatic recognition
    # asks twice per attempt, an auditor tracing a return five times (one per document type);
    # 60/min with bursts of 20 leaves both untouched and stops a member from turning requests
    # into seals and ledger writes at will.
    peer_rate_per_minute: float = _finite(
        60.0,
        ge=0,
        le=600_000,
        description="peer requests a minute one requester earns per subject; 0 turns it off",
    )
    peer_rate_burst: int = Field(
        default=20, ge=1, le=10_000, description="peer requests per requester and subject at once"
    )
    peer_repeat_window_s: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="an identical peer request within this many seconds of a logged disclosure "
        "gets that disclosure again (no new log entry or ledger write); 0: every answer is logged",
    )
    policy_file: Path | None = Field(
        default=None, description="disclosure policy TOML (default: the shipped DESIGN §4 table)"
    )
    private_key_file: Path | None = Field(
        default=None, description="the area's signing key (hex), default data_dir/keys/account.key"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8200, ge=1, le=65535)
    public_listen_acknowledged: bool = Field(
        default=False,
        description="set when listening beyond loopback behind a TLS-terminating proxy",
    )

    @field_validator("ledger")
    @classmethod
    def _ledger(cls, value: str) -> str:
        if value != "embedded" and not value.startswith(("http://", "https://", "ws://")):
            raise ValueError("ledger must be 'embedded' or an http(s)/ws JSON-RPC URL")
        return value

    @model_validator(mode="after")
    def _safe(self) -> GatewaySettings:
        loopback = self.host in ("127.0.0.1", "::1", "localhost")
        if not loopback and not self.public_listen_acknowledged:
            raise ValueError(
                f"listening on {self.host} exposes the API: put it behind TLS and set "
                "CROSSRETURN_PUBLIC_LISTEN_ACKNOWLEDGED=true"
            )
        if self.ledger != "embedded" and self.deployment_file is None:
            raise ValueError("a JSON-RPC ledger needs CROSSRETURN_DEPLOYMENT_FILE")
        return self

    @property
    def keys_dir(self) -> Path:
        """Where the vault keys live."""
        return self.vault_key_dir or self.data_dir / "keys"

    @property
    def database(self) -> Path:
        """The SQLite file of this gateway."""
        return self.data_dir / f"gateway-{self.customs_code}.db"


@lru_cache
def get_settings() -> GatewaySettings:
    """The process's settings from the environment (swap with dependency_overrides in tests)."""
    return GatewaySettings()  # type: ignore[call-arg]
