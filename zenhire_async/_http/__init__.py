"""The request path: every byte the SDK sends or receives goes through :class:`Transport`.

A package so that ``ls`` shows the request path's parts, and so that aiohttp stays inside
it: no core module outside this package imports aiohttp at run time (``testing`` and
``cli`` may).

* ``_transport`` — :class:`Transport`: pool gate, pacing, redirects, retries, lifecycle.
* ``_aio`` — what is taken from aiohttp: the session, timeouts, :class:`StreamedBody` (a
  streamed response, our own type) and the one mapping of network failures to SDK errors.
* ``_limits`` — the body caps (``max_response_bytes``, error bodies), counted decompressed.
* ``_redirects`` — which redirects are followed, and the storage origins of artifacts.
* ``_state`` — :class:`ClientState`, the lifecycle state machine (unopened, opened, closed).
* ``_url`` — which platform roots are accepted (:func:`check_base_url`).
"""

from ._aio import ClientSession, StreamedBody
from ._limits import DEFAULT_MAX_RESPONSE_BYTES, MAX_ERROR_BODY
from ._transport import Response, Transport
from ._url import check_base_url

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_ERROR_BODY",
    "ClientSession",
    "Response",
    "StreamedBody",
    "Transport",
    "check_base_url",
]
