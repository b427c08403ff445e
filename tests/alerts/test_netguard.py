"""Webhook and Apprise targets in private, loopback, link-local, multicast or reserved ranges are refused."""

from __future__ import annotations

import ipaddress

import apprise
import pytest

from hemewatch.alerts import DeliveryFailed, UnsafeTarget
from hemewatch.alerts.channels.apprise import guarded_host
from hemewatch.alerts.netguard import checked_addresses, refused_reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd00::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("0.0.0.0", "an unspecified address"),
        ("100.64.0.1", "an address that is not publicly routable"),
        ("::ffff:10.0.0.1", "a private address"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_ranges(address: str, reason: str | None) -> None:
    assert refused_reason(ipaddress.ip_address(address), allow_private=False) == reason


def test_the_setting_allows_own_networks_but_never_multicast() -> None:
    assert refused_reason(ipaddress.ip_address("127.0.0.1"), allow_private=True) is None
    assert refused_reason(ipaddress.ip_address("10.0.0.1"), allow_private=True) is None
    assert refused_reason(ipaddress.ip_address("224.0.0.1"), allow_private=True) == "a multicast address"


def test_names_are_resolved_before_the_check() -> None:
    with pytest.raises(
        UnsafeTarget, match=r"refused to deliver to localhost .* loopback.*WEBHOOK_ALLOW_PRIVATE"
    ):
        checked_addresses("localhost", 80, allow_private=False)
    assert all(a.is_loopback for a in checked_addresses("localhost", 80, allow_private=True))


def test_an_unresolvable_name_is_a_delivery_failure() -> None:
    with pytest.raises(DeliveryFailed, match="cannot resolve the host"):
        checked_addresses("no-such-host.invalid", 80, allow_private=False)


def test_apprise_urls_with_a_chosen_host_are_guarded() -> None:
    assert guarded_host(apprise.Apprise.instantiate("json://127.0.0.1:8080/x")) == ("127.0.0.1", 8080)
    assert guarded_host(apprise.Apprise.instantiate("ntfy://ntfy.internal/topic")) == ("ntfy.internal", 80)
    # Public services: the "host" of the URL is an account or a token.
    assert guarded_host(apprise.Apprise.instantiate("ntfy://mytopic")) is None
    assert guarded_host(apprise.Apprise.instantiate("tgram://123456789:abcdefg_hijklmnop/12315544/")) is None
