"""One secure session as a store holds it, and its compact binary form.

The binary form is written once and read by every store that leaves the process (Redis) and by
the cookie codec (it is the cookie's plaintext). All integers are big-endian::

    offset  size  field
    0       1     format version (1)
    1       1     flags: bit 0 activated, bit 1 instance present,
                         bit 2 previous_key present, bit 3 previous_instance present,
                         bit 4 claims present
    2       48    six IEEE-754 doubles: created, expires, key_effective, key_expires,
                  previous_key_expires, last_used (epoch seconds; +inf allowed)
    50      1     sc_ns code: 0 = literal follows as the last string, 1 = WS-SC Feb 2005,
                  2 = WS-SC 1.3
    51      ...   strings, each a u16 length then that many bytes, in this order:
                  context_id, instance, key, identity, previous_key, previous_instance,
                  [sc_ns when its code is 0], [claims when bit 4 is set: the caller's
                  claims as `wssc.claims.encode_claims` writes them]
                  (text is UTF-8; an absent optional field is written with length 0)

Decoding is strict: unknown version or flags, a bad code, invalid UTF-8, a NaN time or any
trailing byte raises `RecordFormatError`.
"""

from __future__ import annotations

import dataclasses
import struct
import sys
from dataclasses import dataclass
from typing import Final

from wssc.claims import Claim, decode_claims, encode_claims
from wssc.xml import ns

FORMAT_VERSION: Final = 1
_HEAD: Final = struct.Struct(">BB6dB")
_U16: Final = struct.Struct(">H")
_ACTIVATED, _HAS_INSTANCE, _HAS_PREV_KEY, _HAS_PREV_INSTANCE, _HAS_CLAIMS = 1, 2, 4, 8, 16
_KNOWN_FLAGS: Final = 31
_SC_CODES: Final = {ns.SC_2005: 1, ns.SC_13: 2}
_SC_BY_CODE: Final = {code: uri for uri, code in _SC_CODES.items()}
_MAX_FIELD: Final = 0xFFFF


def stale_fields(data: bytes) -> tuple[bool, float, float]:
    """``(activated, expires, last_used)`` read from the fixed head of `SessionRecord.to_bytes`
    output this process wrote (no validation: `SessionRecord.from_bytes` is for foreign bytes)."""
    _, flags, _, expires, _, _, _, last_used, _ = _HEAD.unpack_from(data)
    return bool(flags & _ACTIVATED), expires, last_used


class RecordFormatError(ValueError):
    """The bytes are not a session record this version can read."""


@dataclass(frozen=True, slots=True, repr=False)
class SessionRecord:
    """The state of one secure session (one SCT ``Identifier``).

    Times are epoch seconds. ``expires`` may be ``math.inf`` (WCF session-mode tokens do not
    expire; only their keys do). ``activated`` is False while the session is *pending*: issued
    but no application message received yet (WCF's ``MaxPendingSessions`` quota counts those).
    """

    context_id: str
    instance: str | None
    key: bytes
    created: float
    expires: float
    key_effective: float
    key_expires: float
    identity: str = ""
    activated: bool = False
    previous_key: bytes | None = None
    previous_instance: str | None = None
    previous_key_expires: float = 0.0
    sc_ns: str = ns.SC_2005
    last_used: float = 0.0
    #: The caller's claims, when its bootstrap gave more than its name (an issued token).
    claims: tuple[Claim, ...] = ()

    def __repr__(self) -> str:
        prev = "None" if self.previous_key is None else f"<{len(self.previous_key)} bytes>"
        return (
            f"SessionRecord(context_id={self.context_id!r}, instance={self.instance!r}, "
            f"key=<{len(self.key)} bytes>, created={self.created!r}, "
            f"expires={self.expires!r}, key_effective={self.key_effective!r}, "
            f"key_expires={self.key_expires!r}, identity={self.identity!r}, "
            f"activated={self.activated!r}, previous_key={prev}, "
            f"previous_instance={self.previous_instance!r}, "
            f"previous_key_expires={self.previous_key_expires!r}, sc_ns={self.sc_ns!r}, "
            f"last_used={self.last_used!r}, claims=<{len(self.claims)}>)"
        )

    def touched(self, now: float) -> SessionRecord:
        """A copy with ``last_used = now``."""
        return dataclasses.replace(self, last_used=now)

    def to_bytes(self) -> bytes:
        """Serialize to the versioned binary layout of the module docstring."""
        flags = (
            (_ACTIVATED if self.activated else 0)
            | (_HAS_INSTANCE if self.instance is not None else 0)
            | (_HAS_PREV_KEY if self.previous_key is not None else 0)
            | (_HAS_PREV_INSTANCE if self.previous_instance is not None else 0)
            | (_HAS_CLAIMS if self.claims else 0)
        )
        code = _SC_CODES.get(self.sc_ns, 0)
        fields = [
            self.context_id.encode(),
            (self.instance or "").encode(),
            self.key,
            self.identity.encode(),
            self.previous_key or b"",
            (self.previous_instance or "").encode(),
        ]
        if code == 0:
            fields.append(self.sc_ns.encode())
        if self.claims:
            fields.append(encode_claims(self.claims))
        parts = [
            _HEAD.pack(
                FORMAT_VERSION,
                flags,
                self.created,
                self.expires,
                self.key_effective,
                self.key_expires,
                self.previous_key_expires,
                self.last_used,
                code,
            )
        ]
        for f in fields:
            if len(f) > _MAX_FIELD:
                raise RecordFormatError("a session record field exceeds 65535 bytes")
            parts.append(_U16.pack(len(f)))
            parts.append(f)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> SessionRecord:
        """Inverse of `to_bytes`. Raises `RecordFormatError` on any defect."""
        size = len(data)
        if size < _HEAD.size:
            raise RecordFormatError("session record too short")
        version, flags, t0, t1, t2, t3, t4, t5, code = _HEAD.unpack_from(data)
        if version != FORMAT_VERSION:
            raise RecordFormatError(f"unknown session record version {version}")
        if flags & ~_KNOWN_FLAGS:
            raise RecordFormatError("unknown session record flags")
        # NaN is the one float unequal to itself.
        if t0 != t0 or t1 != t1 or t2 != t2 or t3 != t3 or t4 != t4 or t5 != t5:
            raise RecordFormatError("session record time is not a number")
        if code != 0 and code not in _SC_BY_CODE:
            raise RecordFormatError(f"unknown namespace code {code}")
        pos = _HEAD.size
        fields: list[bytes] = []
        for _ in range(6 + (code == 0) + bool(flags & _HAS_CLAIMS)):
            if pos + 2 > size:
                raise RecordFormatError("session record truncated")
            end = pos + 2 + (data[pos] << 8 | data[pos + 1])
            if end > size:
                raise RecordFormatError("session record truncated")
            fields.append(data[pos + 2 : end])
            pos = end
        if pos != size:
            raise RecordFormatError("trailing bytes after session record")
        if (
            (not flags & _HAS_INSTANCE and fields[1])
            or (not flags & _HAS_PREV_KEY and fields[4])
            or (not flags & _HAS_PREV_INSTANCE and fields[5])
        ):
            raise RecordFormatError("session record has data for an absent field")
        try:
            text = [fields[0].decode(), fields[1].decode(), fields[3].decode(), fields[5].decode()]
            sc_ns = sys.intern(fields[6].decode()) if code == 0 else _SC_BY_CODE[code]
            claims = decode_claims(fields[-1]) if flags & _HAS_CLAIMS else ()
        except UnicodeDecodeError:
            raise RecordFormatError("session record text is not UTF-8") from None
        except ValueError:
            raise RecordFormatError("session record claims are malformed") from None
        if flags & _HAS_CLAIMS and not claims:
            raise RecordFormatError("session record has data for an absent field")
        if not text[0] or not fields[2]:
            raise RecordFormatError("session record has no context id or no key")
        return cls(
            context_id=text[0],
            instance=text[1] if flags & _HAS_INSTANCE else None,
            key=fields[2],
            created=t0,
            expires=t1,
            key_effective=t2,
            key_expires=t3,
            identity=text[2],
            activated=bool(flags & _ACTIVATED),
            previous_key=fields[4] if flags & _HAS_PREV_KEY else None,
            previous_instance=text[3] if flags & _HAS_PREV_INSTANCE else None,
            previous_key_expires=t4,
            sc_ns=sc_ns,
            last_used=t5,
            claims=claims,
        )
