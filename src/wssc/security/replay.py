"""Replay detection: a cache of the signatures of messages already accepted.

Each verified message leaves one entry, its SignatureValue, kept until the message could no
longer pass the Timestamp check: ``Created + replay window + clock skew``. The sender's
``Expires`` cannot stretch it, and a ``Created`` older than that is refused by the Timestamp
check itself, so a replay can never outlive its entry.

Entries are charged to a *partition*: the SCT that signed the message, or the peer address for
bootstrap-secured requests. One partition holds at most ``quota_per_partition`` live entries,
so one session cannot fill the cache for everybody else: past its quota, only that session is
refused (``ServerTooBusy``). When the whole cache is full, expired entries go first; if every
entry is still live, new messages are refused (fail closed) rather than letting an entry fall
out early.

Two implementations share the :class:`ReplayCache` protocol: :class:`MemoryReplayCache` (one
process) and :class:`wssc.store.redis.RedisReplayCache` (a farm: a replay sent to another
node is caught too).
"""

from __future__ import annotations

import heapq
import threading
from typing import Protocol

from wssc.errors import ReplayDetected, ServerTooBusy

#: WCF's ReplayCacheSize.
DEFAULT_MAX_ENTRIES = 900_000
#: Live entries one session (or one peer, before it has a session) may hold: 100 messages a
#: second for the ten minutes an entry lives.
DEFAULT_QUOTA_PER_PARTITION = 60_000


class ReplayCache(Protocol):
    def check_and_add(
        self, key: bytes, expires: float, now: float, *, partition: str = ""
    ) -> None:
        """Record ``key`` until ``expires``; raise :class:`ReplayDetected` if it is live
        already, :class:`ServerTooBusy` when the partition or the cache is full."""
        ...


class MemoryReplayCache:
    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        quota_per_partition: int = DEFAULT_QUOTA_PER_PARTITION,
    ) -> None:
        self.max_entries = max_entries
        self.quota_per_partition = quota_per_partition
        self._entries: dict[bytes, tuple[float, str]] = {}
        self._heap: list[tuple[float, bytes]] = []
        self._per_partition: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            exp, key = heapq.heappop(self._heap)
            entry = self._entries.get(key)
            if entry is not None and entry[0] == exp:
                del self._entries[key]
                part = entry[1]
                left = self._per_partition[part] - 1
                if left:
                    self._per_partition[part] = left
                else:
                    del self._per_partition[part]

    def check_and_add(
        self, key: bytes, expires: float, now: float, *, partition: str = ""
    ) -> None:
        with self._lock:
            self._purge(now)
            if key in self._entries:
                raise ReplayDetected()
            held = self._per_partition.get(partition, 0)
            if self.quota_per_partition and held >= self.quota_per_partition:
                raise ServerTooBusy("this session holds its whole share of the replay cache")
            if len(self._entries) >= self.max_entries:
                raise ServerTooBusy("the replay cache is full")
            self._entries[key] = (expires, partition)
            self._per_partition[partition] = held + 1
            heapq.heappush(self._heap, (expires, key))


__all__ = [
    "DEFAULT_MAX_ENTRIES", "DEFAULT_QUOTA_PER_PARTITION", "MemoryReplayCache", "ReplayCache",
]
