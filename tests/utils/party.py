"""An HTTP client of one gateway acting with one role's API key, for the end-to-end tests:
writes must be accepted (202), operations and return states are polled until reached."""

from __future__ import annotations

import time
from typing import Any

import httpx


class Party:
    """An HTTP client of one gateway with one role's key."""

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        r = self.http.post(path, json=body, headers=headers)
        assert r.status_code == 202, f"{path}: {r.text}"
        return r.json()

    def confirmed(self, ops: dict[str, Any] | list[dict[str, Any]], timeout: float = 60) -> None:
        """Poll operations (one or many) until every one is confirmed (fail on a failed one)."""
        waiting = {int(op["id"]) for op in ([ops] if isinstance(ops, dict) else ops)}
        deadline = time.monotonic() + timeout
        while waiting:
            assert time.monotonic() < deadline, f"operations {sorted(waiting)} not confirmed"
            for op_id in sorted(waiting):
                status = self.get(f"/v1/operations/{op_id}")
                assert status["status"] != "failed", status
                if status["status"] == "confirmed":
                    waiting.discard(op_id)
            if waiting:
                time.sleep(0.05)

    def view(self, return_id: str) -> dict[str, Any] | None:
        r = self.http.get(f"/v1/returns/{return_id}")
        assert r.status_code in (200, 404), r.text  # 404 until the index has the return
        return dict(r.json()) if r.status_code == 200 else None

    def states(self, wanted: dict[str, str], timeout: float = 60) -> dict[str, dict[str, Any]]:
        """Poll return views until each return's indexed state is the one wanted."""
        seen: dict[str, dict[str, Any]] = {}
        last: dict[str, Any] = {}
        deadline = time.monotonic() + timeout
        while len(seen) < len(wanted):
            for rid, state in wanted.items():
                if rid in seen:
                    continue
                view = self.view(rid)
                last[rid] = view and view["ledger"] and view["ledger"]["state"]
                if view and view["ledger"] and view["ledger"]["state"] == state:
                    seen[rid] = view
            if len(seen) < len(wanted):
                assert time.monotonic() < deadline, {
                    rid: (last.get(rid), want) for rid, want in wanted.items() if rid not in seen
                }
                time.sleep(0.05)
        return seen

    def state(self, return_id: str, want: str, timeout: float = 60) -> dict[str, Any]:
        """Poll one return's view until its indexed state is `want`."""
        return self.states({return_id: want}, timeout)[return_id]

    def close(self) -> None:
        self.http.close()
