"""The client address sign-in throttling (django-axes) keys on, through ``AXES_CLIENT_IP_CALLABLE``.

Behind a proxy every request comes from the proxy's address, so throttling by it would let five
wrong passwords from anywhere pause everyone. The proxy's ``X-Forwarded-For`` names the client, but
anyone can send that header: it is read only when the request comes from an address listed in
``TRUSTED_PROXIES``, and then from the right, skipping the trusted proxies' own hops, so an address a
client wrote in front of the real ones is never reached. Without trusted proxies the header is
ignored and the peer's own address counts.

(django-ipware's ``proxy_trusted_ips`` matches prefixes of the header's hops and never looks at the
peer's address, so a client talking to the app directly could still choose its own address.)"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, proxies) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_ip(request: HttpRequest) -> str | None:
    """For a request from a trusted proxy, the right-most ``X-Forwarded-For`` hop that is not a
    trusted proxy; otherwise the peer's address. E.g. with ``TRUSTED_PROXIES=10.0.0.0/8``, a request
    from 10.0.0.2 with ``X-Forwarded-For: 6.6.6.6, 203.0.113.9, 10.0.0.7`` counts as 203.0.113.9."""
    peer = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXIES
    if not proxies or not _trusted(_address(peer or ""), proxies):
        return peer
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # a hop our own proxies wrote is unreadable: trust nothing further left
            return peer
        if not _trusted(address, proxies):
            return str(address)
    return str(_address(hops[0])) if hops else peer  # every hop is one of ours
