"""Which platform roots a client accepts: ``http(s)`` with a host, plain ``http`` only to
loopback unless the caller insists. Pure (yarl and ipaddress), no I/O."""

from __future__ import annotations

import ipaddress

from yarl import URL

__all__ = ["check_base_url", "is_plain_http_to_remote"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    # An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches the IPv4 host: judge it by that
    # form, on every Python (3.13 does so by itself, 3.11 and 3.12 do not).
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def is_plain_http_to_remote(url: URL) -> bool:
    """Whether ``url`` is plain ``http`` to a host that is not loopback (the key in clear)."""
    return url.scheme == "http" and not _is_loopback(url.host or "")


def check_base_url(base_url: str, *, allow_insecure_http: bool = False) -> URL:
    """Parse the platform root; plain ``http://`` is refused except to loopback or when allowed."""
    url = URL(base_url.rstrip("/"))
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.query_string or url.fragment or url.user or url.password:
        raise ValueError("base_url must not carry credentials, a query or a fragment")
    if not allow_insecure_http and is_plain_http_to_remote(url):
        raise ValueError(
            f"base_url {base_url!r} is plain http to a non-loopback host: the API key would "
            "cross the network unencrypted (pass allow_insecure_http=True to insist)"
        )
    return url
