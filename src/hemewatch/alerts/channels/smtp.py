"""Send e-mail over SMTP: smtp://host:25, smtp+starttls://user:pass@host:587, smtps://user:pass@host:465."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
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


def send_mail(server: SmtpServer, message: EmailMessage, *, helo: str, timeout: float = 30.0) -> None:
    """Hand one message to the server; DeliveryFailed (retried later) when it cannot or will not take it."""
    where = f"{server.host}:{server.port}"
    try:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if server.security == "smtps":
            client = smtplib.SMTP_SSL(
                server.host, server.port, local_hostname=helo, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(server.host, server.port, local_hostname=helo, timeout=timeout)
        with client:
            if server.security == "smtp+starttls":
                client.starttls(context=context)
            if server.username:
                client.login(server.username, server.password or "")
            refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = "; ".join(
            f"{rcpt}: {code} {text.decode(errors='replace')}" for rcpt, (code, text) in exc.recipients.items()
        )
        raise DeliveryFailed(f"the mail server {where} refused the recipient ({codes})") from exc
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise DeliveryFailed(f"the mail server {where} refused the message: {exc.smtp_code} {text}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"cannot send mail through {where}: {exc or type(exc).__name__}") from exc
    if refused:
        raise DeliveryFailed(f"the mail server {where} refused some recipients: {', '.join(refused)}")
