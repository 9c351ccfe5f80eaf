"""Which reader ran: the checked fast paths for WCF's fixed token layout, or the general ones.

`Timestamp.from_xml`, `SecurityContextToken.from_xml`, `DerivedKeyToken.from_xml` and
`SecurityTokenReference.from_xml` first try to read the element by position, in exactly the
form WCF (and wssc) writes it; anything else, however small the departure, goes to the general
reader, which alone raises the errors. ``PATHS`` counts each outcome under ``"<token>.fast"``
or ``"<token>.general"`` (process-wide, approximate under threads: for tests and profiling,
never for a decision).
"""

from __future__ import annotations

from collections import Counter
from typing import Final

PATHS: Final[Counter[str]] = Counter()

__all__ = ["PATHS"]
