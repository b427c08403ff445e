"""Request guards (pure ASGI middleware): HEAD answered like GET, control characters refused.

Control characters (C0 other than tab, line feed and carriage return) have no business in an
address, a search or a form field, and PostgreSQL refuses NUL in text: they are answered with 422
before any route sees them, in the path, the query string and URL-encoded form bodies.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hemewatch.web.errors import error_response

CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Forms here are a few kilobytes; a larger URL-encoded body is not one of them.
MAX_FORM_BYTES: Final = 1 << 20
_REFUSED: Final = "Invalid request: control characters are not allowed in addresses, searches or form fields."


def has_control(text: str) -> bool:
    """True when the text holds a control character other than tab, line feed or carriage return."""
    return CONTROL.search(text) is not None


def _form_has_control(body: bytes) -> bool:
    text = body.decode("utf-8", "replace")
    return has_control(text) or any(
        has_control(name) or has_control(value) for name, value in parse_qsl(text, keep_blank_values=True)
    )


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, and False when it is larger than a form may be."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class RequestGuardMiddleware:
    """HEAD is served by the GET route without a body; control characters get 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        query = scope.get("query_string", b"").decode("latin-1")
        if has_control(scope.get("path", "")) or has_control(unquote(query.replace("+", " "))):
            await self._refuse(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if scope["method"] == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
            body, fits = await _read_body(receive)
            if not fits:
                await error_response(Request(scope), 413, "The form is too large.")(scope, receive, send)
                return
            if _form_has_control(body):
                await self._refuse(scope, receive, send)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(Request(scope), 422, _REFUSED, [_REFUSED.removeprefix("Invalid request: ")])(
            scope, receive, send
        )


def _without_body(send: Send) -> Send:
    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_head
