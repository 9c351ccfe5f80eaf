"""What one inbound message carries through the steps of `wssc.security.inbound`.

`InboundContext` is the shared state of the steps (read, authenticate, charge replay,
decrypt, digests, endorsing signature, policy), each in its own module; `VerifiedMessage` is
what they prove, handed to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from lxml import etree

from wssc.errors import InvalidSecurity
from wssc.security.header_state import HeaderState, Recorded, Token
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.timestamp import Timestamp
from wssc.xml import ns
from wssc.xml.ids import index_ids
from wssc.xml.ns import ScVersion
from wssc.xml.parse import ParserLimits
from wssc.xml.soap import Envelope

if TYPE_CHECKING:
    from wssc.security.charge import ReplayCharge

SIGNATURE = f"{{{ns.DS}}}Signature"
ENCRYPTED_DATA = f"{{{ns.XENC}}}EncryptedData"
DATA_REFERENCE = f"{{{ns.XENC}}}DataReference"


@dataclass(slots=True)
class VerifiedMessage:
    """What a verified message proved."""

    envelope: Envelope
    timestamp: Timestamp | None = None
    #: elements covered by a verified signature (the live, decrypted elements)
    signed: list[etree._Element] = field(default_factory=list)
    #: (Type URI, element that now holds the plaintext) for each decrypted EncryptedData
    encrypted: list[tuple[str, etree._Element]] = field(default_factory=list)
    #: the SCT whose key (directly or through a DKT) made the signature, if any
    signing_sct: SecurityContextToken | None = None
    sc: ScVersion | None = None
    #: the root key behind the signature (an SCT secret or a bootstrap ephemeral key)
    signing_key: bytes | None = field(default=None, repr=False)
    signing_kind: str | None = None
    encrypted_key_sha1: str | None = None
    derived_keys_used: bool = False
    username_token: etree._Element | None = None
    signature_value: bytes | None = field(default=None, repr=False)
    #: Values of wsse11:SignatureConfirmation elements (b"" for one without a Value)
    signature_confirmations: list[bytes] = field(default_factory=list, repr=False)
    #: the SignatureValue of each endorsing signature, in header order (a reply's
    #: SignatureConfirmation confirms these too)
    endorsing_signature_values: list[bytes] = field(default_factory=list, repr=False)
    #: the SCT whose key made the endorsing signature (``require_endorsing_signature``)
    endorsing_sct: SecurityContextToken | None = None
    #: the (validated) certificate whose key made the primary / the endorsing signature, when
    #: an X.509 BinarySecurityToken made it
    signing_certificate: x509.Certificate | None = field(default=None, repr=False)
    endorsing_certificate: x509.Certificate | None = field(default=None, repr=False)

    @property
    def body_signed(self) -> bool:
        body = self.envelope.body
        return any(e is body for e in self.signed)

    @property
    def body_encrypted(self) -> bool:
        body = self.envelope.body
        return any(e is body for _, e in self.encrypted)

    def to_bytes(self) -> bytes:
        return etree.tostring(self.envelope.root, encoding="utf-8")

    def describe(self) -> list[str]:
        """Human-readable lines: what was signed and encrypted, and by which token."""
        out = []
        if self.timestamp:
            from wssc.tokens.timestamp import format_time

            exp = format_time(self.timestamp.expires) if self.timestamp.expires else "-"
            out.append(f"timestamp: created {format_time(self.timestamp.created)} expires {exp}")
        who = self.signing_kind or "?"
        if self.signing_sct is not None:
            who = f"SCT {self.signing_sct.identifier}"
            if self.signing_sct.instance:
                who += f" (instance {self.signing_sct.instance})"
        via = " through derived keys" if self.derived_keys_used else ""
        out.append(f"signed by {who}{via}:")
        for el in self.signed:
            out.append(f"  signed: {etree.QName(el).localname}")
        for typ, el in self.encrypted:
            kind = "content of" if typ == ns.XENC_CONTENT else "element"
            out.append(f"  encrypted: {kind} {etree.QName(el).localname}")
        if self.endorsing_sct is not None:
            out.append(
                f"endorsed by SCT {self.endorsing_sct.identifier}"
                + (f" (instance {self.endorsing_sct.instance})" if self.endorsing_sct.instance else "")
            )
        return out


class InboundContext:
    """One message's inbound processing: what the steps share."""

    __slots__ = (
        "decrypted_ids",
        "encryption_root",
        "endorsing",
        "env",
        "ids",
        "limits",
        "policy",
        "replay",
        "result",
        "state",
    )

    def __init__(self, state: HeaderState, limits: ParserLimits, replay: ReplayCharge | None = None) -> None:
        self.replay = replay
        self.state = state
        self.policy = state.policy
        self.env = state.envelope
        self.limits = limits
        self.ids = index_ids(self.env.root)
        self.result = VerifiedMessage(self.env)
        #: ids of EncryptedData already replaced by their plaintext (the encrypted Signature)
        self.decrypted_ids: set[str] = set()
        #: where the endorsing signatures are (`MessagePolicy.required_endorsements`)
        self.endorsing: list[Recorded] = []
        #: an AsymmetricBinding's EncryptedKey, once a decryption used it (every other must)
        self.encryption_root: Token | None = None


def only(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise InvalidSecurity(f"expected exactly one {etree.QName(tag).localname}")
    return found[0]


def log_value(value: str | None) -> str:
    """An attacker-chosen attribute, cut short (the log escapes control characters)."""
    return repr(str(value)[:120])


def log_name(el: etree._Element) -> str:
    return repr(etree.QName(el).localname[:80])
