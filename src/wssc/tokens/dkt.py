"""``wsc:DerivedKeyToken``::

    <wsc:DerivedKeyToken wsu:Id="_1">
      <wsse:SecurityTokenReference>
        <wsse:Reference URI="#uuid-…-1" ValueType="…/sc/sct"/>
      </wsse:SecurityTokenReference>
      <wsc:Offset>0</wsc:Offset>          <!-- or <wsc:Generation>; written as WCF does -->
      <wsc:Length>24</wsc:Length>          <!-- default 32 when absent -->
      <wsc:Label>…</wsc:Label>             <!-- optional; default below -->
      <wsc:Nonce>base64 (16 random bytes)</wsc:Nonce>
    </wsc:DerivedKeyToken>

key = P_SHA1(secret, UTF-8(label) || nonce)[start : start + length], where start is the
Offset, or Generation × Length.

WCF's reader limits (reference §A.8), enforced by `DerivedKeyToken.from_xml`:
offset (or generation × length) ≤ 64 bytes, label ≤ 128 characters, nonce ≤ 128 bytes, and
length ≤ the suite's maximum derived key length.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from typing import Final

from lxml import etree

from wssc.crypto.psha1 import p_sha1
from wssc.errors import InvalidSecurityToken, TokenSerializationError, UnsupportedAlgorithm
from wssc.tokens.paths import PATHS
from wssc.tokens.registry import CustomClause
from wssc.tokens.str_ import STR_TAG, SecurityTokenReference
from wssc.xml import ns
from wssc.xml.ns import ScVersion

DEFAULT_LABEL: Final = "WS-SecureConversationWS-SecureConversation"
_DEFAULT_LABEL_BYTES: Final = DEFAULT_LABEL.encode("utf-8")
DEFAULT_LENGTH: Final = 32
MAX_OFFSET: Final = 64
MAX_LABEL: Final = 128
MAX_NONCE: Final = 128
_MAX_INT_TEXT: Final = 10
_WSU_ID: Final = f"{{{ns.WSU}}}Id"
#: DerivedKeyToken tag -> (version, Offset tag, Length tag, Nonce tag), for the fast reader.
_LAYOUT: Final = {
    f"{{{v.ns}}}DerivedKeyToken": (v, f"{{{v.ns}}}Offset", f"{{{v.ns}}}Length", f"{{{v.ns}}}Nonce")
    for v in ns.SC_VERSIONS.values()
}


@dataclass(frozen=True, slots=True)
class DerivedKeyToken:
    base: SecurityTokenReference | CustomClause | None
    nonce: bytes = field(default_factory=lambda: os.urandom(16))
    length: int = DEFAULT_LENGTH
    offset: int | None = None
    generation: int | None = None
    label: str | None = None
    wsu_id: str = "_1"
    algorithm: str | None = None

    @property
    def start(self) -> int:
        if self.generation is not None:
            return self.generation * self.length
        return self.offset or 0

    @property
    def seed(self) -> bytes:
        """The P_SHA1 seed: ``UTF-8(label) || nonce``."""
        return (self.label.encode("utf-8") if self.label else _DEFAULT_LABEL_BYTES) + self.nonce

    def derive(self, secret: bytes) -> bytes:
        return p_sha1(secret, self.seed, self.length, self.start)

    def to_xml(self, sc: ScVersion) -> etree._Element:
        """Serialize. Offset/Length are written as WCF does: only when not the defaults
        (so a 24-byte key carries ``<Offset>0</Offset><Length>24</Length>``)."""
        el = etree.Element(f"{{{sc.ns}}}DerivedKeyToken", nsmap={"c": sc.ns, "u": ns.WSU})
        el.set(f"{{{ns.WSU}}}Id", self.wsu_id)
        if self.algorithm and self.algorithm != sc.p_sha1:
            el.set("Algorithm", self.algorithm)
        if isinstance(self.base, CustomClause):
            clause = self.base.element
            if clause.tag != STR_TAG:
                raise TokenSerializationError(
                    f"a DerivedKeyToken over the custom token type {self.base.token_type!r} must "
                    f"reference it through a wsse:SecurityTokenReference, but its key identifier "
                    f"clause serializes as <{etree.QName(clause).localname}> in "
                    f"{etree.QName(clause).namespace!r}; the receiver could not read it. Wrap the "
                    f"clause: DerivedKeyToken(base=SecurityTokenReference.wrapping(clause), …) or "
                    f"register the token type with a key_identifier_clause that returns a "
                    f"SecurityTokenReference"
                )
            import copy

            el.append(copy.deepcopy(clause))
        elif self.base is not None:
            el.append(self.base.to_xml())
        else:
            raise TokenSerializationError(
                "a DerivedKeyToken must reference the token it derives from (WCF's reader "
                "requires a SecurityTokenReference)"
            )
        if self.generation is not None:
            etree.SubElement(el, f"{{{sc.ns}}}Generation").text = str(self.generation)
        elif self.offset or self.length != DEFAULT_LENGTH:
            etree.SubElement(el, f"{{{sc.ns}}}Offset").text = str(self.offset or 0)
        if self.length != DEFAULT_LENGTH or self.generation is not None:
            etree.SubElement(el, f"{{{sc.ns}}}Length").text = str(self.length)
        if self.label is not None:
            etree.SubElement(el, f"{{{sc.ns}}}Label").text = self.label
        etree.SubElement(el, f"{{{sc.ns}}}Nonce").text = base64.b64encode(self.nonce).decode()
        return el

    @classmethod
    def from_xml(
        cls, el: etree._Element, max_length: int = DEFAULT_LENGTH
    ) -> tuple[DerivedKeyToken, ScVersion]:
        """Parse and enforce WCF's limits. Every violation raises
        `InvalidSecurityToken`; an unknown qualified Algorithm raises
        `UnsupportedAlgorithm`."""
        fast = _from_wcf_layout(el, max_length)
        if fast is not None:
            PATHS["dkt.fast"] += 1
            ref, nonce, length, offset, wsu_id, sc = fast
            return cls(ref, nonce, length, offset, None, None, wsu_id, None), sc
        return cls._from_general(el, max_length)

    @classmethod
    def _from_general(cls, el: etree._Element, max_length: int) -> tuple[DerivedKeyToken, ScVersion]:
        """The general reader: any layout the specification allows, and every refusal."""
        PATHS["dkt.general"] += 1
        q = etree.QName(el)
        sc = ns.SC_VERSIONS.get(q.namespace or "")
        if sc is None or q.localname != "DerivedKeyToken":
            raise InvalidSecurityToken(f"not a DerivedKeyToken: {el.tag}")
        for attr in ("Algorithm", f"{{{sc.ns}}}Algorithm"):
            alg = el.get(attr)
            if alg is not None and alg not in (ns.SC_FEB2005.p_sha1, ns.SC_V13.p_sha1):
                raise UnsupportedAlgorithm(f"key derivation algorithm {alg[:200]!r}")
        base: SecurityTokenReference | None = None
        offset = generation = None
        length = DEFAULT_LENGTH
        label: str | None = None
        nonce: bytes | None = None
        seen: set[str] = set()
        for c in el:
            if not isinstance(c.tag, str):
                continue
            if c.tag == STR_TAG:
                if base is not None:
                    raise InvalidSecurityToken("DerivedKeyToken has more than one reference")
                base = SecurityTokenReference.from_xml(c)
                continue
            cq = etree.QName(c)
            if cq.namespace != sc.ns:
                raise InvalidSecurityToken(f"unexpected element {c.tag} in DerivedKeyToken")
            name = cq.localname
            if name in seen:
                raise InvalidSecurityToken(f"DerivedKeyToken has more than one {name}")
            seen.add(name)
            text = (c.text or "").strip()
            if name == "Offset":
                offset = _int(text, "Offset")
            elif name == "Generation":
                generation = _int(text, "Generation")
            elif name == "Length":
                length = _int(text, "Length")
            elif name == "Label":
                if len(c.text or "") > MAX_LABEL:
                    raise InvalidSecurityToken(
                        f"the DerivedKeyToken Label is longer than {MAX_LABEL} characters"
                    )
                label = c.text or ""
            elif name == "Nonce":
                if len(text) > (MAX_NONCE * 4 // 3) + 4:
                    raise InvalidSecurityToken(f"the DerivedKeyToken Nonce is longer than {MAX_NONCE} bytes")
                try:
                    nonce = base64.b64decode(text, validate=True)
                except (binascii.Error, ValueError):
                    raise InvalidSecurityToken("the DerivedKeyToken Nonce is not base64") from None
                if len(nonce) > MAX_NONCE:
                    raise InvalidSecurityToken(f"the DerivedKeyToken Nonce is longer than {MAX_NONCE} bytes")
            elif name == "Properties":
                raise InvalidSecurityToken("DerivedKeyToken Properties are not supported")
            else:
                raise InvalidSecurityToken(f"unexpected element {name} in DerivedKeyToken")
        if offset is not None and generation is not None:
            raise InvalidSecurityToken("a DerivedKeyToken cannot have both Offset and Generation")
        if nonce is None or not nonce:
            raise InvalidSecurityToken("the DerivedKeyToken has no Nonce")
        if length <= 0 or length > max_length:
            raise InvalidSecurityToken(
                f"the DerivedKeyToken Length {length} exceeds the maximum of {max_length} bytes"
            )
        start = generation * length if generation is not None else (offset or 0)
        if start > MAX_OFFSET:
            raise InvalidSecurityToken(
                f"the DerivedKeyToken offset {start} exceeds the maximum of {MAX_OFFSET} bytes"
            )
        wsu_id = el.get(f"{{{ns.WSU}}}Id") or el.get("Id") or ""
        return (
            cls(base, nonce, length, offset, generation, label, wsu_id, el.get("Algorithm")),
            sc,
        )


#: What the fast reader reads: (base, nonce, Length, Offset, wsu:Id, version).
_Fields = tuple[SecurityTokenReference, bytes, int, int | None, str, ScVersion]


def read_derivation(
    el: etree._Element, max_length: int = DEFAULT_LENGTH
) -> tuple[SecurityTokenReference | CustomClause | None, ScVersion, str, bytes, int, int]:
    """What a receiver needs to derive the key of a DerivedKeyToken: (base reference, WS-SC
    version, wsu:Id, P_SHA1 seed, length, start). The same reading and refusals as `from_xml`
    (WCF's layout by position, else the general reader, counted in ``PATHS``), without
    building the token (a message's DerivedKeyTokens are read once, to derive their keys)."""
    fast = _from_wcf_layout(el, max_length)
    if fast is not None:
        PATHS["dkt.fast"] += 1
        ref, nonce, length, offset, wsu_id, sc = fast
        return ref, sc, wsu_id, _DEFAULT_LABEL_BYTES + nonce, length, offset or 0
    dkt, sc = DerivedKeyToken._from_general(el, max_length)
    return dkt.base, sc, dkt.wsu_id, dkt.seed, dkt.length, dkt.start


def _from_wcf_layout(el: etree._Element, max_length: int) -> _Fields | None:
    """WCF's DerivedKeyToken, read by position, or None on any departure (then the general
    reader decides, and raises its errors). The layout: one attribute, a non-empty ``wsu:Id``
    (so no Algorithm); child nodes exactly STR, Nonce or STR, Offset, Length, Nonce; the STR in
    `SecurityTokenReference`'s own fast form; Offset and Length one or two ASCII digits; the
    Nonce strict base64 of at most 88 characters. The values then meet the same limits as in the
    general reader (Length within ``max_length``, offset within `MAX_OFFSET`)."""
    layout = _LAYOUT.get(el.tag)
    attrib = el.attrib
    if layout is None or len(attrib) != 1:
        return None
    wsu_id = attrib.get(_WSU_ID)
    n = len(el)
    if not wsu_id or (n != 2 and n != 4):
        return None
    sc, offset_tag, length_tag, nonce_tag = layout
    str_el, nonce_el = el[0], el[n - 1]
    if str_el.tag != STR_TAG or nonce_el.tag != nonce_tag:
        return None
    offset: int | None = None
    length = DEFAULT_LENGTH
    if n == 4:
        o, ln = el[1], el[2]
        ot, lt = o.text, ln.text
        if o.tag != offset_tag or ln.tag != length_tag or not ot or not lt:
            return None
        if not (len(ot) <= 2 and len(lt) <= 2 and ot.isascii() and lt.isascii()):
            return None
        if not (ot.isdigit() and lt.isdigit()):
            return None
        offset, length = int(ot), int(lt)
    if not 0 < length <= max_length or (offset or 0) > MAX_OFFSET:
        return None
    text = nonce_el.text
    if not text or len(text) > 88:
        return None
    try:
        nonce = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    if not nonce:
        return None
    ref = SecurityTokenReference.fast_from_xml(str_el)
    if ref is None:
        return None
    return ref, nonce, length, offset, wsu_id, sc


def _int(text: str, name: str) -> int:
    if not text or len(text) > _MAX_INT_TEXT or not (text.isascii() and text.isdigit()):
        raise InvalidSecurityToken(f"the DerivedKeyToken {name} is not a small non-negative integer")
    return int(text)
