"""The address of the client behind our reverse proxies, and address allowlists.

X-Forwarded-For is only believed when the request arrives from a proxy we trust
(TRUSTED_PROXIES); anyone else could write any address into it. The header is read from
the right: each trusted proxy appends the address it saw, so the first entry (from the
right) that is not a trusted proxy is the real client.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=64)
def parse_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """'10.0.0.0/8', '127.0.0.1', '::1' -> networks. Raises ValueError on a bad entry."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _in(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address, looking through trusted proxies only."""
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = parse_networks(tuple(settings.TRUSTED_PROXIES))
    if not trusted or not _in(remote, trusted):
        return remote
    forwarded = [
        hop.strip()
        for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if hop.strip()
    ]
    for hop in reversed(forwarded):
        if not _in(hop, trusted):
            return hop
    # Every hop is a trusted proxy (or there is no header): the leftmost is the origin.
    return forwarded[0] if forwarded else remote


def ip_allowed(request: HttpRequest, allowlist: list[str]) -> bool:
    """True when the client address is in `allowlist` ("*" allows everyone)."""
    if "*" in allowlist:
        return True
    return _in(client_ip(request), parse_networks(tuple(allowlist)))


def from_trusted_proxy(request: HttpRequest) -> bool:
    """True when the request's direct peer is one of TRUSTED_PROXIES."""
    trusted = parse_networks(tuple(settings.TRUSTED_PROXIES))
    return _in(request.META.get("REMOTE_ADDR", ""), trusted)
