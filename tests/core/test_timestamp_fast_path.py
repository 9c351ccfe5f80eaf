"""parse_time's fast path (the UTC form every stack writes) against its general path.

The fast path must give exactly the general path's answer, and step aside (return None, so
the general path decides, errors included) for every value that departs from its form."""

from __future__ import annotations

import pytest

from wssc.errors import InvalidSecurity
from wssc.tokens import timestamp
from wssc.tokens.timestamp import _parse_utc_form, parse_time

IN_FORM = [
    "2026-11-27T10:00:00.000Z",
    "2026-11-27T10:00:00Z",
    "2026-11-27T10:00:00.1Z",
    "2026-11-27T10:00:00.123456Z",
    "2024-02-29T23:59:59.999Z",
    "1970-01-01T00:00:00Z",
]
#: Departures: the general path decides each (a value or its error).
DEPARTURES = [
    "2026-11-27T10:00:00.1234567Z",  # 7 fraction digits
    "2026-11-27T10:00:00.000+01:00",  # an offset
    "2026-11-27T10:00:00.000",  # no zone
    "2026-11-27T10:00:00,000Z",  # a comma
    "2026-13-27T10:00:00.000Z",  # no 13th month
    "2025-02-29T10:00:00.000Z",  # not a leap year
    "2026-11-27T24:00:00.000Z",  # hour 24
    "2026-11-27T10:00:60.000Z",  # a leap second
    "0000-01-01T00:00:00Z",  # year 0
    "\u0662\u0660\u0662\u0666-11-27T10:00:00Z",  # Arabic-Indic digits (int() reads them)
    "2026-11-27t10:00:00Z",
    "2026-11-27T10:00:00.Z",
    "",
]


def _general(text: str) -> float | str:
    """The general path alone (the fast path forced off)."""
    saved = timestamp._parse_utc_form
    timestamp._parse_utc_form = lambda s: None
    try:
        return parse_time(text)
    except InvalidSecurity as exc:
        return f"refused: {exc}"
    finally:
        timestamp._parse_utc_form = saved


@pytest.mark.parametrize("text", IN_FORM)
def test_fast_path_equals_general_path(text: str) -> None:
    fast = _parse_utc_form(text)
    assert fast is not None, "a value in the UTC form must take the fast path"
    assert fast == _general(text)
    assert parse_time(text) == fast
    assert parse_time(f"  {text}\n") == fast  # parse_time strips before either path


@pytest.mark.parametrize("text", DEPARTURES)
def test_departures_fall_back_to_the_general_path(text: str) -> None:
    assert _parse_utc_form(text) is None
    try:
        got: float | str = parse_time(text)
    except InvalidSecurity as exc:
        got = f"refused: {exc}"
    assert got == _general(text)


def test_invalid_dates_are_refused_after_the_fallback() -> None:
    for text in ("2026-13-27T10:00:00.000Z", "2025-02-29T10:00:00.000Z", "0000-01-01T00:00:00Z"):
        with pytest.raises(InvalidSecurity, match="invalid xs:dateTime"):
            parse_time(text)


def test_the_fast_path_is_taken_on_a_real_message() -> None:
    """protect's Timestamp reads back through the fast path, to the millisecond."""
    ts = timestamp.Timestamp(1_796_000_000.123, 1_796_000_300.123)
    el = ts.to_xml()
    created = el[0].text or ""
    assert _parse_utc_form(created) is not None
    back = timestamp.Timestamp.from_xml(el)
    assert abs(back.created - 1_796_000_000.123) < 1e-6
