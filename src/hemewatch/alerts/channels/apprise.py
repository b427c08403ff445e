"""Chat and push notifications through Apprise URLs (slack://, msteams://, tgram://, ntfy://, json://…)."""

from __future__ import annotations

import logging
from typing import Any

from hemewatch.alerts.errors import DeliveryFailed
from hemewatch.alerts.netguard import checked_addresses


def service_name(url: str) -> str:
    """The scheme of an Apprise URL, which names the service without its secrets."""
    return url.partition("://")[0] or "apprise"


def _default_port(plugin: Any) -> int:
    return 443 if getattr(plugin, "secure", False) else 80


def guarded_host(plugin: Any) -> tuple[str, int] | None:
    """The host and port an Apprise service connects to when the URL chooses it.

    json://host, ntfy://host/topic: the URL's host; mailto://user@domain?smtp=server: the SMTP server
    (which Apprise otherwise derives from the domain, so it is chosen by the URL either way).
    """
    smtp_host = getattr(plugin, "smtp_host", None)
    if isinstance(smtp_host, str) and smtp_host:
        port = getattr(plugin, "port", None)
        return smtp_host, int(port) if port else 25
    if "host" not in getattr(plugin, "template_tokens", {}) or getattr(plugin, "mode", None) == "cloud":
        return None  # a fixed public service: the "host" part of the URL is an account or a token
    host = getattr(plugin, "host", None)
    if not isinstance(host, str) or not host:
        return None
    port = getattr(plugin, "port", None)
    return host, int(port) if port else _default_port(plugin)


def notify_apprise(url: str, title: str, body: str, *, allow_private: bool) -> None:
    """Send one markdown message; DeliveryFailed with Apprise's reason when the service refuses it."""
    import apprise  # imported here: loading its plugins takes a moment

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise DeliveryFailed(f"{service_name(url)}:// is not a URL Apprise understands")
    target = guarded_host(plugin)
    if target is not None:
        checked_addresses(target[0], target[1], allow_private=allow_private)
    # In memory: Apprise would otherwise keep state files under the user's home.
    sender = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode=apprise.PersistentStoreMode.MEMORY))
    sender.add(plugin)
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        sent = sender.notify(body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN)
    if not sent:
        lines = [line.split(" - ", 2)[-1] for line in captured.getvalue().splitlines() if line.strip()]
        reason = "; ".join(lines[-3:]) or "no reason given"
        raise DeliveryFailed(f"{service_name(url)} notification failed: {reason}")
