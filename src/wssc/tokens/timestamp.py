"""``wsu:Timestamp``::

<wsu:Timestamp wsu:Id="_0">
  <wsu:Created>2026-11-27T10:00:00.000Z</wsu:Created>
  <wsu:Expires>2026-11-27T10:05:00.000Z</wsu:Expires>
</wsu:Timestamp>
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from lxml import etree

from wssc.errors import InvalidSecurity, MessageExpired
from wssc.tokens.paths import PATHS
from wssc.xml import ns

_TS = f"{{{ns.WSU}}}Timestamp"
_CREATED = f"{{{ns.WSU}}}Created"
_EXPIRES = f"{{{ns.WSU}}}Expires"
_WSU_ID = f"{{{ns.WSU}}}Id"


def format_time(t: float) -> str:
    """Epoch seconds → ``2026-11-27T10:00:00.000Z`` (millisecond precision, as WCF writes)."""
    whole, micro = divmod(round(t * 1_000_000), 1_000_000)
    ms = micro // 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{ms:03d}Z"


#: The form WCF, Metro, WSS4J and wssc write: ``2026-11-27T10:00:00.000Z`` (0 to 6 fraction
#: digits). Anything else takes the general path of `parse_time`.
_UTC_FORM: Final = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z", re.ASCII)


#: ``YYYY-MM-DDTHH:MM`` -> that minute in epoch seconds, for minutes a value in the UTC form
#: with milliseconds has already named (each a valid date: `datetime` built it). A message's
#: Created and Expires, and the messages of the same minutes, then need no `datetime`. Bounded:
#: cleared when full.
_MINUTES: dict[str, int] = {}
_MAX_MINUTES: Final = 64
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _parse_utc_form(s: str) -> float | None:
    """The fast path of `parse_time`: the UTC form only (about a third of the general
    path's cost). None when ``s`` departs from that form or is no valid date (then the
    general path decides, with its error).

    The form WCF writes, ``2026-11-27T10:00:00.000Z`` (24 characters, milliseconds), of a
    minute already seen is read from the minute's cached epoch seconds and the ASCII digits of
    its seconds and milliseconds: the very float `datetime.timestamp` gives (both divide the
    same whole number of microseconds by 10**6)."""
    if len(s) == 24 and s[19] == "." and s[23] == "Z":
        cached = _MINUTES.get(s[:16])
        digits = s[17:19] + s[20:23]
        if cached is not None and s[16] == ":" and digits.isascii() and digits.isdigit() and digits < "60000":
            return (cached * 1_000_000 + int(digits) * 1000) / 1_000_000
    m = _UTC_FORM.fullmatch(s)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac = m.groups()
    try:
        d = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int(frac.ljust(6, "0")) if frac else 0,
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if len(s) == 24 and frac is not None and len(frac) == 3:
        if len(_MINUTES) >= _MAX_MINUTES:
            _MINUTES.clear()
        _MINUTES[s[:16]] = (d.replace(second=0, microsecond=0) - _EPOCH) // timedelta(seconds=1)
    return d.timestamp()


def parse_time(text: str) -> float:
    """xs:dateTime (UTC ``Z`` or with an offset) → epoch seconds."""
    s = text.strip()
    if len(s) > 40:
        raise InvalidSecurity("a timestamp value is too long")
    fast = _parse_utc_form(s)
    if fast is not None:
        return fast
    try:
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        # Python < 3.11 rejects >6 fraction digits; trim them.
        if "." in s:
            head, _, rest = s.partition(".")
            digits = "".join(c for c in rest if c.isdigit())
            tz = rest[len(digits) :]
            s = f"{head}.{digits[:6]}{tz}"
        d = datetime.fromisoformat(s)
    except ValueError:
        raise InvalidSecurity(f"invalid xs:dateTime {text[:40]!r}") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.timestamp()


@dataclass(frozen=True, slots=True)
class Timestamp:
    created: float
    expires: float | None
    wsu_id: str = "_0"

    def to_xml(self) -> etree._Element:
        el = etree.Element(_TS, nsmap={"u": ns.WSU})
        el.set(f"{{{ns.WSU}}}Id", self.wsu_id)
        etree.SubElement(el, f"{{{ns.WSU}}}Created").text = format_time(self.created)
        if self.expires is not None:
            etree.SubElement(el, f"{{{ns.WSU}}}Expires").text = format_time(self.expires)
        return el

    @classmethod
    def from_xml(cls, el: etree._Element) -> Timestamp:
        fast = _from_wcf_layout(el)
        if fast is not None:
            PATHS["timestamp.fast"] += 1
            return fast
        PATHS["timestamp.general"] += 1
        created = el.find(_CREATED)
        if created is None or not created.text:
            raise InvalidSecurity("wsu:Timestamp has no wsu:Created")
        expires = el.find(_EXPIRES)
        exp = parse_time(expires.text) if expires is not None and expires.text else None
        return cls(parse_time(created.text), exp, el.get(_WSU_ID) or "")

    def check(self, now: float, max_clock_skew: float, replay_window: float | None = None) -> None:
        """WCF's rules: Created not in the future beyond skew, Expires not past beyond skew,
        and Created not older than the replay window plus skew."""
        if self.created > now + max_clock_skew:
            raise MessageExpired("the message was created in the future (clock skew)")
        if self.expires is not None:
            if self.expires < self.created:
                raise InvalidSecurity("wsu:Expires is before wsu:Created")
            if self.expires + max_clock_skew < now:
                raise MessageExpired("the message's timestamp has expired")
        if replay_window is not None and self.created + replay_window + max_clock_skew < now:
            raise MessageExpired("the message is older than the replay window")


def _from_wcf_layout(el: etree._Element) -> Timestamp | None:
    """WCF's layout, read by position: exactly two child nodes, Created then Expires, both with
    text (the dates still go through `parse_time` and its checks). None on any departure."""
    if len(el) != 2:
        return None
    c, e = el[0], el[1]
    if c.tag != _CREATED or e.tag != _EXPIRES:
        return None
    created, expires = c.text, e.text  # each read of .text builds a new str: once each
    if not created or not expires:
        return None
    return Timestamp(parse_time(created), parse_time(expires), el.get(_WSU_ID) or "")
