"""The requester side of the peer API: ask another member's gateway for a disclosure, open the
sealed answer, check it against its logged digest and parse the disclosed documents.

The holder's URL comes from its profile on the Consortium. The transport is HTTP (httpx) in
production; a consortium hosted in one process (`crossreturn demo`, tests) may hand requests
straight to the holder's answer function — the request is still signed, checked, sealed and
logged exactly the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from clients.commitments.document import CommitmentError, DisclosedDocument
from clients.envelope import EnvelopeError, open_envelope
from clients.peer import DisclosureRequest, disclosure_digest
from clients.records import DocType
from node_gateway.errors import PeerUnavailable
from node_gateway.services.context import AreaContext, Disclosure

PATH = "/peer/v1/disclosures"
DECLARATIONS_PATH = "/peer/v1/declarations"  # a case's declaration, on a signed application
TIMEOUT_S = 10.0

PeerHandler = Callable[[dict[str, Any], str], tuple[int, dict[str, Any]]]


class PeerTransport(Protocol):
    """Delivers a signed request body to a holder's gateway; returns (status, JSON body)."""

    def post(self, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST `body` to `url`."""
        ...


class HttpTransport:
    """Peer requests over HTTP(S)."""

    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self._client = httpx.Client(timeout=timeout_s)

    def post(self, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST JSON; a network failure becomes PeerUnavailable."""
        try:
            r = self._client.post(url, json=body)
            return r.status_code, dict(r.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise PeerUnavailable(f"{url}: {exc}") from exc

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


class DirectTransport:
    """Hands requests to answer functions by gateway URL (one process hosts the holders);
    a handler gets the body and the peer path asked (PATH, DECLARATIONS_PATH)."""

    def __init__(self) -> None:
        self.handlers: dict[str, PeerHandler] = {}

    def post(self, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Call the holder registered for the URL's gateway."""
        for path in (PATH, DECLARATIONS_PATH):
            if url.endswith(path):
                base = url.removesuffix(path)
                break
        else:
            raise PeerUnavailable(f"{url} is no peer endpoint")
        handler = self.handlers.get(base)
        if handler is None:
            raise PeerUnavailable(f"no gateway at {base} in this process")
        return handler(body, path)


class PeerClient:
    """Asks other members' gateways for what the policy lets this area see (the services'
    PeerRequester)."""

    def __init__(self, ctx: AreaContext, transport: PeerTransport) -> None:
        self.ctx = ctx
        self.transport = transport

    def fetch(self, holder: bytes, subject: str, doc_type: str) -> Disclosure:
        """The documents of `doc_type` about `subject` that `holder` discloses to this area."""
        return self._ask(holder, PATH, subject, doc_type, {})

    def fetch_declaration(
        self, holder: bytes, case_id: str, application: dict[str, Any]
    ) -> Disclosure:
        """The origin `holder`'s declaration of case `case_id` (its tax assessment, the fields
        a return centre checks an application against), on the authority of `application`:
        the platform's signed application naming this area as return centre, not yet on the
        ledger — `{header, terms, signature}` as the return enterprise sent them."""
        extra = {"application": application}
        return self._ask(holder, DECLARATIONS_PATH, case_id, DocType.TAX_ASSESSMENT.value, extra)

    def _ask(
        self, holder: bytes, path: str, subject: str, doc_type: str, extra: dict[str, Any]
    ) -> Disclosure:
        ledger = self.ctx.ledger
        _key, url = ledger.profile(holder)
        if not url:
            raise PeerUnavailable(f"member 0x{holder.hex()} registered no gateway URL")
        request = DisclosureRequest.new(self.ctx.member_hex, "0x" + holder.hex(), subject, doc_type)
        consortium = ledger.contracts.consortium.address
        signature = ledger.sign_message(request.message(ledger.chain_id, consortium))
        status, body = self.transport.post(
            url.rstrip("/") + path, {"request": request.to_json(), "signature": signature, **extra}
        )
        if status != 200:
            raise PeerUnavailable(
                f"{url} refused ({status} {body.get('code')}): {body.get('detail')}",
                peerStatus=status,
                peerCode=body.get("code"),
            )
        try:
            plaintext = open_envelope(
                body["envelope"], self.ctx.encryption, request.envelope_info()
            )
        except (EnvelopeError, KeyError, TypeError) as exc:
            raise PeerUnavailable(f"{url}: the answer cannot be opened: {exc}") from exc
        digest = disclosure_digest(plaintext)
        if digest != body.get("digest"):
            raise PeerUnavailable(f"{url}: the answer does not match the digest it logs")
        try:
            documents = [DisclosedDocument.from_json(d) for d in json.loads(plaintext)["documents"]]
        except (CommitmentError, KeyError, TypeError, ValueError) as exc:
            raise PeerUnavailable(f"{url}: malformed disclosed documents: {exc}") from exc
        salt = body.get("requesterSalt")
        return Disclosure(documents, digest, salt if isinstance(salt, str) else None)
