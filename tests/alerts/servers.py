"""Real local receivers for delivery tests: an SMTP server (aiosmtpd) and an HTTP server, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class SmtpServer:
    """aiosmtpd on an ephemeral port; keeps every message it accepted, parsed.

    refuse: answer DATA with this reply instead of accepting (e.g. "451 4.3.0 try later").
    refuse_recipients: answer RCPT TO for these addresses with "550 5.1.1 No such user".
    stall_on: the n-th DATA (1-based) is stored, then the reply waits until `release` is set.
    drop_after: close every connection, as a server does with idle ones, once it has taken this many
    messages (5 ms after the last reply).
    keep: parse and keep each message; False keeps only its size and envelope (benchmarks).
    connections: how many connections clients opened; sizes: the size in bytes of each accepted message.
    """

    def __init__(self, *, credentials: tuple[str, str] | None = None, keep: bool = True) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.sizes: list[int] = []
        self.connections = 0
        self.keep = keep
        self.refuse: str | None = None
        self.refuse_recipients: set[str] = set()
        self.drop_after: int | None = None
        self.stall_on: int | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        self._credentials = credentials
        self._data_count = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse is not None:
            return self.refuse
        self._data_count += 1
        if self.keep:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        self.sizes.append(len(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self._data_count == self.stall_on:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        taken = server.hemewatch_taken = getattr(server, "hemewatch_taken", 0) + 1
        if self.drop_after is not None and taken >= self.drop_after and server.transport is not None:
            asyncio.get_running_loop().call_later(0.005, server.transport.close)
        return "250 2.0.0 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse_recipients:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self._credentials == (
            data.login.decode(),
            data.password.decode(),
        )
        return AuthResult(success=ok)

    def _smtp(self) -> SMTP:
        self.connections += 1
        if self._credentials is None:
            return SMTP(self, hostname="test.smtp.local")
        with warnings.catch_warnings():
            # Plain-text AUTH is what this local test server is for.
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(
                self,
                hostname="test.smtp.local",
                authenticator=self._authenticate,
                auth_require_tls=False,
                auth_required=True,
            )

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(self._smtp, "127.0.0.1", 0), self._loop
        )
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release.set()
        if self._server is not None:
            # Closed on the loop's own thread: Server.close from another thread races with the loop.
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        """HEMEWATCH_SMTP_URL for this server."""
        if self._credentials:
            return f"smtp://{self._credentials[0]}:{self._credentials[1]}@127.0.0.1:{self.port}"
        return f"smtp://127.0.0.1:{self.port}"


@dataclass
class Request:
    """One request the HTTP receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """A ThreadingHTTPServer that records requests and answers with the next status of `statuses`.

    block_on: the n-th request (1-based) is recorded, then its answer waits until `release` is set.
    """

    statuses: list[int] = field(default_factory=list)
    block_on: int | None = None
    requests: list[Request] = field(default_factory=list)
    blocked: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(
                    Request("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if len(receiver.requests) == receiver.block_on:
                    receiver.blocked.set()
                    receiver.release.wait()
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                answer = b'{"ok": true}' if status < 400 else b'{"error": "refused by the test"}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client was killed while we waited

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # shutdown() waits for the loop to look at its flag: every 10 ms rather than the default 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/hook") -> str:
        """An http:// URL on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"
