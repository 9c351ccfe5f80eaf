"""The default store: a dict in this process, guarded by a lock.

Each session is held as its compact binary form (`SessionRecord.to_bytes`, the form Redis and
the cookies carry): one bytes object instead of a record object, its key and its float times.
About 300 bytes a session at 100,000 sessions instead of 413 (``bench/bench_sessions.py``).
`get` decodes it again (strictly: a defect raises `RecordFormatError`, never a half record).

``count_pending`` is O(1) (a counter kept in step by ``put``/``delete``/``purge``); ``purge``
scans every record, reading only the fixed head of each (times and flags), so call it from a
timer (WCF purges every ``inactivity_timeout``), not per message.
"""

from __future__ import annotations

import threading

from wssc.store.base import is_stale_at
from wssc.store.record import SessionRecord, stale_fields


class MemoryStore:
    """In-process `SessionStore`."""

    __slots__ = ("_lock", "_pending", "_records")

    def __init__(self) -> None:
        self._records: dict[str, bytes] = {}
        self._pending = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStore(sessions={len(self._records)}, pending={self._pending})"

    def get(self, context_id: str) -> SessionRecord | None:
        data = self._records.get(context_id)
        return None if data is None else SessionRecord.from_bytes(data)

    def put(self, record: SessionRecord) -> None:
        data = record.to_bytes()
        with self._lock:
            old = self._records.get(record.context_id)
            self._records[record.context_id] = data
            self._pending += (not record.activated) - (old is not None and not stale_fields(old)[0])

    def delete(self, context_id: str) -> bool:
        with self._lock:
            old = self._records.pop(context_id, None)
            if old is None:
                return False
            if not stale_fields(old)[0]:
                self._pending -= 1
            return True

    def count_pending(self) -> int:
        return self._pending

    def purge(self, now: float, inactivity_timeout: float, receive_timeout: float) -> int:
        # Copy under the lock (fast), test outside it so puts keep flowing, then remove under
        # the lock only the records that were not replaced meanwhile.
        with self._lock:
            snapshot = list(self._records.items())
        stale = [
            (cid, data)
            for cid, data in snapshot
            if is_stale_at(*stale_fields(data), now, inactivity_timeout, receive_timeout)
        ]
        removed = 0
        with self._lock:
            for cid, data in stale:
                if self._records.get(cid) is data:
                    del self._records[cid]
                    removed += 1
                    if not stale_fields(data)[0]:
                        self._pending -= 1
        return removed

    def __len__(self) -> int:
        return len(self._records)
