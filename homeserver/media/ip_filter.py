"""The IP address filter of the URL previewer.

Previews make the server fetch URLs chosen by users, so without a filter a user could
reach services that only the server can see (server-side request forgery). Every address
a host resolves to, at every redirect, passes through `IPFilter.is_allowed`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Loopback, private, link-local (which includes the cloud metadata address
# 169.254.169.254), carrier-grade NAT, multicast, documentation, benchmarking and
# reserved ranges, and their IPv6 counterparts.
DEFAULT_BLOCKED_RANGES = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::/128",
    "::1/128",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
)


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse CIDR strings; raise ValueError naming the first invalid one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ValueError(f"invalid IP range {value!r}: {exc}") from exc
    return tuple(networks)


class IPFilter:
    """Blocks the default ranges plus `extra_blocked`, except what `allowed` lists."""

    def __init__(
        self, extra_blocked: Iterable[str] = (), allowed: Iterable[str] = ()
    ) -> None:
        self.blocked = parse_networks((*DEFAULT_BLOCKED_RANGES, *extra_blocked))
        self.allowed = parse_networks(allowed)

    def is_allowed(self, address: str) -> bool:
        """Return False for a blocked or unparseable address."""
        try:
            ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        # An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches the IPv4 host.
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(
            ip in network for network in self.allowed if network.version == ip.version
        ):
            return True
        return not any(
            ip in network for network in self.blocked if network.version == ip.version
        )
