"""Security headers on every response (pure ASGI middleware, so streaming responses keep streaming)."""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
