"""Claims: what the service knows of its caller, as WCF's ``AuthorizationContext`` claim sets.

A `Claim` is a type URI, a value and the name of who asserted it (an STS's ``Issuer``; '' for
the service itself). An issued SAML token gives its subject as a ``…/claims/name`` claim and
each attribute value as a claim of the attribute's type (`wssc.federation.saml2.SamlAttribute
.claim_type`); every other bootstrap gives the caller's identity as the name claim only.

A secure session keeps its caller's claims in its record (memory, Redis, and the cookie of
cookie mode), in the compact form `encode_claims` writes, bounded by `MAX_SESSION_CLAIMS` and
`MAX_SESSION_CLAIM_BYTES` so that a record still fits in a cookie (`check_session_claims`
refuses more, a typed `ClaimsOverLimit`: the session is not issued, rather than issued with
claims silently missing).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from wssc.errors import ClaimsOverLimit
from wssc.xml import ns

#: A session keeps at most this many claims...
MAX_SESSION_CLAIMS: Final = 32
#: ...of at most this many bytes in their encoded form, the identity's UTF-8 included (with
#: the rest of the record, ~150 bytes, and the sealing, ~60, a cookie stays under 4096 bytes).
MAX_SESSION_CLAIM_BYTES: Final = 3072
_U16: Final = struct.Struct(">H")


@dataclass(frozen=True, slots=True)
class Claim:
    """One claim: ``type`` a claim-type URI (WCF's ``ClaimTypes``), its ``value``, and the
    ``issuer`` that asserted it ('' for the service)."""

    type: str
    value: str
    issuer: str = ""


def identity_claims(identity: str) -> tuple[Claim, ...]:
    """The claims of a caller known by name only: its name claim (none when anonymous)."""
    return (Claim(ns.CLAIM_NAME, identity),) if identity else ()


def encode_claims(claims: tuple[Claim, ...]) -> bytes:
    """Each claim's type, value and issuer, each a u16 length then UTF-8."""
    parts: list[bytes] = []
    for c in claims:
        for text in (c.type, c.value, c.issuer):
            raw = text.encode()
            if len(raw) > 0xFFFF:
                raise ValueError("a claim field exceeds 65535 bytes")
            parts.append(_U16.pack(len(raw)))
            parts.append(raw)
    return b"".join(parts)


def decode_claims(data: bytes) -> tuple[Claim, ...]:
    """Inverse of `encode_claims`; raises ValueError (UnicodeDecodeError) on any defect."""
    fields: list[str] = []
    pos, size = 0, len(data)
    while pos < size:
        if pos + 2 > size:
            raise ValueError("claims truncated")
        end = pos + 2 + (data[pos] << 8 | data[pos + 1])
        if end > size:
            raise ValueError("claims truncated")
        fields.append(data[pos + 2 : end].decode())
        pos = end
    if len(fields) % 3:
        raise ValueError("claims truncated")
    return tuple(Claim(*fields[i : i + 3]) for i in range(0, len(fields), 3))


def check_session_claims(claims: tuple[Claim, ...], identity: str = "") -> bytes:
    """The encoded ``claims`` a session keeps; `ClaimsOverLimit` past the caps (the bytes
    counted with the ``identity`` the record also keeps). No claims, no check: the other
    bootstraps' sessions keep their identity alone, as before."""
    if not claims:
        return b""
    if len(claims) > MAX_SESSION_CLAIMS:
        raise ClaimsOverLimit(
            f"the caller has {len(claims)} claims; a session keeps at most {MAX_SESSION_CLAIMS}"
        )
    data = encode_claims(claims)
    size = len(data) + len(identity.encode())
    if size > MAX_SESSION_CLAIM_BYTES:
        raise ClaimsOverLimit(
            f"the caller's claims and name take {size} bytes; "
            f"a session keeps at most {MAX_SESSION_CLAIM_BYTES}"
        )
    return data


__all__ = [
    "MAX_SESSION_CLAIMS",
    "MAX_SESSION_CLAIM_BYTES",
    "Claim",
    "check_session_claims",
    "decode_claims",
    "encode_claims",
    "identity_claims",
]
