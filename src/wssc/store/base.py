"""The `SessionStore` protocol every session store implements.

It is deliberately synchronous and small, so one implementation serves the WSGI and the ASGI
hosts alike. A store that does network I/O (Redis) blocks the caller: an ASGI host calls it from
a worker thread (``anyio.to_thread.run_sync`` / ``asyncio.to_thread``), never on the event loop.
The in-memory store only takes a lock for a few dictionary operations and may be called inline.

Purge rules (WCF's, ``reference/wcf-secure-sessions.md`` §A.7): a *pending* session (issued, no
application message yet) goes when unused for ``inactivity_timeout``; an *active* one when idle
longer than ``receive_timeout``; any session once its token ``expires``. "Unused"/"idle" is
measured from `SessionRecord.last_used`, so callers store ``record.touched(now)`` on use.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from wssc.store.record import SessionRecord


def is_stale(record: SessionRecord, now: float, inactivity_timeout: float, receive_timeout: float) -> bool:
    """True when `SessionStore.purge` must remove ``record``."""
    return is_stale_at(
        record.activated, record.expires, record.last_used, now, inactivity_timeout, receive_timeout
    )


def is_stale_at(
    activated: bool,
    expires: float,
    last_used: float,
    now: float,
    inactivity_timeout: float,
    receive_timeout: float,
) -> bool:
    """`is_stale` from the three fields it reads (a store that keeps records encoded)."""
    if expires <= now:
        return True
    return now - last_used > (receive_timeout if activated else inactivity_timeout)


@runtime_checkable
class SessionStore(Protocol):
    """Sessions keyed by SCT ``Identifier`` (``context_id``). Thread-safe.

    ``get`` may return a record whose token has expired but that no purge has removed yet:
    callers check `SessionRecord.expires` themselves.
    """

    def get(self, context_id: str) -> SessionRecord | None:
        """The record for ``context_id``, or None."""
        ...

    def put(self, record: SessionRecord) -> None:
        """Insert or replace the record with ``record.context_id``."""
        ...

    def delete(self, context_id: str) -> bool:
        """Remove a record; True if one was there."""
        ...

    def count_pending(self) -> int:
        """How many held records have ``activated=False``."""
        ...

    def purge(self, now: float, inactivity_timeout: float, receive_timeout: float) -> int:
        """Remove stale records (see `is_stale`); return how many went."""
        ...

    def __len__(self) -> int: ...
