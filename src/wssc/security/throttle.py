"""Back-off after failed authentications (password guessing), sans-IO.

The caller passes ``now`` (the engine's clock); nothing here sleeps or does I/O. Three kinds of
key count failures, finest first:

=====================  ==========================================  =========================
key                    stops                                       allowance (default)
=====================  ==========================================  =========================
(username, address)    guessing one user's password from one place ``per_pair`` (5)
username               the same, spread over many addresses        ``per_user`` (20)
address                one address spraying many usernames         ``per_peer`` (100)
=====================  ==========================================  =========================

**Schedule.** A key may fail its allowance freely. Its ``allowance``-th failure, and every
failure after that, blocks the key for ``delay × 2^(failures − allowance)``, capped at
``window``: with the defaults 1 s, 2 s, 4 s … 256 s, then 300 s after every further failure
(about twelve guesses an hour). While a key is blocked every attempt under it fails with the
same ``FailedAuthentication`` as a wrong password, without the password being checked, and is
not counted (so retrying during a block does not prolong it). A key is forgotten ``window``
after its last failure or block, whichever ends later. There is no hard lock-out: a right
password works again as soon as the block ends.

**Shared addresses.** The coarse keys must not let one guesser lock others out: a
(username, address) pair that authenticated successfully is *familiar*, and a familiar pair is
exempt from the username and address keys (it still has its own pair key). So an attacker
behind the same NAT as carol, spraying random usernames, cannot make carol's right password
fail; and an attacker guessing alice's password from many addresses blocks only the addresses
alice has never logged in from. A success resets the pair's own count.

Memory is bounded: at most ``max_keys`` failure keys and ``max_keys`` familiar pairs (the least
recently used go first); usernames are kept as SHA-256 digests, so a key's size does not depend
on what an attacker sends. Every call is O(1).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from wssc.logs import printable


@dataclass(slots=True)
class _Failures:
    count: int
    last: float
    until: float  # blocked until (<= last when not blocked)


class FailedAuthenticationThrottle:
    def __init__(
        self,
        limit_per_pair: int,
        limit_per_peer: int,
        window: float,
        max_keys: int = 100_000,
        *,
        limit_per_user: int = 0,
        delay: float = 1.0,
    ) -> None:
        """``limit_*``: free failures per key (0 turns that key off); ``delay``: the first
        block; ``window``: the longest block, and how long a quiet key is remembered."""
        self.limits = {"pair": limit_per_pair, "user": limit_per_user, "peer": limit_per_peer}
        self.window = window
        self.delay = delay
        self.max_keys = max_keys
        self._failures: OrderedDict[tuple[str, bytes, str], _Failures] = OrderedDict()
        self._familiar: OrderedDict[tuple[bytes, str], None] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, username: str, peer: str) -> list[tuple[tuple[str, bytes, str], int]]:
        name = hashlib.sha256(username.encode("utf-8", "replace")).digest()
        out = []
        if self.limits["pair"]:
            out.append((("pair", name, peer), self.limits["pair"]))
        if (name, peer) not in self._familiar:
            if self.limits["user"]:
                out.append((("user", name, ""), self.limits["user"]))
            if peer and self.limits["peer"]:
                out.append((("peer", b"", peer), self.limits["peer"]))
        return out

    def _live(self, key: tuple[str, bytes, str], now: float) -> _Failures | None:
        f = self._failures.get(key)
        if f is not None and now - max(f.last, f.until) > self.window:
            del self._failures[key]
            return None
        return f

    def check(self, username: str, peer: str, now: float) -> str | None:
        """None when an attempt may be checked; else why it is refused (which key is backing
        off, until when), for the service log."""
        with self._lock:
            for key, _ in self._keys(username, peer):
                f = self._live(key, now)
                if f is not None and now < f.until:
                    return (
                        f"throttled: {_describe(key[0], username, peer)} failed "
                        f"{f.count} times; backing off for {f.until - now:.0f} s more"
                    )
        return None

    def locked(self, username: str, peer: str, now: float) -> bool:
        return self.check(username, peer, now) is not None

    def failed(self, username: str, peer: str, now: float) -> None:
        with self._lock:
            for key, limit in self._keys(username, peer):
                f = self._live(key, now)
                if f is None:
                    f = _Failures(0, now, now)
                else:
                    self._failures.move_to_end(key)
                f.count += 1
                f.last = now
                if f.count >= limit:
                    f.until = now + min(self.delay * 2.0 ** min(f.count - limit, 64), self.window)
                self._failures[key] = f
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, username: str, peer: str, now: float) -> None:
        """``username`` authenticated from ``peer``: the pair becomes familiar (exempt from
        the coarse keys) and its own failures are forgotten."""
        name = hashlib.sha256(username.encode("utf-8", "replace")).digest()
        with self._lock:
            self._failures.pop(("pair", name, peer), None)
            self._familiar[(name, peer)] = None
            self._familiar.move_to_end((name, peer))
            while len(self._familiar) > self.max_keys:
                self._familiar.popitem(last=False)


def _describe(kind: str, username: str, peer: str) -> str:
    user = printable(username, 64)
    return {
        "pair": f"username {user!r} from address {peer}",
        "user": f"username {user!r} (from addresses it never logged in from)",
        "peer": f"address {peer} (usernames never logged in from there)",
    }[kind]


__all__ = ["FailedAuthenticationThrottle"]
