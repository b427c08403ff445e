"""Refuse delivery targets in private, loopback, link-local, multicast or reserved address ranges.

The host is resolved here and the request is then sent to the address that was checked, so a
name cannot resolve to a public address for the check and a private one for the request.
"""

from __future__ import annotations

import ipaddress
import socket

from hemewatch.alerts.errors import DeliveryFailed, UnsafeTarget

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64 (RFC 6052): a gateway forwards 64:ff9b::a.b.c.d to the IPv4 address a.b.c.d.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches through (IPv4-mapped, 6to4 2002::/16 or NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refused_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why an address may not receive deliveries, or None when it may.

    An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is judged by the IPv4 address
    it reaches, so 2002:7f00:1:: is a loopback address and 64:ff9b::10.0.0.1 a private one.
    """
    if isinstance(address, ipaddress.IPv6Address):
        address = embedded_ipv4(address) or address
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if allow_private:
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address a host name resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryFailed(f"cannot resolve the host {host!r}: {exc}") from exc
    found: dict[str, IPAddress] = {}
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        found.setdefault(text, ipaddress.ip_address(text))
    return list(found.values())


def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The host's addresses when every one of them may receive deliveries; UnsafeTarget otherwise."""
    addresses = resolve(host, port)
    if not addresses:
        raise DeliveryFailed(f"the host {host!r} has no address")
    for address in addresses:
        reason = refused_reason(address, allow_private=allow_private)
        if reason is not None:
            raise UnsafeTarget(
                f"refused to deliver to {host} ({address}): it is {reason}. "
                "Set HEMEWATCH_WEBHOOK_ALLOW_PRIVATE=true to allow targets on your own network."
            )
    return addresses
