"""The SignedInfo that protect() writes directly in canonical form must be byte-identical to
what exclusive c14n makes of it, whatever the ids look like."""

from __future__ import annotations

import os

import pytest
from lxml import etree

from wssc.security import MessagePolicy, SctProtection, protect, verify
from wssc.security.xmlsig import signed_info_xml
from wssc.tokens import SecurityContextToken
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n
from wssc.xml.parse import parse_xml

ODD_IDS = ["plain", "a&b", 'q"uote', "lt<gt>", "tab\there", "sp ace", "ünï©ode"]


@pytest.mark.parametrize("body_id", ODD_IDS)
def test_signed_info_template_is_canonical(body_id: str) -> None:
    env = parse_xml(
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:u="' + ns.WSU.encode() + b'"><s:Header/><s:Body><x xmlns="urn:x">1</x>'
        b"</s:Body></s:Envelope>"
    )
    body = env[1]
    body.set(f"{{{ns.WSU}}}Id", body_id)
    written = signed_info_xml([(body_id, body)], ns.HMAC_SHA1, ns.SHA1)
    assert exc_c14n(etree.fromstring(written)) == written
    secret = os.urandom(32)
    sct = SecurityContextToken("urn:uuid:odd-ids")
    root = protect(env, SctProtection(sct, secret), MessagePolicy())
    result = verify(etree.tostring(root), resolver=lambda s, sc: secret, policy=MessagePolicy())
    assert result.body_signed and result.body_encrypted
