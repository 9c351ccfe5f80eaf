"""Checked fast paths for WCF's fixed layout of ``ds:Signature`` and ``xenc:EncryptedData``.

WCF (and wssc) write these elements in one order, with nothing else in them::

    ds:Signature       SignedInfo, SignatureValue, KeyInfo
    ds:SignedInfo      CanonicalizationMethod, SignatureMethod, Reference+
    xenc:EncryptedData EncryptionMethod, KeyInfo, CipherData(CipherValue)
    ds:KeyInfo         wsse:SecurityTokenReference

Each reader here checks that the element's child nodes are exactly that sequence and returns
them by position, or None on any departure: a missing, extra, repeated or reordered child, a
comment or processing instruction among them. On None the caller takes its general path
(``find``/``findall``/`wssc.security.context.only`` and their errors). When a reader answers,
its answer is the general path's: in an element whose children are exactly that sequence, each
tag occurs once (or, for Reference, only where the general path's ``findall`` finds it too).
``wssc.tokens.paths.PATHS`` counts ``"<element>.fast"`` and ``"<element>.general"``.
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from wssc.tokens.paths import PATHS
from wssc.tokens.str_ import STR_TAG
from wssc.xml import ns

SIGNED_INFO: Final = f"{{{ns.DS}}}SignedInfo"
SIGNATURE_VALUE: Final = f"{{{ns.DS}}}SignatureValue"
KEY_INFO: Final = f"{{{ns.DS}}}KeyInfo"
C14N_METHOD: Final = f"{{{ns.DS}}}CanonicalizationMethod"
SIGNATURE_METHOD: Final = f"{{{ns.DS}}}SignatureMethod"
REFERENCE: Final = f"{{{ns.DS}}}Reference"
ENCRYPTION_METHOD: Final = f"{{{ns.XENC}}}EncryptionMethod"
CIPHER_DATA: Final = f"{{{ns.XENC}}}CipherData"
CIPHER_VALUE: Final = f"{{{ns.XENC}}}CipherValue"


def signature_parts(
    sig: etree._Element,
) -> tuple[etree._Element, etree._Element, etree._Element] | None:
    """(SignedInfo, SignatureValue, KeyInfo) of a Signature in WCF's layout, else None."""
    if len(sig) == 3:
        si, sv, ki = sig
        if si.tag == SIGNED_INFO and sv.tag == SIGNATURE_VALUE and ki.tag == KEY_INFO:
            PATHS["signature.fast"] += 1
            return si, sv, ki
    PATHS["signature.general"] += 1
    return None


def signed_info_parts(
    si: etree._Element,
) -> tuple[etree._Element, etree._Element, list[etree._Element]] | None:
    """(CanonicalizationMethod, SignatureMethod, [Reference, ...]) in WCF's layout, else None."""
    kids = list(si)
    if len(kids) >= 3 and kids[0].tag == C14N_METHOD and kids[1].tag == SIGNATURE_METHOD:
        refs = kids[2:]
        if all(r.tag == REFERENCE for r in refs):
            PATHS["signed_info.fast"] += 1
            return kids[0], kids[1], refs
    PATHS["signed_info.general"] += 1
    return None


def encrypted_data_parts(
    ed: etree._Element,
) -> tuple[etree._Element, etree._Element, etree._Element] | None:
    """(EncryptionMethod, KeyInfo, CipherValue) of an EncryptedData in WCF's layout (the
    CipherData holding the CipherValue alone), else None."""
    if len(ed) == 3:
        em, ki, cd = ed
        if em.tag == ENCRYPTION_METHOD and ki.tag == KEY_INFO and cd.tag == CIPHER_DATA and len(cd) == 1:
            cv = cd[0]
            if cv.tag == CIPHER_VALUE:
                PATHS["encrypted_data.fast"] += 1
                return em, ki, cv
    PATHS["encrypted_data.general"] += 1
    return None


def key_info_str(ki: etree._Element) -> etree._Element | None:
    """The one SecurityTokenReference of a KeyInfo that holds it alone, else None."""
    if len(ki) == 1:
        ref = ki[0]
        if ref.tag == STR_TAG:
            PATHS["key_info.fast"] += 1
            return ref
    PATHS["key_info.general"] += 1
    return None


__all__ = ["encrypted_data_parts", "key_info_str", "signature_parts", "signed_info_parts"]
