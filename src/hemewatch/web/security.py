"""What protects visitors and their forms: security headers on every response, signed CSRF tokens and
the key that signs them.

- Headers: a pure ASGI middleware, so streaming responses keep streaming.
- CSRF: signed double-submit tokens, the same token in a cookie and in the form, signed with the app key.
- The key: configured, or generated once and kept in <home>/secret_key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hemewatch.errors import ConfigurationError
from hemewatch.settings import Settings

# No inline scripts or styles anywhere: every script and stylesheet comes from /static (and, for the
# API docs page, from /api/docs: the packaged Swagger UI and its own start-up script).
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Charts are SVG documents shown through <img>; their own styling is inline and they never run scripts.
SVG_CONTENT_SECURITY_POLICY: Final = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

SECURITY_HEADERS: Final[tuple[tuple[str, str], ...]] = (
    ("x-content-type-options", "nosniff"),
    # Manage, confirm and feed links carry secrets in their path: never send them to other sites.
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)


def security_headers(content_type: str | None = None) -> dict[str, str]:
    """The headers every response carries (the CSP depends on what the response is)."""
    policy = (
        SVG_CONTENT_SECURITY_POLICY if content_type and "svg" in content_type else CONTENT_SECURITY_POLICY
    )
    return {**dict(SECURITY_HEADERS), "content-security-policy": policy}


class SecurityHeadersMiddleware:
    """Adds the security headers to responses that do not set them already."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                present = {name.lower() for name, _ in raw}
                content_type = next(
                    (value.decode("latin-1") for name, value in raw if name.lower() == b"content-type"), None
                )
                for name, value in security_headers(content_type).items():
                    if name.encode("latin-1") not in present:
                        raw.append((name.encode("latin-1"), value.encode("latin-1")))
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)


CSRF_COOKIE: Final = "hemewatch_csrf"
CSRF_FIELD: Final = "csrf_token"


@dataclass(frozen=True)
class CsrfToken:
    """The token to put in this page's forms; `is_new` when the cookie must be (re)set."""

    value: str
    is_new: bool


class CsrfSigner:
    """Issues and checks tokens of the form `nonce.signature`."""

    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(b"hemewatch csrf\x00" + secret_key.encode("utf-8")).digest()

    def _signature(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        """A fresh signed token."""
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._signature(nonce)}"

    def is_signed(self, token: str | None) -> bool:
        """True when the token carries this app's signature (so it was not made up by a third party)."""
        if not token or token.count(".") != 1 or not token.isascii():
            return False
        nonce, signature = token.split(".")
        return hmac.compare_digest(signature, self._signature(nonce))

    def token_for(self, cookie: str | None) -> CsrfToken:
        """The token for a page: the visitor's cookie when it is valid, else a new one."""
        if cookie is not None and self.is_signed(cookie):
            return CsrfToken(cookie, is_new=False)
        return CsrfToken(self.issue(), is_new=True)

    def verify(self, cookie: str | None, submitted: str | None) -> bool:
        """True when the form's token equals the cookie's and both are signed by this app."""
        if not cookie or not submitted:
            return False
        return hmac.compare_digest(
            cookie.encode("ascii", "replace"), submitted.encode("ascii", "replace")
        ) and (self.is_signed(cookie))


KEY_FILE_NAME = "secret_key"


def load_secret_key(settings: Settings) -> str:
    """Return settings.secret_key, else the key in <home>/secret_key, creating it on first use."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.home / KEY_FILE_NAME
    existing = _read(path)
    if existing:
        return existing
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: when two processes start at once, exactly one writes and both read the same key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path) or _unusable(path, "it is empty")
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot create the secret key file {path}: {exc.strerror}; set HEMEWATCH_SECRET_KEY instead."
        ) from exc
    key = secrets.token_urlsafe(48)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def _read(path: Path) -> str | None:
    try:
        return path.read_text("ascii").strip() or None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        _unusable(path, str(exc))
        raise AssertionError("unreachable") from exc


def _unusable(path: Path, why: str) -> str:
    raise ConfigurationError(
        f"The secret key file {path} cannot be used ({why}); delete it or set HEMEWATCH_SECRET_KEY."
    )
