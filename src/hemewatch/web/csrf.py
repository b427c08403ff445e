"""Signed double-submit CSRF tokens: the same token in a cookie and in the form, signed with the app key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

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
