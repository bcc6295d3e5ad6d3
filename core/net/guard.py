"""The address guard: keeps fetches off loopback, private, link-local and cloud-metadata addresses.

A feed is written by a stranger; its enclosure (or a redirect on the way) may
point at the machine itself or at its network. With the guard on, every URL
is resolved and each address checked before a connection is made, on every
redirect hop. An allow-list names trusted hosts (exact names) or networks
(CIDR, e.g. ``10.0.0.0/8``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlparse

from core.errors import BlockedAddressError, TransientFetchError

Resolver = Callable[[str, int], list[str]]
METADATA = {ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")}
ALLOW_HINT = (
    "If the server is yours, allow it: PRESENTER_FETCH__ALLOW='[\"host.example\"]' (or a network such as \"10.0.0.0/8\"); "
    "for a one-off 'presenter run' the guard can be turned off with PRESENTER_FETCH__GUARD=false."
)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, as the connection will use it)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def blocked_reason(address: str) -> str | None:
    """Why an address may not be fetched from with the guard on, or None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "not a public address"
    if ip.is_private:
        return "a private network address"
    if not ip.is_global:
        return "not a public address"
    return None


class Guard:
    """Checks URLs against the rules above; ``allow`` holds host names and CIDR networks."""

    def __init__(self, allow: list[str], resolver: Resolver = resolve) -> None:
        self.hosts = {entry.lower() for entry in allow if "/" not in entry}
        self.networks = [ipaddress.ip_network(entry, strict=False) for entry in allow if "/" in entry]
        self.resolver = resolver

    def check(self, url: str) -> None:
        parsed = urlparse(url)
        host = (parsed.hostname or "").lower()
        if host in self.hosts:
            return
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as error:
            raise TransientFetchError(f"Cannot resolve the host of {url} ({error}).", "Check the address and your network connection, then rerun.") from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if any(ip in network for network in self.networks):
                continue
            reason = blocked_reason(address)
            if reason:
                raise BlockedAddressError(f"{url} resolves to {address}, {reason}; the address guard refuses it.", ALLOW_HINT)
