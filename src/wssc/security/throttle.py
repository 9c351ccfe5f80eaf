"""Throttling of failed authentications (password guessing), per username and per peer.

Sans-IO and clock-driven: the caller passes ``now``. A key (``user:NAME`` or ``peer:ADDR``)
that failed ``limit`` times within ``window`` seconds is *locked* until its oldest failure
leaves the window; while locked, every attempt for it fails exactly as a wrong password does,
so the fault says nothing about whether the guess was right.

Memory is bounded: at most ``max_keys`` keys are tracked (the least recently failed go first),
each with at most ``limit`` timestamps.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque


class FailedAuthenticationThrottle:
    def __init__(
        self, limit_per_user: int, limit_per_peer: int, window: float, max_keys: int = 100_000
    ) -> None:
        self.limits = {"user": limit_per_user, "peer": limit_per_peer}
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, username: str, peer: str) -> list[tuple[str, int]]:
        out = []
        if self.limits["user"]:
            out.append(("user:" + username, self.limits["user"]))
        if peer and self.limits["peer"]:
            out.append(("peer:" + peer, self.limits["peer"]))
        return out

    def locked(self, username: str, peer: str, now: float) -> bool:
        """True when either the username or the peer has used up its failures."""
        with self._lock:
            for key, limit in self._keys(username, peer):
                times = self._failures.get(key)
                if times is None:
                    continue
                while times and times[0] <= now - self.window:
                    times.popleft()
                if len(times) >= limit:
                    return True
        return False

    def failed(self, username: str, peer: str, now: float) -> None:
        with self._lock:
            for key, limit in self._keys(username, peer):
                times = self._failures.pop(key, None) or deque(maxlen=limit)
                times.append(now)
                self._failures[key] = times  # most recent last
                while len(self._failures) > self.max_keys:
                    self._failures.popitem(last=False)


__all__ = ["FailedAuthenticationThrottle"]
