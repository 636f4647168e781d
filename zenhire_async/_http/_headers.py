"""The headers of each hop of a request, built once per transport. Pure (multidict).

The platform gets the caller's default headers over the fixed ones (names
case-insensitive), the key on authenticated routes, ``Content-Type`` with a body and, through
a plain-http proxy, ``Proxy-Authorization``. A session of our own already sends the fixed
headers (``Accept``, ``User-Agent``), so a request adds only its own; a borrowed one gets all.
A storage origin gets ``Accept`` and ``User-Agent`` and nothing else of ours (no key, no
default header). A streamed body is asked uncompressed (``Accept-Encoding: identity``), so
that its ``Content-Length`` is its size.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from multidict import CIMultiDict
from yarl import URL

from .._protocol import RequestSpec

__all__ = ["HeaderSets", "ProxyRoute"]

_IDENTITY = {"Accept-Encoding": "identity"}


class ProxyRoute:
    """A proxy without credentials in its URL, and where its credentials travel.

    The credentials never stay in the URL aiohttp keeps (and would show in its errors): they
    go to the proxy in ``CONNECT`` (``connect_headers``) for an https platform, on the request
    itself (``request_auth``) for plain http (the proxy sees it; no origin server does).
    """

    __slots__ = ("connect_headers", "request_auth", "url")

    def __init__(self, proxy: URL | None, base_url: URL) -> None:
        self.url = proxy.with_user(None) if proxy is not None else None
        self.connect_headers: dict[str, str] | None = None
        self.request_auth: str | None = None
        if proxy is not None and (proxy.user is not None or proxy.password is not None):
            pair = f"{proxy.user or ''}:{proxy.password or ''}".encode()
            auth = "Basic " + base64.b64encode(pair).decode("ascii")
            if base_url.scheme == "https":
                self.connect_headers = {"Proxy-Authorization": auth}
            else:
                self.request_auth = auth


class HeaderSets:
    """The four header sets of the platform (by key and body) and the storage origin's."""

    __slots__ = ("_sets", "_storage", "defaults")

    def __init__(
        self,
        *,
        api_key: str,
        user_agent: str,
        defaults: CIMultiDict[str],
        own_session: bool,
        proxy_auth: str | None,
    ) -> None:
        self.defaults = defaults
        fixed = {} if own_session else {"Accept": "application/json", "User-Agent": user_agent}
        # Built once (aiohttp copies what it is given): each request reuses them.
        self._sets: dict[tuple[bool, bool], CIMultiDict[str]] = {}
        for authenticated in (False, True):
            for has_body in (False, True):
                merged = CIMultiDict(fixed)
                merged.update(defaults)
                if authenticated:
                    merged["X-API-Key"] = api_key
                if has_body:
                    merged["Content-Type"] = "application/json"
                if proxy_auth is not None:
                    merged["Proxy-Authorization"] = proxy_auth
                self._sets[authenticated, has_body] = merged
        self._storage = {"Accept": "*/*", "User-Agent": user_agent}

    def for_hop(self, spec: RequestSpec, *, stream: bool, offsite: bool) -> Mapping[str, str]:
        """The headers of one hop of ``spec``, to the platform or (``offsite``) to storage."""
        headers = (
            self._storage if offsite else self._sets[spec.authenticated, spec.body is not None]
        )
        return {**headers, **_IDENTITY} if stream else headers
