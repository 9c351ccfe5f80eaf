"""Outbound: write the ``wsse:Security`` header of a protected message.

Layout written (strict, in this order, as WCF's ``SignBeforeEncryptAndEncryptSignature``)::

    <wsse:Security s:mustUnderstand="1">
      <wsu:Timestamp wsu:Id="_0">…</wsu:Timestamp>
      [supporting tokens, e.g. wsse:UsernameToken]
      <wsc:SecurityContextToken wsu:Id="uuid-…-1">…</wsc:SecurityContextToken>   (or EncryptedKey)
      <wsc:DerivedKeyToken wsu:Id="_1">… signature key (suite: 24 bytes) …</wsc:DerivedKeyToken>
      <wsc:DerivedKeyToken wsu:Id="_2">… encryption key (suite: 32 bytes) …</wsc:DerivedKeyToken>
      <xenc:ReferenceList>
        <xenc:DataReference URI="#_4"/>   <!-- the Body's EncryptedData -->
        <xenc:DataReference URI="#_5"/>   <!-- the encrypted Signature -->
      </xenc:ReferenceList>
      <xenc:EncryptedData Id="_5" Type="…#Element">…ds:Signature…</xenc:EncryptedData>
    </wsse:Security>

The signature (HMAC with the signature key) covers the Timestamp, the Body and the
WS-Addressing headers; it is computed over the plaintext Body, then the Body content and the
Signature are encrypted with the encryption key.

What signs what comes from the token and the `MessagePolicy`: a token with an RSA private
key (`X509Protection`) signs with the suite's asymmetric signature (RSA-SHA1 or RSA-SHA256),
any other with HMAC (`signing_key`); supporting tokens are signed and encrypted where the
policy says (``sign_supporting_tokens``, ``encrypt_supporting_tokens``).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from wssc.errors import DuplicateId
from wssc.security import outbound_fast
from wssc.security.outbound_common import WSA_NAMESPACES as _WSA_NAMESPACES
from wssc.security.outbound_common import Ids as _Ids
from wssc.security.outbound_common import ensure_id as _ensure_id
from wssc.security.outbound_common import signature_bytes as _signature_bytes
from wssc.security.outbound_common import token_ref as _token_ref
from wssc.security.policy import MessagePolicy
from wssc.security.tokens import EncryptedKeyProtection, ProtectionToken, SigningKey, signing_key
from wssc.security.xmlsig import (
    build_encrypted_data,
    serialize_content,
)
from wssc.tokens.dkt import DerivedKeyToken
from wssc.tokens.paths import PATHS
from wssc.tokens.str_ import SecurityTokenReference
from wssc.tokens.timestamp import Timestamp
from wssc.xml import ns
from wssc.xml.ids import ID_ATTRIBUTES, WSU_ID, index_ids
from wssc.xml.soap import Envelope


def protect(
    envelope: etree._Element,
    token: ProtectionToken | None,
    policy: MessagePolicy = MessagePolicy(),  # noqa: B008 - frozen
    *,
    now: float | None = None,
    supporting: Sequence[etree._Element] = (),
    signature_values: list[bytes] | None = None,
    endorsing: ProtectionToken | Sequence[ProtectionToken] | None = None,
    endorsing_values: list[bytes] | None = None,
    confirmations: Sequence[bytes] | None = None,
    encrypt_with: EncryptedKeyProtection | None = None,
) -> etree._Element:
    """Secure ``envelope`` with ``token``; returns the root to serialize (the same element,
    or a shallow rebuild of it that declares the wsu prefix).

    ``supporting`` elements (a UsernameToken, say) go right after the Timestamp. With
    ``token=None`` only the Timestamp and the supporting tokens are written (a bootstrap over
    TLS, such as UserNameOverTransport's RST).

    ``signature_values``, when given, receives the raw ``SignatureValue`` of the signature
    made (a client keeps it to check the reply's ``wsse11:SignatureConfirmation``).

    ``endorsing`` (message security): a token that *endorses* the message, as WCF's endorsing
    supporting tokens do (the session's SCT on a Renew secured by the bootstrap). Its
    element and a DerivedKeyToken on it go before the ReferenceList, and a second
    ``ds:Signature``, made with its key, follows the primary one; its only Reference is the
    primary signature (which then carries an ``Id``). Under EncryptSignature both are
    encrypted, as WCF sends them::

        <xenc:EncryptedData Id="_7" Type="…#Element">(ds:Signature Id="_5")</xenc:EncryptedData>
        <xenc:EncryptedData Id="_8" Type="…#Element">
          (ds:Signature: …<ds:Reference URI="#_5">…</ds:Reference>…)</xenc:EncryptedData>

    A sequence of ``endorsing`` tokens makes one endorsing signature each, in that order
    (MutualCertificate's Renew: the client's certificate and the session's SCT);
    ``endorsing_values`` receives their SignatureValues. Under ``policy.transport`` there is
    no primary signature: ``token`` and each endorsing token sign the Timestamp, with their
    keys directly (WCF's TransportSecurityProtocol; CertificateOverTransport's Renew).

    ``confirmations`` (a reply under WSS 1.1's SignatureConfirmation): one signed
    ``wsse11:SignatureConfirmation`` per value, after the Timestamp; under EncryptSignature
    each is encrypted too (after the ReferenceList), as WCF sends them.

    ``encrypt_with`` (an AsymmetricBinding, WCF's MutualCertificate under WS-Security 1.0):
    ``token`` is an X.509 token that signs with its private key, and what is encrypted is
    encrypted under this EncryptedKey (wrapped to the other party's certificate), without
    derived keys. As WCF writes it, the EncryptedKey holds the ReferenceList and the
    EncryptedData carry no KeyInfo::

        <wsu:Timestamp/> [<wsse:BinarySecurityToken/>]
        <xenc:EncryptedKey>…<xenc:ReferenceList>(Body, Signature)</xenc:ReferenceList></…>
        <xenc:EncryptedData>(ds:Signature; RSA; KeyInfo → the X.509 token)</xenc:EncryptedData>
    """
    root = _protect(
        envelope,
        token,
        policy,
        now,
        supporting,
        signature_values,
        endorsing,
        endorsing_values,
        confirmations,
        encrypt_with,
    )
    assert not isinstance(root, bytes)
    return root


def protect_wire(
    envelope: etree._Element,
    token: ProtectionToken | None,
    policy: MessagePolicy = MessagePolicy(),  # noqa: B008 - frozen
    *,
    now: float | None = None,
    encoding: str | None = None,
    supporting: Sequence[etree._Element] = (),
    signature_values: list[bytes] | None = None,
    endorsing: ProtectionToken | Sequence[ProtectionToken] | None = None,
    endorsing_values: list[bytes] | None = None,
    confirmations: Sequence[bytes] | None = None,
    encrypt_with: EncryptedKeyProtection | None = None,
) -> bytes:
    """`protect`, returning the wire bytes: exactly ``etree.tostring(protect(…),
    encoding=encoding)``. In WCF's default layout (`wssc.security.outbound_fast`) the
    header's text and the Body's EncryptedData are spliced into the serialized envelope,
    with no parse of either (`outbound_fast.splice_wire`); anything else takes `protect`'s
    element and serializes it. ``envelope`` is consumed as by `protect`."""
    if encoding is not None and encoding.lower() == "unicode":
        raise ValueError("protect_wire writes bytes: an encoding such as 'utf-8', or None (ASCII)")
    out = _protect(
        envelope,
        token,
        policy,
        now,
        supporting,
        signature_values,
        endorsing,
        endorsing_values,
        confirmations,
        encrypt_with,
        wire=True,
        encoding=encoding,
    )
    if isinstance(out, bytes):
        return out
    PATHS["protect.wire.element"] += 1
    data = etree.tostring(out, encoding=encoding)
    assert isinstance(data, bytes)  # "unicode" refused above
    return data


def _protect(
    envelope: etree._Element,
    token: ProtectionToken | None,
    policy: MessagePolicy,
    now: float | None,
    supporting: Sequence[etree._Element],
    signature_values: list[bytes] | None,
    endorsing: ProtectionToken | Sequence[ProtectionToken] | None,
    endorsing_values: list[bytes] | None,
    confirmations: Sequence[bytes] | None,
    encrypt_with: EncryptedKeyProtection | None,
    *,
    wire: bool = False,
    encoding: str | None = None,
) -> etree._Element | bytes:
    """`protect`; with ``wire``, the wire bytes when the fast writer can splice them."""
    envelope = _with_wsu_prefix(envelope)
    env = Envelope(envelope)
    now = time.time() if now is None else now
    suite = policy.suite
    # The Body's content, serialized here once when it is to be encrypted (nothing below
    # changes it before that): its bytes tell whether it holds any id at all.
    content = (
        serialize_content(env.body)
        if token is not None and policy.encrypt_body and not policy.transport
        else None
    )
    ids = _Ids(_ids_in_use(envelope, env.body, content))
    header = env.ensure_header()
    if token is not None:
        fast = outbound_fast.protect_wcf_layout(
            env,
            header,
            token,
            policy,
            now,
            content,
            ids,
            signature_values,
            supporting,
            confirmations,
            endorsing,
            encrypt_with,
            wire,
            encoding,
        )
        if isinstance(fast, bytes):
            return fast
        if fast:
            return envelope
    PATHS["protect.header.general"] += 1
    sec = etree.SubElement(header, f"{{{ns.WSSE}}}Security", nsmap={"o": ns.WSSE, "u": ns.WSU})
    sec.set(f"{{{env.version.ns}}}mustUnderstand", "1")

    ts = Timestamp(now, now + policy.timestamp_validity, ids.next())
    ts_el = ts.to_xml()
    sec.append(ts_el)
    confirmed = [_confirmation(v, ids) for v in confirmations or ()]
    sec.extend(confirmed)
    for s in supporting:
        sec.append(s)
    if token is None:
        return envelope
    base_ref = _write_token(sec, token, policy)
    key = signing_key(token)

    if policy.transport:
        # Over TLS: the token endorses the Timestamp with its key directly; so does each
        # ``endorsing`` token (WCF's Renew under CertificateOverTransport: the client's
        # certificate and the session's SCT), every token written before the signatures.
        ts_target = [(ts.wsu_id, ts_el)]
        others = [(signing_key(e), _write_token(sec, e, policy)) for e in _as_list(endorsing)]
        _sign(sec, ts_target, key, base_ref, policy, signature_values)
        for e_key, e_ref in others:
            _sign(sec, ts_target, e_key, e_ref, policy, endorsing_values)
        return envelope

    encrypt_supporting = policy.encrypt_supporting_tokens and bool(supporting)
    encrypting = policy.encrypt_body or encrypt_supporting
    list_holder = sec
    enc_ref: SecurityTokenReference | None
    if isinstance(key, rsa.RSAPrivateKey):
        if encrypting and encrypt_with is None:
            raise ValueError("an X.509 token signs but cannot encrypt: the policy must not encrypt under it")
        sig_key: SigningKey = key  # a public-key token derives no keys
        sig_ref = enc_ref = base_ref
        if encrypting and encrypt_with is not None:
            list_holder = encrypt_with.element
            sec.append(list_holder)
            enc_key, enc_ref = encrypt_with.key, None
    elif policy.derived_keys:
        sig_key, sig_ref = _derive(sec, token.key, base_ref, suite.signature_key_length, policy, ids)
        if encrypting:
            enc_key, enc_ref = _derive(sec, token.key, base_ref, suite.encryption_key_length, policy, ids)
    else:
        sig_key = enc_key = token.key
        sig_ref = enc_ref = base_ref
    endorse = [_endorsing_key(sec, e, policy, ids) for e in _as_list(endorsing)]
    primary_id = ids.next() if endorse else None

    targets: list[tuple[str, etree._Element]] = [(ts.wsu_id, ts_el)]
    targets += [(_ensure_id(c, ids), c) for c in confirmed]
    if policy.sign_supporting_tokens:
        targets += [(_ensure_id(s, ids), s) for s in supporting]
    if policy.sign_addressing_headers:
        for h in header:
            if isinstance(h.tag, str) and etree.QName(h).namespace in _WSA_NAMESPACES:
                targets.append((_ensure_id(h, ids), h))
    targets.append((_ensure_id(env.body, ids), env.body))

    if not encrypting:
        primary = _sign(sec, targets, sig_key, sig_ref, policy, signature_values, primary_id)
        for e_key, e_ref in endorse:
            _sign(sec, [(primary_id or "", primary)], e_key, e_ref, policy, endorsing_values)
        return envelope

    ref_list = etree.SubElement(list_holder, f"{{{ns.XENC}}}ReferenceList", nsmap={"e": ns.XENC})
    signature = _signature_bytes(targets, sig_key, sig_ref, policy, signature_values, primary_id)
    if policy.encrypt_body:
        body = env.body
        body_data_id = ids.next()
        ed = build_encrypted_data(
            body_data_id,
            ns.XENC_CONTENT,
            suite.encryption,
            enc_key,
            serialize_content(body) if content is None else content,
            enc_ref,
        )
        for child in list(body):
            body.remove(child)
        body.text = None
        body.append(ed)
        etree.SubElement(ref_list, f"{{{ns.XENC}}}DataReference").set("URI", "#" + body_data_id)
    if encrypt_supporting:
        # Signed first (over the plaintext), then each replaced by its EncryptedData, which
        # goes after the ReferenceList: after the key tokens it is encrypted under, as WCF
        # lays it out (Metro resolves references in header order and refuses one before).
        for s in supporting:
            s_data_id = ids.next()
            sec.remove(s)
            sec.append(
                build_encrypted_data(
                    s_data_id, ns.XENC_ELEMENT, suite.encryption, enc_key, etree.tostring(s), enc_ref
                )
            )
            etree.SubElement(ref_list, f"{{{ns.XENC}}}DataReference").set("URI", "#" + s_data_id)
    if policy.encrypt_signature:
        # WCF encrypts its SignatureConfirmations when the request's signature came encrypted
        # (SignatureConfirmations.IsMarkedForEncryption), i.e. under EncryptSignature; CXF's
        # EncryptSignature check requires it. Signed over the plaintext, then moved after the
        # ReferenceList like the supporting tokens (after the keys they are encrypted under).
        for c in confirmed:
            c_data_id = ids.next()
            sec.remove(c)
            sec.append(
                build_encrypted_data(
                    c_data_id, ns.XENC_ELEMENT, suite.encryption, enc_key, etree.tostring(c), enc_ref
                )
            )
            etree.SubElement(ref_list, f"{{{ns.XENC}}}DataReference").set("URI", "#" + c_data_id)
    signatures = [signature]
    for e_key, e_ref in endorse:
        # Over the primary signature's plaintext, as the verifier sees it once decrypted.
        signatures.append(
            _signature_bytes(
                [(primary_id or "", etree.fromstring(signature))], e_key, e_ref, policy, endorsing_values
            )
        )
    for sig in signatures:
        if not policy.encrypt_signature:
            sec.append(etree.fromstring(sig))
            continue
        # WCF encrypts every signature under EncryptSignature, endorsing ones too (its
        # receiver requires AllSignaturesEncrypted).
        sig_data_id = ids.next()
        sec.append(
            build_encrypted_data(
                sig_data_id,
                ns.XENC_ELEMENT,
                suite.encryption,
                enc_key,
                sig,
                enc_ref,
            )
        )
        etree.SubElement(ref_list, f"{{{ns.XENC}}}DataReference").set("URI", "#" + sig_data_id)
    return envelope


def _as_list(endorsing: ProtectionToken | Sequence[ProtectionToken] | None) -> list[ProtectionToken]:
    if endorsing is None:
        return []
    return list(endorsing) if isinstance(endorsing, Sequence) else [endorsing]


def _ids_in_use(root: etree._Element, body: etree._Element, content: bytes | None) -> set[str]:
    """The ids the plain envelope already uses (`index_ids`: duplicates refused), which
    `_Ids` skips.

    Fast path: when the Body's serialized content (``content``) has no ``Id=`` anywhere,
    no element inside the Body carries an id (lxml writes every attribute as ``name="…"``,
    so an ``Id`` or ``*:Id`` attribute would show), and only the rest of the envelope is
    scanned: the root's and the Body's own attributes and the Header's subtree. Text that
    merely contains ``Id=``, or no content to look at, takes the whole-tree scan."""
    if content is None or b"Id=" in content:
        return set(index_ids(root))
    out: dict[str, etree._Element] = {}
    for el in (root, body):
        for attr in ID_ATTRIBUTES:
            v = el.get(attr)
            if v is not None:
                if out.get(v, el) is not el:
                    raise DuplicateId(f"the id {v!r} is used more than once")
                out[v] = el
    for child in root:
        if child is not body and isinstance(child.tag, str):
            index_ids(child, out)
    return set(out)


def _write_token(
    sec: etree._Element, token: ProtectionToken, policy: MessagePolicy
) -> SecurityTokenReference:
    """Append the token's element, if it has one; the reference to it."""
    el = token.header_element(policy.sc)
    if el is not None:
        sec.append(el)
    return _token_ref(token, policy)


def _derive(
    sec: etree._Element,
    key: bytes,
    base_ref: SecurityTokenReference,
    length: int,
    policy: MessagePolicy,
    ids: _Ids,
) -> tuple[bytes, SecurityTokenReference]:
    """Append a DerivedKeyToken on ``base_ref`` to the header; the derived key and a local
    reference to the DerivedKeyToken."""
    sc = policy.sc
    dk = DerivedKeyToken(base_ref, os.urandom(16), length, offset=0, wsu_id=ids.next())
    sec.append(dk.to_xml(sc))
    dk_type = sc.dk_token_type if policy.local_reference_value_types else None
    return dk.derive(key), SecurityTokenReference.local(dk.wsu_id, dk_type)


def _endorsing_key(
    sec: etree._Element, token: ProtectionToken, policy: MessagePolicy, ids: _Ids
) -> tuple[SigningKey, SecurityTokenReference]:
    """Write the endorsing token (and, with derived keys, a DerivedKeyToken on it); the key
    the endorsing signature is made with, and the reference its KeyInfo carries. An X.509
    token endorses with its private key (RSA), without derived keys."""
    ref = _write_token(sec, token, policy)
    key = signing_key(token)
    if not policy.derived_keys or isinstance(key, rsa.RSAPrivateKey):
        return key, ref
    return _derive(sec, token.key, ref, policy.suite.signature_key_length, policy, ids)


def _confirmation(value: bytes, ids: _Ids) -> etree._Element:
    """A ``wsse11:SignatureConfirmation`` of one request signature's value (WSS 1.1 §8.5)."""
    el = etree.Element(f"{{{ns.WSSE11}}}SignatureConfirmation", nsmap={"k": ns.WSSE11})
    el.set(WSU_ID, ids.next())
    el.set("Value", base64.b64encode(value).decode("ascii"))
    return el


def _with_wsu_prefix(root: etree._Element) -> etree._Element:
    """Return a root that declares ``u`` for wsu, so ids on headers need no local xmlns.

    lxml cannot add a declaration to an existing element; a shallow rebuild of the root is
    cheap and keeps every child element (and so every reference into the tree) intact.
    """
    nsmap: dict[Any, str] = root.nsmap  # lxml's own copy, built per access: read once
    if ns.WSU in nsmap.values() or root.getparent() is not None:
        return root
    prefix = "u" if "u" not in nsmap else "wsu"
    nsmap[prefix] = ns.WSU
    items = root.items()
    attrib = {str(k): str(v) for k, v in items} if items else None
    new = etree.Element(root.tag, attrib=attrib, nsmap=nsmap)
    text = root.text
    if text is not None:
        new.text = text
    new.extend(list(root))
    return new


def _sign(
    sec: etree._Element,
    targets: list[tuple[str, etree._Element]],
    key: SigningKey,
    key_ref: SecurityTokenReference,
    policy: MessagePolicy,
    signature_values: list[bytes] | None = None,
    signature_id: str | None = None,
) -> etree._Element:
    sig = etree.fromstring(_signature_bytes(targets, key, key_ref, policy, signature_values, signature_id))
    sec.append(sig)
    return sig
