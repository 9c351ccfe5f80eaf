"""A turn: a lock that a thread holds while it does CPU-bound work, and that blocking I/O
done inside it steps out of.

Python threads never run Python code in parallel (the GIL). A host whose threads all verify
and secure messages lets them take turns (`wssc.service.security_turn`) instead of fighting
for the GIL. A wait for the network inside such a turn (a Redis round trip, `wssc.store.redis`)
would hold up every other thread for nothing, so it runs in `outside_turn`, which gives the
turn back for the wait and takes it again after. The turn is never what makes the code
correct: everything under it is thread-safe without it. It only decides who runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

_T = TypeVar("_T")
_held = threading.local()


class _Lock(Protocol):
    def acquire(self) -> bool: ...

    def release(self) -> None: ...


class Turn:
    """The lock (``lock``) and `run`."""

    def __init__(self) -> None:
        self.lock: _Lock = threading.Lock()

    def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``fn(*args)`` holding the turn."""
        self.lock.acquire()
        _held.turn = self
        try:
            return fn(*args)
        finally:
            _held.turn = None
            self.lock.release()


@contextmanager
def outside_turn() -> Iterator[None]:
    """Give the current thread's turn back for the ``with`` block (a blocking wait), and take
    it again after; nothing when the thread holds none."""
    turn: Turn | None = getattr(_held, "turn", None)
    if turn is None:
        yield
        return
    _held.turn = None
    turn.lock.release()
    try:
        yield
    finally:
        turn.lock.acquire()
        _held.turn = turn
