"""The memory store's cache of decoded records: a hit is the record of the bytes the store
still holds, never a version that a put, a delete or a purge replaced; its size is fixed."""

from __future__ import annotations

import dataclasses
from typing import Any

from wssc.store import MemoryStore
from wssc.store.memory import DECODED_CACHE


def test_a_second_get_reuses_the_decoded_record(make_record: Any) -> None:
    store = MemoryStore()
    rec = make_record()
    store.put(rec)
    first = store.get(rec.context_id)
    assert first == rec
    assert store.get(rec.context_id) is first  # no second decode


def test_a_put_replaces_the_cached_record(make_record: Any, now: float) -> None:
    store = MemoryStore()
    rec = make_record()
    store.put(rec)
    assert store.get(rec.context_id) == rec
    newer = dataclasses.replace(rec, activated=True, last_used=now + 5, key=b"k" * 32)
    store.put(newer)
    got = store.get(rec.context_id)
    assert got == newer and got is not None and got.key == b"k" * 32 and got.activated


def test_delete_and_purge_drop_the_cached_record(make_record: Any, now: float) -> None:
    store = MemoryStore()
    gone, stale = make_record(), make_record(expires=now - 1)
    for rec in (gone, stale):
        store.put(rec)
        assert store.get(rec.context_id) == rec
    assert store.delete(gone.context_id)
    assert store.get(gone.context_id) is None
    assert store.purge(now, 120.0, 600.0) == 1
    assert store.get(stale.context_id) is None
    assert store._decoded == {}  # no key material of an ended session stays behind


def test_only_the_bytes_the_store_holds_are_a_hit(make_record: Any) -> None:
    # Bytes equal to the cached ones but not the same object (a record written again): the
    # cache is keyed by the very bytes object, so the record is decoded again.
    store = MemoryStore()
    rec = make_record()
    store.put(rec)
    first = store.get(rec.context_id)
    store._records[rec.context_id] = bytes(bytearray(store._records[rec.context_id]))
    second = store.get(rec.context_id)
    assert second == first and second is not first


def test_the_cache_has_a_fixed_size(make_record: Any) -> None:
    store = MemoryStore()
    records = [make_record() for _ in range(DECODED_CACHE + 20)]
    for rec in records:
        store.put(rec)
        assert store.get(rec.context_id) == rec
    assert len(store._decoded) == DECODED_CACHE
    assert records[0].context_id not in store._decoded  # the oldest went first
    assert store.get(records[0].context_id) == records[0]  # and still decodes
