"""Session stores behind one small protocol, and the cookie-mode codec.

* `MemoryStore`: the default, in this process;
* `RedisStore`: shared by a farm (optional ``redis`` extra; the module
  is imported on first use of the name, and it never imports ``redis`` itself);
* `CookieCodec` + `KeyRing`: no server state at all (``require_cancellation=False``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wssc.store.base import SessionStore, is_stale
from wssc.store.cookie import MAX_COOKIE_SIZE, CookieCodec, KeyRing
from wssc.store.memory import MemoryStore
from wssc.store.record import RecordFormatError, SessionRecord

if TYPE_CHECKING:
    from wssc.store.redis import RedisStore

__all__ = [
    "MAX_COOKIE_SIZE",
    "CookieCodec",
    "KeyRing",
    "MemoryStore",
    "RecordFormatError",
    "RedisStore",
    "SessionRecord",
    "SessionStore",
    "is_stale",
]


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        from wssc.store.redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
