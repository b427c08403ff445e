"""The network guard sees through 6to4 and NAT64, and Apprise mail URLs are checked on their SMTP server."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime

import apprise
import pytest

from hemewatch.alerts import UnsafeTarget
from hemewatch.alerts.channels.apprise import guarded_host, notify_apprise
from hemewatch.alerts.channels.webhook import post_webhook
from hemewatch.alerts.netguard import refused_reason
from tests.alerts.servers import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1."""
    with SmtpServer() as server:
        yield server


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        # 6to4: 2002:AABB:CCDD::/48 reaches the IPv4 address AA.BB.CC.DD.
        ("2002:7f00:1::1", "a loopback address"),
        ("2002:a00:1::", "a private address"),
        ("2002:c0a8:101::1", "a private address"),
        ("2002:a9fe:a9fe::", "a link-local address"),
        ("2002:5db8:d70e::1", None),
        # NAT64 (64:ff9b::/96): the last 32 bits are the IPv4 address.
        ("64:ff9b::10.0.0.1", "a private address"),
        ("64:ff9b::127.0.0.1", "a loopback address"),
        ("64:ff9b::169.254.169.254", "a link-local address"),
        ("64:ff9b::93.184.215.14", None),
        # IPv4-mapped, as before.
        ("::ffff:192.168.0.1", "a private address"),
    ],
)
def test_ipv6_addresses_are_judged_by_the_ipv4_address_they_reach(address: str, reason: str | None) -> None:
    assert refused_reason(ipaddress.ip_address(address), allow_private=False) == reason


def test_allowing_private_targets_allows_them_through_6to4_too() -> None:
    assert refused_reason(ipaddress.ip_address("2002:7f00:1::1"), allow_private=True) is None
    assert refused_reason(ipaddress.ip_address("2002:e000:1::"), allow_private=True) == "a multicast address"


def test_a_webhook_to_a_6to4_loopback_literal_is_refused() -> None:
    with pytest.raises(UnsafeTarget, match=r"2002:7f00:1::1.*loopback"):
        post_webhook(
            "http://[2002:7f00:1::1]:8080/hook",
            b"{}",
            secret="s",
            delivery_id="d-1",
            allow_private=False,
            timeout=2.0,
            now=datetime(2026, 12, 7, tzinfo=UTC),
        )


def test_the_smtp_server_of_a_mail_url_is_what_is_checked() -> None:
    plugin = apprise.Apprise.instantiate("mailto://user:pass@example.com?smtp=127.0.0.1")
    assert guarded_host(plugin) == ("127.0.0.1", 25)
    chosen = apprise.Apprise.instantiate("mailtos://u:p@example.org?smtp=10.0.0.5&port=2525")
    assert guarded_host(chosen) == ("10.0.0.5", 2525)
    # Without smtp=, Apprise derives the server from the domain: that server is the one checked.
    known = apprise.Apprise.instantiate("mailto://user:pass@gmail.com")
    assert guarded_host(known) == ("smtp.gmail.com", 587)


def test_an_apprise_mail_url_naming_a_local_smtp_server_sends_nothing(smtp: SmtpServer) -> None:
    url = f"mailto://hw@example.org?smtp=127.0.0.1&port={smtp.port}&to=dr.lee@example.org&from=hw@example.org"
    with pytest.raises(UnsafeTarget, match=r"refused to deliver to 127\.0\.0\.1 .*loopback"):
        notify_apprise(url, "hemewatch", "1 change", allow_private=False)
    assert smtp.messages == []
    # The same URL is delivered when the administrator allows targets on their own network.
    notify_apprise(url, "hemewatch", "1 change", allow_private=True)
    assert [rcpt for _, rcpt in smtp.envelopes] == [["dr.lee@example.org"]]


def test_apprise_json_to_a_private_6to4_address_is_refused() -> None:
    with pytest.raises(UnsafeTarget, match="a private address"):
        notify_apprise("json://[2002:a00:1::1]:8080/hook", "t", "b", allow_private=False)
