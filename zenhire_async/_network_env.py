"""Which proxy and which CA certificates a client uses: ``proxy=``, ``trust_env`` (as httpx).

Read once, when the client is built (httpx reads its environment then too):

* ``proxy=`` (an ``http://`` or ``https://`` URL, credentials allowed) is used for every
  request, whatever the environment says.
* Otherwise, with ``trust_env=True``: ``HTTPS_PROXY`` for an ``https`` platform,
  ``HTTP_PROXY`` for an ``http`` one, else ``ALL_PROXY`` (names in any case, the lower-case
  one first, as ``urllib`` reads them; a value without a scheme means ``http://``), unless
  ``NO_PROXY`` names the platform's host: ``*``, the host itself, or a domain it is in
  (``example.com`` and ``.example.com`` both cover ``api.example.com``), optionally with the
  port. Loopback is not exempt unless listed.
* ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, with ``trust_env=True``, name the CA certificates
  TLS connections are verified against (a file or directory that does not exist is
  ignored, as httpx does). OpenSSL itself may consult them as its defaults too.

We do this rather than aiohttp's ``trust_env=True``, which would also send ``~/.netrc``
credentials to the platform as Basic auth and skips ``https://`` proxies from the environment.
"""

from __future__ import annotations

import os
import ssl
import urllib.request

from yarl import URL

__all__ = ["ca_context", "check_proxy", "environment_proxy"]


def check_proxy(proxy: str, *, source: str = "proxy") -> URL:
    """An ``http(s)://host[:port]`` proxy URL, credentials allowed; anything else is refused."""
    if not isinstance(proxy, str):
        raise TypeError(f"{source} must be a URL string, not {type(proxy).__name__}")
    text = proxy.strip()
    if text and "://" not in text:
        text = "http://" + text
    try:
        url = URL(text)
    except ValueError as exc:
        raise ValueError(f"{source} is not a valid URL") from exc
    if url.scheme not in ("http", "https") or not url.host:
        # Never echo the value: it may carry the proxy's password.
        raise ValueError(
            f"{source} must be an http:// or https:// proxy URL with a host "
            f"(got scheme {url.scheme!r})"
        )
    if url.path not in ("", "/") or url.query_string or url.fragment:
        raise ValueError(f"{source} must not have a path, query or fragment")
    return url


def environment_proxy(base_url: URL) -> URL | None:
    """The proxy the environment names for ``base_url``, or ``None`` (see the module doc)."""
    proxies = urllib.request.getproxies_environment()
    scheme = base_url.scheme
    chosen = proxies.get(scheme) or proxies.get("all")
    if not chosen:
        return None
    host = base_url.host or ""
    if base_url.explicit_port is not None and ":" not in host:  # NO_PROXY may say host:port
        host = f"{host}:{base_url.port}"
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if bypass(host, proxies):
        return None
    return check_proxy(chosen, source=f"{scheme.upper()}_PROXY")


def ca_context() -> ssl.SSLContext | None:
    """A verifying TLS context of ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, ``None`` if neither."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    cafile = cafile if cafile is not None and os.path.isfile(cafile) else None
    capath = capath if capath is not None and os.path.isdir(capath) else None
    if cafile is None and capath is None:
        return None
    return ssl.create_default_context(cafile=cafile, capath=capath)
