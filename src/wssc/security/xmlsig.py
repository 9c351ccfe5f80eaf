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
import functools
import re
from collections.abc import Sequence
from typing import Final

from lxml import etree

from wssc.crypto.primitives import block_encrypt, digest
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n

DS = ns.DS
XENC = ns.XENC


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


#: The characters exclusive c14n escapes in an attribute value.
_ATTR_SPECIAL: Final = re.compile('[&<"\t\n\r]')


def _attr(value: str) -> str:
    """Escape an attribute value as exclusive c14n writes it (most values need nothing)."""
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\t", "&#x9;")
        .replace("\n", "&#xA;")
        .replace("\r", "&#xD;")
    )


def str_xml(ref: SecurityTokenReference, declare: bool = True) -> str:
    """A SecurityTokenReference as a self-contained XML string (no parse needed). With
    ``declare=False`` (a plain local or external reference only) the ``o`` prefix is left to
    an enclosing element that declares it."""
    if (
        ref.uri is None
        or ref.custom is not None
        or ref.key_identifier is not None
        or ref.wsu_id
        or ref.token_type
    ):
        if not declare:
            raise ValueError("only a plain wsse:Reference can be written without its declaration")
        return etree.tostring(ref.to_xml(), encoding="unicode")
    vt = f' ValueType="{_attr(ref.value_type)}"' if ref.value_type else ""
    inst = ""
    if ref.instance:
        if not declare:
            raise ValueError("only a plain wsse:Reference can be written without its declaration")
        inst = f' xmlns:c="{_attr(ref.instance_ns)}" c:Instance="{_attr(ref.instance)}"'
    o = f' xmlns:o="{ns.WSSE}"' if declare else ""
    return (
        f'<o:SecurityTokenReference{o}><o:Reference URI="{_attr(ref.uri)}"'
        f"{vt}{inst}/></o:SecurityTokenReference>"
    )


def signed_info_xml(
    targets: Sequence[tuple[str, etree._Element | bytes]], signature_method: str, digest_method: str
) -> bytes:
    """SignedInfo over ``(wsu_id, element)`` pairs (digests computed on the live tree, or over
    the given bytes when a target is its exclusive c14n form already), written directly in
    exclusive-c14n form: these bytes are what the HMAC covers."""
    head, ref_open, ref_mid = _signed_info_parts(signature_method, digest_method)
    parts = [head]
    for wsu_id, el in targets:
        dv = _b64(digest(digest_method, el if isinstance(el, bytes) else exc_c14n(el)))
        parts.append(f"{ref_open}{_attr(wsu_id)}{ref_mid}{dv}</ds:DigestValue></ds:Reference>")
    parts.append("</ds:SignedInfo>")
    return "".join(parts).encode("utf-8")


@functools.lru_cache(maxsize=16)
def _signed_info_parts(signature_method: str, digest_method: str) -> tuple[str, str, str]:
    """The fixed text of a SignedInfo for one pair of algorithms (the suite's URIs): its head,
    and each Reference's text before its URI's id and between that and the DigestValue."""
    c14n_alg = ns.EXC_C14N
    head = (
        f'<ds:SignedInfo xmlns:ds="{DS}"><ds:CanonicalizationMethod Algorithm="{c14n_alg}">'
        f'</ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{_attr(signature_method)}">'
        "</ds:SignatureMethod>"
    )
    ref_mid = (
        f'"><ds:Transforms><ds:Transform Algorithm="{c14n_alg}"></ds:Transform></ds:Transforms>'
        f'<ds:DigestMethod Algorithm="{_attr(digest_method)}"></ds:DigestMethod><ds:DigestValue>'
    )
    return head, '<ds:Reference URI="#', ref_mid


def signature_xml(
    signed_info: bytes,
    signature_value: bytes,
    key_ref: SecurityTokenReference,
    signature_id: str | None = None,
) -> bytes:
    si = signed_info.replace(f' xmlns:ds="{DS}"'.encode(), b"", 1)
    ident = f' Id="{_attr(signature_id)}"' if signature_id else ""
    return (
        f'<ds:Signature xmlns:ds="{DS}"{ident}>'.encode()
        + si
        + f"<ds:SignatureValue>{_b64(signature_value)}</ds:SignatureValue><ds:KeyInfo>"
        f"{str_xml(key_ref)}</ds:KeyInfo></ds:Signature>".encode()
    )


def build_encrypted_data(
    data_id: str,
    data_type: str,
    algorithm: str,
    key: bytes,
    plaintext: bytes,
    key_ref: SecurityTokenReference | None,
) -> etree._Element:
    return etree.fromstring(encrypted_data_xml(data_id, data_type, algorithm, key, plaintext, key_ref))


def encrypted_data_xml(
    data_id: str,
    data_type: str,
    algorithm: str,
    key: bytes,
    plaintext: bytes,
    key_ref: SecurityTokenReference | None,
    declare_o: bool = True,
) -> str:
    """``xenc:EncryptedData`` of ``plaintext`` as text; ``declare_o=False`` inside a
    ``wsse:Security`` header that declares ``o`` (a plain reference only)."""
    head, cipher, tail = encrypted_data_pieces(
        data_id, data_type, algorithm, key, plaintext, key_ref, declare_o
    )
    return head + cipher.decode("ascii") + tail


def encrypted_data_pieces(
    data_id: str,
    data_type: str,
    algorithm: str,
    key: bytes,
    plaintext: bytes,
    key_ref: SecurityTokenReference | None,
    declare_o: bool = True,
) -> tuple[str, bytes, str]:
    """`encrypted_data_xml` in three parts: the text before the ``CipherValue``'s base64,
    the base64 itself (bytes: a large Body's is never copied into a str), the text after."""
    ki = f'<ds:KeyInfo xmlns:ds="{DS}">{str_xml(key_ref, declare_o)}</ds:KeyInfo>' if key_ref else ""
    head = (
        f'<e:EncryptedData xmlns:e="{XENC}" Id="{_attr(data_id)}" Type="{_attr(data_type)}">'
        f'<e:EncryptionMethod Algorithm="{_attr(algorithm)}"/>{ki}<e:CipherData><e:CipherValue>'
    )
    cipher = base64.b64encode(block_encrypt(algorithm, key, plaintext))
    return head, cipher, _ED_TAIL


_ED_TAIL: Final = "</e:CipherValue></e:CipherData></e:EncryptedData>"


def serialize_content(el: etree._Element) -> bytes:
    """The children (and text) of ``el`` as an XML fragment in UTF-8, each child carrying
    the namespace declarations it needs. UTF-8, not lxml's default ASCII: a non-ASCII name
    (a prefix such as ``é``) has no character-reference form, so ASCII would write
    ``xmlns:&#233;=`` and the fragment would not be XML once decrypted."""
    parts = [(el.text or "").encode("utf-8")] if el.text else []
    for child in el:
        parts.append(etree.tostring(child, encoding="utf-8", with_tail=True))
    return b"".join(parts)
