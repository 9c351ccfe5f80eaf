"""WS-I BSP 1.1 on the references wssc writes in an AnonymousForCertificate exchange.

R5215: an STR that points at an ``xenc:EncryptedKey`` (by ``#id`` in the request, by its
``EncryptedKeySHA1`` in the reply) carries ``wsse11:TokenType="…#EncryptedKey"``. WSS4J 2.x
and later (Apache CXF) enforce it by default; WCF writes it and reads it. Other STRs (to the
server's certificate by thumbprint, to a DerivedKeyToken) carry no TokenType. R3063/R3071: a
KeyIdentifier names its ValueType and the Base64Binary EncodingType. R3061: one child.
"""

from __future__ import annotations

import dataclasses

import pytest
from lxml import etree

from core.helpers import T0, plain_envelope
from wssc.bootstrap import TransportInfo
from wssc.bootstrap.anonymous_for_certificate import (
    AnonymousForCertificateClient,
    AnonymousForCertificateService,
)
from wssc.certs import Certificate, generate_self_signed
from wssc.security import MessagePolicy
from wssc.tokens import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.ns import SC_FEB2005, SC_V13, ScVersion
from wssc.xml.soap import SOAP_11, SOAP_12, SoapVersion

CERT = generate_self_signed()
STR = f"{{{ns.WSSE}}}SecurityTokenReference"
TOKEN_TYPE = f"{{{ns.WSSE11}}}TokenType"


def _exchange(policy: MessagePolicy, soap: SoapVersion) -> tuple[etree._Element, etree._Element]:
    client = AnonymousForCertificateClient(Certificate(CERT.cert))
    request, _ = client.secure(plain_envelope(soap), policy, now=T0)
    request = etree.fromstring(etree.tostring(request))
    service = AnonymousForCertificateService(CERT)
    result = service.verify(etree.tostring(request), TransportInfo(), policy, T0)
    reply = service.secure_reply(plain_envelope(soap, "reply"), result, policy, now=T0)
    return request, etree.fromstring(etree.tostring(reply))


def _points_at_encrypted_key(s: etree._Element, ek_ids: set[str]) -> bool:
    ref = SecurityTokenReference.from_xml(s)
    if ref.key_identifier is not None:
        return ref.value_type == ns.WSS_ENCRYPTED_KEY_SHA1
    return ref.is_local and ref.local_id in ek_ids


@pytest.mark.parametrize("soap", [SOAP_11, SOAP_12], ids=["soap11", "soap12"])
@pytest.mark.parametrize("sc", [SC_FEB2005, SC_V13], ids=["feb2005", "sc13"])
@pytest.mark.parametrize("derived", [True, False], ids=["dk", "nodk"])
def test_every_reference_to_the_encrypted_key_names_its_token_type(
    derived: bool, sc: ScVersion, soap: SoapVersion
) -> None:
    # The signature in the clear, so that its KeyInfo can be read too.
    policy = MessagePolicy(sc=sc, derived_keys=derived, encrypt_signature=False)
    request, reply = _exchange(policy, soap)
    to_ek = 0
    for message in (request, reply):
        ek_ids = {e.get("Id") or "" for e in message.iter(f"{{{ns.XENC}}}EncryptedKey")}
        for s in message.iter(STR):
            assert len([c for c in s if isinstance(c.tag, str)]) == 1  # R3061
            ki = s.find(f"{{{ns.WSSE}}}KeyIdentifier")
            if ki is not None:  # R3063 / R3071
                assert ki.get("ValueType") and ki.get("EncodingType") == ns.WSS_BASE64
            if _points_at_encrypted_key(s, ek_ids):
                to_ek += 1
                assert s.get(TOKEN_TYPE) == ns.WSS_ENCRYPTED_KEY, etree.tostring(s)
            else:
                assert s.get(TOKEN_TYPE) is None, etree.tostring(s)
    # the request: the DKTs (or the signature and the Body's EncryptedData) on the EK; the
    # reply: the same, by EncryptedKeySHA1.
    assert to_ek >= 4


def test_token_type_round_trips_and_is_bounded() -> None:
    r = SecurityTokenReference(
        key_identifier="AAEC", value_type=ns.WSS_ENCRYPTED_KEY_SHA1, token_type=ns.WSS_ENCRYPTED_KEY
    )
    el = etree.fromstring(etree.tostring(r.to_xml()))
    assert el.get(TOKEN_TYPE) == ns.WSS_ENCRYPTED_KEY
    assert SecurityTokenReference.from_xml(el) == dataclasses.replace(r, encoding_type=ns.WSS_BASE64)
    el.set(TOKEN_TYPE, "x" * 2000)
    from wssc.errors import InvalidSecurity

    with pytest.raises(InvalidSecurity, match="TokenType is too long"):
        SecurityTokenReference.from_xml(el)
