"""Peer answers are bounded per requester and subject: identical requests within the repeat
window get the one logged disclosure again (re-sealed, no new log entry, no new `disclose`
ledger write); beyond the rate the peer API answers 429 `peer_rate_limited` with Retry-After;
other subjects of the same requester are still answered.

The requester is Ningbo's gateway asking the return centre for the application of a return of
one of its cases (the origin's role), signed with Ningbo's account, over the centre's HTTP API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from clients.envelope import open_envelope
from clients.peer import DisclosureRequest, disclosure_digest
from node_gateway.services import disclosure
from tests.utils.gateway import CENTRE, NINGBO, GatewayWorld, assert_problem

PATH = "/peer/v1/disclosures"
DOC_TYPE = "return_application"


@dataclass(frozen=True)
class Asker:
    """Ningbo, entitled to the applications of returns the centre holds."""

    gw: GatewayWorld
    key: bytes
    return_ids: list[str]

    def ask(self, subject: str) -> tuple[DisclosureRequest, httpx.Response]:
        """A fresh signed request (new nonce) about `subject`, posted to the centre."""
        consortium = self.gw.consortium
        request = DisclosureRequest.new(
            self.gw.member_hex(NINGBO), self.gw.member_hex(CENTRE), subject, DOC_TYPE
        )
        signature = request.sign(
            self.key,
            consortium.centre.ledger.chain_id,
            consortium.manifest["addresses"]["Consortium"],
        )
        body = {"request": request.to_json(), "signature": signature}
        r: httpx.Response = self.gw.clients[CENTRE].post(PATH, json=body)
        return request, r

    def count(self, sql: str, *args: Any) -> int:
        """A count in the centre's store."""
        conn = self.gw.consortium.centre.connections.get()
        return int(conn.execute(sql, args).fetchone()[0])

    def logged(self, digest: str) -> int:
        """Disclosures the centre logged to Ningbo with `digest`."""
        return self.count(
            "SELECT count(*) FROM disclosure_log WHERE requester = ? AND digest = ?",
            self.gw.member_hex(NINGBO),
            digest,
        )

    def ledger_writes(self, digest: str) -> int:
        """`disclose` rows in the centre's outbox for `digest` (one per ledger transaction)."""
        return self.count(
            "SELECT count(*) FROM outbox WHERE kind = 'disclose'"
            " AND json_extract(payload, '$.digest') = ?",
            digest,
        )

    def answers(self, subject: str) -> int:
        """Answers the centre gave Ningbo about `subject`."""
        return self.count(
            "SELECT count(*) FROM peer_answers WHERE requester = ? AND subject = ?",
            self.gw.member_hex(NINGBO),
            subject,
        )


@pytest.fixture(scope="module")
def asker(gw: GatewayWorld) -> Asker:
    cases = gw.anchored_cases(4)
    return_ids = [gw.applied(case).return_id for case in cases]
    gw.drain()
    key_file = gw.consortium.data_dir / "areas" / NINGBO / "keys" / "account.key"
    return Asker(gw, bytes.fromhex(key_file.read_text().strip()), return_ids)


def _opened(asker: Asker, request: DisclosureRequest, r: httpx.Response) -> str:
    """Open the sealed answer with Ningbo's key; its digest (checked against the answer's)."""
    assert r.status_code == 200, r.text
    keys = asker.gw.consortium.gateways[NINGBO].context.encryption
    plaintext = open_envelope(r.json()["envelope"], keys, request.envelope_info())
    digest = disclosure_digest(plaintext)
    assert digest == r.json()["digest"]
    return digest


def test_identical_requests_log_one_disclosure(asker: Asker) -> None:
    subject = asker.return_ids[0]
    answered = [asker.ask(subject) for _ in range(6)]
    digests = {_opened(asker, request, r) for request, r in answered}
    (digest,) = digests  # the same disclosure every time ...
    envelopes = {str(r.json()["envelope"]) for _, r in answered}
    assert len(envelopes) == 6  # ... sealed afresh to each request
    assert asker.logged(digest) == 1
    assert asker.ledger_writes(digest) == 1
    assert asker.answers(subject) == 6
    assert (
        asker.count("SELECT count(*) FROM peer_answers WHERE subject = ? AND repeated = 1", subject)
        == 5
    )


def test_identical_request_after_the_window_is_logged_again(
    asker: Asker, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = asker.return_ids[1]
    request, r = asker.ask(subject)
    digest = _opened(asker, request, r)
    assert (asker.logged(digest), asker.ledger_writes(digest)) == (1, 1)
    window = asker.gw.consortium.centre.context.settings.peer_repeat_window_s
    later = time.time() + window + 1
    monkeypatch.setattr(disclosure, "time", SimpleNamespace(time=lambda: later))
    request, r = asker.ask(subject)
    assert _opened(asker, request, r) == digest
    assert (asker.logged(digest), asker.ledger_writes(digest)) == (2, 2)


def test_requests_over_the_rate_are_refused_with_retry_after(asker: Asker) -> None:
    subject, other = asker.return_ids[2], asker.return_ids[3]
    settings = asker.gw.consortium.centre.context.settings
    statuses: list[int] = []
    refused: httpx.Response | None = None
    for _ in range(settings.peer_rate_burst + 5):
        _, r = asker.ask(subject)
        statuses.append(r.status_code)
        if r.status_code != 200:
            refused = r
            break
    assert refused is not None, statuses
    assert statuses[: settings.peer_rate_burst] == [200] * settings.peer_rate_burst
    body = assert_problem(refused, 429, "peer_rate_limited")
    retry_after = int(refused.headers["Retry-After"])
    assert retry_after >= 1 and body["retryAfter"] == retry_after
    answered = asker.answers(subject)
    assert answered == len(statuses) - 1  # the refused request left no answer behind
    # The same requester about another subject is still answered.
    request, r = asker.ask(other)
    _opened(asker, request, r)
    assert asker.answers(other) == 1
    # And the limited subject is still refused right away.
    _, again = asker.ask(subject)
    assert_problem(again, 429, "peer_rate_limited")
    assert asker.answers(subject) == answered
