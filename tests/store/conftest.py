"""Fixtures: a throw-away redis-server, and a ``store`` fixture over every store driver.

The Redis tests need a real ``redis-server`` binary. Without one they skip loudly, except under
``CI=true`` where a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from wssc.store import MemoryStore, SessionStore


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[tuple[str, int]]:
    """Start ``redis-server`` on a free port without persistence; stop it afterwards."""
    exe = shutil.which("redis-server")
    if exe is None:
        msg = "redis-server is not installed: the RedisStore tests cannot run"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{msg} (CI=true: install redis-server)")
        pytest.skip(f"!!! {msg}; install it (apt-get install redis-server) to run them !!!")
    redis = pytest.importorskip("redis")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="wssc-redis-")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        client.close()
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def redis_client(redis_server: tuple[str, int]) -> Iterator[Any]:
    import redis

    host, port = redis_server
    client = redis.Redis(host=host, port=port)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> SessionStore:
    if request.param == "memory":
        return MemoryStore()
    from wssc.store.redis import RedisStore

    return RedisStore(request.getfixturevalue("redis_client"))


NOW = 1_900_000_000.0  # a fixed "now", well in the future so Redis TTLs stay live


@pytest.fixture
def now() -> float:
    """The time ``make_record`` builds around (2030: Redis TTLs stay live)."""
    return NOW


@pytest.fixture
def make_record() -> Any:
    """Factory for SessionRecords with realistic values; keyword arguments override."""
    import uuid

    from wssc.store import SessionRecord

    def make(**overrides: Any) -> SessionRecord:
        fields: dict[str, Any] = {
            "context_id": f"urn:uuid:{uuid.uuid4()}",
            "instance": None,
            "key": os.urandom(32),
            "created": NOW,
            "expires": NOW + 36_000,
            "key_effective": NOW,
            "key_expires": NOW + 54_000,
            "last_used": NOW,
        }
        fields.update(overrides)
        return SessionRecord(**fields)

    return make
