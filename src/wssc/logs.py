"""Logging helpers: attacker-supplied text never forges a log line.

>>> printable("id\\nFORGED 127.0.0.1 admin logged in")
'id\\\\nFORGED 127.0.0.1 admin logged in'
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: object, limit: int = 500) -> str:
    """``text`` with control characters (and Unicode line separators) escaped, cut to
    ``limit`` characters."""
    s = str(text)
    if len(s) > limit:
        s = s[:limit] + "…"
    return _UNSAFE.sub(lambda m: _NAMES.get(m.group(), f"\\x{ord(m.group()):02x}"), s)


__all__ = ["printable"]
