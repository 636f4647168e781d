"""The request path: every byte the SDK sends or receives goes through :class:`Transport`.

For each request the transport checks the client is usable (:class:`ClientState`), waits
for a place in the client's pool (its own queue, so that the per-attempt timeout only runs
once the attempt can start), takes a token from the client's rate limiter, sends with a
per-attempt timeout, maps failures to the error tree, retries what ``RetryPolicy`` allows,
penalizes the whole limiter on a 429, and logs one redacted DEBUG line per attempt (the full
path sent) and one INFO line per call. It is the only place that sees the API key.

Redirects are never followed automatically: aiohttp would forward ``X-API-Key`` to whatever
origin a ``Location`` names. Same-origin redirects of a GET are followed by hand (at most 5,
each paced). A recording or transcript may also be served from a storage origin, by a
redirect or by a JSON ``{"url": ...}`` answer: that origin must be ``https``, and it gets no
key and no header of ours but ``Accept`` and ``User-Agent`` (nor, once there, does any later
hop). Any other redirect is a ``RedirectError``.

Bounds against a hostile server: a non-streamed body is read up to ``max_response_bytes``
(counted once decompressed; more is a ``ResponseTooLargeError`` and the connection is
closed), an error body up to ``MAX_ERROR_BODY``. Streamed bodies (recordings) are never asked
compressed (``Accept-Encoding: identity``), so that their ``Content-Length`` is their size,
and are handed out as our own :class:`StreamedBody`. No exception of aiohttp's leaves this
package: its ``ClientResponseError`` carries the request headers, key included, so a failure
is described in the SDK error's message and raised outside the ``except`` block (no
``__cause__``, no ``__context__``), and the retry loop cuts any foreign exception still
chained to an error it raises. aiohttp is imported at run time by this package only among
the core modules (``testing`` and ``cli`` may import it too).

* ``_transport`` — :class:`Transport`: one attempt (redirects, storage pointers), the retry
  loop, streaming, the lifecycle transitions.
* ``_aio`` — what is taken from aiohttp: the session, timeouts, :class:`StreamedBody` and
  the one mapping of network failures to SDK errors (and the guard that cuts them off).
* ``_limits`` — the body caps (``max_response_bytes``, error bodies), counted decompressed.
* ``_headers`` — the headers of each hop (platform, storage origin) and the proxy's route.
* ``_pool`` — the pool gate: how many attempts hold a connection at once.
* ``_log`` — the per-call INFO and per-attempt DEBUG lines.
* ``_redirects`` — which redirects are followed, and the storage origins of artifacts.
* ``_state`` — :class:`ClientState`, the lifecycle state machine (unopened, opened, closed).
* ``_url`` — which platform roots are accepted (:func:`check_base_url`).
"""

from ._aio import ClientSession, StreamedBody
from ._limits import DEFAULT_MAX_RESPONSE_BYTES, MAX_ERROR_BODY
from ._state import ClientState
from ._transport import Response, Transport
from ._url import check_base_url, is_plain_http_to_remote

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_ERROR_BODY",
    "ClientSession",
    "ClientState",
    "Response",
    "StreamedBody",
    "Transport",
    "check_base_url",
    "is_plain_http_to_remote",
]
