"""The default store: a dict in this process, guarded by a lock.

``count_pending`` is O(1) (a counter kept in step by ``put``/``delete``/``purge``); ``purge``
scans every record, so call it from a timer (WCF purges every ``inactivity_timeout``), not
per message.
"""

from __future__ import annotations

import threading

from wssc.store.base import is_stale
from wssc.store.record import SessionRecord


class MemoryStore:
    """In-process `SessionStore`."""

    __slots__ = ("_lock", "_pending", "_records")

    def __init__(self) -> None:
        self._records: dict[str, SessionRecord] = {}
        self._pending = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryStore(sessions={len(self._records)}, pending={self._pending})"

    def get(self, context_id: str) -> SessionRecord | None:
        return self._records.get(context_id)

    def put(self, record: SessionRecord) -> None:
        with self._lock:
            old = self._records.get(record.context_id)
            self._records[record.context_id] = record
            self._pending += (not record.activated) - (old is not None and not old.activated)

    def delete(self, context_id: str) -> bool:
        with self._lock:
            old = self._records.pop(context_id, None)
            if old is None:
                return False
            if not old.activated:
                self._pending -= 1
            return True

    def count_pending(self) -> int:
        return self._pending

    def purge(self, now: float, inactivity_timeout: float, receive_timeout: float) -> int:
        # Copy under the lock (fast), test outside it so puts keep flowing, then remove under
        # the lock only the records that were not replaced meanwhile.
        with self._lock:
            snapshot = list(self._records.values())
        stale = [r for r in snapshot if is_stale(r, now, inactivity_timeout, receive_timeout)]
        removed = 0
        with self._lock:
            for rec in stale:
                if self._records.get(rec.context_id) is rec:
                    del self._records[rec.context_id]
                    removed += 1
                    if not rec.activated:
                        self._pending -= 1
        return removed

    def __len__(self) -> int:
        return len(self._records)
