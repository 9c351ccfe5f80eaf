"""The SessionStore contract, run against every driver (memory, and Redis on a real server)."""

from __future__ import annotations

import math
import threading

import pytest

from wssc.store import MemoryStore, SessionStore

INACTIVITY, RECEIVE = 120.0, 600.0


def test_is_a_session_store(store):
    assert isinstance(store, SessionStore)


def test_put_get_delete(store, make_record):
    rec = make_record(identity="alice", instance="urn:uuid:i1")
    assert store.get(rec.context_id) is None
    store.put(rec)
    assert store.get(rec.context_id) == rec
    assert len(store) == 1
    assert store.delete(rec.context_id) is True
    assert store.delete(rec.context_id) is False
    assert store.get(rec.context_id) is None
    assert len(store) == 0


def test_replace(store, make_record, now):
    rec = make_record()
    store.put(rec)
    newer = rec.touched(now + 5)
    store.put(newer)
    assert store.get(rec.context_id) == newer
    assert len(store) == 1


def test_pending_counting(store, make_record):
    a, b, c = make_record(), make_record(), make_record(activated=True)
    for r in (a, b, c):
        store.put(r)
    assert store.count_pending() == 2
    store.put(a)  # same state again: no double count
    assert store.count_pending() == 2
    store.put(a.__class__(**{**_fields(a), "activated": True}))
    assert store.count_pending() == 1
    store.delete(b.context_id)
    assert store.count_pending() == 0
    store.delete(c.context_id)
    assert store.count_pending() == 0
    assert len(store) == 1


def _fields(rec):
    return {name: getattr(rec, name) for name in rec.__dataclass_fields__}


def test_purge_rules(store, make_record, now):
    now += 1000
    keep = {
        "fresh pending": make_record(last_used=now - INACTIVITY + 1),
        "idle pending within receive": make_record(activated=True, last_used=now - RECEIVE + 1),
        "session-mode token": make_record(activated=True, expires=math.inf, last_used=now),
        "idle exactly at the limit": make_record(last_used=now - INACTIVITY),
    }
    drop = {
        "stale pending": make_record(last_used=now - INACTIVITY - 1),
        "idle active": make_record(activated=True, last_used=now - RECEIVE - 1),
        "expired token": make_record(activated=True, expires=now, last_used=now),
    }
    for r in (*keep.values(), *drop.values()):
        store.put(r)
    assert store.count_pending() == 3
    assert store.purge(now, INACTIVITY, RECEIVE) == len(drop)
    for name, r in keep.items():
        assert store.get(r.context_id) == r, name
    for name, r in drop.items():
        assert store.get(r.context_id) is None, name
    assert len(store) == len(keep)
    assert store.count_pending() == 2
    assert store.purge(now, INACTIVITY, RECEIVE) == 0


def test_pending_timeout_longer_than_receive_timeout(store, make_record, now):
    # A pending session is judged by inactivity_timeout only, whatever receive_timeout is.
    now += 1000
    rec = make_record(last_used=now - 50)
    store.put(rec)
    assert store.purge(now, inactivity_timeout=100, receive_timeout=10) == 0
    assert store.purge(now, inactivity_timeout=40, receive_timeout=1000) == 1


def test_purge_many(store, make_record, now):
    recs = [make_record(last_used=now) for _ in range(2500)]
    for r in recs:
        store.put(r)
    assert store.count_pending() == 2500
    assert store.purge(now + INACTIVITY + 1, INACTIVITY, RECEIVE) == 2500
    assert len(store) == 0 and store.count_pending() == 0


def test_concurrent_puts(store, make_record, now):
    recs = [make_record() for _ in range(400)]

    def work(chunk):
        for r in chunk:
            store.put(r)
            store.put(r.touched(now + 1))

    threads = [threading.Thread(target=work, args=(recs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store) == 400 and store.count_pending() == 400


# --- driver specifics ------------------------------------------------------------------------


def test_memory_repr():
    assert repr(MemoryStore()) == "MemoryStore(sessions=0, pending=0)"


@pytest.fixture
def redis_store(redis_client):
    from wssc.store.redis import RedisStore

    return RedisStore(redis_client, prefix="test:")


def test_redis_ttl_follows_token_expiry(redis_store, redis_client, make_record, now):
    rec = make_record(expires=now + 100)
    redis_store.put(rec)
    assert redis_client.pexpiretime(f"test:r:{rec.context_id}") == int((now + 100) * 1000)
    forever = make_record(expires=math.inf)
    redis_store.put(forever)
    assert redis_client.ttl(f"test:r:{forever.context_id}") == -1


def test_redis_record_expired_by_ttl_is_gone_and_purged(redis_store, redis_client, make_record):
    import time

    rec = make_record(expires=time.time() + 0.05)
    redis_store.put(rec)
    deadline = time.monotonic() + 10  # Redis expires the key 50 ms on: poll for it
    while redis_client.exists(f"test:r:{rec.context_id}") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert redis_store.get(rec.context_id) is None
    assert redis_store.count_pending() == 1  # index entry lingers until purge
    assert redis_store.purge(time.time(), INACTIVITY, RECEIVE) == 1
    assert redis_store.count_pending() == 0 and len(redis_store) == 0


def test_redis_prefixes_are_isolated(redis_client, make_record, now):
    from wssc.store.redis import RedisStore

    a, b = RedisStore(redis_client, prefix="a:"), RedisStore(redis_client, prefix="b:")
    rec = make_record()
    a.put(rec)
    assert b.get(rec.context_id) is None and len(b) == 0 and b.count_pending() == 0
    assert b.purge(now + 10**6, 1, 1) == 0 and len(a) == 1


def test_redis_stores_the_binary_record(redis_store, redis_client, make_record):
    rec = make_record()
    redis_store.put(rec)
    assert redis_client.get(f"test:r:{rec.context_id}") == rec.to_bytes()


def test_redis_refuses_decoding_client(redis_server):
    import redis

    from wssc.errors import ConfigurationError
    from wssc.store.redis import RedisStore

    host, port = redis_server
    with pytest.raises(ConfigurationError, match="decode_responses"):
        RedisStore(redis.Redis(host=host, port=port, decode_responses=True))


def test_redis_repr(redis_store):
    assert repr(redis_store) == "RedisStore(prefix='test:')"


def test_store_package_resolves_redis_lazily():
    import wssc.store
    from wssc.store.redis import RedisStore

    assert wssc.store.RedisStore is RedisStore


def test_now_follows_the_real_clock(now, make_record):
    # No date bomb: "now" is today, and the records it builds are live in Redis' real time.
    import time

    assert abs(now - time.time()) < 3600
    rec = make_record()
    assert rec.created == now and rec.expires > time.time() + 3600
