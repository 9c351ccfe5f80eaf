"""The default store: a dict in this process, guarded by a lock.

Each session is held as its compact binary form (`SessionRecord.to_bytes`, the form Redis and
the cookies carry): one bytes object instead of a record object, its key and its float times.
About 300 bytes a session at 100,000 sessions instead of 413 (``bench/bench_sessions.py``).
`get` decodes it again (strictly: a defect raises `RecordFormatError`, never a half record),
and keeps the decoded record of the last ``DECODED_CACHE`` sessions it read beside the bytes it
came from: the next `get` of an unchanged session returns it without decoding (a record is
immutable; ``put`` and ``delete`` drop it, and a hit needs the very bytes object the store
still holds). An active session is read on every message, so its record is decoded once
per change, not once per message; the cache's size is fixed, not per session.

``count_pending`` is O(1) (a counter kept in step by ``put``/``delete``/``purge``); ``purge``
scans every record, reading only the fixed head of each (times and flags), so call it from a
timer (WCF purges every ``inactivity_timeout``), not per message.
"""

from __future__ import annotations

import threading

from wssc.store.base import is_stale_at
from wssc.store.record import SessionRecord, stale_fields

#: how many decoded records `MemoryStore.get` keeps (the sessions read last)
DECODED_CACHE = 1024


class MemoryStore:
    """In-process `SessionStore`."""

    __slots__ = ("_decoded", "_lock", "_pending", "_records")

    def __init__(self) -> None:
        self._records: dict[str, bytes] = {}
        #: context id -> (the bytes decoded, the record), oldest first
        self._decoded: dict[str, tuple[bytes, SessionRecord]] = {}
        self._pending = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStore(sessions={len(self._records)}, pending={self._pending})"

    def get(self, context_id: str) -> SessionRecord | None:
        data = self._records.get(context_id)
        if data is None:
            return None
        hit = self._decoded.get(context_id)
        if hit is not None and hit[0] is data:
            return hit[1]
        record = SessionRecord.from_bytes(data)
        with self._lock:
            if self._records.get(context_id) is data:  # not replaced or deleted meanwhile
                decoded = self._decoded
                decoded.pop(context_id, None)
                while len(decoded) >= DECODED_CACHE:
                    del decoded[next(iter(decoded))]
                decoded[context_id] = (data, record)
        return record

    def put(self, record: SessionRecord) -> None:
        data = record.to_bytes()
        with self._lock:
            self._decoded.pop(record.context_id, None)
            old = self._records.get(record.context_id)
            self._records[record.context_id] = data
            self._pending += (not record.activated) - (old is not None and not stale_fields(old)[0])

    def delete(self, context_id: str) -> bool:
        with self._lock:
            self._decoded.pop(context_id, None)
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
                    self._decoded.pop(cid, None)
                    removed += 1
                    if not stale_fields(data)[0]:
                        self._pending -= 1
        return removed

    def __len__(self) -> int:
        return len(self._records)
