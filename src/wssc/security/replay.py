"""Replay detection: a cache of the signatures of messages already accepted.

Each verified message leaves one entry, its SignatureValue, kept until the message could no
longer pass the Timestamp check: ``Created + replay window + clock skew``. The sender's
``Expires`` cannot stretch it, and a ``Created`` older than that is refused by the Timestamp
check itself, so a replay can never outlive its entry.

Entries are charged to a *partition*: the SCT that signed the message, or the peer address for
bootstrap-secured requests. One partition holds at most ``quota_per_partition`` live entries,
so one session cannot fill the cache for everybody else: past its quota, only that session is
refused (``ServerTooBusy``). Each entry is also charged to the *peer* that sent it (the client
address as the engine sees it, after declared-proxy resolution): one peer holds at most
``quota_per_peer`` live entries over all of its sessions, so a client that opens several
sessions cannot fill the cache either. At the defaults (900,000 entries, 90,000 per peer) it
takes ten addresses at full quota to fill it.

When the whole cache is full, expired entries go first; if every entry is still live, new
messages are refused (fail closed) rather than letting an entry fall out early. Evicting a live
entry (from the largest partition, say) was considered and rejected: the evicted message could
then be replayed by anyone who captured it, and the largest partition may well be a NAT's
legitimate users rather than the attacker.

**A cache that starts empty** (a restart; Redis restarted without its data) has forgotten
what it saw before. It keeps an *epoch* ``E``, the moment it started: for a
`MemoryReplayCache` its creation (the service engine makes its own as it starts; one
made without an ``epoch`` takes the ``now`` of its first check, which is later, so it
refuses more, never less), for Redis the time written into an epoch key by the first check
that finds none (Redis restarted empty: a new epoch). Which messages could it have seen
before ``E``? One that arrived at ``t < E`` passed the Timestamp check then, so its
``Created <= t + skew``: the sender's clock may run ahead of the service's by up to
``max_clock_skew``, and the service accepts a ``Created`` up to that far in its future.
Hence ``Created < E + skew``; a message created at or after ``E + skew`` cannot have arrived
before ``E``. Refusing every message with ``Created < E + skew`` would refuse every client
for ``skew`` (5 minutes) after each restart, so the rule is narrowed by the session: a
message under an SCT *issued* at or after ``E`` cannot have been sent, let alone seen,
before ``E``. Both times are the service's clock (the issue time is the session record's
``created``: the sealed cookie, the store), never the client's. So a message is refused
(`PredatesReplayCache`) when

    its session was issued before E  and  Created < E + max_clock_skew

The caller says when the session was issued (``issued``; None = unknown, taken as before
``E``) and passes ``created=None`` to skip the rule: bootstrap-secured messages (the RST that
opens a session, ``establish_security_context=False``) carry no session, so they are not
dated, and stay replayable within their Timestamp window after a restart (a replayed RST
yields a session whose key only its sender can read). A farm on Redis compares issue times
written by one node with an epoch written by another: their clocks must agree (NTP), as the
Timestamp checks already require.

What this costs a legitimate client: a session opened before the restart loses messages
created before ``E + skew``. The service answers them ``BadContextToken`` (not the generic
fault), on which a wssc client, like WCF's, drops the session and opens a new one: one
refused call per session, not ``skew`` of refusals.

Two implementations share the `ReplayCache` protocol: `MemoryReplayCache` (one
process) and `wssc.store.redis.RedisReplayCache` (a farm: a replay sent to another
node is caught too).
"""

from __future__ import annotations

import heapq
import threading
from typing import Protocol

from wssc.errors import PredatesReplayCache, ReplayDetected, ServerTooBusy

#: WCF's ReplayCacheSize.
DEFAULT_MAX_ENTRIES = 900_000
#: Live entries one session (or one peer, before it has a session) may hold: 100 messages a
#: second for the ten minutes an entry lives.
DEFAULT_QUOTA_PER_PARTITION = 60_000
#: Live entries one peer address may hold over all of its sessions: a tenth of the cache.
DEFAULT_QUOTA_PER_PEER = 90_000


class ReplayCache(Protocol):
    def check_and_add(
        self,
        key: bytes,
        expires: float,
        now: float,
        *,
        partition: str = "",
        peer: str = "",
        created: float | None = None,
        issued: float | None = None,
        skew: float = 0.0,
    ) -> None:
        """Record ``key`` until ``expires``, charged to ``partition`` and to ``peer`` (the
        sender's address; "" charges no peer); raise `ReplayDetected` if it is live
        already, `ServerTooBusy` when the partition, the peer or the cache is full, and
        `PredatesReplayCache` when ``created`` (the Timestamp's, or None: not dated)
        and ``issued`` (the session's issue time, None = unknown) say that the cache could
        have seen the message before it started (`predates`)."""
        ...


class PeerCharged:
    """``cache`` as seen by one request from ``peer``: every entry is charged to that peer
    too. The engine wraps its cache so, per request; verification code needs no peer."""

    __slots__ = ("cache", "peer")

    def __init__(self, cache: ReplayCache, peer: str) -> None:
        self.cache = cache
        self.peer = peer

    def check_and_add(
        self,
        key: bytes,
        expires: float,
        now: float,
        *,
        partition: str = "",
        peer: str = "",
        created: float | None = None,
        issued: float | None = None,
        skew: float = 0.0,
    ) -> None:
        self.cache.check_and_add(
            key,
            expires,
            now,
            partition=partition,
            peer=peer or self.peer,
            created=created,
            issued=issued,
            skew=skew,
        )


def _too_busy_for_peer(peer: str) -> ServerTooBusy:
    return ServerTooBusy(
        f"the peer {peer[:64]} holds its whole share of the replay cache "
        "(replay_quota_per_peer) over all of its sessions"
    )


def predates(epoch: float, created: float, issued: float | None, skew: float) -> bool:
    """Could a cache started at ``epoch`` have seen this message before? (module docstring)"""
    return (issued is None or issued < epoch) and created < epoch + skew


def predates_error(epoch: float, created: float, issued: float | None) -> PredatesReplayCache:
    since = "unknown" if issued is None else f"{epoch - issued:.0f} s before"
    return PredatesReplayCache(
        f"the message (created {created - epoch:+.0f} s from the replay cache's start) is "
        f"under a session issued before the replay cache started ({since}): it may have been "
        "received before"
    )


class MemoryReplayCache:
    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        quota_per_partition: int = DEFAULT_QUOTA_PER_PARTITION,
        quota_per_peer: int = DEFAULT_QUOTA_PER_PEER,
        epoch: float | None = None,
    ) -> None:
        """``epoch``: when the cache started (default: the ``now`` of its first check)."""
        self.epoch = epoch
        self.max_entries = max_entries
        self.quota_per_partition = quota_per_partition
        self.quota_per_peer = quota_per_peer
        self._entries: dict[bytes, tuple[float, str, str]] = {}
        self._heap: list[tuple[float, bytes]] = []
        self._per_partition: dict[str, int] = {}
        self._per_peer: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _purge(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            exp, key = heapq.heappop(self._heap)
            entry = self._entries.get(key)
            if entry is not None and entry[0] == exp:
                del self._entries[key]
                _uncharge(self._per_partition, entry[1])
                if entry[2]:
                    _uncharge(self._per_peer, entry[2])

    def check_and_add(
        self,
        key: bytes,
        expires: float,
        now: float,
        *,
        partition: str = "",
        peer: str = "",
        created: float | None = None,
        issued: float | None = None,
        skew: float = 0.0,
    ) -> None:
        with self._lock:
            if self.epoch is None:
                self.epoch = now
            if created is not None and predates(self.epoch, created, issued, skew):
                raise predates_error(self.epoch, created, issued)
            self._purge(now)
            if key in self._entries:
                raise ReplayDetected()
            held = self._per_partition.get(partition, 0)
            if self.quota_per_partition and held >= self.quota_per_partition:
                raise ServerTooBusy("this session holds its whole share of the replay cache")
            by_peer = self._per_peer.get(peer, 0) if peer else 0
            if peer and self.quota_per_peer and by_peer >= self.quota_per_peer:
                raise _too_busy_for_peer(peer)
            if len(self._entries) >= self.max_entries:
                raise ServerTooBusy("the replay cache is full")
            self._entries[key] = (expires, partition, peer)
            self._per_partition[partition] = held + 1
            if peer:
                self._per_peer[peer] = by_peer + 1
            heapq.heappush(self._heap, (expires, key))


def _uncharge(counts: dict[str, int], name: str) -> None:
    left = counts[name] - 1
    if left:
        counts[name] = left
    else:
        del counts[name]


__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_QUOTA_PER_PARTITION",
    "DEFAULT_QUOTA_PER_PEER",
    "MemoryReplayCache",
    "PeerCharged",
    "ReplayCache",
    "predates",
    "predates_error",
]
