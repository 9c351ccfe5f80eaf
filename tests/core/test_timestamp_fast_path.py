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


# --- the minute cache: WCF's 24-character form of a minute already read ----------------------
def test_cached_minutes_give_the_general_paths_value() -> None:
    """Every second and millisecond of a cached minute (and of the next minutes, each read
    once through the regular expression first) is the general path's very float."""
    timestamp._MINUTES.clear()
    for minute in ("2026-11-27T10:00", "2024-02-29T23:59", "1970-01-01T00:00", "2026-12-31T23:59"):
        for sec in range(0, 60, 7):
            for ms in (0, 1, 462, 999):
                text = f"{minute}:{sec:02d}.{ms:03d}Z"
                first = _parse_utc_form(text)
                assert minute in timestamp._MINUTES
                again = _parse_utc_form(text)  # now from the cached minute
                assert first == again == _general(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27T10:00:60.000Z",  # a leap second: datetime refuses it
        "2026-11-27T10:00:99.000Z",
        "2026-11-27T10:00:\u0662\u0660.000Z",  # Arabic-Indic digits in the seconds
        "2026-11-27T10:00:00.\u0661\u0662\u0663Z",  # … and in the milliseconds
        "2026-11-27T10:00:0a.000Z",
        "2026-11-27T10:00:+1.000Z",
        "2026-11-27T10:00:00.-12Z",
        "2026-11-27T10:00 00.000Z",  # no colon before the seconds
    ],
)
def test_a_cached_minute_does_not_pass_a_departure(text: str) -> None:
    """With the minute cached, a departure in the seconds still steps aside to the general
    path (which decides, with its error)."""
    timestamp._MINUTES.clear()
    assert _parse_utc_form("2026-11-27T10:00:00.000Z") is not None
    assert "2026-11-27T10:00" in timestamp._MINUTES
    assert _parse_utc_form(text) is None
    try:
        got: float | str = parse_time(text)
    except InvalidSecurity as exc:
        got = f"refused: {exc}"
    assert got == _general(text)


def test_only_the_millisecond_form_fills_the_cache_and_the_cache_is_bounded() -> None:
    timestamp._MINUTES.clear()
    for text in ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00.1Z", "2026-11-27T10:00:00.123456Z"):
        assert _parse_utc_form(text) is not None
    assert not timestamp._MINUTES
    for i in range(3 * timestamp._MAX_MINUTES):
        assert _parse_utc_form(f"2026-11-27T{i // 60:02d}:{i % 60:02d}:00.000Z") is not None
        assert len(timestamp._MINUTES) <= timestamp._MAX_MINUTES
