"""The SSRF guard: which hosts a source may reach.

A page on the internet must not be able to send the crawler to ``127.0.0.1``, the LAN or a cloud
metadata address (``169.254.169.254``) by a link or a redirect. Literal IPs are checked directly;
names are resolved (once per crawl) and every address they resolve to is checked.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache


def _address_is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


@lru_cache(maxsize=1024)
def _resolve(host: str) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return ()
    return tuple(sorted({info[4][0] for info in infos}))


def private_reason(host: str) -> str | None:
    """Why ``host`` is a private destination, or None when it is public (or unresolvable)."""
    host = host.strip("[]").lower()
    if not host:
        return "empty host"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is loopback"
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        addresses = _resolve(host)
    else:
        addresses = (host,)
    for address in addresses:
        if _address_is_private(address):
            return (
                f"{host} resolves to private address {address}"
                if address != host
                else f"{host} is a private address"
            )
    return None


def refusal(host: str, port: int | None, allow_private: bool, allowlist: list[str]) -> str | None:
    """A message when a source may not reach ``host:port``, else None."""
    if allow_private:
        return None
    host = host.lower()
    if host in allowlist or (port is not None and f"{host}:{port}" in allowlist):
        return None
    return private_reason(host)
