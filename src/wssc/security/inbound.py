"""Inbound: verify and decrypt the ``wsse:Security`` header of a received message.

The order of work is fixed, for safety (no decryption oracle, no key mixing)::

    1. read the header     one linear pass; each child goes to its processor by QName
                           (wssc.security.processors): tokens are resolved, SCT secrets come
                           from the resolver, EncryptedKeys are unwrapped, DKTs derived;
                           ReferenceLists, the Signature and header EncryptedData are only
                           *recorded*. Nothing is decrypted.
    2. authenticate        find the ds:Signature: in the header, or, with WCF's
                           EncryptSignature, in the last header EncryptedData: the only
                           data decrypted before authentication. Check SignatureValue over
                           SignedInfo (HMAC or RSA, chosen by algorithm and key type).
    3. decrypt             each EncryptedData named by a ReferenceList *before* the signature
                           (SignBeforeEncrypt), and only with a key whose root token is the
                           signature's root token (the same SCT, the same EncryptedKey).
                           A ReferenceList after the signature is refused unless the policy
                           encrypts before it signs.
    4. digests             each ds:Reference over the (decrypted) element.
    5. policy              by element identity: the Body the application reads is the element
                           that was signed (this defeats signature wrapping); the Timestamp is
                           signed; derived keys as the policy says; the Body encrypted.

Work is linear in the message size and capped by the policy's quotas (header elements,
EncryptedData, signature references, derived keys, namespaces in scope at a decryption).

The errors raised here are detailed and typed, for logs and for ``wssc message verify``. A
service sends none of the details: `wssc.errors.on_the_wire` turns every one of them
into WCF's single generic fault.
"""

from __future__ import annotations

import hmac as _hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from wssc.crypto.primitives import (
    block_decrypt,
    block_decrypt_lenient,
    cipher_key_length,
    digest,
    hmac_sign,
    rsa_verify,
)
from wssc.errors import (
    BadContextToken,
    FailedCheck,
    InvalidSecurity,
    InvalidSecurityToken,
    MalformedXml,
    SecurityTokenUnavailable,
    UnknownDerivationSource,
    UnsupportedAlgorithm,
    WsscError,
)
from wssc.security.policy import MessagePolicy
from wssc.security.processors import (
    MIN_HMAC_KEY,
    PROCESSORS,
    HeaderState,
    KeyResolver,
    Recorded,
    Token,
    b64decode,
)
from wssc.security.replay import ReplayCache
from wssc.security.x509_validation import REFUSE_ALL, CertificateValidator
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.timestamp import Timestamp
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n, read_inclusive_prefixes
from wssc.xml.ids import index_ids
from wssc.xml.ns import ScVersion
from wssc.xml.parse import DEFAULT_LIMITS, ParserLimits, parse_xml
from wssc.xml.soap import Envelope

_DIGESTS = frozenset({ns.SHA1, ns.SHA256})
_WSA_NAMESPACES = (ns.WSA10, ns.WSA2004)
_TRANSFORMS = f"{{{ns.DS}}}Transforms"
_DIGEST_METHOD = f"{{{ns.DS}}}DigestMethod"
_DIGEST_VALUE = f"{{{ns.DS}}}DigestValue"
_DATA_REFERENCE = f"{{{ns.XENC}}}DataReference"
#: Header tokens that may arrive encrypted; processed once decrypted (after authentication).
_AFTER_DECRYPTION = {
    tag: PROCESSORS[tag]
    for tag in (f"{{{ns.WSSE11}}}SignatureConfirmation", f"{{{ns.WSSE}}}UsernameToken")
}
_ENCRYPTED_DATA = f"{{{ns.XENC}}}EncryptedData"
_SIGNATURE = f"{{{ns.DS}}}Signature"


@dataclass(slots=True)
class VerifiedMessage:
    """What a verified message proved."""

    envelope: Envelope
    timestamp: Timestamp | None = None
    #: elements covered by a verified signature (the live, decrypted elements)
    signed: list[etree._Element] = field(default_factory=list)
    #: (Type URI, element that now holds the plaintext) for each decrypted EncryptedData
    encrypted: list[tuple[str, etree._Element]] = field(default_factory=list)
    #: the SCT whose key (directly or through a DKT) made the signature, if any
    signing_sct: SecurityContextToken | None = None
    sc: ScVersion | None = None
    #: the root key behind the signature (an SCT secret or a bootstrap ephemeral key)
    signing_key: bytes | None = field(default=None, repr=False)
    signing_kind: str | None = None
    encrypted_key_sha1: str | None = None
    derived_keys_used: bool = False
    username_token: etree._Element | None = None
    signature_value: bytes | None = field(default=None, repr=False)
    #: Values of wsse11:SignatureConfirmation elements (b"" for one without a Value)
    signature_confirmations: list[bytes] = field(default_factory=list, repr=False)
    #: the SCT whose key made the endorsing signature (``require_endorsing_signature``)
    endorsing_sct: SecurityContextToken | None = None

    @property
    def body_signed(self) -> bool:
        return any(e is self.envelope.body for e in self.signed)

    @property
    def body_encrypted(self) -> bool:
        return any(e is self.envelope.body for _, e in self.encrypted)

    def to_bytes(self) -> bytes:
        return etree.tostring(self.envelope.root, encoding="utf-8")

    def describe(self) -> list[str]:
        """Human-readable lines: what was signed and encrypted, and by which token."""
        out = []
        if self.timestamp:
            from wssc.tokens.timestamp import format_time

            exp = format_time(self.timestamp.expires) if self.timestamp.expires else "-"
            out.append(f"timestamp: created {format_time(self.timestamp.created)} expires {exp}")
        who = self.signing_kind or "?"
        if self.signing_sct is not None:
            who = f"SCT {self.signing_sct.identifier}"
            if self.signing_sct.instance:
                who += f" (instance {self.signing_sct.instance})"
        via = " through derived keys" if self.derived_keys_used else ""
        out.append(f"signed by {who}{via}:")
        for el in self.signed:
            out.append(f"  signed: {etree.QName(el).localname}")
        for typ, el in self.encrypted:
            kind = "content of" if typ == ns.XENC_CONTENT else "element"
            out.append(f"  encrypted: {kind} {etree.QName(el).localname}")
        if self.endorsing_sct is not None:
            out.append(f"endorsed by SCT {self.endorsing_sct.identifier}"
                       + (f" (instance {self.endorsing_sct.instance})"
                          if self.endorsing_sct.instance else ""))
        return out


class _Inbound:
    """One message's inbound processing, in the fixed order described in the module doc."""

    def __init__(
        self, state: HeaderState, limits: ParserLimits, replay: _Replay | None = None
    ) -> None:
        self.replay = replay
        self.state = state
        self.policy = state.policy
        self.env = state.envelope
        self.limits = limits
        self.ids = index_ids(self.env.root)
        self.result = VerifiedMessage(self.env)
        #: ids of EncryptedData already replaced by their plaintext (the encrypted Signature)
        self._decrypted_ids: set[str] = set()
        #: where the endorsing signature is (``require_endorsing_signature``)
        self._endorsing: Recorded | None = None

    # --- pass 1 ----------------------------------------------------------------------
    def read_header(self) -> None:
        st, p = self.state, self.policy
        position = 0
        for child in st.security:  # one linear pass; never index lxml children
            if not isinstance(child.tag, str):
                continue
            position += 1
            if position > p.max_header_elements:
                raise InvalidSecurity(
                    f"the security header has more than {p.max_header_elements} elements"
                )
            proc = PROCESSORS.get(child.tag)
            if proc is None:
                raise InvalidSecurity(
                    f"unexpected element {_log_name(child)} in the security header"
                )
            proc(child, st, position)

    # --- pass 2: find and authenticate the signature -------------------------------------
    def authenticate(self) -> tuple[Token, etree._Element, int] | None:
        """Find the message signature (decrypting it if it is encrypted: the only decryption
        before authentication) and check SignatureValue over SignedInfo. Every failure in
        here is a `FailedCheck` or `InvalidSecurity`: what the signature's
        plaintext said must not choose the fault."""
        primary, self._endorsing = self._locate_signatures()
        if primary is None:
            return None
        if primary.element.tag == _SIGNATURE:
            sig, via = primary.element, None
        else:
            sig, via = self._decrypt_signature(primary)
        try:
            tok = self._check_signature_value(sig)
        except (BadContextToken, UnknownDerivationSource, SecurityTokenUnavailable) as exc:
            if via is None:
                raise
            # Reached only through decrypted, unauthenticated bytes: no distinct fault.
            raise FailedCheck(f"the encrypted signature names an unusable key ({exc.detail})") \
                from None
        if via is not None and via.base is not tok.base:
            raise InvalidSecurity("the signature was encrypted with another token's key")
        if via is None and self.policy.require_encrypted_signature:
            raise InvalidSecurity("the signature is not encrypted (the policy encrypts it: "
                                  "PrimarySignatureIsRequiredToBeEncrypted)")
        return tok, sig, primary.position

    def _locate_signatures(self) -> tuple[Recorded | None, Recorded | None]:
        """(primary, endorsing): where the signatures are, each a recorded ``ds:Signature`` or
        a header EncryptedData that holds one (WCF's EncryptSignature).

        Without an endorsing signature the primary is the plain Signature, else the last
        header EncryptedData. With one (``require_endorsing_signature``) the endorsing
        signature follows the primary, as WCF and Metro write them: two plain Signatures;
        an encrypted primary and a plain endorsing one after it (Metro); or both encrypted,
        the last two header EncryptedData (WCF encrypts endorsing signatures too)."""
        st = self.state
        plain, encrypted = st.signatures, st.header_encrypted
        if not self.policy.require_endorsing_signature:
            if plain:
                return plain[0], None
            return (encrypted[-1] if encrypted else None), None
        if len(plain) == 2:
            return plain[0], plain[1]
        if len(plain) == 1:
            before = [r for r in encrypted if r.position < plain[0].position]
            if before:
                return before[-1], plain[0]
            raise InvalidSecurity("the message has no endorsing signature")
        if len(encrypted) >= 2:
            return encrypted[-2], encrypted[-1]
        raise InvalidSecurity("the message has no endorsing signature")

    def _decrypt_signature(self, rec: Recorded) -> tuple[etree._Element, Token]:
        """WCF's EncryptSignature: a header EncryptedData that holds a ds:Signature."""
        ed = rec.element
        listed = self._listing(ed)
        if listed is None:
            raise InvalidSecurity("an EncryptedData in the header is not referenced")
        if listed.position > rec.position:
            raise InvalidSecurity("the ReferenceList of the signature comes after it")
        if ed.get("Type") != ns.XENC_ELEMENT:
            raise InvalidSecurity("the header EncryptedData of a signature is not an encrypted "
                                  "element")
        tok = self.state.token_from_keyinfo(ed, listed.default_key)
        new = self._decrypt(ed, tok, lenient_padding=True)
        if new.tag != _SIGNATURE:
            raise FailedCheck("the message is not signed (no ds:Signature)")
        return new, tok

    def _listing(self, ed: etree._Element) -> Recorded | None:
        ident = ed.get("Id") or ed.get(f"{{{ns.WSU}}}Id")
        if not ident:
            return None
        for rl in self.state.reference_lists:
            for dr in rl.element:
                if dr.tag == _DATA_REFERENCE and dr.get("URI") == "#" + ident:
                    return rl
        return None

    def _check_signature_value(self, sig: etree._Element) -> Token:
        try:
            tok, value = self._signature_value(sig)
        except FailedCheck:
            # The signature failed under a key that replaced a failed unwrap: the log names
            # the unwrap (the wire shows neither).
            if self.state.deferred_failure is not None:
                raise FailedCheck(self.state.deferred_failure) from None
            raise
        if self.state.deferred_failure is not None:
            raise FailedCheck(self.state.deferred_failure)
        self.result.signature_value = value
        if self.replay is not None:
            # Recorded now, before anything else is decrypted: a captured signature opens
            # the message's EncryptedData at most once, so altered ciphertext replayed under
            # it can never be decrypted (no padding oracle through a valid signature).
            self.replay.record(value, self.state.timestamp, tok)
        return tok

    def _signature_value(self, sig: etree._Element) -> tuple[Token, bytes]:
        """Check SignatureValue over SignedInfo; returns the signing token and the value."""
        p = self.policy
        si = _only(sig, f"{{{ns.DS}}}SignedInfo")
        c14n = _only(si, f"{{{ns.DS}}}CanonicalizationMethod")
        if c14n.get("Algorithm") != ns.EXC_C14N:
            raise UnsupportedAlgorithm(f"canonicalization {_log_value(c14n.get('Algorithm'))}")
        sm = _only(si, f"{{{ns.DS}}}SignatureMethod")
        alg = sm.get("Algorithm") or ""
        if len(sm):
            raise InvalidSecurity("HMACOutputLength is not accepted")
        tok = self.state.token_from_keyinfo(sig)
        checker = SIGNATURE_CHECKS.get(alg)
        if checker is None or (p.strict_algorithms and alg not in (
                p.suite.symmetric_signature, p.suite.asymmetric_signature)):
            raise UnsupportedAlgorithm(f"signature method {_log_value(alg)}")
        sv = _only(sig, f"{{{ns.DS}}}SignatureValue")
        value = b64decode(sv.text, "SignatureValue")
        checker(alg, tok, exc_c14n(si, read_inclusive_prefixes(c14n)), value, p)
        return tok, value

    # --- pass 4b: the endorsing signature ---------------------------------------------
    def check_endorsing(self, primary: etree._Element, signer: Token) -> None:
        """The endorsing signature (WCF's endorsing supporting token: the session's SCT on a
        Renew secured by the bootstrap). Checked after the primary signature is authentic::

            <ds:Signature Id="_99"><ds:SignedInfo>…
                <ds:Reference URI="#_1">  <!-- the primary ds:Signature, decrypted -->
                  <ds:Transforms><ds:Transform Algorithm="…xml-exc-c14n#"/></ds:Transforms>
                  …<ds:DigestValue>…</ds:DigestValue></ds:Reference></ds:SignedInfo>
              <ds:SignatureValue>…</ds:SignatureValue>
              <ds:KeyInfo><wsse:SecurityTokenReference>
                <wsse:Reference URI="#_100"/>  <!-- a DerivedKeyToken on the SCT -->
              </wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature>

        Its only Reference must be the primary signature, so the endorsement is bound to this
        message (the primary covers the Timestamp, the Body and the addressing headers) and
        cannot be lifted onto another one. Its key must come from an SCT, not from the
        primary's token. Where the policy encrypts the signature it must be encrypted too
        (WCF's ``AllSignaturesEncrypted``), with the primary's key; that is checked last, so
        the log names a broken endorsement first."""
        rec, p = self._endorsing, self.policy
        if rec is None:
            raise InvalidSecurity("the message has no endorsing signature")
        if rec.element.tag == _SIGNATURE:
            el = rec.element
        else:
            el, via = self._decrypt_signature(rec)
            if via.base is not signer.base:
                raise InvalidSecurity("the endorsing signature was encrypted with another "
                                      "token's key than the primary signature's")
        tok, _ = self._signature_value(el)
        if self.state.deferred_failure is not None:
            raise FailedCheck(self.state.deferred_failure)
        base = tok.base
        if base.kind != "sct" or base.sct is None or base is signer.base:
            raise InvalidSecurity("the endorsing signature is not made with a "
                                  "SecurityContextToken's key")
        if p.enforce_derived_keys and not p.transport and (tok.kind == "dk") != p.derived_keys:
            raise InvalidSecurity("the endorsing signature does not use derived keys as the "
                                  "policy says")
        try:
            covered = self.check_references(el)
        except (FailedCheck, UnsupportedAlgorithm, InvalidSecurity) as exc:
            raise FailedCheck("the endorsing signature does not verify over the primary "
                              f"signature ({exc.detail})") from None
        if len(covered) != 1 or covered[0] is not primary:
            raise InvalidSecurity("the endorsing signature must cover the primary signature "
                                  "and nothing else")
        if rec.element.tag == _SIGNATURE and p.require_encrypted_signature:
            raise InvalidSecurity("the endorsing signature is not encrypted (the policy "
                                  "encrypts signatures; WCF requires all of them encrypted)")
        self.result.endorsing_sct = base.sct

    # --- pass 3: decrypt, with keys of the signing token only ---------------------------
    def decrypt_before(self, position: int | None, signer: Token | None) -> None:
        """Decrypt what the ReferenceLists before ``position`` (None: all) name."""
        for rl in self.state.reference_lists:
            if position is not None and rl.position > position:
                continue
            self._decrypt_list(rl, signer)

    def decrypt_after(self, position: int, signer: Token) -> None:
        for rl in self.state.reference_lists:
            if rl.position > position:
                if self.policy.sign_before_encrypt:
                    raise InvalidSecurity(
                        "a ReferenceList follows the signature (the policy signs before it "
                        "encrypts)"
                    )
                self._decrypt_list(rl, signer)

    def _decrypt_list(self, rl: Recorded, signer: Token | None) -> None:
        for dr in rl.element:
            if not isinstance(dr.tag, str):
                continue
            if dr.tag != _DATA_REFERENCE:
                raise InvalidSecurity("a ReferenceList may only hold DataReferences")
            uri = dr.get("URI") or ""
            if not uri.startswith("#") or len(uri) < 2:
                raise InvalidSecurity("a DataReference must be a local #id")
            target = self.ids.get(uri[1:])
            if target is None:
                if uri[1:] in self._decrypted_ids:
                    continue  # the encrypted Signature, already in place
                raise InvalidSecurity("a DataReference does not name an EncryptedData")
            if target.tag != _ENCRYPTED_DATA:
                raise InvalidSecurity("a DataReference does not name an EncryptedData")
            if self._endorsing is not None and target is self._endorsing.element:
                continue  # the encrypted endorsing signature: opened by check_endorsing
            tok = self.state.token_from_keyinfo(target, rl.default_key)
            if signer is None:
                raise InvalidSecurity("encrypted data in a message without a signature")
            if tok.base is not signer.base:
                raise InvalidSecurity(
                    "the data was encrypted with a key of another token than the signature's"
                )
            new = self._decrypt(target, tok)
            if new.getparent() is self.state.security:
                # An encrypted header token (WCF encrypts SignatureConfirmation along with
                # the Signature): processed now that it is authentic.
                proc = _AFTER_DECRYPTION.get(new.tag) if isinstance(new.tag, str) else None
                if proc is None:
                    raise InvalidSecurity(
                        f"unexpected encrypted element {_log_name(new)} in the security header"
                    )
                proc(new, self.state, rl.position)

    def _decrypt(
        self, ed: etree._Element, tok: Token, *, lenient_padding: bool = False
    ) -> etree._Element:
        """Decrypt ``ed`` in place; returns the element now holding the plaintext.

        ``lenient_padding`` (the encrypted Signature, decrypted before authentication): bad
        padding does not fail at once; the plaintext is parsed all the same and the failure
        comes after, so that bad padding and garbage plaintext take the same path."""
        p = self.policy
        typ = ed.get("Type")
        if typ not in (ns.XENC_CONTENT, ns.XENC_ELEMENT):
            raise InvalidSecurity("unsupported EncryptedData Type")
        method = ed.find(f"{{{ns.XENC}}}EncryptionMethod")
        alg = method.get("Algorithm") if method is not None else None
        if alg is None:
            raise InvalidSecurity("EncryptedData has no EncryptionMethod")
        if p.strict_algorithms and alg != p.suite.encryption:
            raise UnsupportedAlgorithm(f"encryption method {_log_value(alg)}")
        if tok.kind == "x509":
            raise InvalidSecurity("data cannot be decrypted with a public key")
        if len(tok.key) < cipher_key_length(alg):
            raise FailedCheck("the encryption key is shorter than the algorithm needs")
        cv = ed.find(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
        raw = b64decode(cv.text if cv is not None else None, "CipherValue")
        parent = ed.getparent()
        assert parent is not None
        if len(parent.nsmap) > p.max_namespace_declarations:
            raise InvalidSecurity(
                f"more than {p.max_namespace_declarations} namespaces are in scope"
            )
        if lenient_padding:
            plain, padding_ok = block_decrypt_lenient(alg, tok.key, raw)
            if not padding_ok:
                self.state.deferred_failure = "the decrypted data has invalid padding"
        else:
            plain = block_decrypt(alg, tok.key, raw)
        nodes = _parse_fragment(plain, parent, self.limits)
        ed_id = ed.get("Id")
        if ed_id is not None and self.ids.get(ed_id) is ed:
            del self.ids[ed_id]
            self._decrypted_ids.add(ed_id)
        if typ == ns.XENC_ELEMENT:
            elems = [n for n in nodes if isinstance(n.tag, str)]
            if len(elems) != 1 or (nodes.text or "").strip():
                raise FailedCheck("the decrypted element is not a single element")
            new = elems[0]
            new.tail = ed.tail
            parent.replace(ed, new)
            self.result.encrypted.append((typ, new))
            index_ids(new, self.ids)
            return new
        if len(parent) != 1 or (parent.text or "").strip():
            raise InvalidSecurity("encrypted content must be the only content of its parent")
        parent.remove(ed)
        parent.text = nodes.text
        graft = _would_be_renamed(plain, parent.nsmap)
        for n in list(nodes):
            if not isinstance(n.tag, str):
                continue
            if graft:
                g = _graft(n, parent)
                g.tail = n.tail
            else:  # the common case: moving keeps every prefix
                parent.append(n)
                g = n
            index_ids(g, self.ids)
        self.result.encrypted.append((typ, parent))
        return parent

    # --- pass 4: digests ------------------------------------------------------------------
    def check_references(self, sig: etree._Element) -> list[etree._Element]:
        si = _only(sig, f"{{{ns.DS}}}SignedInfo")
        refs = si.findall(f"{{{ns.DS}}}Reference")
        if not refs or len(refs) > self.policy.max_references:
            raise InvalidSecurity("the signature has no or too many references")
        signed: list[etree._Element] = []
        for ref in refs:
            target = self._check_reference(ref)
            if any(target is s for s in signed):
                raise InvalidSecurity("an element is referenced twice by the signature")
            signed.append(target)
        return signed

    def _check_reference(self, ref: etree._Element) -> etree._Element:
        uri = ref.get("URI") or ""
        if not uri.startswith("#") or len(uri) < 2:
            raise InvalidSecurity("signature references must be local #id references")
        target = self.ids.get(uri[1:])
        if target is None:
            raise InvalidSecurity("a signed element is missing")
        transforms = dm = dv_el = None
        for child in ref:
            tag = child.tag
            if tag == _TRANSFORMS and transforms is None:
                transforms = child
            elif tag == _DIGEST_METHOD and dm is None:
                dm = child
            elif tag == _DIGEST_VALUE and dv_el is None:
                dv_el = child
            elif isinstance(tag, str):
                raise InvalidSecurity("unexpected or repeated element in a signature Reference")
        prefixes: list[str] = []
        if transforms is not None:
            ts = list(transforms)
            if len(ts) != 1 or ts[0].get("Algorithm") != ns.EXC_C14N:
                raise UnsupportedAlgorithm("only one exclusive c14n transform is supported"
                                           + ("" if ts else " (ds:Transforms is empty)"))
            prefixes = read_inclusive_prefixes(ts[0])
        if dm is None or dv_el is None:
            raise InvalidSecurity("a signature Reference needs DigestMethod and DigestValue")
        dalg = dm.get("Algorithm") or ""
        p = self.policy
        if dalg not in _DIGESTS or (p.strict_algorithms and dalg != p.suite.digest):
            raise UnsupportedAlgorithm(f"digest method {_log_value(dalg)}")
        dv = b64decode(dv_el.text, "DigestValue")
        if not _hmac.compare_digest(digest(dalg, exc_c14n(target, prefixes)), dv):
            raise FailedCheck("a digest did not match (the content was changed)")
        return target

    # --- the whole order ------------------------------------------------------------------
    def run(self) -> VerifiedMessage:
        st, r = self.state, self.result
        self.read_header()
        r.timestamp = st.timestamp
        r.signature_confirmations = st.confirmations
        r.sc = st.sc
        signed = self.authenticate()
        if signed is None:
            r.username_token = st.username_token
            if st.reference_lists or st.header_encrypted:
                raise InvalidSecurity("encrypted data in a message without a signature")
            self._enforce(None)
            return r
        tok, sig, position = signed
        self.decrypt_before(position, tok)
        r.signed = self.check_references(sig)
        self.decrypt_after(position, tok)
        if self.policy.require_endorsing_signature:
            self.check_endorsing(sig, tok)
        for rec in st.header_encrypted:  # every header EncryptedData must have been listed
            if rec.element.getparent() is not None and rec.element.tag == _ENCRYPTED_DATA:
                raise InvalidSecurity("an EncryptedData in the header is not referenced")
        r.username_token = st.username_token
        base = tok.base
        r.derived_keys_used = tok.kind == "dk"
        r.signing_key = base.key if base.kind != "x509" else None
        r.signing_kind = base.kind
        r.signing_sct = base.sct
        if base.sc is not None:
            r.sc = base.sc
        r.encrypted_key_sha1 = base.sha1
        self._enforce(sig)
        return r

    # --- policy ------------------------------------------------------------------------
    def _enforce(self, sig: etree._Element | None) -> None:
        r, p, env = self.result, self.policy, self.env
        ts_el = self.state.timestamp_element
        if p.require_timestamp and r.timestamp is None:
            raise InvalidSecurity("the message has no Timestamp")
        if sig is None:
            if p.require_signature:
                raise InvalidSecurity("the message is not signed")
            return
        if r.timestamp is not None and not any(e is ts_el for e in r.signed):
            raise InvalidSecurity("the Timestamp is not signed")
        if p.require_signed_body and not p.transport and not r.body_signed:
            raise InvalidSecurity("the Body is not signed by the message signature")
        if p.enforce_derived_keys and not p.transport and r.derived_keys_used != p.derived_keys:
            raise InvalidSecurity(
                "the policy requires derived keys" if p.derived_keys
                else "the policy requires the token key without derived keys"
            )
        if p.require_encrypted_body and not r.body_encrypted:
            raise InvalidSecurity("the Body is not encrypted")
        header = env.header
        seen: set[str] = set()
        if header is not None:
            for h in header:
                if not isinstance(h.tag, str) or etree.QName(h).namespace not in _WSA_NAMESPACES:
                    continue
                if h.tag in seen:
                    raise InvalidSecurity(f"duplicate addressing header {etree.QName(h).localname}")
                seen.add(h.tag)
                if p.require_signed_addressing and not any(e is h for e in r.signed):
                    raise InvalidSecurity(
                        f"the addressing header {etree.QName(h).localname} is not signed"
                    )
        sec = self.state.security
        for el in r.signed:
            parent = el.getparent()
            if el is env.body or el is ts_el:
                continue
            # SOAP headers, and tokens of this security header (UsernameToken,
            # SignatureConfirmation…): nothing signed may hide elsewhere.
            if parent is not header and parent is not sec:
                raise InvalidSecurity("a signed element is not where the application reads it")


@dataclass(slots=True)
class _Replay:
    """Charges an authenticated SignatureValue to the replay cache."""

    cache: ReplayCache
    policy: MessagePolicy
    now: float
    partition: str
    #: when the session of a signing SCT was issued (None: the message is not dated)
    issued_at: Callable[[SecurityContextToken], float | None] | None = None

    def record(self, value: bytes, ts: Timestamp | None, tok: Token) -> None:
        created = ts.created if ts is not None else self.now
        # An entry lives only as long as the message could pass the timestamp check again:
        # Created + replay window + skew. The sender's Expires cannot stretch it.
        expires = min(created, self.now) + self.policy.replay_window + self.policy.max_clock_skew
        sct = tok.base.sct
        partition = "sct:" + sct.identifier if sct is not None else self.partition
        # A message under a session is dated against the cache's start (its epoch).
        stamp: float | None = None
        issued: float | None = None
        if sct is not None and self.issued_at is not None:
            stamp, issued = created, self.issued_at(sct)
        self.cache.check_and_add(value, max(expires, self.now + 1), self.now,
                                 partition=partition, created=stamp, issued=issued,
                                 skew=self.policy.max_clock_skew)


# --- signature checking, chosen by algorithm and key type ---------------------------------
SignatureCheck = Callable[[str, Token, bytes, bytes, MessagePolicy], None]


def _check_hmac(alg: str, tok: Token, signed_info: bytes, value: bytes, p: MessagePolicy) -> None:
    if tok.kind == "x509":
        raise UnsupportedAlgorithm("an HMAC signature needs a symmetric key")
    key = tok.key
    if len(key) < MIN_HMAC_KEY:
        raise FailedCheck("the signature key is too short")
    if p.strict_algorithms:
        suite = p.suite
        ok = (len(key) >= suite.signature_key_length if tok.kind == "dk"
              else suite.min_symmetric_key_bits <= len(key) * 8 <= suite.max_symmetric_key_bits)
        if not ok:
            raise FailedCheck("the signature key length does not fit the suite")
    if not _hmac.compare_digest(hmac_sign(alg, key, signed_info), value):
        raise FailedCheck("the signature value did not verify")


def _check_rsa(alg: str, tok: Token, signed_info: bytes, value: bytes, p: MessagePolicy) -> None:
    if tok.public_key is None:
        raise UnsupportedAlgorithm("an RSA signature needs an X.509 token")
    if not rsa_verify(alg, tok.public_key, signed_info, value):
        raise FailedCheck("the signature value did not verify")


#: SignatureMethod URI -> check. HMAC for symmetric keys, RSA for X.509 tokens.
SIGNATURE_CHECKS: dict[str, SignatureCheck] = {
    ns.HMAC_SHA1: _check_hmac,
    ns.HMAC_SHA256: _check_hmac,
    ns.RSA_SHA1: _check_rsa,
    ns.RSA_SHA256: _check_rsa,
}


def verify(
    message: bytes | bytearray | str | etree._Element,
    *,
    resolver: KeyResolver | None = None,
    policy: MessagePolicy = MessagePolicy(),  # noqa: B008 - frozen
    now: float | None = None,
    replay_cache: ReplayCache | None = None,
    private_key: rsa.RSAPrivateKey | None = None,
    encrypted_key_sha1_keys: Mapping[str, bytes] | None = None,
    context_sct: SecurityContextToken | None = None,
    limits: ParserLimits = DEFAULT_LIMITS,
    private_key_thumbprint: str | None = None,
    replay_partition: str = "",
    issued_at: Callable[[SecurityContextToken], float | None] | None = None,
    certificate_validator: CertificateValidator = REFUSE_ALL,
) -> VerifiedMessage:
    """Verify and decrypt a secured message, or raise a typed `WsscError`.

    ``message`` bytes are parsed with the hardened parser; an element is processed in place.
    ``replay_partition`` names who the replay cache charges the entry to when the message is
    not signed by an SCT (a peer address, say); an SCT-signed message is charged to its SCT.
    ``issued_at`` says when the session of a signing SCT was issued (service clock): with it,
    the replay cache also refuses an SCT-signed message it could have seen before it started
    (`wssc.security.replay`). ``certificate_validator`` decides whether the certificate of
    a BinarySecurityToken may sign (`wssc.security.x509_validation`; by default none may).
    """
    root: etree._Element
    if isinstance(message, etree._Element):
        root = message
    elif isinstance(message, str):
        root = parse_xml(message, limits)
    else:
        root = parse_xml(bytes(message), limits)
    # Exclusive c14n without comments leaves comments out of every digest, while ``.text``
    # stops at a comment: strip them so the application reads exactly what was signed.
    etree.strip_tags(root, etree.Comment)
    now = time.time() if now is None else now
    env = Envelope(root)
    secs = env.security_headers()
    if not secs:
        raise InvalidSecurity("the message has no wsse:Security header")
    if len(secs) > 1:
        raise InvalidSecurity("the message has more than one wsse:Security header")
    state = HeaderState(
        env, secs[0], policy, resolver, now, private_key, private_key_thumbprint,
        encrypted_key_sha1_keys or {}, context_sct,
        certificate_validator=certificate_validator,
    )
    replay = (_Replay(replay_cache, policy, now, replay_partition, issued_at)
              if replay_cache is not None else None)
    try:
        return _Inbound(state, limits, replay).run()
    except WsscError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, etree.LxmlError) as exc:
        raise InvalidSecurity(
            f"the security header could not be processed ({type(exc).__name__})"
        ) from None


def _only(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise InvalidSecurity(f"expected exactly one {etree.QName(tag).localname}")
    return found[0]


def _log_value(value: str | None) -> str:
    """An attacker-chosen attribute, cut short (the log escapes control characters)."""
    return repr(str(value)[:120])


def _log_name(el: etree._Element) -> str:
    return repr(etree.QName(el).localname[:80])


def _parse_fragment(
    plain: bytes, context: etree._Element, limits: ParserLimits
) -> etree._Element:
    """Parse decrypted bytes as a fragment in the namespace context of ``context``."""
    decls = "".join(
        f' xmlns:{p}="{_attr(u)}"' if p else f' xmlns="{_attr(u)}"'
        for p, u in context.nsmap.items()
    )
    wrapped = f"<wssc-fragment{decls}>".encode() + plain + b"</wssc-fragment>"
    try:
        frag = parse_xml(wrapped, limits)
    except MalformedXml:
        raise FailedCheck("the decrypted data is not well-formed XML (wrong key?)") from None
    return frag


_XMLNS = re.compile(rb"""xmlns(?::([^\s=/>]+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _would_be_renamed(plain: bytes, scope: Mapping[str | None, str]) -> bool:
    """Would moving the parsed plaintext under a parent with namespace ``scope`` change its
    prefixes? lxml drops a moved element's declaration of a URI that the new parent already
    declares under another prefix, and points the element at the parent's prefix. Read from
    the plaintext's own ``xmlns`` declarations (a URI written with character references is
    not recognised here: the digest then fails, closed)."""
    in_scope = set(scope.values())
    for m in _XMLNS.finditer(plain):
        prefix = m.group(1).decode("utf-8", "replace") if m.group(1) else None
        uri = (m.group(2) if m.group(2) is not None else m.group(3) or b"").decode(
            "utf-8", "replace")
        if uri in in_scope and scope.get(prefix) != uri:
            return True
    return False


def _graft(src: etree._Element, parent: etree._Element) -> etree._Element:
    """Rebuild ``src`` (decrypted, in its own document) as the last child of ``parent``,
    keeping the sender's prefixes: each element declares what it declared in the plaintext.

    Moving the parsed nodes instead would let lxml re-point every prefix to the nearest
    declaration of the same URI in the envelope (``ns2:Id`` becoming ``wsu:Id``), and the
    exclusive c14n of the Body would no longer be what the sender digested (Metro aliases
    wsu and wsse inside its Body). Depth is bounded by the parser's limits."""
    up = src.getparent()
    inherited = up.nsmap if up is not None else {}
    own = {p: u for p, u in src.nsmap.items() if inherited.get(p) != u}
    el = etree.SubElement(parent, src.tag, nsmap=own)  # type: ignore[arg-type]
    for k, v in src.attrib.items():
        el.set(k, v)
    el.text = src.text
    for child in src:
        if isinstance(child.tag, str):
            g = _graft(child, el)
            g.tail = child.tail
    return el


def _attr(u: str) -> str:
    return u.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


__all__ = [
    "PROCESSORS", "SIGNATURE_CHECKS", "InvalidSecurityToken", "KeyResolver", "VerifiedMessage",
    "verify",
]
