"""A stateful emulator of the ZenHire Interview API, for tests (yours and the SDK's).

``Emulator`` serves the whole API on loopback (``aiohttp.web``) with tenants, lifecycle
controls, an optional candidate ``Simulation`` and fault injection; ``virtual_time``
provides an event loop whose clock jumps over idle waits, so hours of polling run in
milliseconds. The pytest plugin (``zenhire_async.testing.pytest_plugin``) adds the
``zenhire_emulator`` and ``zenhire_client`` fixtures.
"""

from ._context import Envelope
from ._faults import FAULT_KINDS, FaultKind, FaultRule, Faults
from ._patch import DEFAULT_PATCH, DROP, Patch
from ._simulator import Simulation
from ._validation import ValidationFailed
from .emulator import Emulator, Tenant
from .virtual_time import VirtualTimeEventLoop, virtual_time_loop_factory

__all__ = [
    "DEFAULT_PATCH",
    "DROP",
    "FAULT_KINDS",
    "Emulator",
    "Envelope",
    "FaultKind",
    "FaultRule",
    "Faults",
    "Patch",
    "Simulation",
    "Tenant",
    "ValidationFailed",
    "VirtualTimeEventLoop",
    "virtual_time_loop_factory",
]
