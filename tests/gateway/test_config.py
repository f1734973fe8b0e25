"""Gateway settings: defaults, environment, and loud failures on unsafe combinations."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from node_gateway.config import GatewaySettings


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSRETURN_AREA_LABEL", "customs-2900")
    monkeypatch.setenv("CROSSRETURN_CUSTOMS_CODE", "2900")
    monkeypatch.setenv("CROSSRETURN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CROSSRETURN_BATCH_SIZE", "500")
    s = GatewaySettings()  # type: ignore[call-arg]
    assert (s.customs_code, s.batch_size, s.ledger) == ("2900", 500, "embedded")
    assert s.keys_dir == tmp_path / "keys"
    assert s.database == tmp_path / "gateway-2900.db"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"customs_code": "290"}, "pattern"),
        ({"host": "0.0.0.0"}, "PUBLIC_LISTEN_ACKNOWLEDGED"),
        ({"ledger": "ftp://x"}, "JSON-RPC URL"),
        ({"ledger": "http://127.0.0.1:8545"}, "DEPLOYMENT_FILE"),
        ({"batch_size": 0}, "greater than or equal"),
    ],
)
def test_unsafe_or_invalid_settings_fail_loudly(overrides: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"area_label": "customs-2900", "customs_code": "2900"}
    with pytest.raises(ValidationError, match=message):
        GatewaySettings(**{**base, **overrides})  # type: ignore[arg-type]


def test_public_listen_allowed_when_acknowledged() -> None:
    s = GatewaySettings(
        area_label="customs-2900",
        customs_code="2900",
        host="0.0.0.0",
        public_listen_acknowledged=True,
    )
    assert s.host == "0.0.0.0"
