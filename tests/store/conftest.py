"""Fixtures: a throw-away redis-server, and a ``store`` fixture over every store driver.

The Redis tests need a real ``redis-server`` binary. Without one they skip loudly, except under
CI (``tests/peers.py: in_ci()``) where a missing server is a failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from wssc.store import MemoryStore, SessionStore


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


@pytest.fixture
def now() -> float:
    """ "Now" for one test: the real clock (whole seconds), so Redis TTLs, which are absolute
    (PXAT), stay live for the records ``make_record`` builds (expires = now + 10 h) on any
    date and however long the run has been going."""
    return float(int(time.time()))


@pytest.fixture
def make_record(now: float) -> Any:
    """Factory for SessionRecords with realistic values; keyword arguments override."""
    import uuid

    from wssc.store import SessionRecord

    def make(**overrides: Any) -> SessionRecord:
        fields: dict[str, Any] = {
            "context_id": f"urn:uuid:{uuid.uuid4()}",
            "instance": None,
            "key": os.urandom(32),
            "created": now,
            "expires": now + 36_000,
            "key_effective": now,
            "key_expires": now + 54_000,
            "last_used": now,
        }
        fields.update(overrides)
        return SessionRecord(**fields)

    return make
