"""A bounded replay cache.

Each verified message leaves one entry: its signature value, kept until the message could no
longer pass the timestamp check (created + replay window + clock skew). When the cache is full
of live entries, new messages are refused rather than letting an old entry fall out (fail
closed).
"""

from __future__ import annotations

import heapq
import threading

from wssc.errors import ReplayDetected, ServerTooBusy


class ReplayCache:
    def __init__(self, max_entries: int = 900_000) -> None:
        self.max_entries = max_entries
        self._expiry: dict[bytes, float] = {}
        self._heap: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            exp, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == exp:
                del self._expiry[key]

    def check_and_add(self, key: bytes, expires: float, now: float) -> None:
        """Record ``key``; raise :class:`ReplayDetected` if it was seen and is still live."""
        with self._lock:
            self._purge(now)
            if key in self._expiry:
                raise ReplayDetected()
            if len(self._expiry) >= self.max_entries:
                raise ServerTooBusy("the replay cache is full")
            self._expiry[key] = expires
            heapq.heappush(self._heap, (expires, key))
