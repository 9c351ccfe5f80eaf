"""``wsc:SecurityContextToken``::

    <wsc:SecurityContextToken wsu:Id="uuid-…-1" xmlns:wsc="http://schemas.xmlsoap.org/ws/2005/02/sc">
      <wsc:Identifier>urn:uuid:…</wsc:Identifier>
      <wsc:Instance>urn:uuid:…</wsc:Instance>        <!-- optional: key generation -->
      <dnse:Cookie xmlns:dnse="http://schemas.microsoft.com/ws/2006/05/security">…</dnse:Cookie>
    </wsc:SecurityContextToken>

The cookie is opaque here: only the cookie codec of the issuing service reads it.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from typing import Final

from lxml import etree

from wssc.errors import InvalidSecurityToken
from wssc.tokens.paths import PATHS
from wssc.xml import ns
from wssc.xml.ns import ScVersion

MAX_IDENTIFIER = 1024
MAX_COOKIE = 16 * 1024
_IDENTIFIER = {v.ns: f"{{{v.ns}}}Identifier" for v in ns.SC_VERSIONS.values()}
_WSU_ID = f"{{{ns.WSU}}}Id"


@dataclass(frozen=True, slots=True)
class SecurityContextToken:
    identifier: str
    instance: str | None = None
    cookie: bytes | None = None
    wsu_id: str = field(default_factory=lambda: f"uuid-{uuid.uuid4()}-1")

    def to_xml(self, sc: ScVersion) -> etree._Element:
        el = etree.Element(f"{{{sc.ns}}}SecurityContextToken", nsmap={"c": sc.ns, "u": ns.WSU})
        el.set(f"{{{ns.WSU}}}Id", self.wsu_id)
        etree.SubElement(el, f"{{{sc.ns}}}Identifier").text = self.identifier
        if self.instance:
            etree.SubElement(el, f"{{{sc.ns}}}Instance").text = self.instance
        if self.cookie is not None:
            c = etree.SubElement(el, f"{{{ns.DNSE}}}Cookie", nsmap={"dnse": ns.DNSE})
            c.text = base64.b64encode(self.cookie).decode("ascii")
        return el

    def external_reference(self, sc: ScVersion, with_instance: bool = True) -> etree._Element:
        """The external STR (by Identifier) used in RenewTarget / CancelTarget."""
        from wssc.tokens.str_ import SecurityTokenReference

        return SecurityTokenReference.external(
            self.identifier,
            sc.sct_token_type,
            self.instance if with_instance else None,
            sc.ns,
        ).to_xml()

    @classmethod
    def from_xml(cls, el: etree._Element) -> tuple[SecurityContextToken, ScVersion]:
        tag = el.tag  # each read of .tag builds a new str: once
        sc = _SCT_TAGS.get(tag) if isinstance(tag, str) else None
        if sc is None:
            raise InvalidSecurityToken(f"not a SecurityContextToken: {tag}")
        fast = _from_wcf_layout(el, sc)
        if fast is not None:
            PATHS["sct.fast"] += 1
            return fast, sc
        PATHS["sct.general"] += 1
        ident = el.find(f"{{{sc.ns}}}Identifier")
        if ident is None or not (ident.text or "").strip():
            raise InvalidSecurityToken("SecurityContextToken has no Identifier")
        identifier = (ident.text or "").strip()
        if len(identifier) > MAX_IDENTIFIER:
            raise InvalidSecurityToken("the SecurityContextToken Identifier is too long")
        inst_el = el.find(f"{{{sc.ns}}}Instance")
        instance = (inst_el.text or "").strip() or None if inst_el is not None else None
        cookie_el = el.find(f"{{{ns.DNSE}}}Cookie")
        cookie = None
        if cookie_el is not None:
            text = (cookie_el.text or "").strip()
            if len(text) > MAX_COOKIE:
                raise InvalidSecurityToken("the SecurityContextToken cookie is too large")
            try:
                cookie = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidSecurityToken("the SecurityContextToken cookie is not base64") from None
        wsu_id = el.get(f"{{{ns.WSU}}}Id") or el.get("Id") or ""
        return cls(identifier, instance, cookie, wsu_id), sc


#: ``{ns}SecurityContextToken`` of each WS-SC version: the tag names the namespace and the
#: local name exactly.
_SCT_TAGS: Final = {f"{{{v.ns}}}SecurityContextToken": v for v in ns.SC_VERSIONS.values()}


def _from_wcf_layout(el: etree._Element, sc: ScVersion) -> SecurityContextToken | None:
    """WCF's layout, read by position: one child node, the Identifier, with text of acceptable
    length (no Instance, no cookie). None on any departure (the general reader decides)."""
    if len(el) != 1:
        return None
    ident = el[0]
    text = ident.text
    if ident.tag != _IDENTIFIER[sc.ns] or not text:
        return None
    identifier = text.strip()
    if not identifier or len(identifier) > MAX_IDENTIFIER:
        return None
    return SecurityContextToken(identifier, None, None, el.get(_WSU_ID) or el.get("Id") or "")
