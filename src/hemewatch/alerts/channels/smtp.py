"""Send e-mail over SMTP: smtp://host:25, smtp+starttls://user:pass@host:587, smtps://user:pass@host:465.

A session keeps one connection (and, for TLS, one SSL context) for every message of a run, opens it on
first use and opens it again when the server has dropped it; plain smtp:// never builds an SSL context.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import Message
from types import TracebackType
from urllib.parse import unquote, urlsplit

from hemewatch.alerts.errors import DeliveryFailed
from hemewatch.errors import ConfigurationError

_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to hand over mail."""

    host: str
    port: int
    security: str  # smtp | smtp+starttls | smtps
    username: str | None
    password: str | None

    def __repr__(self) -> str:
        return f"SmtpServer({self.security}://{self.host}:{self.port})"  # never the password


def parse_smtp_url(url: str) -> SmtpServer:
    """Parse HEMEWATCH_SMTP_URL, or ConfigurationError saying what a valid one looks like."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigurationError(
            "HEMEWATCH_SMTP_URL must look like smtp://host:25, smtp+starttls://user:password@host:587 "
            f"or smtps://user:password@host:465 (got scheme {parts.scheme!r})"
        )
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise ConfigurationError(f"HEMEWATCH_SMTP_URL has an invalid port: {exc}") from exc
    return SmtpServer(
        host=parts.hostname,
        port=port,
        security=parts.scheme,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _reply_text(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    return error.decode(errors="replace") if isinstance(error, bytes) else str(error)


def _is_8bit(message: Message) -> bool:
    return any(str(part.get("Content-Transfer-Encoding", "")).lower() == "8bit" for part in message.walk())


class SmtpSession:
    """One SMTP connection reused for a batch of messages; DeliveryFailed for a message it cannot hand over.

    A refused recipient or a refused message fails that message only: the connection stays open for the
    next. A connection the server dropped while idle is opened again, and the message sent on the new one.
    """

    def __init__(self, server: SmtpServer, *, helo: str, timeout: float = 30.0) -> None:
        self.server = server
        self.helo = helo
        self.timeout = timeout
        self.connections = 0  # connections opened so far
        self._client: smtplib.SMTP | None = None
        self._context: ssl.SSLContext | None = None

    @property
    def where(self) -> str:
        """host:port, for error messages."""
        return f"{self.server.host}:{self.server.port}"

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def _open(self) -> smtplib.SMTP:
        server = self.server
        client: smtplib.SMTP
        if server.security == "smtps":
            client = smtplib.SMTP_SSL(
                server.host, server.port, local_hostname=self.helo, timeout=self.timeout, context=self._tls()
            )
        else:
            client = smtplib.SMTP(server.host, server.port, local_hostname=self.helo, timeout=self.timeout)
        self.connections += 1
        try:
            if server.security == "smtp+starttls":
                client.starttls(context=self._tls())
            if server.username:
                client.login(server.username, server.password or "")
            client.ehlo_or_helo_if_needed()
        except BaseException:
            client.close()
            raise
        self._client = client
        return client

    def _connected(self) -> smtplib.SMTP:
        """The open connection, or a new one; DeliveryFailed when the server cannot be reached."""
        if self._client is not None:
            return self._client
        try:
            return self._open()
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"the mail server {self.where} refused the message: {exc.smtp_code} {_reply_text(exc)}"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            reason = exc or type(exc).__name__
            raise DeliveryFailed(f"cannot send mail through {self.where}: {reason}") from exc

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()

    def send(self, message: Message) -> None:
        """Hand one message to the server; DeliveryFailed (retried later) when it cannot or won't take it."""
        eight_bit = _is_8bit(message)
        while True:
            reused = self._client is not None
            client = self._connected()
            # An 8bit body says so to a server that announced 8BITMIME (base64 bodies need nothing).
            options = ["BODY=8BITMIME"] if eight_bit and client.has_extn("8bitmime") else []
            try:
                refused = client.send_message(message, mail_options=options)
            except smtplib.SMTPRecipientsRefused as exc:
                # smtplib reset the transaction: the connection serves the next message.
                codes = "; ".join(
                    f"{rcpt}: {code} {text.decode(errors='replace')}"
                    for rcpt, (code, text) in exc.recipients.items()
                )
                raise DeliveryFailed(f"the mail server {self.where} refused the recipient ({codes})") from exc
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code == 421 or client.sock is None:
                    self._drop()  # the server is closing the connection (an idle timeout, a restart)
                    if reused:
                        continue  # once more on a new connection
                raise DeliveryFailed(
                    f"the mail server {self.where} refused the message: {exc.smtp_code} {_reply_text(exc)}"
                ) from exc
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                if reused:
                    continue  # dropped while idle: once more on a new connection
                raise DeliveryFailed(
                    f"cannot send mail through {self.where}: {exc or type(exc).__name__}"
                ) from exc
            if refused:
                raise DeliveryFailed(
                    f"the mail server {self.where} refused some recipients: {', '.join(refused)}"
                )
            return

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def send_mail(server: SmtpServer, message: Message, *, helo: str, timeout: float = 30.0) -> None:
    """Hand one message to the server on a connection of its own; DeliveryFailed when it cannot."""
    with SmtpSession(server, helo=helo, timeout=timeout) as session:
        session.send(message)
