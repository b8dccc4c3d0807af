"""Which addresses count as this machine (loopback), for the authentication rules of the listeners."""

from __future__ import annotations

import ipaddress


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, IPv4-mapped ones (``::ffff:127.0.0.1``) included."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    # an IPv4 client of a dual-stack listener shows up as ::ffff:127.0.0.1
    mapped = getattr(address, "ipv4_mapped", None)
    return bool((mapped or address).is_loopback)


def is_loopback_peer(peer: object) -> bool:
    """True for a Unix-socket peer (not a tuple) or a TCP peer ``(host, port, …)`` on a loopback address."""
    if not isinstance(peer, tuple) or not peer:
        return True
    return is_loopback_host(str(peer[0]))
