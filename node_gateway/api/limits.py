"""Request body guards, enforced before a handler reads the body: a size limit (413) and, for
JSON, a nesting-depth limit (422) checked without parsing — json's C scanner would overflow
the C stack on a deep enough document in this process (see adapters/json_guard.py)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node_gateway.api.problems import PROBLEM_JSON, TOO_DEEP, problem_body
from node_gateway.json_guard import MAX_DEPTH, json_depth


class BodyLimit:
    """ASGI middleware: 413 problem+json above `max_bytes`, 422 for JSON nested deeper than
    `max_depth`. The body is read here (bounded by the limit) and handed on unchanged."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the app see it
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # FastAPI also parses a body sent without a content type as JSON.
        content_type = headers.get(b"content-type", b"")
        if (not content_type or b"json" in content_type) and json_depth(body) > self.max_depth:
            await self._reject(
                scope,
                send,
                422,
                TOO_DEEP,
                "JSON nested too deep",
                f"JSON bodies may nest at most {self.max_depth} levels",
            )
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        detail = f"request bodies are limited to {self.max_bytes} bytes"
        await self._reject(scope, send, 413, "body_too_large", "Body too large", detail)

    async def _reject(
        self, scope: Scope, send: Send, status: int, code: str, title: str, detail: str
    ) -> None:
        body = problem_body(status, code, title, detail, scope.get("path", ""))
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
