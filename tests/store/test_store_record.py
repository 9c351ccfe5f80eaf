from __future__ import annotations

import dataclasses
import math
import struct

import pytest

from wssc.store import RecordFormatError, SessionRecord
from wssc.xml import ns


def test_round_trip_minimal(make_record):
    rec = make_record()
    assert SessionRecord.from_bytes(rec.to_bytes()) == rec


def test_round_trip_full(make_record):
    rec = make_record(
        instance="urn:uuid:00000000-0000-0000-0000-000000000001",
        identity="DOMAIN\\jürgen",
        activated=True,
        previous_key=b"\x01" * 32,
        previous_instance="urn:uuid:00000000-0000-0000-0000-000000000000",
        previous_key_expires=12.5,
        sc_ns=ns.SC_13,
        last_used=99.25,
        expires=math.inf,
    )
    back = SessionRecord.from_bytes(rec.to_bytes())
    assert back == rec
    assert back.expires == math.inf


def test_empty_optional_values_differ_from_absent(make_record):
    rec = make_record(instance="", previous_key=b"", previous_instance="")
    back = SessionRecord.from_bytes(rec.to_bytes())
    assert back.instance == "" and back.previous_key == b"" and back.previous_instance == ""
    assert SessionRecord.from_bytes(make_record().to_bytes()).instance is None


def test_unknown_namespace_is_carried_literally(make_record):
    rec = make_record(sc_ns="urn:example:sc")
    assert SessionRecord.from_bytes(rec.to_bytes()).sc_ns == "urn:example:sc"


def test_known_namespace_is_one_byte(make_record):
    short = make_record(sc_ns=ns.SC_13).to_bytes()
    long = make_record(sc_ns="urn:x").to_bytes()
    assert len(long) == len(short) + 2 + len("urn:x")


def test_compact(make_record):
    rec = make_record(instance="urn:uuid:00000000-0000-0000-0000-000000000001")
    # header 51 + 6 length prefixes + 45 + 45 + 32
    assert len(rec.to_bytes()) == 51 + 12 + 45 + 45 + 32


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[:10], "too short"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\x00", "trailing"),
        (lambda b: b"\x02" + b[1:], "version"),
        (lambda b: b[:1] + b"\x20" + b[2:], "flags"),  # bit 4 (0x10) is "claims present"
        (lambda b: b[:50] + b"\x09" + b[51:], "namespace code"),
        (lambda b: b[:2] + struct.pack(">d", math.nan) + b[10:], "not a number"),
    ],
)
def test_strict_decoding(make_record, mutate, message):
    data = make_record().to_bytes()
    with pytest.raises(RecordFormatError, match=message):
        SessionRecord.from_bytes(mutate(data))


def test_absent_field_with_data_is_refused(make_record):
    data = bytearray(make_record(instance="x").to_bytes())
    data[1] &= ~2  # clear "instance present"
    with pytest.raises(RecordFormatError, match="absent field"):
        SessionRecord.from_bytes(bytes(data))


def test_invalid_utf8_is_refused(make_record):
    data = bytearray(make_record(identity="ab").to_bytes())
    i = data.index(b"ab")
    data[i] = 0xFF
    with pytest.raises(RecordFormatError, match="UTF-8"):
        SessionRecord.from_bytes(bytes(data))


def test_empty_key_is_refused(make_record):
    with pytest.raises(RecordFormatError, match="no key"):
        SessionRecord.from_bytes(make_record(key=b"").to_bytes())


def test_repr_hides_keys(make_record):
    key, prev = b"K" * 32, b"P" * 32
    rec = make_record(key=key, previous_key=prev)
    text = repr(rec) + str(rec)
    for secret in (key, prev):
        assert repr(secret) not in text and secret.hex() not in text
        assert secret.decode() not in text
    assert "key=<32 bytes>" in text and rec.context_id in text


def test_frozen_slotted(make_record):
    rec = make_record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.activated = True  # type: ignore[misc]
    assert not hasattr(rec, "__dict__")


def test_touched(make_record):
    rec = make_record(last_used=1.0)
    assert rec.touched(5.0).last_used == 5.0
    assert rec.touched(5.0).key == rec.key
