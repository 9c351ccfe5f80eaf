"""``wsse:UsernameToken`` (PasswordText, as WCF sends it over TLS)::

<wsse:UsernameToken wsu:Id="uuid-…-1">
  <wsse:Username>alice</wsse:Username>
  <wsse:Password Type="…#PasswordText">secret</wsse:Password>
</wsse:UsernameToken>
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from lxml import etree

from wssc.errors import InvalidSecurityToken
from wssc.xml import ns

MAX_FIELD = 256


@dataclass(frozen=True, slots=True)
class UsernameToken:
    username: str
    password: str = field(repr=False)
    wsu_id: str = field(default_factory=lambda: f"uuid-{uuid.uuid4()}-1")

    def to_xml(self) -> etree._Element:
        el = etree.Element(f"{{{ns.WSSE}}}UsernameToken", nsmap={"o": ns.WSSE, "u": ns.WSU})
        el.set(f"{{{ns.WSU}}}Id", self.wsu_id)
        etree.SubElement(el, f"{{{ns.WSSE}}}Username").text = self.username
        pw = etree.SubElement(el, f"{{{ns.WSSE}}}Password")
        pw.set("Type", ns.WSS_PASSWORD_TEXT)
        pw.text = self.password
        return el

    @classmethod
    def from_xml(cls, el: etree._Element) -> UsernameToken:
        user = el.find(f"{{{ns.WSSE}}}Username")
        pw = el.find(f"{{{ns.WSSE}}}Password")
        if user is None or not (user.text or "").strip():
            raise InvalidSecurityToken("the UsernameToken has no Username")
        if pw is None:
            raise InvalidSecurityToken("the UsernameToken has no Password")
        if pw.get("Type", ns.WSS_PASSWORD_TEXT) != ns.WSS_PASSWORD_TEXT:
            raise InvalidSecurityToken("only PasswordText UsernameTokens are supported")
        u, p = (user.text or "").strip(), pw.text or ""
        if len(u) > MAX_FIELD or len(p) > MAX_FIELD:
            raise InvalidSecurityToken("the UsernameToken is too large")
        return cls(u, p, el.get(f"{{{ns.WSU}}}Id") or "")
