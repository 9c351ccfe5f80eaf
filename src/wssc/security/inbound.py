"""Inbound: verify and decrypt the ``wsse:Security`` header of a received message.

The header is processed in document order (WS-Security §5):

* ``wsu:Timestamp`` — checked against the clock with the policy's max clock skew;
* ``wsc:SecurityContextToken`` — its secret comes from the *resolver*
  (Identifier, Instance, cookie → secret); an unknown SCT is ``BadContextToken``;
* ``xenc:EncryptedKey`` — unwrapped with the service's private key (bootstrap);
* ``wsc:DerivedKeyToken`` — WCF's read limits, then P_SHA1 from its base token. Without an STR
  the key is taken from context when exactly one key is in scope (the only SCT in the header,
  or the session's SCT), else ``UnknownDerivationSource``;
* ``xenc:ReferenceList`` — every referenced ``EncryptedData`` is decrypted in place;
* ``ds:Signature`` — HMAC over exclusive-c14n'd references, each a ``#id`` that must resolve to
  exactly one element (ids are unique or the message is refused).

Afterwards the policy is enforced *by element identity*: the Body the application will read
must be the very element the signature covered (which defeats signature wrapping), the
Timestamp must be signed, and the replay cache must not know the signature.
"""

from __future__ import annotations

import binascii
import hmac as _hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from wssc.crypto.primitives import block_decrypt, digest, hmac_sign, rsa_key_unwrap
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
from wssc.security.replay import ReplayCache
from wssc.security.tokens import encrypted_key_sha1
from wssc.tokens.dkt import DerivedKeyToken
from wssc.tokens.sct import SecurityContextToken
from wssc.tokens.str_ import STR_TAG, SecurityTokenReference
from wssc.tokens.timestamp import Timestamp
from wssc.xml import ns
from wssc.xml.c14n import exc_c14n, read_inclusive_prefixes
from wssc.xml.ids import index_ids
from wssc.xml.ns import ScVersion
from wssc.xml.parse import DEFAULT_LIMITS, ParserLimits, parse_xml
from wssc.xml.soap import Envelope

#: (sct, sc version) -> secret, or None when unknown. May raise BadContextToken/RenewNeeded.
KeyResolver = Callable[[SecurityContextToken, ScVersion], bytes | None]

_HMACS = frozenset({ns.HMAC_SHA1, ns.HMAC_SHA256})
_DIGESTS = frozenset({ns.SHA1, ns.SHA256})
_WSA_NAMESPACES = (ns.WSA10, ns.WSA2004)
MIN_HMAC_KEY = 16
_TRANSFORMS = f"{{{ns.DS}}}Transforms"
_DIGEST_METHOD = f"{{{ns.DS}}}DigestMethod"
_DIGEST_VALUE = f"{{{ns.DS}}}DigestValue"


@dataclass(slots=True)
class _Token:
    kind: str  # "sct" | "dk" | "ek"
    key: bytes
    root: _Token | None = None  # for a DK: the token it was derived from
    sct: SecurityContextToken | None = None
    sc: ScVersion | None = None
    sha1: str | None = None  # EncryptedKeySHA1 for "ek"

    @property
    def base(self) -> _Token:
        return self.root if self.root is not None else self


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
        return out


class _Processor:
    def __init__(
        self,
        root: etree._Element,
        policy: MessagePolicy,
        resolver: KeyResolver | None,
        now: float,
        private_key: rsa.RSAPrivateKey | None,
        encrypted_key_sha1_keys: Mapping[str, bytes],
        context_sct: SecurityContextToken | None,
        limits: ParserLimits,
        thumbprint: str | None = None,
    ) -> None:
        self.thumbprint = thumbprint
        self.root = root
        self.env = Envelope(root)
        self.policy = policy
        self.resolver = resolver
        self.now = now
        self.private_key = private_key
        self.ek_keys = encrypted_key_sha1_keys
        self.context_sct = context_sct
        self.limits = limits
        self.ids = index_ids(root)
        self.tokens: dict[str, _Token] = {}
        self.scts: list[_Token] = []
        self.header_scts: list[_Token] = []
        self.dk_count = 0
        self.result = VerifiedMessage(self.env)
        self.signature_done = False
        self._ts_el: etree._Element | None = None
        self.sec: etree._Element | None = None

    # --- token resolution ----------------------------------------------------------------
    def _resolve_sct(self, sct: SecurityContextToken, sc: ScVersion) -> bytes:
        key = self.resolver(sct, sc) if self.resolver is not None else None
        if key is None:
            raise BadContextToken(
                "no key is known for this SecurityContextToken", sc_ns=sc.ns
            )
        return key

    def _from_str(self, ref: SecurityTokenReference, sc_hint: ScVersion) -> _Token:
        if ref.custom is not None:
            raise SecurityTokenUnavailable("the reference uses an unsupported custom clause")
        if ref.key_identifier is not None:
            if ref.value_type == ns.WSS_ENCRYPTED_KEY_SHA1:
                key = self.ek_keys.get(ref.key_identifier)
                if key is None:
                    raise SecurityTokenUnavailable("unknown EncryptedKeySHA1")
                return _Token("ek", key, sha1=ref.key_identifier)
            raise SecurityTokenUnavailable("unsupported KeyIdentifier type")
        assert ref.uri is not None
        if ref.is_local:
            tok = self.tokens.get(ref.local_id)
            if tok is not None:
                return tok
            raise SecurityTokenUnavailable(
                f"the referenced token #{ref.local_id[:64]} was not found before its use"
            )
        # An external reference: an SCT Identifier, either of an SCT in this header or
        # known to the resolver.
        for t in self.scts:
            if t.sct is not None and t.sct.identifier == ref.uri and (
                ref.instance is None or ref.instance == t.sct.instance
            ):
                return t
        if ref.value_type not in (None, ns.SC_FEB2005.sct_token_type, ns.SC_V13.sct_token_type):
            raise SecurityTokenUnavailable("unsupported external reference type")
        sc = sc_hint
        if ref.value_type == ns.SC_V13.sct_token_type:
            sc = ns.SC_V13
        elif ref.value_type == ns.SC_FEB2005.sct_token_type:
            sc = ns.SC_FEB2005
        sct = SecurityContextToken(ref.uri, ref.instance, None, "")
        tok = _Token("sct", self._resolve_sct(sct, sc), sct=sct, sc=sc)
        self.scts.append(tok)
        return tok

    # --- header elements ---------------------------------------------------------------
    def process(self) -> VerifiedMessage:
        secs = self.env.security_headers()
        if not secs:
            raise InvalidSecurity("the message has no wsse:Security header")
        if len(secs) > 1:
            raise InvalidSecurity("the message has more than one wsse:Security header")
        sec = secs[0]
        self.sec = sec
        i = 0
        while i < len(sec):
            child = sec[i]
            i += 1
            if not isinstance(child.tag, str):
                continue
            tag = child.tag
            q = etree.QName(child)
            if tag == f"{{{ns.WSU}}}Timestamp":
                self._timestamp(child)
            elif q.localname == "SecurityContextToken" and q.namespace in ns.SC_VERSIONS:
                self._sct(child)
            elif q.localname == "DerivedKeyToken" and q.namespace in ns.SC_VERSIONS:
                self._dkt(child)
            elif tag == f"{{{ns.XENC}}}EncryptedKey":
                self._encrypted_key(child)
            elif tag == f"{{{ns.XENC}}}ReferenceList":
                self._reference_list(child)
            elif tag == f"{{{ns.DS}}}Signature":
                self._signature(child)
            elif tag == f"{{{ns.WSSE}}}UsernameToken":
                if self.result.username_token is not None:
                    raise InvalidSecurity("more than one UsernameToken")
                self.result.username_token = child
            elif tag == f"{{{ns.XENC}}}EncryptedData":
                raise InvalidSecurity("an EncryptedData in the header is not referenced")
            elif tag == f"{{{ns.WSSE11}}}SignatureConfirmation":
                value = child.get("Value")
                self.result.signature_confirmations.append(
                    _b64decode(value, "SignatureConfirmation Value") if value else b""
                )
            else:
                raise InvalidSecurity(f"unexpected element {q.localname} in the security header")
        self._enforce()
        return self.result

    def _timestamp(self, el: etree._Element) -> None:
        if self.result.timestamp is not None:
            raise InvalidSecurity("the security header has more than one Timestamp")
        ts = Timestamp.from_xml(el)
        if self.policy.check_expiry:
            ts.check(self.now, self.policy.max_clock_skew)
        self.result.timestamp = ts
        self._ts_el = el

    def _sct(self, el: etree._Element) -> None:
        sct, sc = SecurityContextToken.from_xml(el)
        tok = _Token("sct", self._resolve_sct(sct, sc), sct=sct, sc=sc)
        if sct.wsu_id:
            self.tokens[sct.wsu_id] = tok
        self.scts.append(tok)
        self.header_scts.append(tok)
        if self.result.sc is None:
            self.result.sc = sc

    def _dkt(self, el: etree._Element) -> None:
        self.dk_count += 1
        if self.dk_count > self.policy.max_derived_keys:
            raise InvalidSecurity(
                f"the message has more than {self.policy.max_derived_keys} DerivedKeyTokens"
            )
        dkt, sc = DerivedKeyToken.from_xml(el, self.policy.suite.max_derived_key_length)
        if self.result.sc is None:
            self.result.sc = sc
        if dkt.base is None:
            base = self._context_base(sc)
        else:
            assert isinstance(dkt.base, SecurityTokenReference)
            base = self._from_str(dkt.base, sc).base
        key = dkt.derive(base.key)
        if dkt.wsu_id:
            self.tokens[dkt.wsu_id] = _Token("dk", key, root=base)

    def _context_base(self, sc: ScVersion) -> _Token:
        in_header = self.header_scts
        if len(in_header) == 1:
            return in_header[0]
        if not in_header and self.context_sct is not None:
            sct = self.context_sct
            return _Token("sct", self._resolve_sct(sct, sc), sct=sct, sc=sc)
        raise UnknownDerivationSource(
            "the DerivedKeyToken has no SecurityTokenReference and "
            + ("several keys are in scope" if in_header else "no key is in scope"),
            sc_ns=sc.ns,
        )

    def _encrypted_key(self, el: etree._Element) -> None:
        if self.private_key is None:
            raise SecurityTokenUnavailable("no private key to decrypt the EncryptedKey")
        if self.thumbprint is not None:
            ki = el.find(f"{{{ns.DS}}}KeyInfo/{STR_TAG}/{{{ns.WSSE}}}KeyIdentifier")
            if ki is not None and ki.get("ValueType") == ns.WSS_THUMBPRINT:
                if (ki.text or "").strip() != self.thumbprint:
                    raise SecurityTokenUnavailable(
                        "the key was encrypted for a different certificate"
                    )
        method = el.find(f"{{{ns.XENC}}}EncryptionMethod")
        alg = method.get("Algorithm") if method is not None else None
        if alg not in (ns.RSA_OAEP_MGF1P, ns.RSA_15):
            raise UnsupportedAlgorithm(f"key transport {str(alg)[:200]}")
        cv = el.find(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
        raw = _b64decode(cv.text if cv is not None else None, "EncryptedKey CipherValue")
        key = rsa_key_unwrap(alg, self.private_key, raw)
        if len(key) < MIN_HMAC_KEY or len(key) > 64:
            raise FailedCheck("the encrypted key has an unacceptable length")
        tok = _Token("ek", key, sha1=encrypted_key_sha1(raw))
        ident = el.get("Id") or el.get(f"{{{ns.WSU}}}Id")
        if ident:
            self.tokens[ident] = tok
        self.ek_token = tok
        # An EncryptedKey may carry its own ReferenceList.
        rl = el.find(f"{{{ns.XENC}}}ReferenceList")
        if rl is not None:
            self._reference_list(rl, tok)

    def _key_from_keyinfo(self, parent: etree._Element, default: _Token | None = None) -> _Token:
        ki = parent.find(f"{{{ns.DS}}}KeyInfo")
        if ki is None:
            if default is not None:
                return default
            raise InvalidSecurity("KeyInfo is missing")
        strs = ki.findall(STR_TAG)
        if len(strs) != 1:
            raise InvalidSecurity("KeyInfo must hold exactly one SecurityTokenReference")
        sc = self.result.sc or self.policy.sc
        return self._from_str(SecurityTokenReference.from_xml(strs[0]), sc)

    def _reference_list(self, rl: etree._Element, default: _Token | None = None) -> None:
        refs = rl.findall(f"{{{ns.XENC}}}DataReference")
        if len(refs) > self.policy.max_references:
            raise InvalidSecurity("too many DataReferences")
        for dr in refs:
            uri = dr.get("URI") or ""
            if not uri.startswith("#") or len(uri) < 2:
                raise InvalidSecurity("a DataReference must be a local #id")
            target = self.ids.get(uri[1:])
            if target is None or target.tag != f"{{{ns.XENC}}}EncryptedData":
                raise InvalidSecurity(f"the DataReference {uri[:64]} does not name EncryptedData")
            self._decrypt(target, default)

    def _decrypt(self, ed: etree._Element, default: _Token | None) -> None:
        typ = ed.get("Type")
        if typ not in (ns.XENC_CONTENT, ns.XENC_ELEMENT):
            raise InvalidSecurity("unsupported EncryptedData Type")
        method = ed.find(f"{{{ns.XENC}}}EncryptionMethod")
        alg = method.get("Algorithm") if method is not None else None
        if alg is None:
            raise InvalidSecurity("EncryptedData has no EncryptionMethod")
        tok = self._key_from_keyinfo(ed, default)
        cv = ed.find(f"{{{ns.XENC}}}CipherData/{{{ns.XENC}}}CipherValue")
        raw = _b64decode(cv.text if cv is not None else None, "CipherValue")
        plain = block_decrypt(alg, tok.key, raw)
        parent = ed.getparent()
        assert parent is not None
        nodes = _parse_fragment(plain, parent, self.limits)
        ed_id = ed.get("Id")
        if ed_id is not None and self.ids.get(ed_id) is ed:
            del self.ids[ed_id]
        if typ == ns.XENC_ELEMENT:
            elems = [n for n in nodes if isinstance(n.tag, str)]
            if len(elems) != 1:
                raise FailedCheck("the decrypted element is not a single element")
            new = elems[0]
            new.tail = ed.tail
            parent.replace(ed, new)
            self.result.encrypted.append((typ, new))
            index_ids(new, self.ids)
        else:
            if len(parent) != 1 or (parent.text or "").strip():
                raise InvalidSecurity("encrypted content must be the only content of its parent")
            parent.remove(ed)
            parent.text = nodes.text
            for n in list(nodes):
                parent.append(n)
                if isinstance(n.tag, str):
                    index_ids(n, self.ids)
            self.result.encrypted.append((typ, parent))

    def _signature(self, sig: etree._Element) -> None:
        if self.signature_done:
            raise InvalidSecurity("only one message signature is supported")
        self.signature_done = True
        si = _only(sig, f"{{{ns.DS}}}SignedInfo")
        c14n = _only(si, f"{{{ns.DS}}}CanonicalizationMethod")
        if c14n.get("Algorithm") != ns.EXC_C14N:
            raise UnsupportedAlgorithm(f"canonicalization {str(c14n.get('Algorithm'))[:200]}")
        sm = _only(si, f"{{{ns.DS}}}SignatureMethod")
        alg = sm.get("Algorithm") or ""
        if alg not in _HMACS:
            raise UnsupportedAlgorithm(f"signature method {alg[:200]}")
        if len(sm):
            raise InvalidSecurity("HMACOutputLength is not accepted")
        tok = self._key_from_keyinfo(sig)
        if len(tok.key) < MIN_HMAC_KEY:
            raise FailedCheck("the signature key is too short")
        sv = _only(sig, f"{{{ns.DS}}}SignatureValue")
        value = _b64decode(sv.text, "SignatureValue")
        expected = hmac_sign(alg, tok.key, exc_c14n(si, read_inclusive_prefixes(c14n)))
        if not _hmac.compare_digest(expected, value):
            raise FailedCheck()
        refs = si.findall(f"{{{ns.DS}}}Reference")
        if not refs or len(refs) > self.policy.max_references:
            raise InvalidSecurity("the signature has no or too many references")
        signed: list[etree._Element] = []
        for ref in refs:
            target = self._check_reference(ref)
            if any(target is s for s in signed):
                raise InvalidSecurity("an element is referenced twice by the signature")
            signed.append(target)
        r = self.result
        r.signed = signed
        r.signature_value = value
        base = tok.base
        r.derived_keys_used = tok.kind == "dk"
        r.signing_key = base.key
        r.signing_kind = base.kind
        r.signing_sct = base.sct
        if base.sc is not None:
            r.sc = base.sc
        r.encrypted_key_sha1 = base.sha1

    def _check_reference(self, ref: etree._Element) -> etree._Element:
        uri = ref.get("URI") or ""
        if not uri.startswith("#") or len(uri) < 2:
            raise InvalidSecurity("signature references must be local #id references")
        target = self.ids.get(uri[1:])
        if target is None:
            raise InvalidSecurity(f"the signed element {uri[:64]} is missing")
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
                raise UnsupportedAlgorithm("only one exclusive c14n transform is supported")
            prefixes = read_inclusive_prefixes(ts[0])
        if dm is None or dv_el is None:
            raise InvalidSecurity("a signature Reference needs DigestMethod and DigestValue")
        dalg = dm.get("Algorithm") or ""
        if dalg not in _DIGESTS:
            raise UnsupportedAlgorithm(f"digest method {dalg[:200]}")
        dv = _b64decode(dv_el.text, "DigestValue")
        if not _hmac.compare_digest(digest(dalg, exc_c14n(target, prefixes)), dv):
            raise FailedCheck("a digest did not match (the content was changed)")
        return target

    # --- policy ------------------------------------------------------------------------
    def _enforce(self) -> None:
        r, p, env = self.result, self.policy, self.env
        if not self.signature_done:
            if p.require_signature:
                raise InvalidSecurity("the message is not signed")
            if p.require_timestamp and r.timestamp is None:
                raise InvalidSecurity("the message has no Timestamp")
            return
        if p.require_timestamp and r.timestamp is None:
            raise InvalidSecurity("the message has no Timestamp")
        if r.timestamp is not None and not any(e is self._ts_el for e in r.signed):
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
        for el in r.signed:
            parent = el.getparent()
            if el is env.body or el is self._ts_el:
                continue
            # SOAP headers, and tokens of this security header (UsernameToken,
            # SignatureConfirmation…): nothing signed may hide elsewhere.
            if parent is not header and parent is not self.sec:
                raise InvalidSecurity("a signed element is not where the application reads it")


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
) -> VerifiedMessage:
    """Verify and decrypt a secured message, or raise a typed :class:`~wssc.errors.WsscError`.

    ``message`` bytes are parsed with the hardened parser; an element is processed in place.
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
    proc = _Processor(
        root, policy, resolver, time.time() if now is None else now, private_key,
        encrypted_key_sha1_keys or {}, context_sct, limits, private_key_thumbprint,
    )
    try:
        result = proc.process()
    except WsscError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, etree.LxmlError) as exc:
        raise InvalidSecurity(
            f"the security header could not be processed ({type(exc).__name__})"
        ) from None
    if replay_cache is not None and result.signature_value is not None:
        ts = result.timestamp
        created = ts.created if ts is not None else proc.now
        # Keep the entry as long as the message could pass the timestamp check again.
        ts_expires = ts.expires if ts is not None and ts.expires else 0.0
        expires = max(created + policy.replay_window, ts_expires) + policy.max_clock_skew
        sc_key = result.signature_value
        replay_cache.check_and_add(sc_key, max(expires, proc.now + 1), proc.now)
    return result


def _only(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.findall(tag)
    if len(found) != 1:
        raise InvalidSecurity(f"expected exactly one {etree.QName(tag).localname}")
    return found[0]


def _b64decode(text: str | None, what: str) -> bytes:
    if not text:
        raise InvalidSecurity(f"{what} is empty")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        pass
    try:  # base64 with line breaks or spaces, as some peers write it
        return binascii.a2b_base64("".join(text.split()), strict_mode=True)
    except (binascii.Error, ValueError):
        raise InvalidSecurity(f"{what} is not valid base64") from None


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


def _attr(u: str) -> str:
    return u.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


__all__ = ["InvalidSecurityToken", "KeyResolver", "VerifiedMessage", "verify"]
