"""A `SessionStore` in Redis, shared by every process and host of a farm.

This is the one store that does I/O. Its methods block: an ASGI host calls them from a worker
thread, never on the event loop. ``redis`` is an optional extra (``pip install wssc[redis]``):
this module never imports it, it only drives the ``redis.Redis`` client it is given (which must
return bytes, i.e. ``decode_responses=False``, the default).

Keys, for ``prefix="wssc:sct:"``::

    wssc:sct:r:<context_id>   STRING  SessionRecord.to_bytes(); expires (PXAT) with the token
    wssc:sct:i:pending        ZSET    pending context ids, score = last_used
    wssc:sct:i:active         ZSET    active context ids, score = last_used
    wssc:sct:i:expires        ZSET    context ids with a finite expiry, score = expires

``put`` and ``delete`` are MULTI/EXEC transactions and ``purge`` a Lua script, so the indexes
never disagree with the records. A record that Redis expired by TTL stays in the indexes (and
in ``len``/``count_pending``) until the next ``purge``. For Redis Cluster, put a hash tag in the
prefix (``"wssc:{sct}:"``) so that every key lands in one slot. Needs Redis >= 6.2 (``SET PXAT``).
A stored value that is not a valid record makes ``get`` raise
`RecordFormatError`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from wssc.errors import ConfigurationError, StoreUnavailable
from wssc.store.record import SessionRecord
from wssc.turn import outside_turn

if TYPE_CHECKING:
    import redis

#: Expiry times past this (year 9999) are stored without a TTL.
_MAX_EXPIRY: Final = 253_402_300_799.0
_BATCH: Final = 1000

# KEYS: pending, active, expires. ARGV: record key prefix, pending cutoff, active cutoff, now,
# batch size. Removes up to `batch` ids from each criterion; returns how many ids went.
_PURGE_LUA: Final = """
local seen, ids = {}, {}
local function take(list)
  for _, id in ipairs(list) do
    if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
  end
end
take(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[5]))
take(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3], 'LIMIT', 0, ARGV[5]))
take(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[4], 'LIMIT', 0, ARGV[5]))
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[1] .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
return #ids
"""


_log = logging.getLogger("wssc.store")

_F = TypeVar("_F", bound=Callable[..., Any])


def _redis_error(exc: BaseException) -> bool:
    """A redis-py error (connection refused, timeout, READONLY…), without importing redis."""
    return any(c.__module__.startswith("redis") and c.__name__ == "RedisError" for c in type(exc).__mro__)


def _guarded(fn: _F) -> _F:
    """Redis errors become `StoreUnavailable`, logged once per outage. The round trip runs
    outside the host's security turn (`wssc.turn`): other calls verify meanwhile."""

    @functools.wraps(fn)
    def wrapper(self: RedisStore | RedisReplayCache, *args: Any, **kwargs: Any) -> Any:
        try:
            with outside_turn():
                result = fn(self, *args, **kwargs)
        except Exception as exc:
            if not _redis_error(exc):
                raise
            if not self._down:
                self._down = True
                _log.error(
                    "Redis session store unavailable (%s: %s); sessions are refused "
                    "with EndpointUnavailable until it is back",
                    type(exc).__name__,
                    exc,
                )
            raise StoreUnavailable("the session store (Redis) is unavailable") from None
        if self._down:
            self._down = False
            _log.warning("Redis session store is back")
        return result

    return wrapper  # type: ignore[return-value]


class RedisStore:
    """Sessions in Redis under ``prefix``. Thread-safe as the client is (redis-py's is)."""

    __slots__ = ("_active", "_client", "_down", "_expires", "_pending", "_purge", "_records", "prefix")

    def __init__(self, client: redis.Redis, prefix: str = "wssc:sct:") -> None:
        kwargs: dict[str, Any] = getattr(client, "get_connection_kwargs", dict)()
        if kwargs.get("decode_responses"):
            raise ConfigurationError("RedisStore needs a client with decode_responses=False")
        self._client = client
        self.prefix = prefix
        self._records = prefix + "r:"
        self._pending = prefix + "i:pending"
        self._active = prefix + "i:active"
        self._expires = prefix + "i:expires"
        self._purge = client.register_script(_PURGE_LUA)
        self._down = False

    def ping(self) -> None:
        """Check that Redis answers; `StoreUnavailable` if not (hosts call
        this at start-up, so that an operator sees the problem before the first client)."""
        self._ping()

    @_guarded
    def _ping(self) -> None:
        self._client.ping()

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r})"

    @_guarded
    def get(self, context_id: str) -> SessionRecord | None:
        data: Any = self._client.get(self._records + context_id)
        return None if data is None else SessionRecord.from_bytes(bytes(data))

    @_guarded
    def put(self, record: SessionRecord) -> None:
        cid = record.context_id
        finite = math.isfinite(record.expires) and record.expires < _MAX_EXPIRY
        pipe = self._client.pipeline(transaction=True)
        if finite:
            pipe.set(self._records + cid, record.to_bytes(), pxat=int(record.expires * 1000))
            pipe.zadd(self._expires, {cid: record.expires})
        else:
            pipe.set(self._records + cid, record.to_bytes())
            pipe.zrem(self._expires, cid)
        now_in, now_out = (self._active, self._pending) if record.activated else (self._pending, self._active)
        pipe.zadd(now_in, {cid: record.last_used})
        pipe.zrem(now_out, cid)
        pipe.execute()

    @_guarded
    def delete(self, context_id: str) -> bool:
        pipe = self._client.pipeline(transaction=True)
        pipe.delete(self._records + context_id)
        for index in (self._pending, self._active, self._expires):
            pipe.zrem(index, context_id)
        deleted, in_pending, in_active, _ = pipe.execute()
        return bool(deleted or in_pending or in_active)

    @_guarded
    def count_pending(self) -> int:
        n: Any = self._client.zcard(self._pending)
        return int(n)

    @_guarded
    def purge(self, now: float, inactivity_timeout: float, receive_timeout: float) -> int:
        keys = [self._pending, self._active, self._expires]
        args: list[str | int] = [
            self._records,
            repr(now - inactivity_timeout),
            repr(now - receive_timeout),
            repr(now),
            _BATCH,
        ]
        total = 0
        while True:
            removed = int(self._purge(keys=keys, args=args))
            total += removed
            if removed == 0:
                return total

    @_guarded
    def __len__(self) -> int:
        pipe = self._client.pipeline(transaction=False)
        pipe.zcard(self._pending)
        pipe.zcard(self._active)
        pending, active = pipe.execute()
        return int(pending) + int(active)


# KEYS: entry, partition zset, peer zset, epoch. ARGV: now (ms), expires (ms), partition quota,
# member, peer quota (0 = no peer charge), created (ms, or '' = not dated), issued (ms, or '' =
# unknown), skew (ms). Returns {0} = recorded, {1} = replay, {2} = the partition holds its
# whole quota, {3} = the peer does, {4, epoch} = the message may predate the cache (its epoch,
# written when none is found).
_REPLAY_LUA: Final = """
local raw = redis.call('GET', KEYS[4])
if not raw then
  raw = ARGV[1]
  redis.call('SET', KEYS[4], raw)
end
local epoch = tonumber(raw)
if ARGV[6] ~= '' and tonumber(ARGV[6]) < epoch + tonumber(ARGV[8])
   and (ARGV[7] == '' or tonumber(ARGV[7]) < epoch) then
  return {4, raw}
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {1} end
local want = tonumber(ARGV[2]) - tonumber(ARGV[1])
local function full(key, quota)
  if quota <= 0 then return false end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  return redis.call('ZCARD', key) >= quota
end
local function charge(key, quota)
  if quota <= 0 then return end
  redis.call('ZADD', key, ARGV[2], ARGV[4])
  if redis.call('PTTL', key) < want then redis.call('PEXPIRE', key, want) end
end
local pquota, aquota = tonumber(ARGV[3]), tonumber(ARGV[5])
if full(KEYS[2], pquota) then return {2} end
if full(KEYS[3], aquota) then return {3} end
charge(KEYS[2], pquota)
charge(KEYS[3], aquota)
redis.call('SET', KEYS[1], '1', 'PXAT', ARGV[2])
return {0}
"""


class RedisReplayCache:
    """The replay cache of a farm (`wssc.security.replay.ReplayCache`): every node sees
    every accepted message, so a replay sent to another node is refused too.

    Keys, for ``prefix="wssc:replay:"``::

        wssc:replay:e:<sha256 of the SignatureValue>   STRING  expires (PXAT) with the entry
        wssc:replay:p:<sha256 of the partition>        ZSET    the partition's live entries
        wssc:replay:a:<sha256 of the peer address>     ZSET    the peer's live entries
        wssc:replay:epoch                              STRING  when this cache started (ms)

    Redis evicts expired entries itself; there is no global size limit beyond Redis's own
    ``maxmemory`` (so no "cache full" lock-out either). The quotas per partition and per peer
    hold farm-wide: a peer spreading its sessions over the nodes is charged once. One Lua
    script checks the epoch and both quotas, charges them and records, atomically; its cost is
    O(log n) in the size of the two sets plus the expired charges it drops. The epoch key has
    no TTL: the first check that finds none writes its ``now``, so Redis restarted without its
    data (or flushed) starts a new epoch, and messages it could have seen before are refused
    (`wssc.security.replay`). Redis must keep these keys: run it with persistence (AOF or
    RDB) and ``maxmemory-policy noeviction`` (``volatile-*`` policies evict live entries,
    which reopens replays; see ``docs/howto/redis.md``).
    """

    __slots__ = ("_client", "_down", "_script", "prefix", "quota_per_partition", "quota_per_peer")

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "wssc:replay:",
        quota_per_partition: int = 60_000,
        quota_per_peer: int = 90_000,
    ) -> None:
        self._client = client
        self.prefix = prefix
        self.quota_per_partition = quota_per_partition
        self.quota_per_peer = quota_per_peer
        self._script = client.register_script(_REPLAY_LUA)
        self._down = False

    def __repr__(self) -> str:
        return f"RedisReplayCache(prefix={self.prefix!r})"

    @_guarded
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
        from wssc.errors import ReplayDetected, ServerTooBusy
        from wssc.security.replay import _too_busy_for_peer, predates_error

        def ms(t: float | None) -> str | int:
            return "" if t is None else int(t * 1000)

        entry = hashlib.sha256(key).hexdigest()
        part = hashlib.sha256(partition.encode("utf-8", "replace")).hexdigest()
        addr = hashlib.sha256(peer.encode("utf-8", "replace")).hexdigest()
        keys = [
            self.prefix + "e:" + entry,
            self.prefix + "p:" + part,
            self.prefix + "a:" + addr,
            self.prefix + "epoch",
        ]
        args: list[str | int] = [
            int(now * 1000),
            int(expires * 1000),
            self.quota_per_partition,
            entry,
            self.quota_per_peer if peer else 0,
            ms(created),
            ms(issued),
            int(skew * 1000),
        ]
        reply: Any = self._script(keys=keys, args=args)
        outcome = int(reply[0])
        if outcome == 1:
            raise ReplayDetected()
        if outcome == 2:
            raise ServerTooBusy("this session holds its whole share of the replay cache")
        if outcome == 3:
            raise _too_busy_for_peer(peer)
        if outcome == 4:
            assert created is not None
            raise predates_error(int(reply[1]) / 1000, created, issued)
