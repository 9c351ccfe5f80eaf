"""``wsse:SecurityTokenReference`` (STR): how one token points at another.

Local reference by ``wsu:Id``::

    <wsse:SecurityTokenReference>
      <wsse:Reference URI="#uuid-…-1" ValueType="http://schemas.xmlsoap.org/ws/2005/02/sc/sct"/>
    </wsse:SecurityTokenReference>

External reference by the SCT's identifier (RenewTarget, CancelTarget, unattached references)::

    <wsse:SecurityTokenReference>
      <wsse:Reference URI="urn:uuid:…" ValueType="…/sc/sct" wsc:Instance="urn:uuid:…"/>
    </wsse:SecurityTokenReference>

Key identifier::

    <wsse:SecurityTokenReference>
      <wsse:KeyIdentifier ValueType="…#ThumbprintSHA1" EncodingType="…#Base64Binary">…</…>
    </wsse:SecurityTokenReference>

An STR may also wrap a custom clause element (``custom``); WS-Security allows any child.

A reference to an ``xenc:EncryptedKey`` (local, or by its ``EncryptedKeySHA1``) carries
``wsse11:TokenType="…#EncryptedKey"`` on the STR (``token_type``): WS-I BSP 1.1 R5215 requires
it, WSS4J 2.x+ (CXF) refuses the reference without it, and WCF writes and reads it::

    <wsse:SecurityTokenReference k:TokenType="…-1.1#EncryptedKey">
      <wsse:KeyIdentifier ValueType="…-1.1#EncryptedKeySHA1" EncodingType="…#Base64Binary">…</…>
    </wsse:SecurityTokenReference>
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lxml import etree

from wssc.errors import InvalidSecurity
from wssc.tokens.paths import PATHS
from wssc.xml import ns

STR_TAG = f"{{{ns.WSSE}}}SecurityTokenReference"
_REF = f"{{{ns.WSSE}}}Reference"
_KI = f"{{{ns.WSSE}}}KeyIdentifier"
_TOKEN_TYPE = f"{{{ns.WSSE11}}}TokenType"
_SAML_IDS = frozenset({ns.WSS_SAML2_ID, ns.WSS_SAML11_ID})
MAX_URI = 1024
#: (URI, ValueType) -> the reference the fast reader built for them. A reference is frozen, so
#: one instance serves every message that names a token the same way (a session's messages
#: repeat WCF's ``#_2`` …/dk and the SCT's ``#uuid-…`` …/sct): building one costs as much as
#: reading it. Bounded in entries (cleared when full) and in key size (a longer ValueType is
#: read but not kept).
_LOCAL_REFS: dict[tuple[str, str], SecurityTokenReference] = {}
_MAX_LOCAL_REFS: Final = 256
_MAX_CACHED_VALUE_TYPE: Final = 256


@dataclass(frozen=True, slots=True)
class SecurityTokenReference:
    uri: str | None = None
    value_type: str | None = None
    key_identifier: str | None = None  # base64 text of a KeyIdentifier
    encoding_type: str | None = None
    instance: str | None = None  # wsc:Instance attribute on an external Reference
    instance_ns: str = ns.SC_2005
    custom: etree._Element | None = None  # a wrapped custom clause
    wsu_id: str | None = None
    #: ``wsse11:TokenType`` on the STR (BSP R5215: ``…#EncryptedKey`` on a reference to one).
    token_type: str | None = None

    @property
    def is_local(self) -> bool:
        return self.uri is not None and self.uri.startswith("#")

    @property
    def local_id(self) -> str:
        assert self.uri is not None
        return self.uri[1:]

    @classmethod
    def local(cls, wsu_id: str, value_type: str | None = None) -> SecurityTokenReference:
        return cls(uri="#" + wsu_id, value_type=value_type)

    @classmethod
    def external(
        cls, uri: str, value_type: str, instance: str | None = None, instance_ns: str = ns.SC_2005
    ) -> SecurityTokenReference:
        return cls(uri=uri, value_type=value_type, instance=instance, instance_ns=instance_ns)

    @classmethod
    def wrapping(cls, clause: etree._Element) -> SecurityTokenReference:
        """An STR around a custom key identifier clause: the legal way to point a DKT at a
        custom token."""
        return cls(custom=clause)

    def to_xml(self) -> etree._Element:
        str_ns = {"o": ns.WSSE, "k": ns.WSSE11} if self.token_type else {"o": ns.WSSE}
        el = etree.Element(STR_TAG, nsmap=str_ns)
        if self.token_type:
            el.set(_TOKEN_TYPE, self.token_type)
        if self.wsu_id:
            el.set(f"{{{ns.WSU}}}Id", self.wsu_id)
        if self.custom is not None:
            el.append(_copy(self.custom))
        elif self.key_identifier is not None:
            ki = etree.SubElement(el, _KI)
            if self.value_type:
                ki.set("ValueType", self.value_type)
            if self.value_type not in _SAML_IDS:  # BSP R6604: none on a SAML KeyIdentifier
                ki.set("EncodingType", self.encoding_type or ns.WSS_BASE64)
            ki.text = self.key_identifier
        else:
            nsmap = {"c": self.instance_ns} if self.instance else None
            ref = etree.SubElement(el, _REF, nsmap=nsmap)
            if self.uri is not None:
                ref.set("URI", self.uri)
            if self.value_type:
                ref.set("ValueType", self.value_type)
            if self.instance:
                ref.set(f"{{{self.instance_ns}}}Instance", self.instance)
        return el

    @staticmethod
    def fast_from_xml(el: etree._Element) -> SecurityTokenReference | None:
        """The checked fast reader alone (no count): WCF's local reference, or None."""
        return _from_wcf_layout(el)

    @classmethod
    def from_xml(cls, el: etree._Element) -> SecurityTokenReference:
        if el.tag != STR_TAG:
            raise InvalidSecurity(f"expected wsse:SecurityTokenReference, got {el.tag}")
        return cls.from_found(el)

    @classmethod
    def from_found(cls, el: etree._Element) -> SecurityTokenReference:
        """`from_xml` for an element its caller found by the tag `STR_TAG` (``find``, or a
        layout reader that compared the tag): the tag is not read again."""
        fast = cls.fast_from_xml(el)
        if fast is not None:
            PATHS["str.fast"] += 1
            return fast
        PATHS["str.general"] += 1
        children = [c for c in el if isinstance(c.tag, str)]
        if len(children) != 1:
            raise InvalidSecurity("a SecurityTokenReference must have exactly one child")
        c = children[0]
        token_type = el.get(_TOKEN_TYPE)
        if token_type is not None and len(token_type) > MAX_URI:
            raise InvalidSecurity("the SecurityTokenReference's TokenType is too long")
        if c.tag == _REF:
            uri = c.get("URI")
            if uri is None or not uri or len(uri) > MAX_URI:
                raise InvalidSecurity("wsse:Reference needs a URI")
            inst, inst_ns = None, ns.SC_2005
            for sc in (ns.SC_2005, ns.SC_13):
                v = c.get(f"{{{sc}}}Instance")
                if v is not None:
                    inst, inst_ns = v, sc
            return cls(
                uri=uri,
                value_type=c.get("ValueType"),
                instance=inst,
                instance_ns=inst_ns,
                token_type=token_type,
            )
        if c.tag == _KI:
            return cls(
                key_identifier=(c.text or "").strip(),
                value_type=c.get("ValueType"),
                encoding_type=c.get("EncodingType"),
                token_type=token_type,
            )
        return cls(custom=c, token_type=token_type)


def _from_wcf_layout(el: etree._Element) -> SecurityTokenReference | None:
    """WCF's local reference, read by position: no attribute on the STR, one child node, a
    ``wsse:Reference`` with exactly ``URI`` and ``ValueType``, the URI a ``#`` fragment of
    acceptable length. None on any departure (the general reader decides)."""
    if el.attrib or len(el) != 1:
        return None
    ref = el[0]
    if ref.tag != _REF:
        return None
    attrib = ref.attrib
    if len(attrib) != 2:
        return None
    uri = attrib.get("URI")
    value_type = attrib.get("ValueType")
    if uri is None or value_type is None or not 1 < len(uri) <= MAX_URI or uri[0] != "#":
        return None
    key = (uri, value_type)
    read = _LOCAL_REFS.get(key)
    if read is None:
        read = SecurityTokenReference(uri=uri, value_type=value_type)
        if len(value_type) <= _MAX_CACHED_VALUE_TYPE:
            if len(_LOCAL_REFS) >= _MAX_LOCAL_REFS:
                _LOCAL_REFS.clear()
            _LOCAL_REFS[key] = read
    return read


def _copy(el: etree._Element) -> etree._Element:
    import copy

    return copy.deepcopy(el)
