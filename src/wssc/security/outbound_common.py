"""What both writers of the ``wsse:Security`` header share (`wssc.security.outbound`, the
general one, and `wssc.security.outbound_fast`, WCF's default layout as one string): the ids
they hand out, the reference to the protecting token, and the ``ds:Signature``'s bytes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from wssc.crypto.primitives import hmac_sign, rsa_sign
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import ProtectionToken, SigningKey
from wssc.security.xmlsig import signature_xml, signed_info_xml
from wssc.tokens.str_ import SecurityTokenReference
from wssc.xml import ns
from wssc.xml.ids import WSU_ID, element_id

WSA_NAMESPACES = (ns.WSA10, ns.WSA2004)
#: The Clark-notation tag prefixes of those namespaces (``{ns}``): a tag starts with one
#: exactly when its namespace is one of them.
WSA_TAG_PREFIXES = tuple(f"{{{u}}}" for u in WSA_NAMESPACES)


class Ids:
    """Hands out ``_0``, ``_1``… skipping ids the document already uses."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken
        self.n = 0

    def next(self) -> str:
        while True:
            ident = f"_{self.n}"
            self.n += 1
            if ident not in self.taken:
                self.taken.add(ident)
                return ident


def token_ref(token: ProtectionToken, policy: MessagePolicy) -> SecurityTokenReference:
    ref = token.reference(policy.sc)
    if not policy.local_reference_value_types and ref.is_local:
        ref = dataclasses.replace(ref, value_type=None)
    return ref


def ensure_id(el: etree._Element, ids: Ids) -> str:
    existing = element_id(el)
    if existing:
        return existing
    new = ids.next()
    el.set(WSU_ID, new)
    return new


def signature_bytes(
    targets: Sequence[tuple[str, etree._Element | bytes]],
    key: SigningKey,
    key_ref: SecurityTokenReference,
    policy: MessagePolicy,
    signature_values: list[bytes] | None = None,
    signature_id: str | None = None,
) -> bytes:
    """The whole ``ds:Signature`` as bytes. SignedInfo is written in exclusive-c14n form, so
    the signature is computed over exactly the bytes a verifier will canonicalize it to.
    Chosen by key type: RSA (the suite's asymmetric signature) for an RSA private key, HMAC
    (its symmetric signature) for a symmetric key."""
    suite = policy.suite
    if isinstance(key, rsa.RSAPrivateKey):
        si = signed_info_xml(targets, suite.asymmetric_signature, suite.digest)
        value = rsa_sign(suite.asymmetric_signature, key, si)
    else:
        si = signed_info_xml(targets, suite.symmetric_signature, suite.digest)
        value = hmac_sign(suite.symmetric_signature, key, si)
    if signature_values is not None:
        signature_values.append(value)
    return signature_xml(si, value, key_ref, signature_id)
