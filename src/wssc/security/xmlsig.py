"""``ds:Signature`` with an HMAC key, and ``xenc:EncryptedData``: building and checking.

Signature (exclusive c14n everywhere, one transform per reference)::

    <ds:Signature>
      <ds:SignedInfo>
        <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        <ds:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"/>
        <ds:Reference URI="#_0">
          <ds:Transforms><ds:Transform Algorithm="…xml-exc-c14n#"/></ds:Transforms>
          <ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>
          <ds:DigestValue>…</ds:DigestValue>
        </ds:Reference>
      </ds:SignedInfo>
      <ds:SignatureValue>…</ds:SignatureValue>
      <ds:KeyInfo><wsse:SecurityTokenReference>…</wsse:SecurityTokenReference></ds:KeyInfo>
    </ds:Signature>

EncryptedData (``Type`` is ``#Content`` for the Body, ``#Element`` for the Signature)::

    <xenc:EncryptedData Id="_5" Type="http://www.w3.org/2001/04/xmlenc#Content">
      <xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>
      <ds:KeyInfo><wsse:SecurityTokenReference>…</wsse:SecurityTokenReference></ds:KeyInfo>
      <xenc:CipherData><xenc:CipherValue>base64(IV || ciphertext)</xenc:CipherValue></xenc:CipherData>
    </xenc:EncryptedData>
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from lxml import etree

from wssc.crypto.primitives import block_encrypt, digest
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n

DS = ns.DS
XENC = ns.XENC


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def build_signed_info(
    targets: Sequence[tuple[str, etree._Element]], signature_method: str, digest_method: str
) -> etree._Element:
    """SignedInfo over ``(wsu_id, element)`` pairs, digests computed on the live tree."""
    si = etree.Element(f"{{{DS}}}SignedInfo", nsmap={"ds": DS})
    sub = etree.SubElement
    sub(si, f"{{{DS}}}CanonicalizationMethod", Algorithm=ns.EXC_C14N)
    sub(si, f"{{{DS}}}SignatureMethod", Algorithm=signature_method)
    for wsu_id, el in targets:
        ref = sub(si, f"{{{DS}}}Reference", URI="#" + wsu_id)
        sub(sub(ref, f"{{{DS}}}Transforms"), f"{{{DS}}}Transform", Algorithm=ns.EXC_C14N)
        sub(ref, f"{{{DS}}}DigestMethod", Algorithm=digest_method)
        sub(ref, f"{{{DS}}}DigestValue").text = _b64(digest(digest_method, exc_c14n(el)))
    return si


def build_signature(
    signed_info: etree._Element, signature_value: bytes, key_ref: SecurityTokenReference
) -> etree._Element:
    sig = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS})
    sig.append(signed_info)
    etree.SubElement(sig, f"{{{DS}}}SignatureValue").text = _b64(signature_value)
    ki = etree.SubElement(sig, f"{{{DS}}}KeyInfo")
    ki.append(key_ref.to_xml())
    return sig


def build_encrypted_data(
    data_id: str,
    data_type: str,
    algorithm: str,
    key: bytes,
    plaintext: bytes,
    key_ref: SecurityTokenReference | None,
) -> etree._Element:
    ed = etree.Element(f"{{{XENC}}}EncryptedData", nsmap={"e": XENC})
    ed.set("Id", data_id)
    ed.set("Type", data_type)
    etree.SubElement(ed, f"{{{XENC}}}EncryptionMethod").set("Algorithm", algorithm)
    if key_ref is not None:
        ki = etree.SubElement(ed, f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
        ki.append(key_ref.to_xml())
    cd = etree.SubElement(ed, f"{{{XENC}}}CipherData")
    etree.SubElement(cd, f"{{{XENC}}}CipherValue").text = _b64(
        block_encrypt(algorithm, key, plaintext)
    )
    return ed


def serialize_content(el: etree._Element) -> bytes:
    """The children (and text) of ``el`` as an XML fragment, each child carrying the
    namespace declarations it needs."""
    parts = [(el.text or "").encode("utf-8")] if el.text else []
    for child in el:
        parts.append(etree.tostring(child, with_tail=True))
    return b"".join(parts)
